"""`toolgate:tenantIsolation=true` over HTTP on the local stack: the invoke and MCP functions run in
Lambda's tenant isolation mode, so one tenant's tool calls (its credential, clients and caches in the
environment's memory) never share an execution environment with another tenant's, even when both call at
once. The front door names each event's tenant from the authorizer's context, as the template maps it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from e2e_harness import (
    ASSISTANT,
    Client,
    create_case_call,
    function_id,
    invoke_create_case,
    ready_support_desk_tenant,
)
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.stack import LocalStack
from toolgate_local.template import find_stack_template

TENANTS = ("acme", "globex")
WAIT_SECONDS = 30
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture(scope="module")
def isolated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.infra.synth_helpers import synthesize

    synthesized = synthesize(
        tmp_path_factory.mktemp("isolated"), nag=False, context={"toolgate:tenantIsolation": "true"}
    )
    if synthesized.synth_error is not None:
        raise synthesized.synth_error
    return find_stack_template(synthesized.outdir)


@pytest.fixture(scope="module")
def stack(isolated_template: Path, support_desk: SupportDeskTarget) -> Iterator[LocalStack]:
    with LocalStack(isolated_template, loopback_ports={support_desk.port}) as local:
        yield local


@pytest.fixture(scope="module")
def clients(stack: LocalStack, support_desk: SupportDeskTarget) -> dict[str, Client]:
    return {
        tenant: ready_support_desk_tenant(stack, tenant, support_desk.base_url, support_desk.token)
        for tenant in TENANTS
    }


def list_tools(client: Client) -> requests.Response:
    return requests.post(
        f"{client.api_url}assistants/{ASSISTANT}/mcp",
        headers={"Authorization": f"Bearer {client.key}", **MCP_HEADERS},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        timeout=WAIT_SECONDS,
    )


def test_no_tool_call_environment_ever_serves_two_tenants_even_when_they_call_at_once(
    stack: LocalStack, clients: dict[str, Client]
) -> None:
    order = [clients[tenant] for tenant in TENANTS * 6]
    with ThreadPoolExecutor(max_workers=6) as pool:
        called = list(pool.map(invoke_create_case, order))
        listed = list(pool.map(list_tools, order))
    assert [answer.status_code for answer in called + listed] == [200] * len(order) * 2
    assert all(answer.json()["ok"] is True for answer in called)
    assert all("create_support_case" in answer.text for answer in listed)
    for prefix in ("InvokeFunction", "McpFunction"):
        served = [tenants for tenants in stack.tenants_served(function_id(stack, prefix)) if tenants]
        assert all(len(tenants) == 1 for tenants in served), (prefix, served)
        assert set().union(*served) == set(TENANTS)


def test_functions_outside_isolation_still_share_their_environments(
    stack: LocalStack, clients: dict[str, Client]
) -> None:
    """The management API runs every tenant's requests in its environments, as before."""
    for client in clients.values():
        assert client.get("integrations").status == 200
    served = stack.tenants_served(function_id(stack, "ApiFunction"))
    assert any(tenants == {None} for tenants in served)


def test_oauth_discovery_still_answers_404_without_a_key_or_a_tenants_environment(
    stack: LocalStack, clients: dict[str, Client]
) -> None:
    root = stack.api_url.split("/v1/")[0]
    discovery = requests.get(
        f"{root}/.well-known/oauth-protected-resource/v1/assistants/{ASSISTANT}/mcp", timeout=WAIT_SECONDS
    )
    assert discovery.status_code == 404
    assert discovery.json()["error"]["code"] == "MCP_OAUTH_NOT_SUPPORTED"
    anonymous = "unauthenticated:oauth-discovery"
    served = stack.tenants_served(function_id(stack, "McpFunction"))
    assert {anonymous} in served
    assert not any(set(TENANTS) & tenants for tenants in served if anonymous in tenants)


def test_a_caller_naming_another_tenant_in_x_amz_tenant_id_still_runs_in_its_own_environment(
    stack: LocalStack, clients: dict[str, Client]
) -> None:
    """Lambda's header is set by API Gateway from the authorizer's tenant: acme sending
    `X-Amz-Tenant-Id: globex` neither reaches globex's environments nor is refused as another tenant."""
    acme = clients["acme"]
    invoke_id = function_id(stack, "InvokeFunction")
    answer = requests.post(
        f"{acme.api_url}assistants/{ASSISTANT}/tools/create_support_case/invoke",
        headers={"Authorization": f"Bearer {acme.key}", "X-Amz-Tenant-Id": "globex"},
        json=create_case_call(),
        timeout=WAIT_SECONDS,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True
    served = [tenants for tenants in stack.tenants_served(invoke_id) if tenants]
    assert all(len(tenants) == 1 for tenants in served), served
