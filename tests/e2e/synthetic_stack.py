"""A small hand-written template and its handlers, to test the local stack's machinery in isolation.

Each handler writes what it received to `$RECORD_DIR/{function}.jsonl`, so tests can see what ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STACK = "Demo"
STAGE = "test"
TOKEN_PATTERN = "^Bearer [a-z]+-[0-9]$"

_RECORDER = """
import json
import os
from pathlib import Path


def record(function, value):
    with (Path(os.environ["RECORD_DIR"]) / f"{function}.jsonl").open("a") as log:
        log.write(json.dumps(value) + "\\n")
"""

ECHO_HANDLER = (
    _RECORDER
    + """

def lambda_handler(event, context):
    record("echo", event["path"])
    item = (event.get("pathParameters") or {}).get("id")
    if item == "boom":
        raise RuntimeError("the function failed")
    if item == "bad":
        return "not a proxy response"
    if event["isBase64Encoded"]:
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": event["body"],
            "isBase64Encoded": True,
        }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({"event": event, "hint": os.environ["STACK_HINT"]}),
    }
"""
)

GATE_HANDLER = (
    _RECORDER
    + """

def lambda_handler(event, context):
    record("gate", event)
    token = event["authorizationToken"].removeprefix("Bearer ")
    if not token.startswith(("allow-", "deny-")):
        raise Exception("Unauthorized")
    arn, stage = event["methodArn"].split("/")[:2]
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if token.startswith("allow-") else "Deny",
                    "Resource": f"{arn}/{stage}/*/*",
                }
            ],
        },
        "context": {"tenant": "t-1"},
    }
"""
)

WORKER_HANDLER = (
    _RECORDER
    + """

def lambda_handler(event, context):
    if "double" in event:
        return {"value": event["double"] * 2}
    bodies = [record["body"] for record in event["Records"]]
    record("worker", bodies)
    return {
        "batchItemFailures": [
            {"itemIdentifier": item["messageId"]} for item in event["Records"] if "fail" in item["body"]
        ]
    }
"""
)

HANDLERS = {"echo": ECHO_HANDLER, "gate": GATE_HANDLER, "worker": WORKER_HANDLER}


def _function(name: str, environment: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "handler.lambda_handler",
            "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
            "Code": {"S3Bucket": "assets", "S3Key": f"{name}.zip"},
            "Timeout": 10,
            "Environment": {"Variables": dict(environment)},
        },
        "Metadata": {"aws:cdk:path": f"{STACK}/{name.capitalize()}Function/Resource"},
    }


def _method(resource: dict[str, Any], http_method: str, function: str, **extra: Any) -> dict[str, Any]:
    uri = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                ":lambda:path/2015-03-31/functions/",
                {"Fn::GetAtt": [function, "Arn"]},
                "/invocations",
            ],
        ]
    }
    return {
        "Type": "AWS::ApiGateway::Method",
        "Properties": {
            "RestApiId": {"Ref": "Api"},
            "ResourceId": resource,
            "HttpMethod": http_method,
            "AuthorizationType": "NONE",
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
            **extra,
        },
    }


def _resource(parent: dict[str, Any], path_part: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Resource",
        "Properties": {"RestApiId": {"Ref": "Api"}, "ParentId": parent, "PathPart": path_part},
    }


def template(record_dir: Path) -> dict[str, Any]:
    environment = {
        "RECORD_DIR": str(record_dir),
        "STACK_HINT": {"Fn::Sub": "${AWS::StackName}/${Queue.QueueName}"},
    }
    root = {"Fn::GetAtt": ["Api", "RootResourceId"]}
    state_machine_definition = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"Double","States":{"Double":{"Type":"Task",'
                '"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"',
                {"Fn::GetAtt": ["WorkerFunction", "Arn"]},
                '","Payload":{"double.$":"$.n"}},"ResultSelector":{"value.$":"$.Payload.value"},"End":true}}}',
            ],
        ]
    }
    return {
        "Resources": {
            "FunctionRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "VisibilityTimeout": 1,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
                        "maxReceiveCount": 2,
                    },
                },
            },
            "EchoFunction": _function("echo", environment),
            "GateFunction": _function("gate", environment),
            "WorkerFunction": _function("worker", environment),
            "WorkerMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
                    "FunctionName": {"Ref": "WorkerFunction"},
                    "BatchSize": 2,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
            "Doubler": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": state_machine_definition,
                    "RoleArn": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                },
            },
            "Key": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"GenerateSecretString": {"PasswordLength": 20, "ExcludePunctuation": True}},
            },
            "Alarms": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"Name": "demo", "BinaryMediaTypes": ["application/octet-stream"]},
            },
            "Items": _resource(root, "items"),
            "Item": _resource({"Ref": "Items"}, "{id}"),
            "Special": _resource({"Ref": "Items"}, "special"),
            "Anything": _resource(root, "{proxy+}"),
            "Gate": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "Type": "TOKEN",
                    "IdentitySource": "method.request.header.Authorization",
                    "IdentityValidationExpression": TOKEN_PATTERN,
                    "AuthorizerResultTtlInSeconds": 300,
                    "AuthorizerUri": {
                        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                        "${GateFunction.Arn}/invocations"
                    },
                },
            },
            "GetItem": _method(
                {"Ref": "Item"},
                "GET",
                "EchoFunction",
                AuthorizationType="CUSTOM",
                AuthorizerId={"Ref": "Gate"},
            ),
            "GetSpecial": _method({"Ref": "Special"}, "GET", "EchoFunction"),
            "PostItems": _method({"Ref": "Items"}, "POST", "EchoFunction"),
            "AnyAnything": _method({"Ref": "Anything"}, "ANY", "EchoFunction"),
            "Deployment": {
                "Type": "AWS::ApiGateway::Deployment",
                "Properties": {"RestApiId": {"Ref": "Api"}},
            },
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {
                    "RestApiId": {"Ref": "Api"},
                    "DeploymentId": {"Ref": "Deployment"},
                    "StageName": STAGE,
                    "Variables": {"color": "blue"},
                },
            },
        },
        "Outputs": {
            "Url": {
                "Value": {
                    "Fn::Join": [
                        "",
                        [
                            "https://",
                            {"Ref": "Api"},
                            ".execute-api.",
                            {"Ref": "AWS::Region"},
                            ".",
                            {"Ref": "AWS::URLSuffix"},
                            f"/{STAGE}/",
                        ],
                    ]
                }
            },
            "AlarmTopic": {"Value": {"Ref": "Alarms"}},
        },
    }


def write_stack(directory: Path, document: dict[str, Any]) -> tuple[Path, Path]:
    """The template file and the functions folder of a synthetic stack in `directory`."""
    functions = directory / "functions"
    for name, source in HANDLERS.items():
        (functions / name).mkdir(parents=True, exist_ok=True)
        (functions / name / "handler.py").write_text(source)
    path = directory / f"{STACK}.template.json"
    path.write_text(json.dumps(document))
    return path, functions


def records(record_dir: Path, function: str) -> list[Any]:
    path = record_dir / f"{function}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
