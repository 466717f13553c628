"""The service run locally from its own template, driven over HTTP as a user or agent would.

The stack here keeps the default egress policy: loopback targets are refused, as in AWS (at upload).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from e2e_harness import (
    ASSISTANT,
    INTEGRATION,
    Client,
    bootstrap_with_cli,
    create_case_call,
    put_upload,
    support_desk_tools,
    upload_settled,
    upload_support_desk,
    wait_for_status,
)
from toolgate_demo import support_desk_spec
from toolgate_demo.target import SupportDeskTarget
from toolgate_local.front_door import MAX_BODY_BYTES
from toolgate_local.stack import LocalStack

#: The Support Desk spec's own server: a public name, so the upload is ready under the default policy.
PUBLIC_SERVER = "https://support.example.com/api"


@pytest.fixture(scope="module")
def stack(stack_template: Path) -> Iterator[LocalStack]:
    with LocalStack(stack_template) as local:
        yield local


@pytest.fixture(scope="module")
def tenant_a(stack: LocalStack, support_desk: SupportDeskTarget) -> Client:
    """Tenant A, bootstrapped with the admin CLI, with the Support Desk uploaded through S3 and ready."""
    client = Client(stack.api_url, bootstrap_with_cli(stack, "tenant-a"))
    upload_support_desk(stack, "tenant-a", PUBLIC_SERVER)
    status = wait_for_status(client, INTEGRATION, lambda status: status["status"] == "ready")
    assert status["last_upload"]["source"]["kind"] == "s3"
    bound = client.put(
        f"integrations/{INTEGRATION}/credential", json={"type": "bearer", "token": support_desk.token}
    )
    assert bound.status == 200, bound.body
    return client


@pytest.fixture(scope="module")
def tenant_b(stack: LocalStack) -> Client:
    return Client(stack.api_url, stack.bootstrap_tenant("tenant-b"))


def test_spec_uploaded_through_s3_is_compiled_and_listed_as_openai_tools(tenant_a: Client) -> None:
    listing = tenant_a.get(f"assistants/{ASSISTANT}/tools", params={"format": "openai"})

    assert listing.status == 200, listing.body
    names = {tool["function"]["name"] for tool in listing.body["tools"]}
    assert names >= support_desk_tools()
    assert all(tool["type"] == "function" for tool in listing.body["tools"])
    assert listing.body["unavailable"] == []


def test_upload_that_is_not_yaml_fails_with_a_typed_error(stack: LocalStack, tenant_a: Client) -> None:
    put_upload(stack, "tenant-a", "broken", "openapi.yaml", b"openapi: [3.0.1\npaths: {")

    status = wait_for_status(tenant_a, "broken", upload_settled)

    assert status["status"] == "failed"
    assert status["ready_version"] is None
    assert status["last_upload"]["error"]["code"] == "SPEC_PARSE_ERROR"


def test_upload_that_is_not_openapi_fails_without_replacing_the_ready_version(
    stack: LocalStack, tenant_a: Client
) -> None:
    put_upload(stack, "tenant-a", INTEGRATION, "openapi.json", json.dumps({"hello": "world"}).encode())

    status = wait_for_status(
        tenant_a, INTEGRATION, lambda status: status["last_upload"]["source"]["key"].endswith(".json")
    )

    assert status["status"] == "failed"
    assert status["last_upload"]["error"]["code"].startswith("SPEC_")
    assert status["ready_version"] == 1
    still_listed = tenant_a.get(f"assistants/{ASSISTANT}/tools")
    assert {tool["function"]["name"] for tool in still_listed.body["tools"]} >= support_desk_tools()


def test_other_tenant_cannot_see_the_integration_and_is_told_it_does_not_exist(
    tenant_a: Client, tenant_b: Client
) -> None:
    foreign = tenant_b.get(f"integrations/{INTEGRATION}")
    nonexistent = tenant_b.get("integrations/no-such-integration")
    foreign_status = tenant_b.get(f"integrations/{INTEGRATION}/status")

    assert tenant_a.get(f"integrations/{INTEGRATION}").status == 200
    assert (
        (foreign.status, foreign.error_code)
        == (nonexistent.status, nonexistent.error_code)
        == (404, "NOT_FOUND")
    )
    assert (foreign_status.status, foreign_status.error_code) == (404, "NOT_FOUND")
    assert tenant_b.get("integrations").body == {"integrations": []}


def test_other_tenant_cannot_list_or_invoke_the_tools_and_is_told_they_do_not_exist(
    tenant_a: Client, tenant_b: Client
) -> None:
    own_call = tenant_a.post(f"assistants/{ASSISTANT}/tools/no_such_tool/invoke", json=create_case_call())
    foreign_call = tenant_b.post(
        f"assistants/{ASSISTANT}/tools/create_support_case/invoke", json=create_case_call()
    )
    nowhere_call = tenant_b.post("assistants/no-such-bot/tools/no_such_tool/invoke", json=create_case_call())
    foreign_listing = tenant_b.get(f"assistants/{ASSISTANT}/tools")
    nowhere_listing = tenant_b.get("assistants/no-such-bot/tools")

    assert (own_call.status, own_call.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert (foreign_call.status, foreign_call.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert (nowhere_call.status, nowhere_call.error_code) == (403, "TOOL_NOT_AVAILABLE")
    assert (foreign_listing.status, foreign_listing.error_code) == (404, "NOT_FOUND")
    assert (nowhere_listing.status, nowhere_listing.error_code) == (404, "NOT_FOUND")


def test_upload_aimed_at_a_loopback_target_is_refused_while_loopback_is_not_allowed(
    stack: LocalStack, tenant_a: Client, support_desk: SupportDeskTarget
) -> None:
    requests_before = len(support_desk.requests)
    settings = {"assistants": [ASSISTANT], "server_url": support_desk.base_url}
    put_upload(stack, "tenant-a", "loopback", "toolgate.json", json.dumps(settings).encode())
    put_upload(stack, "tenant-a", "loopback", "openapi.yaml", support_desk_spec().read_bytes())

    status = wait_for_status(tenant_a, "loopback", upload_settled)

    assert stack.environment["TOOLGATE_RUNTIME__ALLOW_LOOPBACK"] == "false"
    assert status["status"] == "failed"
    assert status["last_upload"]["error"]["code"] == "URL_IP_LITERAL_REFUSED"
    assert "loopback" in status["last_upload"]["error"]["message"]
    assert len(support_desk.requests) == requests_before
    assert support_desk.cases == []


def test_request_without_a_key_is_refused_before_any_function_runs(stack: LocalStack) -> None:
    missing = requests.get(f"{stack.api_url}integrations", timeout=10)
    malformed = requests.get(
        f"{stack.api_url}integrations", headers={"Authorization": "Bearer nope"}, timeout=10
    )

    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert (malformed.status_code, malformed.json()) == (401, {"message": "Unauthorized"})


def test_well_formed_but_unknown_key_is_refused_by_the_authorizer(stack: LocalStack) -> None:
    unknown = "tg_tenant-a_0123456789abcdef_" + "A" * 43

    answer = requests.get(
        f"{stack.api_url}integrations", headers={"Authorization": f"Bearer {unknown}"}, timeout=10
    )

    assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"})


def test_paths_outside_the_api_are_refused_like_api_gateway(stack: LocalStack, tenant_a: Client) -> None:
    headers = {"Authorization": f"Bearer {tenant_a.key}"}
    other_stage = requests.get(f"{stack.api_base_url}/dev/v1/integrations", headers=headers, timeout=10)
    outside = requests.get(f"{stack.api_base_url}/prod/nothing-here", headers=headers, timeout=10)

    assert (other_stage.status_code, other_stage.json()) == (403, {"message": "Forbidden"})
    assert (outside.status_code, outside.json()) == (403, {"message": "Missing Authentication Token"})


def test_body_over_ten_megabytes_is_refused_with_413(tenant_a: Client) -> None:
    answer = tenant_a.put(f"integrations/{INTEGRATION}", data=b"x" * (MAX_BODY_BYTES + 1))

    assert (answer.status, answer.body) == (413, {"message": "Request Too Long"})


def test_every_resource_of_the_template_is_created_served_or_reported(stack: LocalStack) -> None:
    assert stack.template is not None
    reported = {report.logical_id: report for report in stack.reports}

    assert reported.keys() == stack.template.resources.keys()
    not_created = {report.resource_type for report in stack.reports if report.status == "not created"}
    assert {"AWS::Lambda::Permission", "AWS::IAM::Policy", "AWS::Logs::LogGroup"} <= not_created
    assert all(report.detail for report in stack.reports)
    created = {report.resource_type for report in stack.reports if report.status == "created"}
    assert {
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SQS::Queue",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
    } <= created


def test_stack_outputs_point_at_the_local_stack(stack: LocalStack) -> None:
    assert stack.api_url == f"{stack.api_base_url}/prod/v1/"
    s3 = stack.boto3_session().client("s3", endpoint_url=stack.moto_url)
    assert s3.get_bucket_versioning(Bucket=stack.bucket_name)["Status"] == "Enabled"
    assert stack.bucket_name.endswith(f"-{stack.region}-an")
    dynamodb = stack.boto3_session().client("dynamodb", endpoint_url=stack.moto_url)
    ttl = dynamodb.describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}


def test_the_request_path_is_served_through_the_templates_live_aliases(stack: LocalStack) -> None:
    """The deployed stack invokes aliases of published versions; the local stack must serve them too, or
    every tool call above would fail with an unresolved alias."""
    aliases = [report for report in stack.reports if report.resource_type == "AWS::Lambda::Alias"]
    assert len(aliases) == 5
    lambda_client = stack.boto3_session().client("lambda", endpoint_url=stack.moto_url)
    for report in aliases:
        assert report.status == "created"
        function_name, alias_name = report.detail.split(":")[-2:]
        assert alias_name == "live"
        alias = lambda_client.get_alias(FunctionName=function_name, Name=alias_name)
        assert alias["FunctionVersion"] != "$LATEST"
