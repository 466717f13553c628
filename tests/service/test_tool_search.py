"""Tool search served to agents, through the real handlers over moto: the api, upload, invoke and MCP
functions call the search function with `lambda:InvokeFunction` (routed to its real handler), which reads
and writes the tenant's S3 prefix with the tenant's scoped session."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from invoke_harness import Desk, desk_world
from mcp_harness import call_mcp, mcp_message
from service_harness import BUCKET_NAME, ApiResponse
from service_world import Service, aws_session
from toolgate_local.lambda_routing import routed_invocations

from tests.integration.runtime_servers import Reply, Seen, json_reply
from tests.integration.search_specs import big_spec, tool_names

SEARCH_FUNCTION = "toolgate-search"
SEARCH_TOOL = "toolgate_search_tools"


def _search_function() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "")
    role = aws_session().client("iam").create_role(RoleName="search-role", AssumeRolePolicyDocument="{}")
    aws_session().client("lambda").create_function(
        FunctionName=SEARCH_FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )


def _target(seen: Seen) -> Reply:
    return json_reply(json.dumps({"done": seen.method, "path": seen.path}).encode())


@pytest.fixture
def desk(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The functions over moto with the search function deployed, and a 127.0.0.1 target."""
    from toolgate.settings import get_search_settings

    from functions.search.handler import lambda_handler

    _search_function()
    monkeypatch.setenv("TOOLGATE_SEARCH_FUNCTION_NAME", SEARCH_FUNCTION)
    get_search_settings.cache_clear()
    _cold_search_function(monkeypatch)
    try:
        with (
            routed_invocations({SEARCH_FUNCTION: lambda_handler}),
            desk_world(service, monkeypatch, _target) as world,
        ):
            yield world
    finally:
        get_search_settings.cache_clear()


