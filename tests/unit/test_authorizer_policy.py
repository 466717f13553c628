"""The authorizer builds its IAM policy by hand (issue 16: Powertools' event classes cost its cold start).
It must allow exactly what Powertools' `from_route_arn(...).allow_all_routes()` allowed: the calling
stage's every method and path, nothing of another stage or API."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from functions.authorizer.handler import allow_every_route

CONTEXT = {"tenant_id": "acme", "role": "agent", "principal": "bot", "key_id": "0123456789abcdef"}


@pytest.mark.parametrize(
    "method_arn",
    [
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/integrations",
        "arn:aws:execute-api:eu-west-3:123456789012:zz9/dev/POST/v1/assistants/a/tools/t/invoke",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/DELETE/",
        "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET",
    ],
)
def test_authorizer_policy_allows_the_same_routes_as_powertools_and_no_other_stage(method_arn: str) -> None:
    expected = APIGatewayAuthorizerResponse.from_route_arn(
        method_arn, principal_id="acme:bot", context=CONTEXT
    )
    expected.allow_all_routes()
    policy = allow_every_route(method_arn, "acme:bot", dict(CONTEXT))
    assert policy == expected.asdict()
    (resource,) = policy["policyDocument"]["Statement"][0]["Resource"]
    api, stage = method_arn.split("/")[:2]
    assert resource == f"{api}/{stage}/*/*"


def test_authorizer_policy_keeps_the_callers_partition() -> None:
    arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/prod/GET/v1/tools"
    (resource,) = allow_every_route(arn, "acme:bot", dict(CONTEXT))["policyDocument"]["Statement"][0][
        "Resource"
    ]
    assert resource == "arn:aws-cn:execute-api:cn-north-1:123456789012:abcdef1234/prod/*/*"
