"""Every real spec in ../shared/corpus, listed by the MCP server's own `tools/list` paging
(`toolgate.mcp.tools.tools_page`, then `wire_result` as the server sends it), is a `ListToolsResult` the
official SDK's types accept at every served revision (long-running tools with the tasks extension's
`execution.taskSupport`), page after page, with every tool listed once and in
order. Skipped when the corpus is absent; the corpus files are read in place, never copied."""

from __future__ import annotations

import pytest
from corpus_specs import CORPUS, compiled_tools, corpus_specs
from mcp_types import ListToolsResult
from mcp_types import methods as sdk_methods
from toolgate.mcp.server import SERVED_REVISIONS, wire_result
from toolgate.mcp.tasks import declare_task_support
from toolgate.mcp.tools import tools_page
from toolgate.service.jobs.terms import job_pattern, job_status_tool
from toolgate.settings import McpSettings

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent"),
]


@pytest.mark.parametrize("spec", corpus_specs())
def test_every_corpus_specs_tools_list_is_a_list_tools_result_at_every_revision(spec: str) -> None:
    tools = compiled_tools(spec)
    # As the assistant catalog lists them: the job-status tool after the long-running operations'.
    if any(job_pattern(tool) is not None for tool in tools):
        tools.append(job_status_tool())
    settings = McpSettings()
    for revision in SERVED_REVISIONS:
        listed: list[str] = []
        cursor: str | None = None
        for _ in range(len(tools) // settings.page_size + 1):
            listing = tools_page(tools, cursor, revision, settings, (declare_task_support,))
            page = wire_result("tools/list", revision, listing)
            sdk_methods.validate_server_result("tools/list", revision, page)
            # Nothing the revision's schema lacks is sent: the SDK's shaping leaves the page as it is.
            assert page == sdk_methods.serialize_server_result("tools/list", revision, page)
            parsed = ListToolsResult.model_validate(page)
            listed += [tool.name for tool in parsed.tools]
            assert all(tool.input_schema.get("type") == "object" for tool in parsed.tools)
            cursor = parsed.next_cursor
            if cursor is None:
                break
        assert cursor is None, f"{spec} at {revision}: the pages did not end"
        assert listed == [tool.name for tool in tools], f"{spec} at {revision}"
