"""The per-tenant throttle in front of Lambda, over HTTP on the local stack: the front door applies the
template's usage plan to the usage key the authorizer returns, and refuses a flooding tenant with the
template's THROTTLED gateway response before any function runs, while another tenant gets through."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from e2e_harness import Client, function_id, invoke_create_case
from toolgate.adapters.aws.dynamodb import DynamoTenantStore
from toolgate.errors import RateLimitedError, UsageKeyMissingError
from toolgate.service.api_keys import create_api_key
from toolgate.service.models import TenantRecord, utc_now
from toolgate.service.tenancy import Role
from toolgate.service.usage_keys import ensure_usage_key
from toolgate_local.stack import LocalStack
from toolgate_local.template import find_stack_template

WAIT_SECONDS = 30
#: Each tenant's throttle here: 5 requests at once, then one every 100 s (the lowest rate an operator
#: may set), so nothing a test does in between refills a bucket by more than one request.
BURST = 5
A_FLOOD = 12


@pytest.fixture(scope="module")
def throttled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.infra.synth_helpers import synthesize

    context = {"toolgate:tenantMaxRequestsPerSecond": "0.01", "toolgate:tenantMaxBurst": str(BURST)}
    synthesized = synthesize(tmp_path_factory.mktemp("synth"), nag=False, context=context)
    if synthesized.synth_error is not None:
        raise synthesized.synth_error
    return find_stack_template(synthesized.outdir)


@pytest.fixture(scope="module")
def stack(throttled_template: Path) -> Iterator[LocalStack]:
    with LocalStack(throttled_template) as local:
        yield local


def test_a_flooding_tenant_is_refused_by_the_gateway_before_lambda_while_another_gets_through(
    stack: LocalStack,
) -> None:
    flooder = Client(stack.api_url, stack.bootstrap_tenant("flooder"))
    neighbour = Client(stack.api_url, stack.bootstrap_tenant("neighbour"))
    invoke_function = function_id(stack, "InvokeFunction")
    assert stack.front_door is not None
    invoked_before = stack.invocations(invoke_function)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: invoke_create_case(flooder), range(A_FLOOD)))
    neighbours = [neighbour.get("limits") for _ in range(3)]

    # The gateway's answer is the template's envelope; the function's own 429s carry `details` as well.
    refused = [
        answer for answer in answers if answer.status_code == 429 and "details" not in answer.json()["error"]
    ]
    gateway_refusals = sum(stack.front_door.usage_plans.refused.values())
    # The burst, plus at most one request refilled while the test runs: the rest is refused.
    assert gateway_refusals >= A_FLOOD - BURST - 1
    assert len(refused) == gateway_refusals
    for answer in refused:
        assert answer.status_code == 429
        assert answer.json()["error"]["code"] == RateLimitedError.code
        assert int(answer.headers["Retry-After"]) >= 1
    # Every refused call was answered by the front door: the invoke function ran only the others.
    assert stack.invocations(invoke_function) - invoked_before == A_FLOOD - gateway_refusals
    assert [answer.status for answer in neighbours] == [200, 200, 200]


def test_a_tenant_without_a_usage_key_is_refused_by_the_gateway_until_the_operator_gives_it_one(
    stack: LocalStack,
) -> None:
    """A tenant bootstrapped before the usage plan existed: no function runs for it, and the answer says
    what the operator does; `toolgate admin usage-key` (ensure_usage_key) lets it in."""
    session = stack.boto3_session()
    table = session.resource("dynamodb", endpoint_url=stack.moto_url).Table(stack.table_name)
    store = DynamoTenantStore(table, "legacy")
    store.create_tenant(TenantRecord(tenant_id="legacy", created_at=utc_now()))
    legacy = Client(stack.api_url, create_api_key(store, Role.ADMIN, "before-the-plan").key)
    api_function = function_id(stack, "ApiFunction")
    before = stack.invocations(api_function)

    refused = legacy.get("limits")
    assert refused.status == 403
    assert refused.body["error"]["code"] == UsageKeyMissingError.code
    assert "toolgate admin usage-key" in refused.body["error"]["message"]
    assert stack.invocations(api_function) == before

    from toolgate.adapters.aws.usage_keys import ApiGatewayUsageKeys

    usage_keys = ApiGatewayUsageKeys(
        session.client("apigateway", endpoint_url=stack.moto_url), stack.output("TenantUsagePlanId")
    )
    ensure_usage_key(usage_keys, stack.table_name, "legacy")
    assert legacy.get("limits").status == 200
    assert stack.invocations(api_function) == before + 1
