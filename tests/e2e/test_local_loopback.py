"""A local stack that names the demo target's port: tools reach the target on 127.0.0.1 for real."""

from __future__ import annotations

import json

import pytest
from e2e_harness import ASSISTANT, Client, create_case_call, ready_support_desk_tenant
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack


@pytest.fixture(scope="module")
def tenant(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    return ready_support_desk_tenant(stack, "acme", support_desk.base_url, support_desk.token)


def test_tool_call_reaches_the_local_target_with_the_bound_credential(
    stack: LocalStack, tenant: Client, support_desk: SupportDeskTarget
) -> None:
    answer = tenant.post(
        f"assistants/{ASSISTANT}/tools/create_support_case/invoke", json=create_case_call("cust-7")
    )

    assert stack.environment["TOOLGATE_RUNTIME__ALLOW_LOOPBACK"] == "false"
    assert stack.environment["TOOLGATE_RUNTIME__ALLOWED_LOOPBACK_PORTS"] == f"[{support_desk.port}]"
    assert answer.status == 200, answer.body
    assert answer.body["ok"] is True, answer.body
    (case,) = [case for case in support_desk.cases if case["customer_id"] == "cust-7"]
    assert answer.body["body"] == {"case_id": case["case_id"], "status": "open"}
    assert support_desk.requests[-1].authorized is True


def test_model_native_call_gets_a_result_block_with_the_real_case_id(
    tenant: Client, support_desk: SupportDeskTarget
) -> None:
    call = {
        "type": "tool_use",
        "id": "toolu_01",
        "name": "create_support_case",
        "input": create_case_call("cust-8")["arguments"],
    }

    answer = tenant.post(f"assistants/{ASSISTANT}/tools/create_support_case/invoke", json=call)

    assert answer.status == 200, answer.body
    assert answer.body["type"] == "tool_result"
    assert answer.body["tool_use_id"] == "toolu_01"
    assert answer.body["is_error"] is False
    (case,) = [case for case in support_desk.cases if case["customer_id"] == "cust-8"]
    assert json.loads(answer.body["content"])["body"]["case_id"] == case["case_id"]


def test_other_tenant_cannot_make_the_call_even_with_its_port_allowed(
    stack: LocalStack, tenant: Client, support_desk: SupportDeskTarget
) -> None:
    intruder = Client(stack.api_url, stack.bootstrap_tenant("intruder"))
    requests_before = len(support_desk.requests)

    answer = intruder.post(
        f"assistants/{ASSISTANT}/tools/create_support_case/invoke", json=create_case_call("cust-9")
    )

    assert (answer.status, answer.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert len(support_desk.requests) == requests_before
    assert not [case for case in support_desk.cases if case["customer_id"] == "cust-9"]
