"""The stack passes cdk-nag's AwsSolutions pack (each acknowledged finding with a written reason) and
cfn-lint, the same checks `make synth` runs on `npx cdk synth` in CI."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint_file
from synth_helpers import Synthesized, synthesize

#: A reason has to say why, not just repeat that the rule was looked at.
MIN_REASON_CHARS = 40


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as `cdk synth` builds it: AwsSolutions runs as a validation plugin during synthesis."""
    return synthesize(tmp_path_factory.mktemp("nag"), nag=True)


def _violations_report(outdir: Path) -> str:
    report_file = outdir / "validation-report.json"
    if not report_file.is_file():
        return "(no validation report)"
    report = json.loads(report_file.read_text())
    return "\n".join(
        f"{violation['severity']} {violation['ruleName']} at "
        + ", ".join(c["constructPath"] for c in violation["violatingConstructs"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    )


def test_synth_with_cdk_nag_raises_no_unacknowledged_finding(checked: Synthesized) -> None:
    assert checked.synth_error is None, _violations_report(checked.outdir)


def test_aws_solutions_pack_finds_nothing_unacknowledged_in_the_stack(checked: Synthesized) -> None:
    report = AwsSolutionsChecks().validate_scope(checked.stack)
    findings = [
        f"{violation.severity} {violation.rule_name}: {violation.description}"
        for violation in report.violations
    ]
    assert report.success, findings
    assert findings == []


def test_aws_solutions_pack_refuses_a_noncompliant_queue() -> None:
    """The control: the same check on a plaintext-transport queue with no dead-letter queue fails."""
    app = cdk.App()
    stack = cdk.Stack(app, "Noncompliant")
    sqs.Queue(stack, "Queue")
    report = AwsSolutionsChecks().validate_scope(stack)
    assert not report.success
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= {v.rule_name for v in report.violations}


def test_every_acknowledged_rule_carries_a_written_reason(checked: Synthesized) -> None:
    acknowledged: dict[str, str] = {}
    for construct in checked.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    acknowledged[f"{construct.node.path}: {rule}"] = reason
    assert acknowledged
    for rule, reason in acknowledged.items():
        assert len(reason.strip()) >= MIN_REASON_CHARS, rule
        assert "AwsSolutions-" in rule, rule


def test_cfn_lint_finds_nothing_in_the_synthesized_template(checked: Synthesized) -> None:
    template = checked.outdir / f"{checked.stack.artifact_id}.template.json"
    matches = lint_file(template)
    assert [f"{match.rule.id} {match.message} ({match.path})" for match in matches] == []
