"""The MCP function in the synthesized stack: its routes, and permissions and settings no broader than the
invoke function's (it runs the same tool calls)."""

from __future__ import annotations

from typing import Any

from synth_helpers import as_list, function_role_ids, logical_id, of_type, render, role_statements

from infra.stack import ToolgateStack


def _grants(resources: dict[str, Any], role_id: str, own_logs: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the role is allowed, its own log group named alike."""
    grants: set[tuple[str, str]] = set()
    for statement in role_statements(resources, role_id):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                grants.add((action, render(resource).replace(own_logs, "OWN_LOGS")))
    return grants


def test_the_mcp_function_may_do_nothing_the_invoke_function_may_not(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    roles = function_role_ids(stack)
    mcp = _grants(resources, roles["mcp"], logical_id(stack.mcp_function.log_group))
    invoke = _grants(resources, roles["invoke"], logical_id(stack.invoke_function.log_group))
    assert mcp, "the MCP function has grants"
    assert mcp <= invoke


def test_the_mcp_function_reads_the_invoke_functions_settings(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    def variables(function: Any) -> dict[str, Any]:
        return dict(resources[logical_id(function)]["Properties"]["Environment"]["Variables"])

    assert variables(stack.mcp_function) == variables(stack.invoke_function)


def test_the_mcp_routes_use_the_api_key_authorizer_and_only_discovery_is_keyless(
    stack: ToolgateStack, resources: dict[str, Any]
) -> None:
    mcp = f"${{{logical_id(stack.live_aliases['mcp'])}}}"
    methods = [
        method["Properties"]
        for method in of_type(resources, "AWS::ApiGateway::Method").values()
        if mcp in render(method["Properties"]["Integration"]["Uri"])
    ]
    by_authorization = sorted((m["HttpMethod"], m["AuthorizationType"]) for m in methods)
    assert by_authorization == [("DELETE", "CUSTOM"), ("GET", "CUSTOM"), ("GET", "NONE"), ("POST", "CUSTOM")]