def _cold_search_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh environment of the search function: no index or catalog loaded yet."""
    from toolgate.service.search_index import SearchIndexes
    from toolgate.settings import get_search_settings

    import functions.search.handler as search_handler

    monkeypatch.setattr(search_handler, "indexes", SearchIndexes(get_search_settings()))


def _upload(
    desk: Desk, *, tenant: str = "acme", integration: str = "big", assistant: str = "big", **spec: Any
) -> None:
    service = desk.service
    service.bootstrap(tenant) if tenant != "acme" else None
    response = service.api(
        "PUT",
        f"/v1/integrations/{integration}",
        tenant=tenant,
        body=big_spec(desk.target.url, **spec),
        headers={"content-type": "application/json"},
    )
    assert response.status == 200, response.body
    settings = service.api("GET", f"/v1/integrations/{integration}", tenant=tenant).body["settings"]
    settings["assistants"] = [assistant]
    settings["server_url"] = desk.target.url
    assert (
        service.api("PUT", f"/v1/integrations/{integration}/settings", tenant=tenant, body=settings).status
        == 200
    )


def _search(
    desk: Desk, query: str, *, tenant: str = "acme", assistant: str = "big", **extra: str
) -> ApiResponse:
    return desk.service.api(
        "GET",
        f"/v1/assistants/{assistant}/tools",
        tenant=tenant,
        role="agent",
        query={"format": "openai", "query": query, **extra},
    )


def _names(response: ApiResponse) -> list[str]:
    return [tool["function"]["name"] for tool in response.body["tools"]]


def _keys(desk: Desk, prefix: str) -> list[str]:
    listed = desk.service.s3.list_objects_v2(Bucket=BUCKET_NAME, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_upload_stores_revision_vectors_and_the_linked_assistants_index_under_the_tenant_prefix(
    desk: Desk,
) -> None:
    _upload(desk)

    revision = desk.service.api("GET", "/v1/integrations/big").body["ready"]["revision"]
    assert _keys(desk, f"artifacts/tenants/acme/integrations/big/{revision}/search/") == [
        f"artifacts/tenants/acme/integrations/big/{revision}/search/vectors.bin"
    ]
    (index_key,) = _keys(desk, "artifacts/tenants/acme/assistants/big/search/")
    assert index_key.endswith(".idx")
    answer = _search(desk, "remove a webhook permanently")
    assert answer.status == 200, answer.body
    assert _names(answer)[0] == "delete_webhook"
    assert _keys(desk, "artifacts/tenants/acme/assistants/big/search/") == [index_key], "no rebuild"


def test_a_corrupt_stored_index_is_rebuilt_never_answered_as_nothing_matched(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(desk)
    (index_key,) = _keys(desk, "artifacts/tenants/acme/assistants/big/search/")
    desk.service.s3.put_object(Bucket=BUCKET_NAME, Key=index_key, Body=b"TGSEARCH" + b"\0" * 64)
    _cold_search_function(monkeypatch)  # it must read the stored (corrupt) index

    answer = _search(desk, "cancel a coupon by deleting it")

    assert answer.status == 200, answer.body
    assert _names(answer)[0] == "delete_coupon"
    stored = desk.service.s3.get_object(Bucket=BUCKET_NAME, Key=index_key)["Body"].read()
    assert stored.startswith(b"TGSEARCH") and len(stored) > 1000, "the rebuilt index replaced it"


def test_a_missing_index_and_missing_vectors_are_rebuilt_from_the_stored_tools(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(desk)
    for key in _keys(desk, "artifacts/tenants/acme/assistants/") + [
        key for key in _keys(desk, "artifacts/tenants/acme/integrations/") if key.endswith("vectors.bin")
    ]:
        desk.service.s3.delete_object(Bucket=BUCKET_NAME, Key=key)
    _cold_search_function(monkeypatch)

    answer = _search(desk, "make a new shipment")

    assert answer.status == 200, answer.body
    assert _names(answer)[0] == "create_shipment"


def test_a_new_catalog_replaces_the_assistants_old_index_rather_than_piling_up_objects(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every upload makes a new catalog and so a new index object: the old ones are never read again."""
    prefix = "artifacts/tenants/acme/assistants/big/search/"
    _upload(desk, marker="A")
    (first,) = _keys(desk, prefix)
    _upload(desk, marker="B")
    _cold_search_function(monkeypatch)
    assert _search(desk, "remove a webhook permanently").status == 200

    (latest,) = _keys(desk, prefix)
    assert latest != first


