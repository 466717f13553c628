"""The Toolgate service stack: store, upload pipeline, management and invoke API, async jobs, per-tenant IAM,
alarms.

Tenant data is reached only through the tenant access role (see `infra.tenancy`); the functions' own
roles hold what each needs to run and nothing that reads a tenant's rows, objects or secrets.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import cast

from aws_cdk import (
    Acknowledgment,
    Annotations,
    ArnFormat,
    Aws,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra.jobs import CALLBACK_BASE_URL_VARIABLE, AsyncJobs, callback_base_url
from infra.layers import IGNORED_SOURCE_PATTERNS, REPO_ROOT, LayerAssets
from infra.monitoring import OperationsAlarms
from infra.tenancy import (
    RESULT_RETENTION_DAYS,
    RESULT_RETENTION_TAG_KEY,
    RESULT_RETENTION_TAG_VALUE,
    SECRET_PREFIX,
    UPLOAD_PREFIX,
    TenantAccess,
    tenant_key_patterns,
)

FUNCTIONS_DIR = REPO_ROOT / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_12
#: Graviton: cheaper per GB-second. The dependency layer is built for aarch64 to match.
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.lambda_handler"
#: The functions an agent's request waits on: they get the slim dependency layer, SnapStart (unless
#: `toolgate:snapStart=false`) and a `live` alias that API Gateway and Step Functions invoke.
REQUEST_PATH_FUNCTIONS = ("authorizer", "invoke", "mcp", "jobs", "callback")
#: The alias of each request-path function's current version.
LIVE_ALIAS_NAME = "live"
#: The functions that run one tenant's tool calls with its credentials: with `toolgate:tenantIsolation`,
#: Lambda's tenant isolation mode gives each tenant execution environments of its own.
TENANT_ISOLATED_FUNCTIONS = ("invoke", "mcp")
#: The header API Gateway sets on Lambda's Invoke to name the tenant of an isolated function's event.
TENANT_ID_INTEGRATION_HEADER = "integration.request.header.X-Amz-Tenant-Id"
#: Where that header's value comes from: the authorizer's verified tenant, never the caller's request.
TENANT_ID_FROM_AUTHORIZER = "context.authorizer.tenant_id"
#: The tenant id of requests no authorizer ran for (OAuth discovery, answered 404): ':' is outside tenant
#: ids, so no tenant's environments ever serve them.
UNAUTHENTICATED_TENANT_ID = "unauthenticated:oauth-discovery"

#: What API Gateway lets through to the authorizer: `tg_{tenant}_{key_id}_{secret}`, bare or after
#: `Bearer `. Anything else is refused with 401 without invoking a Lambda.
AUTHORIZATION_HEADER_PATTERN = (
    r"^([Bb][Ee][Aa][Rr][Ee][Rr] +)?tg_[a-z0-9-]{1,63}_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$"
)
#: Authorizer decisions are cached per key for this long. A revoked key is refused at once all the same:
#: the functions read its row on every request; this only bounds how long API Gateway still invokes them.
AUTHORIZER_CACHE_TTL = Duration.minutes(5)
#: Steady request rate and burst per stage, across all callers.
API_RATE_LIMIT = 50
API_BURST_LIMIT = 100
#: The API's one stage; callback URLs name it too.
API_STAGE_NAME = "prod"
#: Attempts an upload message gets before it moves to the dead-letter queue.
UPLOAD_MAX_RECEIVE_COUNT = 3


@dataclass(frozen=True)
class FunctionSizing:
    memory_mb: int
    timeout: Duration
    #: Caps the function's share of the account's concurrency, and guarantees it that share.
    reserved_concurrency: int


API_SIZING = FunctionSizing(memory_mb=1024, timeout=Duration.seconds(29), reserved_concurrency=20)
AUTHORIZER_SIZING = FunctionSizing(memory_mb=256, timeout=Duration.seconds(10), reserved_concurrency=20)
#: Compiling a large spec takes seconds; the queue's visibility timeout is six times this.
UPLOAD_SIZING = FunctionSizing(memory_mb=1024, timeout=Duration.minutes(3), reserved_concurrency=5)
UPLOAD_BATCH_SIZE = 4
#: Timeout: API Gateway answers 504 after 29 s, counting a cold start's init, which Lambda's timeout does
#: not. 27 s leaves 2 s for it, so the function, whose runtime deadline follows its remaining time, returns
#: its own result (a typed timeout included) and writes its audit row before API Gateway gives up.
#: Concurrency: most calls take well under a second, so 50 serves the stage's 50 requests/s, and it caps
#: what a slow target holding calls open can take from the account (the throttle alarm tells when it does).
INVOKE_SIZING = FunctionSizing(memory_mb=1024, timeout=Duration.seconds(27), reserved_concurrency=50)
#: The MCP function serves the same tool calls as invoke (its timeout and reasons), for MCP clients; a share
#: of its own so MCP traffic cannot starve REST invoke's, and the tenants' limits apply to both alike.
MCP_SIZING = FunctionSizing(memory_mb=1024, timeout=Duration.seconds(27), reserved_concurrency=20)
#: The state machine's task function: one target call (25 s deadline) plus the job row and S3, so 60 s.
#: Concurrency: polls are short and spaced seconds apart, submits last as long as the target takes. A
#: throttled task is retried three times over 14 s, then fails its job, so this leaves room for bursts.
JOBS_SIZING = FunctionSizing(memory_mb=512, timeout=Duration.seconds(60), reserved_concurrency=20)
#: One verified, conditional write and a SendTaskSuccess per callback: small and quick.
CALLBACK_SIZING = FunctionSizing(memory_mb=256, timeout=Duration.seconds(10), reserved_concurrency=10)
#: Tool search (issue 15): memory buys CPU for the embedding model (2 GB: a little over one vCPU). An
#: upload embeds its revision's tools once (GitHub's 1,078: about 11 s of CPU), a warm search takes
#: milliseconds; 2 minutes covers the largest catalogs' embedding.
SEARCH_SIZING = FunctionSizing(memory_mb=2048, timeout=Duration.minutes(2), reserved_concurrency=10)
#: The semantic stage's embedders (`toolgate:embeddings`): the offline model in the search layer (the
#: default), or Bedrock's Titan Text Embeddings V2, the one model the search function may then invoke.
EMBEDDINGS = ("offline", "bedrock")
BEDROCK_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"

#: Read by the functions that call tools (invoke, MCP) only: credential cache, audit-row and continuation
#: lifetimes. Loopback and private egress (`TOOLGATE_RUNTIME__ALLOW_*`) are for tests and local mode, never
#: set here.
INVOKE_ENVIRONMENT = {
    "TOOLGATE_CREDENTIAL_CACHE_SECONDS": "60",
    "TOOLGATE_AUDIT_TTL_DAYS": "30",
    "TOOLGATE_CONTINUATION_TTL_SECONDS": "900",
}


@dataclass(frozen=True)
class TenantLimitValues:
    """One value for each of a tenant's limits on tool calls (`toolgate.service.limits.TenantLimits`)."""

    requests_per_second: float
    burst: int
    concurrent_calls: int


