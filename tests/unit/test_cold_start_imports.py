"""Each function's cold start loads what its requests need, not what other functions or rarer requests
need (issue 16, docs/performance.md "Cold start"). A fresh interpreter imports one handler, as Lambda's
init does, and none of the modules listed for it may be loaded. A module that turns up here costs every
cold start of that function: load it where the request that needs it runs, or measure and document why
every request needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

#: The compiler and its parsers and validators: only uploads compile.
COMPILER = (
    "yaml",
    "openapi_spec_validator",
    "jsonschema",
    "toolgate.spec.compiler",
    "toolgate.spec.lint",
    "toolgate.spec.loader",
)
#: Settings are read from the environment by `toolgate.settings` itself.
SETTINGS_LIBRARY = ("pydantic_settings", "dotenv")
#: Settings models only some functions use, each group defined when first named (`toolgate.settings`).
COMPILE_AND_RUNTIME_SETTINGS = ("toolgate.settings.library",)
MCP_SETTINGS = ("toolgate.settings.mcp",)
SEARCH_SETTINGS = ("toolgate.settings.search",)
CATALOG_SETTINGS = ("toolgate.settings.catalog",)
#: What a job shows its tenant: only the job routes, the job-status tool and MCP tasks build it.
JOB_VIEWS = ("toolgate.service.jobs.views",)
#: Spec ingestion and the management routes: the upload and API functions only.
INGESTION = ("toolgate.service.ingest", "toolgate.service.uploads", "toolgate.service.management")
#: The dialect renderers: listing tools renders them, calling one does not.
RENDERERS = (
    "toolgate.dialects.render",
    "toolgate.dialects.anthropic",
    "toolgate.dialects.bedrock",
    "toolgate.dialects.gemini",
    "toolgate.dialects.mcp",
)
#: What starts, runs and completes a job: only a call to a long-running operation, the jobs state
#: machine's tasks and a callback need them.
JOB_WORK = ("toolgate.service.jobs.launch", "toolgate.service.jobs.runner", "toolgate.service.jobs.callbacks")
#: The job records, the following of long-running operations and the jobs adapter: a synchronous tool call
#: needs none of them (`toolgate.service.jobs.terms` answers what it asks of jobs).
JOB_RECORDS = ("toolgate.service.jobs.records", "toolgate.runtime.async_calls", "toolgate.adapters.aws.jobs")
#: Results too long for one answer, kept in S3 and read page by page: a call with a short result needs none.
LONG_RESULTS = ("toolgate.service.continuations",)
#: Powertools' Lambda context class: the handlers name it for types only.
CONTEXT_TYPE = ("aws_lambda_powertools.utilities.typing",)
#: The JSON Schema engine: only checking arguments or an output needs it (not the authorizer, not a callback).
SCHEMA_ENGINE = ("jsonschema_rs",)
#: Powertools' event classes (its package imports every one of them); the authorizer builds its policy.
EVENT_CLASSES = ("aws_lambda_powertools.utilities.data_classes",)
#: OpenAI's renderer and checks: a tool call needs only `dialects.strict_arguments`, split out of it.
OPENAI_RENDERER = ("toolgate.dialects.openai",)
#: Powertools' idempotency: only a call that carries an Idempotency-Key needs it.
IDEMPOTENCY = ("aws_lambda_powertools.utilities.idempotency",)
#: The MCP SDK's types and the MCP server: the MCP function only.
MCP = ("mcp_types", "toolgate.mcp")
#: The tool-calling path: invoke, MCP and the jobs function.
CALLING = ("toolgate.dialects.calls", "toolgate.service.invoke", "toolgate.adapters.http")


def _loaded(handler: str, modules: tuple[str, ...]) -> list[str]:
    script = (
        "import json, sys\n"
        f"import functions.{handler}.handler\n"
        f"print(json.dumps([name for name in {list(modules)!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(completed.stdout)
    return loaded


def test_authorizer_cold_start_loads_neither_the_compiler_nor_the_calling_path_nor_powertools_events() -> (
    None
):
    never = (
        *COMPILER,
        *SETTINGS_LIBRARY,
        *INGESTION,
        *RENDERERS,
        *JOB_WORK,
        *EVENT_CLASSES,
        *MCP,
        *CALLING,
        *COMPILE_AND_RUNTIME_SETTINGS,
        *MCP_SETTINGS,
        *SEARCH_SETTINGS,
        *CATALOG_SETTINGS,
        *JOB_VIEWS,
        *JOB_RECORDS,
        *CONTEXT_TYPE,
        *LONG_RESULTS,
        *SCHEMA_ENGINE,
    )
    assert _loaded("authorizer", never) == []


def test_invoke_cold_start_does_not_load_the_compiler_the_renderers_or_the_jobs_code() -> None:
    never = (
        *COMPILER,
        *OPENAI_RENDERER,
        *IDEMPOTENCY,
        *SETTINGS_LIBRARY,
        *INGESTION,
        *RENDERERS,
        *JOB_WORK,
        "toolgate.service.jobs.queries",
        *EVENT_CLASSES,
        *MCP,
        *MCP_SETTINGS,
        *CATALOG_SETTINGS,
        *JOB_VIEWS,
        *JOB_RECORDS,
        *CONTEXT_TYPE,
        *LONG_RESULTS,
    )
    assert _loaded("invoke", never) == []


def test_mcp_cold_start_does_not_load_the_compiler_other_dialects_or_the_jobs_code() -> None:
    never = (
        *COMPILER,
        *SETTINGS_LIBRARY,
        *INGESTION,
        *RENDERERS[1:],
        *OPENAI_RENDERER,
        *IDEMPOTENCY,
        *JOB_WORK,
        "toolgate.service.jobs.queries",
        *JOB_VIEWS,
        *JOB_RECORDS,
        *EVENT_CLASSES,
        *CATALOG_SETTINGS,
        *CONTEXT_TYPE,
        *LONG_RESULTS,
    )
    assert _loaded("mcp", never) == []


def test_jobs_cold_start_does_not_load_the_compiler_the_renderers_or_the_mcp_server() -> None:
    never = (
        *COMPILER,
        *SETTINGS_LIBRARY,
        *INGESTION,
        *RENDERERS,
        *JOB_WORK[:1],
        *EVENT_CLASSES,
        *MCP,
        *MCP_SETTINGS,
        *SEARCH_SETTINGS,
        *CATALOG_SETTINGS,
        *JOB_VIEWS,
        *CONTEXT_TYPE,
    )
    assert _loaded("jobs", never) == []


def test_callback_cold_start_does_not_load_the_compiler_the_calling_path_or_the_schema_engine() -> None:
    never = (
        *COMPILER,
        *SETTINGS_LIBRARY,
        *INGESTION,
        *RENDERERS,
        *EVENT_CLASSES,
        *MCP,
        *CALLING,
        *COMPILE_AND_RUNTIME_SETTINGS,
        *MCP_SETTINGS,
        *SEARCH_SETTINGS,
        *CATALOG_SETTINGS,
        *JOB_VIEWS,
        *CONTEXT_TYPE,
        *SCHEMA_ENGINE,
    )
    assert _loaded("callback", never) == []


@pytest.mark.parametrize("handler", ["api", "upload"])
def test_api_and_upload_cold_starts_do_not_load_the_calling_path_or_the_mcp_server(handler: str) -> None:
    never = (
        *SETTINGS_LIBRARY,
        *RENDERERS,
        *JOB_WORK,
        *MCP,
        "toolgate.dialects.calls",
        "toolgate.service.invoke",
    )
    assert _loaded(handler, never) == []


@pytest.mark.parametrize("handler", ["api", "authorizer", "upload", "invoke", "jobs", "callback", "mcp"])
def test_a_handler_never_leaves_the_garbage_collector_off_after_its_init(handler: str) -> None:
    """Each handler stops collection for its imports (docs/performance.md "Cold start"): one that forgot
    to resume would grow its memory on every warm request."""
    script = (
        "import gc, json\n"
        f"import functions.{handler}.handler\n"
        "print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    enabled, frozen = json.loads(completed.stdout)
    assert enabled
    # Init's objects were moved out of the collector's way, so no later pass walks them.
    assert frozen > 10_000