def test_a_failure_to_delete_old_indexes_never_fails_the_search_that_built_the_new_one(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.adapters.aws.s3 import S3ObjectStore
    from toolgate.errors import StoreUnavailableError

    _upload(desk, marker="A")
    (first,) = _keys(desk, "artifacts/tenants/acme/assistants/big/search/")

    def refuse(self: S3ObjectStore, prefix: str, *, keep: object = ()) -> None:
        raise StoreUnavailableError("AWS could not delete objects right now (SlowDown); retry shortly.")

    monkeypatch.setattr(S3ObjectStore, "delete_prefix", refuse)
    _upload(desk, marker="B")
    for key in _keys(desk, "artifacts/tenants/acme/assistants/big/search/"):
        if key != first:  # the search must build the new catalog's index itself
            desk.service.s3.delete_object(Bucket=BUCKET_NAME, Key=key)
    _cold_search_function(monkeypatch)

    answer = _search(desk, "remove a webhook permanently")

    assert answer.status == 200, answer.body
    assert _names(answer)[0] == "delete_webhook"
    assert first in _keys(desk, "artifacts/tenants/acme/assistants/big/search/"), "the old one is left"


def test_deleting_an_assistant_deletes_its_search_indexes(desk: Desk) -> None:
    prefix = "artifacts/tenants/acme/assistants/big/search/"
    _upload(desk)
    assert _keys(desk, prefix)
    other = _keys(desk, "artifacts/tenants/acme/integrations/")

    assert desk.service.api("DELETE", "/v1/assistants/big").status == 204

    assert _keys(desk, prefix) == []
    assert _keys(desk, "artifacts/tenants/acme/integrations/") == other, "the integration's objects stay"


def test_deleting_an_assistant_never_deletes_another_tenants_or_a_like_named_assistants_indexes(
    desk: Desk,
) -> None:
    """Tenant globex deletes its assistant `big`: acme's `big` keeps its index, and so does acme's `big-2`
    when acme deletes its own `big` (the index prefix ends at the assistant id)."""
    _upload(desk)
    _upload(desk, integration="big-2", assistant="big-2")
    _upload(desk, tenant="globex")
    acme_big, acme_big_2 = (
        _keys(desk, f"artifacts/tenants/acme/assistants/{a}/search/") for a in ("big", "big-2")
    )
    assert acme_big and acme_big_2 and _keys(desk, "artifacts/tenants/globex/assistants/big/search/")

    assert desk.service.api("DELETE", "/v1/assistants/big", tenant="globex").status == 204
    assert _keys(desk, "artifacts/tenants/globex/assistants/big/search/") == []
    assert _keys(desk, "artifacts/tenants/acme/assistants/big/search/") == acme_big

    assert desk.service.api("DELETE", "/v1/assistants/big").status == 204
    assert _keys(desk, "artifacts/tenants/acme/assistants/big-2/search/") == acme_big_2


def test_search_never_returns_a_tool_outside_the_toolset_and_invoke_still_refuses_it(desk: Desk) -> None:
    _upload(desk)
    update = {"integrations": ["big"], "exclude": ["delete_*"]}
    assert desk.service.api("PUT", "/v1/assistants/big", body=update).status == 200

    answer = _search(desk, "delete a webhook", limit="20")
    refused = desk.invoke({"arguments": {"id": "w1"}}, tool="delete_webhook", assistant="big")

    assert answer.status == 200, answer.body
    assert _names(answer) and not [name for name in _names(answer) if name.startswith("delete_")]
    assert refused.status == 403 and refused.body["error"]["code"] == "TOOL_NOT_AVAILABLE"
    assert desk.target.seen == []


def test_tenant_b_never_sees_tenant_a_tools_with_the_same_names(desk: Desk) -> None:
    _upload(desk, marker="A")
    _upload(desk, tenant="beta", resources=("widget", "gadget", "kitten", "ticket"), marker="B")

    answer = _search(desk, "remove a webhook", tenant="beta", limit="20")
    found = desk.invoke(
        {"arguments": {"query": "delete a widget", "limit": 20}},
        tool=SEARCH_TOOL,
        assistant="big",
        tenant="beta",
    )

    assert answer.status == 200, answer.body
    assert set(_names(answer)) <= set(tool_names(("widget", "gadget", "kitten", "ticket")))
    assert all(tool["function"]["description"].endswith("[B]") for tool in answer.body["tools"])
    assert found.status == 200, found.body
    tools = found.body["body"]["tools"]
    assert tools and all(tool["function"]["description"].endswith("[B]") for tool in tools)
    assert not _keys(desk, "artifacts/tenants/beta/assistants/big/search/")[0].startswith(
        "artifacts/tenants/acme"
    )


def test_listing_over_the_threshold_holds_the_pinned_tools_and_the_search_tool(desk: Desk) -> None:
    _upload(desk)
    update = {"integrations": ["big"], "pinned": ["list_ticket", "get_ticket"]}
    assert desk.service.api("PUT", "/v1/assistants/big", body=update).status == 200

    listing = desk.service.api("GET", "/v1/assistants/big/tools", role="agent", query={"format": "anthropic"})
    everything = desk.service.api(
        "GET", "/v1/assistants/big/tools", role="agent", query={"format": "anthropic", "search": "false"}
    )

    assert listing.status == 200, listing.body
    assert [tool["name"] for tool in listing.body["tools"]] == ["get_ticket", "list_ticket", SEARCH_TOOL]
    assert listing.body["search"] is True and listing.body["total_tools"] == 45
    assert len(everything.body["tools"]) == 45 and everything.body["search"] is False


def test_a_tool_found_by_search_and_never_listed_is_invoked_against_the_target(desk: Desk) -> None:
    _upload(desk)
    call = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": SEARCH_TOOL,
        "input": {"query": "update the fields of an invoice", "limit": 3},
    }
    found = desk.invoke(call, tool=SEARCH_TOOL, assistant="big")

    assert found.status == 200, found.body
    assert found.body["type"] == "tool_result" and found.body["tool_use_id"] == "toolu_1"
    envelope = json.loads(found.body["content"])
    tools = envelope["body"]["tools"]
    assert envelope["body"]["format"] == "anthropic"
    assert tools[0]["name"] == "update_invoice" and "input_schema" in tools[0]
    invoked = desk.invoke(
        {"arguments": {"id": "inv-7", "name": "paid"}}, tool="update_invoice", assistant="big"
    )
    assert invoked.status == 200, invoked.body
    assert invoked.body["ok"] is True
    assert [(seen.method, seen.path) for seen in desk.target.seen] == [("PATCH", "/invoices/inv-7")]