class TenantCeilingsError(ValueError):
    """A `toolgate:tenantMax*` context value is not a number, or is beyond what every tenant shares."""


#: What every tenant shares: the stage's throttle and the invoke function's reserved concurrency.
SHARED_CAPACITY = TenantLimitValues(API_RATE_LIMIT, API_BURST_LIMIT, INVOKE_SIZING.reserved_concurrency)
#: The most a tenant's admin may set (PUT /v1/limits): half of what every tenant shares, so a tenant at its
#: ceilings leaves the other half to the rest. The operator changes them with `toolgate:tenantMax*`.
DEFAULT_TENANT_CEILINGS = TenantLimitValues(
    SHARED_CAPACITY.requests_per_second / 2, SHARED_CAPACITY.burst // 2, SHARED_CAPACITY.concurrent_calls // 2
)
#: The least any limit may be (`TenantLimits`' lower bounds).
LOWEST_LIMITS = TenantLimitValues(requests_per_second=0.01, burst=1, concurrent_calls=1)
#: Each tenant's limits until an admin sets its own; lowered to a ceiling below them.
DEFAULT_TENANT_LIMITS = TenantLimitValues(requests_per_second=10, burst=20, concurrent_calls=10)


def limits_environment(ceilings: TenantLimitValues) -> dict[str, str]:
    """The limit settings (`toolgate.settings.LimitSettings`) of the functions that make calls (invoke,
    jobs) and of the api function that shows and checks them, so that all three read the same values."""
    environment: dict[str, str] = {}
    for name in ("requests_per_second", "burst", "concurrent_calls"):
        ceiling, lowest, shared = (
            getattr(values, name) for values in (ceilings, LOWEST_LIMITS, SHARED_CAPACITY)
        )
        if not lowest <= ceiling <= shared:
            raise TenantCeilingsError(
                f"A tenant's {name} ceiling (toolgate:tenantMax*) must be from {lowest} to {shared}, what "
                f"every tenant shares; got {ceiling}."
            )
        default = min(getattr(DEFAULT_TENANT_LIMITS, name), ceiling)
        environment[f"TOOLGATE_LIMITS_{name.upper()}"] = str(default)
        environment[f"TOOLGATE_LIMITS_MAX_{name.upper()}"] = str(ceiling)
    return environment


