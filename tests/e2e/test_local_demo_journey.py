"""The demo's journey, replayed over HTTP against a local stack: upload to grounded results, with one job
polled by the state machine and one finished by the target's callback."""

from __future__ import annotations

from pathlib import Path

from toolgate_demo.journey import run_journey
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack

#: The state machine waits between status polls; one second keeps the journey short.
FAST_POLLING = {"TOOLGATE_JOBS_FIRST_POLL_SECONDS": "1", "TOOLGATE_JOBS_MAX_POLL_INTERVAL_SECONDS": "1"}


def test_journey_from_s3_upload_to_polled_and_called_back_jobs(
    stack_template: Path, support_desk: SupportDeskTarget
) -> None:
    with LocalStack(stack_template, loopback_ports={support_desk.port}, environment=FAST_POLLING) as stack:
        result = run_journey(stack, support_desk, say=lambda _: None, timeout=30)
        reports = [
            report for report in stack.reports if report.resource_type == "AWS::StepFunctions::StateMachine"
        ]

    assert [report.status for report in reports] == ["created"]
    assert "create_support_case" in result.tools_openai
    assert sorted(result.tools_anthropic) == sorted(result.tools_openai)
    (case,) = support_desk.cases
    assert result.case_result["body"]["case_id"] == case["case_id"]
    assert result.export_job["status"] == "succeeded"
    assert result.export_job["result"]["cases"][0]["case_id"] == case["case_id"]
    assert max(support_desk.export_polls.values()) >= 1
    assert result.report_job["status"] == "succeeded"
    (callback,) = support_desk.callbacks
    assert callback.status == 200
    assert callback.url.startswith(f"{stack.api_base_url}/prod/v1/callbacks/")
