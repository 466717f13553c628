"""The demo's journey, replayed over HTTP against a local stack: upload to grounded results, with one job
polled by the state machine and one finished by the target's callback, then the same assistant through the
official MCP SDK client: its tools listed, a case created, and the export run as a task to its result."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from toolgate_demo.journey import CASE, MCP_CASE, JourneyResult, run_journey
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.provision import ResourceReport
from toolgate_local.stack import LocalStack

#: The state machine waits between status polls; one second keeps the journey short.
FAST_POLLING = {"TOOLGATE_JOBS_FIRST_POLL_SECONDS": "1", "TOOLGATE_JOBS_MAX_POLL_INTERVAL_SECONDS": "1"}


@dataclass
class Journey:
    result: JourneyResult
    said: list[str]
    reports: list[ResourceReport]
    api_base_url: str


@pytest.fixture(scope="module")
def journey(stack_template: Path, support_desk: SupportDeskTarget) -> Iterator[Journey]:
    """The whole demo journey, once, with everything it said."""
    with LocalStack(stack_template, loopback_ports={support_desk.port}, environment=FAST_POLLING) as stack:
        said: list[str] = []
        result = run_journey(stack, support_desk, say=said.append, timeout=30)
        yield Journey(result, said, list(stack.reports), stack.api_base_url)


def test_journey_from_s3_upload_to_polled_and_called_back_jobs(
    journey: Journey, support_desk: SupportDeskTarget
) -> None:
    result = journey.result
    state_machines = [
        report for report in journey.reports if report.resource_type == "AWS::StepFunctions::StateMachine"
    ]

    assert [report.status for report in state_machines] == ["created"]
    assert "create_support_case" in result.tools_openai
    assert sorted(result.tools_anthropic) == sorted(result.tools_openai)
    assert result.openai_tokens > 0
    assert result.search_hits and set(result.search_hits) <= set(result.tools_openai)
    (case,) = [case for case in support_desk.cases if case["summary"] == CASE["summary"]]
    assert result.case_result["body"]["case_id"] == case["case_id"]
    assert result.export_job["status"] == "succeeded"
    assert result.export_job["result"]["cases"][0]["case_id"] == case["case_id"]
    assert max(support_desk.export_polls.values()) >= 1
    assert result.report_job["status"] == "succeeded"
    (callback,) = support_desk.callbacks
    assert callback.status == 200
    assert callback.url.startswith(f"{journey.api_base_url}/prod/v1/callbacks/")


def test_the_mcp_step_lists_creates_a_case_and_runs_the_export_as_a_task(
    journey: Journey, support_desk: SupportDeskTarget
) -> None:
    mcp = journey.result.mcp
    assert mcp is not None
    said = "\n".join(journey.said)

    assert {"create_support_case", "start_case_export"} <= set(mcp.tools)
    assert f"tools/list: {len(mcp.tools)} tools: " in said
    # The MCP call created its case at the target, with the arguments it sent, and the demo said so.
    (created,) = [case for case in support_desk.cases if case["summary"] == MCP_CASE["summary"]]
    assert (created["customer_id"], created["priority"]) == (MCP_CASE["customer_id"], MCP_CASE["priority"])
    assert mcp.case["body"]["case_id"] == created["case_id"]
    assert f"grounded: the API created case {created['case_id']}" in said
    # The export ran as a task from working to completed, and the task's result is the export's.
    assert mcp.task_statuses == ["working", "completed"]
    assert f"   task {mcp.task_id}: completed" in said
    assert mcp.export["ok"] is True
    exported = [case["case_id"] for case in mcp.export["body"]["cases"]]
    assert created["case_id"] in exported
    assert mcp.export["body"]["case_count"] == len(exported) == len(support_desk.cases)
    assert f"case(s) of {MCP_CASE['customer_id']} exported: {', '.join(exported)}" in said
