"""Create the template's resources in moto, through boto3 against moto's server, in dependency order.

Every resource ends up in the report: created in moto, served by the front door (API Gateway), or not
created locally with the reason. Physical names follow CloudFormation's pattern and are stable across runs.
"""

from __future__ import annotations

import io
import json
import secrets
import string
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError
from toolgate.errors import LocalTemplateError

from toolgate_local.handlers import HandlerSource, handler_source
from toolgate_local.intrinsics import PseudoParameters, Resolver, UnresolvedReferenceError
from toolgate_local.template import Template, physical_name

Status = Literal["created", "served", "not created"]

#: Resource types the front door serves (see `toolgate_local.front_door`).
SERVED_TYPES = frozenset(
    {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Authorizer",
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::GatewayResponse",
    }
)

_NO_POLICY_EVALUATION = "moto does not evaluate IAM policies: every local call is allowed"
_NO_RESOURCE_POLICY = "moto does not evaluate resource policies"
#: Why a resource type is not created; types missing here get `DEFAULT_REASON`.
NOT_CREATED_REASONS: Mapping[str, str] = {
    "AWS::IAM::Policy": _NO_POLICY_EVALUATION,
    "AWS::IAM::ManagedPolicy": _NO_POLICY_EVALUATION,
    "AWS::S3::BucketPolicy": _NO_RESOURCE_POLICY,
    "AWS::SQS::QueuePolicy": _NO_RESOURCE_POLICY,
    "AWS::SNS::TopicPolicy": _NO_RESOURCE_POLICY,
    "AWS::Lambda::Permission": f"the front door invokes functions directly and {_NO_RESOURCE_POLICY}",
    "AWS::Lambda::LayerVersion": "handlers run in this process, with the installed toolgate and its deps",
    "AWS::Logs::LogGroup": "handlers log to this process's standard output",
    "AWS::ApiGateway::Account": "the front door logs to standard output; there is no CloudWatch role to set",
    "AWS::CloudWatch::Alarm": "no metrics are collected locally",
    "AWS::SNS::Topic": "nothing local publishes to SNS (alarm notifications only)",
    "AWS::KMS::Key": "local data is kept in moto's memory, unencrypted",
}
DEFAULT_REASON = "no local equivalent is provisioned for this type"

#: What moto needs as function code: the handler itself comes from the routing hook.
_PLACEHOLDER_CODE = "# Runs in-process through toolgate_local.lambda_routing; this file is never executed.\n"
_API_ID_LENGTH = 10


@dataclass(frozen=True)
class ResourceReport:
    logical_id: str
    resource_type: str
    status: Status
    #: The physical id (name, URL or ARN) for created and served resources; the reason otherwise.
    detail: str
    note: str | None = None


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    function_name: str
    function_arn: str
    environment: Mapping[str, str]
    handler: HandlerSource
    #: The template's `ReservedConcurrentExecutions`: events the function runs at once; None if unset.
    reserved_concurrency: int | None = None
    #: `TenancyConfig` is PER_TENANT: Lambda's tenant isolation mode.
    tenant_isolation: bool = False


@dataclass(frozen=True)
class QueueEventSource:
    """An SQS event source mapping, delivered by `toolgate_local.sqs_poller`."""

    logical_id: str
    queue_url: str
    queue_arn: str
    function_name: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class Provisioned:
    resolver: Resolver
    reports: list[ResourceReport] = field(default_factory=list)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    event_sources: list[QueueEventSource] = field(default_factory=list)