COMMON_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "toolgate",
    "POWERTOOLS_METRICS_NAMESPACE": "Toolgate",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "LOG_LEVEL": "INFO",
    # No pydantic plugin is used: skips the scan of every installed distribution's entry points that the
    # first model build makes (2 to 3 ms of a cold start's first request with the slim layer's packages).
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}

#: API Gateway access log line: who (tenant, principal), what and how it went; never headers or bodies.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "tenantId": "$context.authorizer.tenant_id",
    "principal": "$context.authorizer.principal",
    "sourceIp": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


#: The error codes of API Gateway's own answers (`toolgate.errors` RateLimitedError, UsageKeyMissingError).
RATE_LIMITED = "RATE_LIMITED"
USAGE_KEY_MISSING = "USAGE_KEY_MISSING"


def error_envelope(code: str, message: str) -> str:
    """The functions' error body (`{"error": {"code", "message"}}`) as a gateway response's template,
    which API Gateway reads as VTL: the text must hold neither `$` nor `#`."""
    if "$" in message or "#" in message:
        raise ValueError("a gateway response template's text must hold neither '$' nor '#'")
    return json.dumps({"error": {"code": code, "message": message}})


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Record a reviewed cdk-nag finding on `scope` with the reason it is acceptable."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def bucket_name_prefix(stack_name: str) -> str:
    """A valid S3 name prefix from the stack name; S3 appends `-{account}-{region}-an`."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", stack_name.lower()).strip("-")
    return f"{cleaned[:24].rstrip('-')}-specs"


class ToolgateStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer_assets: LayerAssets,
        reserve_concurrency: bool = True,
        snap_start: bool = True,
        tenant_isolation: bool = False,
        alarms: bool = True,
        alarm_email: str | None = None,
        tenant_ceilings: TenantLimitValues = DEFAULT_TENANT_CEILINGS,
        embeddings: str = "offline",
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id, description=description)
        if embeddings not in EMBEDDINGS:
            raise ValueError(
                f"toolgate:embeddings must be one of {', '.join(EMBEDDINGS)}, not {embeddings!r}"
            )
        self._embeddings = embeddings
        self._reserve_concurrency = reserve_concurrency
        self._snap_start = snap_start
        self._tenant_isolation = tenant_isolation
        #: Each request-path function's `live` alias, by function name: what its callers invoke.
        self.live_aliases: dict[str, lambda_.Alias] = {}
        self.tenant_ceilings = tenant_ceilings
        self.limits_environment = limits_environment(tenant_ceilings)

        self.table = self._table()
        access_logs_bucket = self._access_logs_bucket()
        self.dead_letter_queue, self.upload_queue = self._upload_queues()
        self.bucket = self._specs_bucket(access_logs_bucket, self.upload_queue)
        self.dependency_layer, self.slim_dependency_layer, self.toolgate_layer = self._layers(layer_assets)

        self.function_environment = {
            **COMMON_ENVIRONMENT,
            "TOOLGATE_TABLE_NAME": self.table.table_name,
            "TOOLGATE_BUCKET_NAME": self.bucket.bucket_name,
            "TOOLGATE_SECRET_PREFIX": SECRET_PREFIX,
        }
        self.api_function = self._function("api", API_SIZING, "Management REST API (/v1/...).")
        self.authorizer_function = self._function(
            "authorizer", AUTHORIZER_SIZING, "API key authorizer: key to tenant context."
        )
        self.upload_function = self._function(
            "upload", UPLOAD_SIZING, "Compiles specs uploaded to S3 (SQS batches of ObjectCreated)."
        )
        self.invoke_function = self._function(
            "invoke", INVOKE_SIZING, "Tool calls (POST .../tools/{tool}/invoke) and result pages."
        )
        self.mcp_function = self._function(
            "mcp", MCP_SIZING, "Every assistant as an MCP server (POST /v1/assistants/{assistant}/mcp)."
        )
        for function in self.tool_call_functions:
            for name, value in INVOKE_ENVIRONMENT.items():
                function.add_environment(name, value)
        self.search_function = self._search_function(layer_assets)
        self.jobs_function = self._function(
            "jobs", JOBS_SIZING, "Async jobs: the state machine's tasks (submit, poll, await callback)."
        )
        self.callback_function = self._function(
            "callback", CALLBACK_SIZING, "Async jobs: signed callbacks (POST /v1/callbacks/{callback_id})."
        )
        for function in self.limited_functions:
            for name, value in self.limits_environment.items():
                function.add_environment(name, value)

        self.tenant_access = TenantAccess(
            self,
            "TenantAccess",
            table=self.table,
            bucket=self.bucket,
            trusted_roles=[
                self._role_of(function)
                for function in (
                    self.api_function,
                    self.upload_function,
                    self.invoke_function,
                    self.mcp_function,
                    self.jobs_function,
                    self.callback_function,
                    self.search_function,
                )
            ],
        )
        for function in self.functions:
            function.add_environment("TOOLGATE_TENANT_ROLE_ARN", self.tenant_access.role.role_arn)

        self._role_of(self.authorizer_function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadApiKeys", actions=["dynamodb:GetItem"], resources=[self.table.table_arn]
            )
        )
        self.upload_function.add_event_source(
            event_sources.SqsEventSource(
                self.upload_queue,
                batch_size=UPLOAD_BATCH_SIZE,
                max_concurrency=UPLOAD_SIZING.reserved_concurrency,
                report_batch_item_failures=True,
            )
        )
        self._confine_tagged_principals_to_own_prefixes()
        self.jobs = AsyncJobs(
            self,
            "Jobs",
            jobs_function=self.jobs_function,
            jobs_entry=self.live_aliases["jobs"],
            callback_function=self.callback_function,
            invoke_functions=self.tool_call_functions,
        )
        self.api = self._rest_api()
        # The jobs function signs callback URLs under it; the callback function reads the same settings.
        for function in (self.jobs_function, self.callback_function):
            function.add_environment(CALLBACK_BASE_URL_VARIABLE, callback_base_url(self.api, API_STAGE_NAME))
        #: None without alarms: then nothing but storage is billed at rest.
        self.alarms = (
            OperationsAlarms(
                self,
                "Alarms",
                invoke_function=self.invoke_function,
                upload_dead_letter_queue=self.dead_letter_queue,
                email=alarm_email,
            )
            if alarms
            else None
        )
        self._outputs()
        if layer_assets.dependencies_are_placeholder:
            for layer in (self.dependency_layer, self.slim_dependency_layer, self.search_layer):
                Annotations.of(layer).add_warning_v2(
                    "toolgate:placeholder-dependency-layer",
                    "The dependency layers are EMPTY placeholders (TOOLGATE_SKIP_LAYER_BUILD=1 or a test "
                    "synth). The functions cannot import their dependencies: never deploy this synth.",
                )
        self._acknowledge_reviewed_findings()

    # --- Store -------------------------------------------------------------------------------

    def _table(self) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="ttl",
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _access_logs_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[s3.LifecycleRule(id="ExpireAccessLogs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _upload_queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        dead_letter_queue = sqs.Queue(
            self,
            "UploadDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        upload_queue = sqs.Queue(
            self,
            "UploadQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(UPLOAD_SIZING.timeout.to_seconds() * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letter_queue, max_receive_count=UPLOAD_MAX_RECEIVE_COUNT
            ),
        )
        return dead_letter_queue, upload_queue

    def _specs_bucket(self, access_logs_bucket: s3.IBucket, upload_queue: sqs.Queue) -> s3.Bucket:
        # The account-regional namespace makes the name known before the bucket exists, so the queue
        # policy can name the bucket as the only sender, and the notification can be declared on the
        # bucket itself, with no custom resource.
        name_prefix = bucket_name_prefix(self.stack_name)
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{name_prefix}-{Aws.ACCOUNT_ID}-{Aws.REGION}-an"
        queue_policy = upload_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SpecsBucketNotifications",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[upload_queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        bucket = s3.Bucket(
            self,
            "SpecsBucket",
            bucket_name_prefix=name_prefix,
            bucket_namespace=s3.BucketNamespace.ACCOUNT_REGIONAL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=access_logs_bucket,
            server_access_logs_prefix="specs-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldVersions",
                    noncurrent_version_expiration=Duration.days(90),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
                s3.LifecycleRule(id="RemoveExpiredDeleteMarkers", expired_object_delete_marker=True),
                # Kept tool results outlive their continuation handle by at most this much, versions too.
                s3.LifecycleRule(
                    id="ExpireKeptResults",
                    tag_filters={RESULT_RETENTION_TAG_KEY: RESULT_RETENTION_TAG_VALUE},
                    expiration=Duration.days(RESULT_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(RESULT_RETENTION_DAYS),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=upload_queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=UPLOAD_PREFIX)]
                        )
                    ),
                )
            ]
        )
        # S3 checks that it may send to the queue when the notification is created.
        if queue_policy.policy_dependable is not None:
            cfn_bucket.node.add_dependency(queue_policy.policy_dependable)
        return bucket

    def _confine_tagged_principals_to_own_prefixes(self) -> None:
        """Deny any principal carrying a tenant_id tag every object outside its own prefixes.

        A guard rail under the identity policies: even a tagged user or session that some other policy
        grants broad S3 access cannot read or write another tenant's keys in this bucket.
        """
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TaggedPrincipalsStayInOwnPrefixes",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=[
                    "s3:GetObject",
                    "s3:GetObjectVersion",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                not_resources=tenant_key_patterns(self.bucket),
                conditions={"StringLike": {"aws:PrincipalTag/tenant_id": "?*"}},
            )
        )

    # --- Code --------------------------------------------------------------------------------

    def _layers(
        self, assets: LayerAssets
    ) -> tuple[lambda_.LayerVersion, lambda_.LayerVersion, lambda_.LayerVersion]:
        dependencies = self._layer(
            "DependencyLayer",
            lambda_.Code.from_asset(str(assets.dependencies), exclude=[".complete"]),
            "Toolgate's runtime dependencies (pyproject [project].dependencies), for api and upload.",
        )
        slim_dependencies = self._layer(
            "SlimDependencyLayer",
            lambda_.Code.from_asset(str(assets.slim_dependencies), exclude=[".complete"]),
            "The request path's dependencies: the runtime ones without the spec compiler's.",
        )
        toolgate = self._layer(
            "ToolgateLayer", lambda_.Code.from_asset(str(assets.toolgate)), "The toolgate package."
        )
        return dependencies, slim_dependencies, toolgate

    def _layer(self, construct_id: str, code: lambda_.Code, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=code,
            description=description,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            # A replaced version is deleted on update; functions already using it keep their copy.
            removal_policy=RemovalPolicy.DESTROY,
        )

    # --- Tool search (issue 15, slice wire) ------------------------------------------------------

    def _search_function(self, assets: LayerAssets) -> lambda_.Function:
        """The search function: its own layer (the search engine does not fit beside the dependency layer
        under 250 MB), invoked by the functions that serve search. It reaches tenant data only through the
        tenant access role, like the others; its own role holds nothing more, but for `bedrock:InvokeModel`
        on one model with `toolgate:embeddings=bedrock`."""
        if assets.search is None and not assets.dependencies_are_placeholder:
            raise ValueError("the search layer was not built: LayerAssets.search is required to deploy")
        self.search_layer = layer = self._layer(
            "SearchLayer",
            lambda_.Code.from_asset(str(assets.search or assets.dependencies), exclude=[".complete"]),
            "Tool search: onnxruntime, numpy, tokenizers, the model, and what the search function imports.",
        )
        function = self._function(
            "search",
            SEARCH_SIZING,
            "Tool search for agents (toolgate_search_tools, ?query=, MCP); invoked by the other functions.",
            layers=[layer, self.toolgate_layer],
        )
        for caller in (self.api_function, self.upload_function, *self.tool_call_functions):
            caller.add_environment("TOOLGATE_SEARCH_FUNCTION_NAME", function.function_name)
            self._role_of(caller).add_to_principal_policy(
                iam.PolicyStatement(
                    sid="InvokeSearch", actions=["lambda:InvokeFunction"], resources=[function.function_arn]
                )
            )
        if self._embeddings == "bedrock":
            self._embed_with_bedrock(function)
        return function

    # --- Bedrock embeddings (issue 15, slice bedrock) --------------------------------------------

    def _embed_with_bedrock(self, function: lambda_.Function) -> None:
        """The search function embeds with Titan V2 on Bedrock: it may invoke that foundation model only."""
        function.add_environment("TOOLGATE_SEARCH_EMBEDDINGS", "bedrock")
        function.add_environment("TOOLGATE_SEARCH_BEDROCK_MODEL_ID", BEDROCK_EMBEDDING_MODEL)
        model_arn = self.format_arn(
            service="bedrock",
            account="",
            resource="foundation-model",
            resource_name=BEDROCK_EMBEDDING_MODEL,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self._role_of(function).add_to_principal_policy(
            iam.PolicyStatement(
                sid="EmbedWithBedrock", actions=["bedrock:InvokeModel"], resources=[model_arn]
            )
        )

    def _function(
        self,
        name: str,
        sizing: FunctionSizing,
        description: str,
        *,
        layers: list[lambda_.ILayerVersion] | None = None,
    ) -> lambda_.Function:
        title = name.capitalize()
        log_group = logs.LogGroup(self, f"{title}FunctionLogs", retention=logs.RetentionDays.ONE_MONTH)
        role = iam.Role(
            self,
            f"{title}FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function.",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        request_path = name in REQUEST_PATH_FUNCTIONS
        isolated = self._tenant_isolation and name in TENANT_ISOLATED_FUNCTIONS
        # Lambda refuses SnapStart on a function in tenant isolation mode.
        snap_start = request_path and self._snap_start and not isolated
        dependencies = self.slim_dependency_layer if request_path else self.dependency_layer
        function = lambda_.Function(
            self,
            f"{title}Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / name), exclude=list(IGNORED_SOURCE_PATTERNS)),
            layers=layers or [dependencies, self.toolgate_layer],
            role=role,
            log_group=log_group,
            memory_size=sizing.memory_mb,
            timeout=sizing.timeout,
            reserved_concurrent_executions=(
                sizing.reserved_concurrency if self._reserve_concurrency else None
            ),
            tracing=lambda_.Tracing.ACTIVE,
            environment=self.function_environment,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            tenancy_config=lambda_.TenancyConfig.PER_TENANT if isolated else None,
            # A replaced version is deleted once the alias has moved on: each version kept would keep its
            # snapshot cached, and billed (docs/deploy.md#snapstart).
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        # CDK orders a function after its role with DependsOn, which the role's GetAtt already implies.
        cast(lambda_.CfnFunction, function.node.default_child).add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
        )
        if snap_start:
            Annotations.of(function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "Its current version is published, and its live alias points at it.",
            )
        if request_path:
            # A new version is published whenever the code or configuration changes; with SnapStart,
            # that is when Lambda initializes the function and takes its snapshot. Without it the alias
            # stays, so that API Gateway's integrations and permissions are the same either way.
            self.live_aliases[name] = lambda_.Alias(
                self,
                f"{title}LiveAlias",
                alias_name=LIVE_ALIAS_NAME,
                version=function.current_version,
                description=f"The {name} function's current version, as its callers invoke it.",
            )
        return function

    @property
    def functions(self) -> tuple[lambda_.Function, ...]:
        return (
            self.api_function,
            self.authorizer_function,
            self.upload_function,
            self.invoke_function,
            self.mcp_function,
            self.jobs_function,
            self.callback_function,
            self.search_function,
        )

    @property
    def tool_call_functions(self) -> tuple[lambda_.Function, ...]:
        """The functions that call tools for agents (REST invoke and MCP): the same grants and settings."""
        return (self.invoke_function, self.mcp_function)

    @property
    def limited_functions(self) -> tuple[lambda_.Function, ...]:
        """The functions that apply or show the tenants' limits on tool calls."""
        return (self.api_function, *self.tool_call_functions, self.jobs_function)

    @staticmethod
    def _role_of(function: lambda_.Function) -> iam.IRole:
        role = function.role
        if role is None:
            raise ValueError(f"{function.node.path} has no execution role")
        return role

    # --- API ---------------------------------------------------------------------------------

    def _rest_api(self) -> apigw.RestApi:
        access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=logs.RetentionDays.THREE_MONTHS)
        authorizer = apigw.TokenAuthorizer(
            self,
            "ApiKeyAuthorizer",
            handler=self.live_aliases["authorizer"],
            identity_source=apigw.IdentitySource.header("Authorization"),
            validation_regex=AUTHORIZATION_HEADER_PATTERN,
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
        )
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{self.stack_name}-api",
            description="Toolgate management API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Zip specs sent to PUT /v1/integrations/{id} arrive base64-encoded, byte for byte.
            binary_media_types=["application/zip"],
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                tracing_enabled=True,
                throttling_rate_limit=API_RATE_LIMIT,
                throttling_burst_limit=API_BURST_LIMIT,
            ),
            default_method_options=apigw.MethodOptions(
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                api_key_required=True,
            ),
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
        )
        v1 = api.root.add_resource("v1")
        management = apigw.LambdaIntegration(self.api_function)
        self._route(v1.add_resource("{proxy+}"), "ANY", management)
        self._invoke_routes(v1, management)
        self._tenant_throttle(api)

        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "Requests are validated in the api function (Powertools resolver with pydantic models, the "
            "same models that publish /v1/openapi.json); repeating them as API Gateway models would "
            "let the two drift apart.",
        )
        acknowledge(
            api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL by default: it costs money at rest, and every method already requires an API "
            "key checked by the authorizer, with stage throttling. Attach a web ACL per deployment if "
            "the API is exposed to hostile volumes.",
        )
        cloud_watch_role = api.node.find_child("CloudWatchRole")
        acknowledge(
            cloud_watch_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role, shared by every API in the account and region: "
            "AWS's managed policy for it is the documented way and follows the service's log groups.",
        )
        return api

    def _invoke_routes(self, v1: apigw.IResource, management: apigw.Integration) -> None:
        """`POST /v1/assistants/{assistant}/tools/{tool}/invoke`, `GET /v1/continuations/{handle}`,
        `GET` and `DELETE /v1/jobs/{job_id}`, and `POST /v1/callbacks/{callback_id}` (callback function).

        These resources are siblings of `/v1/{proxy+}`, so every request under them is routed within them
        (API Gateway prefers a specific resource to a greedy one). What the invoke function does not
        serve must still reach the api function as before: each resource on the way gets `ANY` to it,
        and a `{proxy+}` of its own wherever it has no path-variable child (only one is allowed).
        """
        invoke = self._tool_call_integration("invoke")
        tool_call = self._management_path(
            v1, management, "assistants", "{assistant}", "tools", "{tool}", "invoke"
        )
        self._route(tool_call, "POST", invoke)
        continuation = self._management_path(v1, management, "continuations", "{handle}")
        self._route(continuation, "GET", invoke)
        job = self._management_path(v1, management, "jobs", "{job_id}")
        self._route(job, "GET", invoke)
        self._route(job, "DELETE", invoke)
        callback = self._management_path(v1, management, "callbacks", "{callback_id}")
        self._callback_route(callback)
        self._mcp_routes(v1, management)

    def _mcp_routes(self, v1: apigw.IResource, management: apigw.Integration) -> None:
        """`POST /v1/assistants/{assistant}/mcp` (MCP's Streamable HTTP transport) to the MCP function, with
        GET (no server-sent stream) and DELETE (no session) answering 405 there. OAuth discovery
        (`GET /.well-known/...`, asked by clients that get a 401) reaches the MCP function without a key,
        and is answered 404: this API takes keys, not OAuth tokens, for now."""
        mcp = self._tool_call_integration("mcp")
        resource = self._management_path(v1, management, "assistants", "{assistant}", "mcp")
        for http_method in ("POST", "GET", "DELETE"):
            self._route(resource, http_method, mcp)
        discovery = v1.api.root.add_resource(".well-known").add_resource("{proxy+}")
        method = discovery.add_method(
            "GET",
            self._tool_call_integration("mcp", tenant_id=f"'{UNAUTHENTICATED_TENANT_ID}'"),
            authorization_type=apigw.AuthorizationType.NONE,
            api_key_required=False,
        )
        reason = (
            "OAuth discovery documents are public by definition (RFC 9728, RFC 8414); the MCP function "
            "answers them with 404 before reading anything: this API takes API keys, not OAuth tokens."
        )
        acknowledge(method, "AwsSolutions-APIG4", reason)
        acknowledge(method, "AwsSolutions-COG4", reason)

    def _tool_call_integration(
        self, name: str, *, tenant_id: str = TENANT_ID_FROM_AUTHORIZER
    ) -> apigw.LambdaIntegration:
        """The proxy integration of a tool-call function's live alias; in tenant isolation mode it names the
        event's tenant to Lambda (`X-Amz-Tenant-Id`), from the authorizer's context unless `tenant_id`
        says otherwise, so each tenant's events run only in environments of its own."""
        if not (self._tenant_isolation and name in TENANT_ISOLATED_FUNCTIONS):
            return apigw.LambdaIntegration(self.live_aliases[name])
        return apigw.LambdaIntegration(
            self.live_aliases[name], request_parameters={TENANT_ID_INTEGRATION_HEADER: tenant_id}
        )

    def _callback_route(self, resource: apigw.IResource) -> None:
        """The one method without the API key authorizer: the target calling back holds no Toolgate key."""
        method = resource.add_method(
            "POST",
            apigw.LambdaIntegration(self.live_aliases["callback"]),
            authorization_type=apigw.AuthorizationType.NONE,
            api_key_required=False,
        )
        reason = (
            "The callback URL is its own credential: its id is HMAC-signed per tenant, expires, and is "
            "accepted once. It is called by the tenant's target API, which holds no Toolgate key."
        )
        acknowledge(method, "AwsSolutions-APIG4", reason)
        acknowledge(method, "AwsSolutions-COG4", reason)

    def _management_path(
        self, parent: apigw.IResource, management: apigw.Integration, *path_parts: str
    ) -> apigw.IResource:
        """The resources of `path_parts` under `parent`, all still leading to the api function; the last."""
        made: list[tuple[apigw.IResource, str | None]] = []
        for path_part, child in zip(path_parts, [*path_parts[1:], None], strict=True):
            existing = parent.get_resource(path_part)
            parent = existing or parent.add_resource(path_part)
            if existing is None:
                made.append((parent, child))
        for resource, child in made:
            self._route(resource, "ANY", management)
            if child is None or not child.startswith("{"):
                self._route(resource.add_resource("{proxy+}"), "ANY", management)
        return parent

    @staticmethod
    def _route(resource: apigw.IResource, http_method: str, integration: apigw.Integration) -> None:
        method = resource.add_method(http_method, integration)
        acknowledge(
            method,
            "AwsSolutions-COG4",
            "Callers are programs holding tenant API keys, verified by the Lambda authorizer; there are "
            "no Cognito users.",
        )

    # --- Per-tenant throttle in front of Lambda (issue 11, fair2) ------------------------------------

    def _tenant_throttle(self, api: apigw.RestApi) -> None:
        """Each tenant's requests are throttled by API Gateway before any function runs.

        The authorizer returns the tenant's API key as `usageIdentifierKey` (the API's key source is
        AUTHORIZER, and every method with the authorizer requires a key); the bootstrap puts that key in
        this usage plan (`toolgate.service.usage_keys`), whose throttle is a tenant's ceilings. Over it,
        API Gateway answers 429 RATE_LIMITED itself, so a flooding tenant costs no Lambda time. The
        functions' own limits (`toolgate.service.limits`) stay: they are per tenant as its admin sets
        them, and they bound concurrent calls, which API Gateway cannot.
        """
        ceilings = self.tenant_ceilings
        self.tenant_usage_plan = api.add_usage_plan(
            "TenantUsagePlan",
            name=f"{self.stack_name}-tenants",
            description="Each tenant's throttle: every tenant's key (made by its bootstrap) is in this plan.",
            throttle=apigw.ThrottleSettings(
                rate_limit=ceilings.requests_per_second, burst_limit=ceilings.burst
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=api, stage=api.deployment_stage)],
        )
        retry_after = max(1, math.ceil(1 / ceilings.requests_per_second))
        api.add_gateway_response(
            "TenantThrottled",
            type=apigw.ResponseType.THROTTLED,
            status_code="429",
            response_headers={"Retry-After": f"'{retry_after}'"},
            templates={
                "application/json": error_envelope(
                    RATE_LIMITED,
                    "This tenant sends requests faster than the deployment allows any one tenant; nothing "
                    "was done. Wait for Retry-After seconds, then send fewer requests at once.",
                )
            },
        )
        api.add_gateway_response(
            "TenantUsageKeyMissing",
            type=apigw.ResponseType.INVALID_API_KEY,
            status_code="403",
            templates={
                "application/json": error_envelope(
                    USAGE_KEY_MISSING,
                    "This tenant has no usage key in the deployment's usage plan, so API Gateway refuses "
                    "its requests. The operator gives it one with: toolgate admin usage-key TENANT "
                    "(every tenant: toolgate admin usage-keys).",
                )
            },
        )

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=f"{self.api.url}v1/", description="Base URL of the management API")
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "TenantRoleArn", value=self.tenant_access.role.role_arn)
        CfnOutput(
            self,
            "TenantUsagePlanId",
            value=self.tenant_usage_plan.usage_plan_id,
            description="The usage plan tenants' API Gateway keys go in: toolgate admin ... --usage-plan",
        )
        CfnOutput(
            self,
            "AdminPolicyArn",
            value=self.tenant_access.admin_policy.managed_policy_arn,
            description="Attach to tenant admins tagged tenant_id=<tenant> for S3 uploads",
        )
        CfnOutput(self, "UploadDeadLetterQueueUrl", value=self.dead_letter_queue.queue_url)
        CfnOutput(
            self,
            "JobsStateMachineArn",
            value=self.jobs.state_machine.state_machine_arn,
            description="Runs async tool calls; one execution per job, named by the job id",
        )
        if self.alarms is not None:
            CfnOutput(
                self,
                "AlarmTopicArn",
                value=self.alarms.topic.topic_arn,
                description="Alarm notifications; subscribe to it, or deploy with -c toolgate:alarmEmail=...",
            )

    # --- Reviewed cdk-nag findings ---------------------------------------------------------------

    def _acknowledge_reviewed_findings(self) -> None:
        for function in self.functions:
            acknowledge(
                function,
                "AwsSolutions-L1",
                "Pinned to python3.12 on purpose: the dependency layer's native wheels are built for "
                "cp312; the runtime moves together with the layer build.",
            )
            policy = self._role_of(function).node.find_child("DefaultPolicy")
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
            )