@pytest.mark.parametrize(
    ("query", "limit", "status", "code"),
    [
        ("x" * 1001, "5", 400, "SEARCH_QUERY_INVALID"),
        ("   ", "5", 400, "SEARCH_QUERY_INVALID"),
        # `limit` is also the listing's page size: the route refuses what is not a whole number from 1.
        ("webhook", "0", 422, "API_REQUEST_INVALID"),
        ("webhook", "many", 422, "API_REQUEST_INVALID"),
    ],
)
def test_hostile_query_or_limit_is_a_typed_error(
    desk: Desk, query: str, limit: str, status: int, code: str
) -> None:
    _upload(desk)

    answer = _search(desk, query, limit=limit)

    assert answer.status == status, answer.body
    assert answer.body["error"]["code"] == code


def test_a_huge_limit_is_clamped_to_the_most_results(desk: Desk) -> None:
    _upload(desk)

    answer = _search(desk, "widget", limit="100000")

    assert answer.status == 200, answer.body
    assert len(answer.body["tools"]) == 20


def test_mcp_lists_the_search_tool_and_its_call_returns_mcp_definitions(desk: Desk) -> None:
    _upload(desk)

    listed = call_mcp(desk, mcp_message("tools/list", {}), assistant="big")
    called = call_mcp(
        desk,
        mcp_message(
            "tools/call", {"name": SEARCH_TOOL, "arguments": {"query": "read a customer", "limit": 2}}
        ),
        assistant="big",
    )

    assert listed.status == 200, listed.body
    assert [tool["name"] for tool in listed.body["result"]["tools"]] == [SEARCH_TOOL]
    assert called.status == 200, called.body
    result = called.body["result"]
    assert result.get("isError") is not True
    tools = result["structuredContent"]["body"]["tools"]
    assert tools[0]["name"] == "get_customer" and "inputSchema" in tools[0]


def test_search_tool_answers_in_the_format_named_on_the_invoke_url(desk: Desk) -> None:
    from invoke_harness import invoke_event
    from service_harness import FakeLambdaContext

    from functions.invoke.handler import lambda_handler

    _upload(desk)
    event = invoke_event(
        "big",
        SEARCH_TOOL,
        tenant="acme",
        body={"arguments": {"query": "list every shipment", "limit": 2}},
    )
    event["queryStringParameters"] = {"format": "bedrock"}

    raw = lambda_handler(event, FakeLambdaContext())

    assert raw["statusCode"] == 200, raw["body"]
    body = json.loads(raw["body"])["body"]
    assert body["format"] == "bedrock"
    assert body["tools"][0]["toolSpec"]["name"] == "list_shipment"