class Provisioner:
    def __init__(
        self,
        template: Template,
        session: boto3.Session,
        *,
        endpoint_url: str,
        pseudo: PseudoParameters,
        functions_dir: Path,
        api_base_url: str,
    ) -> None:
        self.template = template
        self.pseudo = pseudo
        self.functions_dir = functions_dir
        self.api_base_url = api_base_url
        self._session = session
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._queue_urls: dict[str, str] = {}
        self._execute_api_hosts: list[str] = []
        self.result = Provisioned(resolver=Resolver(template.document, pseudo))
        self._creators: dict[str, Callable[[str, Mapping[str, Any]], ResourceReport]] = {
            "AWS::IAM::Role": self._role,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::Version": self._version,
            "AWS::Lambda::Alias": self._alias,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::ApiGateway::UsagePlan": self._usage_plan,
        }

    def run(self) -> Provisioned:
        resolver = self.result.resolver
        handled: list[str] = []
        for logical_id, resource in self.template.resources.items():
            resource_type = str(resource.get("Type"))
            condition = resource.get("Condition")
            if isinstance(condition, str) and not resolver.condition(condition):
                self._skip(logical_id, resource_type, f"its condition {condition} is false")
            elif resource_type in self._creators or resource_type in SERVED_TYPES:
                handled.append(logical_id)
            else:
                self._skip(logical_id, resource_type, NOT_CREATED_REASONS.get(resource_type, DEFAULT_REASON))
        for logical_id in self.template.dependency_order(handled):
            self.result.reports.append(self._build(logical_id))
        return self.result

    def _build(self, logical_id: str) -> ResourceReport:
        resource_type = self.template.resource_type(logical_id)
        properties = self.template.properties(logical_id)
        build = self._served if resource_type in SERVED_TYPES else self._creators[resource_type]
        try:
            return build(logical_id, properties)
        except ClientError as error:
            raise LocalTemplateError(f"moto refused {logical_id} ({resource_type}): {error}") from None
        except KeyError as error:
            raise LocalTemplateError(
                f"{logical_id} ({resource_type}) has no {error.args[0]} property."
            ) from None

    def rewrite_api_urls(self, value: str) -> str:
        """Point the execute-api URLs of the template's REST API at the front door instead."""
        for host in self._execute_api_hosts:
            value = value.replace(f"https://{host}", self.api_base_url)
        return value

    # --- Shared ---------------------------------------------------------------------------------

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            # boto3's stubs type `client` per literal service name; these clients are used untyped.
            session: Any = self._session
            self._clients[service] = session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]

    def _skip(self, logical_id: str, resource_type: str, reason: str) -> None:
        self.result.resolver.mark_unavailable(logical_id, reason)
        self.result.reports.append(ResourceReport(logical_id, resource_type, "not created", reason))

    def _resolve(self, value: Any) -> Any:
        return self.result.resolver.resolve(value)

    def _name(self, logical_id: str, given: Any, *, max_length: int, lowercase: bool = False) -> str:
        if given is not None:
            return self.result.resolver.resolve_string(given, f"{logical_id} name")
        return physical_name(self.template.stack_name, logical_id, max_length=max_length, lowercase=lowercase)

    # --- Created in moto --------------------------------------------------------------------------

    def _role(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        name = self._name(logical_id, properties.get("RoleName"), max_length=64)
        arguments: dict[str, Any] = {
            "RoleName": name,
            "AssumeRolePolicyDocument": json.dumps(self._resolve(properties["AssumeRolePolicyDocument"])),
            "Path": properties.get("Path", "/"),
            "MaxSessionDuration": int(properties.get("MaxSessionDuration", 3600)),
        }
        if "Description" in properties:
            arguments["Description"] = self._resolve(properties["Description"])
        role = self._client("iam").create_role(**arguments)["Role"]
        self.result.resolver.provide(logical_id, name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})
        return ResourceReport(
            logical_id,
            "AWS::IAM::Role",
            "created",
            role["Arn"],
            note="trust policy only; policies not attached",
        )

    def _table(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        name = self._name(logical_id, properties.get("TableName"), max_length=255)
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": self._resolve(properties["KeySchema"]),
            "AttributeDefinitions": self._resolve(properties["AttributeDefinitions"]),
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        for key in ("ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if key in properties:
                arguments[key] = self._resolve(properties[key])
        stream = properties.get("StreamSpecification")
        if stream:
            arguments["StreamSpecification"] = {"StreamEnabled": True, **self._resolve(stream)}
        table = self._client("dynamodb").create_table(**arguments)["TableDescription"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self._client("dynamodb").update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": self._resolve(ttl["AttributeName"]),
                },
            )
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        self.result.resolver.provide(logical_id, name, attributes)
        note = f"TTL on {ttl['AttributeName']}" if ttl and ttl.get("Enabled") else None
        return ResourceReport(logical_id, "AWS::DynamoDB::Table", "created", name, note=note)

    def _queue(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        fifo = bool(properties.get("FifoQueue"))
        given = properties.get("QueueName")
        name = self._name(logical_id, given, max_length=75 if fifo else 80)
        if fifo and given is None:
            name += ".fifo"
        attributes: dict[str, str] = {}
        for key in (
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
        ):
            if key in properties:
                value = self._resolve(properties[key])
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in properties:
                attributes[key] = json.dumps(self._resolve(properties[key]))
        url = self._client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:{self.pseudo.partition}:sqs:{self.pseudo.region}:{self.pseudo.account_id}:{name}"
        self._queue_urls[arn] = url
        self.result.resolver.provide(logical_id, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})
        note = None
        if "RedrivePolicy" in attributes:
            redrive = json.loads(attributes["RedrivePolicy"])
            dead_letters = str(redrive["deadLetterTargetArn"]).rsplit(":", 1)[-1]
            note = f"redrive to {dead_letters} after {redrive['maxReceiveCount']} receives"
        return ResourceReport(logical_id, "AWS::SQS::Queue", "created", url, note=note)

    def _bucket(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        name = self._bucket_name(logical_id, properties)
        s3 = self._client("s3")
        if self.pseudo.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.pseudo.region}
            )
        versioning = properties.get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": self._resolve(versioning["Status"])}
            )
        notes: list[str] = ["versioned"] if versioning and versioning.get("Status") == "Enabled" else []
        if "NotificationConfiguration" in properties:
            notification, skipped = self._notification(properties["NotificationConfiguration"])
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=notification)
            destinations = [
                str(entry[arn_key]).rsplit(":", 1)[-1]
                for api_key, arn_key in _NOTIFICATION_TARGETS.values()
                for entry in notification.get(api_key, [])
            ]
            if destinations:
                notes.append("notifies " + ", ".join(destinations))
            notes.extend(skipped)
        regional = f"{name}.s3.{self.pseudo.region}.{self.pseudo.url_suffix}"
        self.result.resolver.provide(
            logical_id,
            name,
            {
                "Arn": f"arn:{self.pseudo.partition}:s3:::{name}",
                "DomainName": f"{name}.s3.{self.pseudo.url_suffix}",
                "RegionalDomainName": regional,
                "DualStackDomainName": f"{name}.s3.dualstack.{self.pseudo.region}.{self.pseudo.url_suffix}",
                "WebsiteURL": f"http://{name}.s3-website-{self.pseudo.region}.{self.pseudo.url_suffix}",
            },
        )
        return ResourceReport(logical_id, "AWS::S3::Bucket", "created", name, note="; ".join(notes) or None)

    def _bucket_name(self, logical_id: str, properties: Mapping[str, Any]) -> str:
        if "BucketName" in properties:
            return self.result.resolver.resolve_string(properties["BucketName"], f"{logical_id} BucketName")
        prefix = properties.get("BucketNamePrefix")
        if prefix is not None:
            text = self.result.resolver.resolve_string(prefix, f"{logical_id} BucketNamePrefix")
            if properties.get("BucketNamespace") != "account-regional":
                raise LocalTemplateError(
                    f"{logical_id}: BucketNamePrefix without the account-regional namespace is not supported."
                )
            # The account-regional namespace: S3 appends the account, the region and `-an`.
            return f"{text}-{self.pseudo.account_id}-{self.pseudo.region}-an"
        return physical_name(self.template.stack_name, logical_id, max_length=63, lowercase=True)

    def _notification(self, configuration: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
        notification: dict[str, Any] = {}
        skipped: list[str] = []
        for cfn_key, (api_key, arn_key) in _NOTIFICATION_TARGETS.items():
            for entry in configuration.get(cfn_key, []):
                target_key = _NOTIFICATION_CFN_TARGET[cfn_key]
                try:
                    target = self._resolve(entry[target_key])
                except UnresolvedReferenceError as error:
                    skipped.append(f"notification to {error.logical_id} skipped (not created locally)")
                    continue
                converted: dict[str, Any] = {arn_key: target, "Events": [self._resolve(entry["Event"])]}
                rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules")
                if rules:
                    converted["Filter"] = {"Key": {"FilterRules": self._resolve(rules)}}
                notification.setdefault(api_key, []).append(converted)
        if configuration.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            notification["EventBridgeConfiguration"] = {}
        return notification, skipped

    def _secret(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        name = self._name(logical_id, properties.get("Name"), max_length=256)
        if "SecretString" in properties:
            value = self.result.resolver.resolve_string(
                properties["SecretString"], f"{logical_id} SecretString"
            )
            note = "value from the template"
        else:
            value = generate_secret_string(self._resolve(properties.get("GenerateSecretString", {})))
            note = "value generated locally"
        arguments: dict[str, Any] = {"Name": name, "SecretString": value}
        if "Description" in properties:
            arguments["Description"] = self._resolve(properties["Description"])
        arn = self._client("secretsmanager").create_secret(**arguments)["ARN"]
        self.result.resolver.provide(logical_id, arn, {"Id": arn})
        return ResourceReport(logical_id, "AWS::SecretsManager::Secret", "created", arn, note=note)

    def _function(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        source = handler_source(
            logical_id,
            properties,
            self.template.metadata(logical_id),
            functions_dir=self.functions_dir,
            assets_dir=self.template.path.parent,
        )
        name = self._name(logical_id, properties.get("FunctionName"), max_length=64)
        environment = self._function_environment(logical_id, properties)
        arguments: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": properties["Runtime"],
            "Role": self._resolve(properties["Role"]),
            "Handler": properties["Handler"],
            "Code": {"ZipFile": _placeholder_zip(source.path.name)},
            "Timeout": int(properties.get("Timeout", 3)),
            "MemorySize": int(properties.get("MemorySize", 128)),
            "Environment": {"Variables": environment},
        }
        if "Architectures" in properties:
            arguments["Architectures"] = properties["Architectures"]
        if "Description" in properties:
            arguments["Description"] = self._resolve(properties["Description"])
        created = self._client("lambda").create_function(**arguments)
        self.result.resolver.provide(logical_id, name, {"Arn": created["FunctionArn"]})
        self.result.functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            function_name=name,
            function_arn=created["FunctionArn"],
            environment=environment,
            handler=source,
            reserved_concurrency=_reserved_concurrency(properties.get("ReservedConcurrentExecutions")),
            tenant_isolation=_tenant_isolation(logical_id, properties.get("TenancyConfig")),
        )
        notes = [f"runs {source.path.relative_to(self.functions_dir.parent)}"]
        if source.note:
            notes.append(source.note)
        return ResourceReport(logical_id, "AWS::Lambda::Function", "created", name, note="; ".join(notes))

    def _version(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        published = self._client("lambda").publish_version(
            FunctionName=self._resolve(properties["FunctionName"])
        )
        arn = published["FunctionArn"]
        self.result.resolver.provide(logical_id, arn, {"Version": published["Version"], "FunctionArn": arn})
        # A SnapStart snapshot has no local equivalent: every version runs the one in-process handler.
        return ResourceReport(logical_id, "AWS::Lambda::Version", "created", arn, note="no SnapStart locally")

    def _alias(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        created = self._client("lambda").create_alias(
            FunctionName=self._resolve(properties["FunctionName"]),
            Name=self._resolve(properties["Name"]),
            FunctionVersion=str(self._resolve(properties["FunctionVersion"])),
        )
        arn = created["AliasArn"]
        self.result.resolver.provide(logical_id, arn, {"AliasArn": arn})
        return ResourceReport(logical_id, "AWS::Lambda::Alias", "created", arn)

    def _function_environment(self, logical_id: str, properties: Mapping[str, Any]) -> dict[str, str]:
        variables = properties.get("Environment", {}).get("Variables", {})
        environment: dict[str, str] = {}
        for variable, value in variables.items():
            try:
                resolved = self.result.resolver.resolve_string(value, f"{logical_id} {variable}")
            except UnresolvedReferenceError as error:
                raise LocalTemplateError(
                    f"Function {logical_id}: environment variable {variable}: {error.message}",
                    details=error.details,
                ) from None
            environment[variable] = self.rewrite_api_urls(resolved)
        return environment

    def _event_source_mapping(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        source_arn = self.result.resolver.resolve_string(properties.get("EventSourceArn"), logical_id)
        function_name = self.result.resolver.resolve_string(properties["FunctionName"], logical_id)
        resource_type = "AWS::Lambda::EventSourceMapping"
        queue_url = self._queue_urls.get(source_arn)
        if queue_url is None:
            reason = f"only SQS queues of this stack are polled locally, not {source_arn}"
            self.result.resolver.mark_unavailable(logical_id, reason)
            return ResourceReport(logical_id, resource_type, "not created", reason)
        batch_size = int(properties.get("BatchSize", 10))
        response_types = list(properties.get("FunctionResponseTypes", []))
        enabled = properties.get("Enabled", True) is not False
        # Created disabled: moto's own delivery would invoke the function inside SendMessage, one message
        # at a time and ignoring ReportBatchItemFailures. The local poller delivers instead.
        mapping = self._client("lambda").create_event_source_mapping(
            EventSourceArn=source_arn,
            FunctionName=function_name,
            BatchSize=batch_size,
            FunctionResponseTypes=response_types,
            Enabled=False,
        )
        self.result.resolver.provide(logical_id, mapping["UUID"], {"Id": mapping["UUID"]})
        report_failures = "ReportBatchItemFailures" in response_types
        if enabled:
            self.result.event_sources.append(
                QueueEventSource(
                    logical_id=logical_id,
                    queue_url=queue_url,
                    queue_arn=source_arn,
                    function_name=function_name,
                    batch_size=batch_size,
                    report_batch_item_failures=report_failures,
                )
            )
        delivery = (
            f"the local poller delivers batches of up to {min(batch_size, 10)} to {function_name}"
            + (" with ReportBatchItemFailures" if report_failures else "")
            if enabled
            else "disabled in the template"
        )
        return ResourceReport(logical_id, resource_type, "created", mapping["UUID"], note=delivery)

    def _state_machine(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        name = self._name(logical_id, properties.get("StateMachineName"), max_length=80)
        if "Definition" in properties:
            definition = json.dumps(self._resolve(properties["Definition"]))
        elif "DefinitionString" in properties:
            definition = self.result.resolver.resolve_string(properties["DefinitionString"], logical_id)
        else:
            raise LocalTemplateError(f"State machine {logical_id} has no inline definition.")
        for key, value in self._resolve(properties.get("DefinitionSubstitutions", {})).items():
            definition = definition.replace("${" + key + "}", str(value))
        created = self._client("stepfunctions").create_state_machine(
            name=name,
            definition=self.rewrite_api_urls(definition),
            roleArn=self._resolve(properties["RoleArn"]),
            type=properties.get("StateMachineType", "STANDARD"),
        )
        arn = created["stateMachineArn"]
        self.result.resolver.provide(logical_id, arn, {"Arn": arn, "Name": name})
        return ResourceReport(
            logical_id, "AWS::StepFunctions::StateMachine", "created", arn, note="executions run in moto"
        )

    def _usage_plan(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        """Created in moto, so that a tenant's bootstrap adds its usage key to it as on AWS; the front door
        applies its throttle (`toolgate_local.front_door`)."""
        arguments: dict[str, Any] = {
            "name": self._name(logical_id, properties.get("UsagePlanName"), max_length=128)
        }
        if "Throttle" in properties:
            arguments["throttle"] = self._resolve(properties["Throttle"])
            arguments["throttle"] = {
                key[0].lower() + key[1:]: value for key, value in arguments["throttle"].items()
            }
        if "ApiStages" in properties:
            arguments["apiStages"] = [
                {"apiId": stage["ApiId"], "stage": stage["Stage"]}
                for stage in self._resolve(properties["ApiStages"])
            ]
        plan_id = str(self._client("apigateway").create_usage_plan(**arguments)["id"])
        self.result.resolver.provide(logical_id, plan_id, {"Id": plan_id})
        return ResourceReport(
            logical_id,
            "AWS::ApiGateway::UsagePlan",
            "created",
            plan_id,
            note="keys are added by each tenant's bootstrap; the front door applies its throttle",
        )

    # --- Served by the front door ---------------------------------------------------------------

    def _served(self, logical_id: str, properties: Mapping[str, Any]) -> ResourceReport:
        resolver = self.result.resolver
        resource_type = self.template.resource_type(logical_id)
        local_id = physical_name(self.template.stack_name, logical_id, max_length=40, lowercase=True)[
            -_API_ID_LENGTH:
        ]
        if resource_type == "AWS::ApiGateway::RestApi":
            root_id = physical_name(self.template.stack_name, f"{logical_id}/", max_length=40, lowercase=True)
            resolver.provide(
                logical_id, local_id, {"RootResourceId": root_id[-_API_ID_LENGTH:], "RestApiId": local_id}
            )
            self._execute_api_hosts.append(
                f"{local_id}.execute-api.{self.pseudo.region}.{self.pseudo.url_suffix}"
            )
            return ResourceReport(logical_id, resource_type, "served", f"{self.api_base_url}/")
        if resource_type == "AWS::ApiGateway::Stage":
            stage = resolver.resolve_string(properties["StageName"], f"{logical_id} StageName")
            resolver.provide(logical_id, stage)
            return ResourceReport(logical_id, resource_type, "served", f"{self.api_base_url}/{stage}/")
        attribute = {
            "AWS::ApiGateway::Resource": "ResourceId",
            "AWS::ApiGateway::Authorizer": "AuthorizerId",
            "AWS::ApiGateway::Deployment": "DeploymentId",
            "AWS::ApiGateway::Method": "MethodId",
            "AWS::ApiGateway::GatewayResponse": "Id",
        }[resource_type]
        resolver.provide(logical_id, local_id, {attribute: local_id})
        return ResourceReport(logical_id, resource_type, "served", local_id)


#: CloudFormation's notification lists, the API's names for them, and the key of each destination ARN.
_NOTIFICATION_TARGETS: Mapping[str, tuple[str, str]] = {
    "QueueConfigurations": ("QueueConfigurations", "QueueArn"),
    "LambdaConfigurations": ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
    "TopicConfigurations": ("TopicConfigurations", "TopicArn"),
}
_NOTIFICATION_CFN_TARGET: Mapping[str, str] = {
    "QueueConfigurations": "Queue",
    "LambdaConfigurations": "Function",
    "TopicConfigurations": "Topic",
}

#: Secrets Manager's punctuation set for generated passwords.
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def generate_secret_string(spec: Mapping[str, Any]) -> str:
    """A value like Secrets Manager's GenerateSecretString makes, from this process's CSPRNG."""
    excluded = set(str(spec.get("ExcludeCharacters", "")))
    classes = [
        chars
        for chars, exclude_key in (
            (string.ascii_lowercase, "ExcludeLowercase"),
            (string.ascii_uppercase, "ExcludeUppercase"),
            (string.digits, "ExcludeNumbers"),
            (_PUNCTUATION, "ExcludePunctuation"),
        )
        if not spec.get(exclude_key)
    ]
    if spec.get("IncludeSpace"):
        classes.append(" ")
    classes = [
        allowed
        for allowed in ("".join(c for c in chars if c not in excluded) for chars in classes)
        if allowed
    ]
    if not classes:
        raise LocalTemplateError("GenerateSecretString excludes every character.")
    length = int(spec.get("PasswordLength", 32))
    alphabet = "".join(classes)
    require_each = spec.get("RequireEachIncludedType", True) is not False and length >= len(classes)
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if not require_each or all(any(c in chars for c in value) for chars in classes):
            break
    template_text = spec.get("SecretStringTemplate")
    key = spec.get("GenerateStringKey")
    if template_text is None or key is None:
        return value
    document = json.loads(str(template_text))
    document[str(key)] = value
    return json.dumps(document)


def _placeholder_zip(file_name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(file_name, _PLACEHOLDER_CODE)
    return buffer.getvalue()


def _tenant_isolation(logical_id: str, tenancy: Any) -> bool:
    if tenancy is None:
        return False
    mode = tenancy.get("TenantIsolationMode") if isinstance(tenancy, dict) else None
    if mode != "PER_TENANT":
        raise LocalTemplateError(
            f"Function {logical_id} has TenancyConfig {tenancy!r}; Lambda knows PER_TENANT only."
        )
    return True


def _reserved_concurrency(value: Any) -> int | None:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return None