def test_a_spec_tool_named_like_the_search_tool_is_a_conflict_never_shadowed(desk: Desk) -> None:
    spec = json.loads(big_spec(desk.target.url, resources=("widget",)))
    spec["paths"]["/widgets"]["get"]["operationId"] = SEARCH_TOOL
    response = desk.service.api(
        "PUT", "/v1/integrations/big", body=json.dumps(spec), headers={"content-type": "application/json"}
    )
    assert response.status == 200, response.body
    assert (
        desk.service.api("POST", "/v1/assistants", body={"id": "big", "integrations": ["big"]}).status == 201
    )

    listing = desk.service.api("GET", "/v1/assistants/big/tools", role="agent")

    assert listing.status == 409 and listing.body["error"]["code"] == "TOOL_NAME_CONFLICT"
    assert SEARCH_TOOL in listing.body["error"]["message"]


# --- Bedrock embeddings (issue 15, slice bedrock) --------------------------------------------------


def _search_function_embedding_with(monkeypatch: pytest.MonkeyPatch, embedder: Any) -> None:
    """A fresh environment of the search function whose semantic stage is `embedder`."""
    from toolgate.service.search_index import SearchIndexes
    from toolgate.settings import get_search_settings

    import functions.search.handler as search_handler

    monkeypatch.setattr(search_handler, "indexes", SearchIndexes(get_search_settings(), embedder=embedder))


def test_an_index_another_embedder_built_is_refused_and_rebuilt_by_the_configured_one(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from toolgate.errors import SearchIndexVersionError
    from toolgate.search import load_index

    from tests.search_embedders import DigestEmbedder

    _upload(desk)  # indexed with the offline model
    (index_key,) = _keys(desk, "artifacts/tenants/acme/assistants/big/search/")
    switched = DigestEmbedder()
    _search_function_embedding_with(monkeypatch, switched)

    answer = _search(desk, "remove a webhook permanently")

    assert answer.status == 200, answer.body
    assert _names(answer), "never an empty list as if nothing matched"
    assert "remove a webhook permanently" in switched.embedded
    stored = desk.service.s3.get_object(Bucket=BUCKET_NAME, Key=index_key)["Body"].read()
    assert len(load_index(stored, embedder=switched)) > 0, "rebuilt with the configured embedder"
    with pytest.raises(SearchIndexVersionError):
        load_index(stored)


def test_bedrock_answering_no_vector_is_a_typed_503_never_an_empty_result(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's InvokeModel answers `{}`: the real client, request and error path, through every hop."""
    from toolgate.adapters.aws.bedrock import configured_embedder
    from toolgate.settings import get_search_settings

    _upload(desk)
    monkeypatch.setenv("TOOLGATE_SEARCH_EMBEDDINGS", "bedrock")
    get_search_settings.cache_clear()
    _search_function_embedding_with(monkeypatch, configured_embedder(get_search_settings()))

    answer = _search(desk, "remove a webhook permanently")

    assert answer.status == 503, answer.body
    assert answer.body["error"]["code"] == "SEARCH_EMBEDDINGS_UNAVAILABLE"
    assert "answered no embedding of 512 numbers" in answer.body["error"]["message"]
    assert "remove a webhook" not in json.dumps(answer.body)


@pytest.mark.parametrize(
    "arguments",
    [
        {"query": {"$ne": None}},
        {"query": ["delete", "webhook"], "limit": 2},
        {"query": "list every shipment", "limit": "all"},
        {"query": "list every shipment", "limit": True},
        {"query": "list every shipment", "drop": "table"},
        {},
    ],
)
def test_a_hostile_models_search_arguments_are_a_typed_error_result_never_a_crash(
    desk: Desk, arguments: dict[str, Any]
) -> None:
    from invoke_harness import invoke_event
    from service_harness import FakeLambdaContext

    from functions.invoke.handler import lambda_handler

    _upload(desk)
    event = invoke_event("big", SEARCH_TOOL, tenant="acme", body={"arguments": arguments})

    raw = lambda_handler(event, FakeLambdaContext())

    assert raw["statusCode"] == 200, raw["body"]
    envelope = json.loads(raw["body"])
    assert envelope["ok"] is False
    assert envelope["error"]["code"] in {"SEARCH_QUERY_INVALID", "ARGUMENTS_INVALID"}
    assert not (envelope.get("body") or {}).get("tools")
