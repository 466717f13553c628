"""Per-tenant IAM (ABAC): one role whose permissions follow the `tenant_id` tag of the session using it.

Functions never touch tenant data with their own roles. They call `sts:AssumeRole` on the tenant access
role with a `tenant_id` session tag, and every statement of that role names its resources through
`${aws:PrincipalTag/tenant_id}`:

- DynamoDB rows whose partition key is exactly the tenant id (`dynamodb:LeadingKeys`, exact match, so `t1`
  never reaches `t10`; Scan is not granted, since it has no leading key to check);
- S3 objects under `tenants/{tenant}/` and `artifacts/tenants/{tenant}/` (the trailing `/` keeps `t1` out
  of `t10/`), and tags on the tenant's kept tool results (`artifacts/tenants/{tenant}/results/`);
- secrets named `toolgate/tenants/{tenant}/...`, created only with a matching `tenant_id` tag.

The admin policy gives people (users or roles carrying a `tenant_id` tag) the same prefix-bound S3 access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import Acknowledgment, Aws, CfnElement, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

TENANT_TAG = "tenant_id"
TENANT_TAG_VARIABLE = "${aws:PrincipalTag/" + TENANT_TAG + "}"
#: How cdk-nag spells the variable in finding ids.
_NAG_TENANT_TAG_VARIABLE = "<aws:PrincipalTag/" + TENANT_TAG + ">"
#: Tenant uploads (specs, `toolgate.json`) and what Toolgate derives from them.
UPLOAD_PREFIX = "tenants/"
ARTIFACT_PREFIX = "artifacts/tenants/"
#: Secrets are named `{SECRET_PREFIX}/{tenant}/{integration}` (a name prefix, not a secret).
SECRET_PREFIX = "toolgate/tenants"  # noqa: S105
#: Whole tool results behind continuation handles: `artifacts/tenants/{tenant}/results/{handle}.json`.
RESULTS_DIRECTORY = "results/"
#: The invoke path writes each kept result with this object tag; the bucket deletes tagged objects after
#: `RESULT_RETENTION_DAYS`, a backstop behind the continuation handle's own, much shorter, expiry.
RESULT_RETENTION_TAG_KEY = "toolgate-retention"
RESULT_RETENTION_TAG_VALUE = "continuation"
RESULT_RETENTION_DAYS = 1

#: A tenant session must carry a non-empty `tenant_id` tag and no other tag.
TENANT_SESSION_CONDITIONS: dict[str, Any] = {
    "StringLike": {f"aws:RequestTag/{TENANT_TAG}": "?*"},
    "ForAllValues:StringEquals": {"aws:TagKeys": [TENANT_TAG]},
}
TENANT_SESSION_ACTIONS = ["sts:AssumeRole", "sts:TagSession"]

#: Item-level actions only: each names the partition keys it touches, so LeadingKeys always applies.
TENANT_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
TENANT_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"]
TENANT_SECRET_ACTIONS = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:DeleteSecret",
]
TENANT_SECRET_CREATE_ACTIONS = ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]


def tenant_key_patterns(bucket: s3.IBucket) -> list[str]:
    """Object ARNs of the calling tenant's own prefixes."""
    return [
        bucket.arn_for_objects(f"{UPLOAD_PREFIX}{TENANT_TAG_VARIABLE}/*"),
        bucket.arn_for_objects(f"{ARTIFACT_PREFIX}{TENANT_TAG_VARIABLE}/*"),
    ]


def tenant_results_pattern(bucket: s3.IBucket) -> str:
    """Object ARNs of the calling tenant's kept tool results."""
    return bucket.arn_for_objects(f"{ARTIFACT_PREFIX}{TENANT_TAG_VARIABLE}/{RESULTS_DIRECTORY}*")


def tenant_secret_arn_pattern() -> str:
    return (
        f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
        f"secret:{SECRET_PREFIX}/{TENANT_TAG_VARIABLE}/*"
    )


def _list_own_prefixes(bucket: s3.IBucket, *prefixes: str) -> iam.PolicyStatement:
    patterns = [f"{prefix}{TENANT_TAG_VARIABLE}/{suffix}" for prefix in prefixes for suffix in ("", "*")]
    return iam.PolicyStatement(
        sid="ListOwnPrefixes",
        actions=["s3:ListBucket"],
        resources=[bucket.bucket_arn],
        conditions={"StringLike": {"s3:prefix": patterns}},
    )


class TenantAccess(Construct):
    """The tenant access role, the admin policy, and the grants that let function roles use the role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        trusted_roles: Sequence[iam.IRole],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="Tenant-scoped access: permissions follow the session's tenant_id tag.",
            assumed_by=iam.CompositePrincipal(
                *(
                    iam.SessionTagsPrincipal(iam.ArnPrincipal(role.role_arn)).with_conditions(
                        TENANT_SESSION_CONDITIONS
                    )
                    for role in trusted_roles
                )
            ),
            max_session_duration=Duration.hours(1),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnRows",
                actions=TENANT_TABLE_ACTIONS,
                resources=[table.table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [TENANT_TAG_VARIABLE]}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnObjects", actions=TENANT_OBJECT_ACTIONS, resources=tenant_key_patterns(bucket)
            )
        )
        self.role.add_to_policy(
            # PutObject with an `x-amz-tagging` header needs this too; only results are ever tagged.
            iam.PolicyStatement(
                sid="TagOwnResults",
                actions=["s3:PutObjectTagging"],
                resources=[tenant_results_pattern(bucket)],
            )
        )
        self.role.add_to_policy(_list_own_prefixes(bucket, UPLOAD_PREFIX, ARTIFACT_PREFIX))
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnSecrets", actions=TENANT_SECRET_ACTIONS, resources=[tenant_secret_arn_pattern()]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateOwnTaggedSecrets",
                actions=TENANT_SECRET_CREATE_ACTIONS,
                resources=[tenant_secret_arn_pattern()],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{TENANT_TAG}": TENANT_TAG_VARIABLE},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [TENANT_TAG]},
                },
            )
        )
        for role in trusted_roles:
            self._allow_identity(role)

        self.admin_policy = iam.ManagedPolicy(
            self,
            "AdminPolicy",
            description=(
                "For tenant admins (users or roles tagged tenant_id): read and write specs under "
                "tenants/{tenant_id}/ and read artifacts/tenants/{tenant_id}/, nothing else."
            ),
            statements=[
                iam.PolicyStatement(
                    sid="OwnUploads",
                    actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
                    resources=[bucket.arn_for_objects(f"{UPLOAD_PREFIX}{TENANT_TAG_VARIABLE}/*")],
                ),
                iam.PolicyStatement(
                    sid="OwnArtifacts",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{ARTIFACT_PREFIX}{TENANT_TAG_VARIABLE}/*")],
                ),
                _list_own_prefixes(bucket, UPLOAD_PREFIX, ARTIFACT_PREFIX),
            ],
        )
        self._acknowledge_tenant_wildcards(bucket)

    def _acknowledge_tenant_wildcards(self, bucket: s3.IBucket) -> None:
        """The `*` in these ARNs is below the tenant's own prefix: cdk-nag's IAM5 flags it, by design."""
        stack = Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(cast(CfnElement, bucket.node.default_child)))
        object_findings = [
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}{_NAG_TENANT_TAG_VARIABLE}/*]"
            for prefix in (UPLOAD_PREFIX, ARTIFACT_PREFIX)
        ]
        results_finding = (
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{ARTIFACT_PREFIX}{_NAG_TENANT_TAG_VARIABLE}/"
            f"{RESULTS_DIRECTORY}*]"
        )
        secret_finding = (
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:"
            f"<AWS::AccountId>:secret:{SECRET_PREFIX}/{_NAG_TENANT_TAG_VARIABLE}/*]"
        )
        reason = (
            "Tenant-scoped wildcard: the path is pinned by ${aws:PrincipalTag/tenant_id} followed by '/', "
            "so a principal reaches only the objects or secrets of the tenant named in its own tag."
        )
        for policy in (self.role.node.find_child("DefaultPolicy"), self.admin_policy):
            for finding in object_findings:
                Validations.of(policy).acknowledge(Acknowledgment(id=finding, reason=reason))
        for finding in (secret_finding, results_finding):
            Validations.of(self.role.node.find_child("DefaultPolicy")).acknowledge(
                Acknowledgment(id=finding, reason=reason)
            )

    def _allow_identity(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="OpenTenantSessions",
                actions=TENANT_SESSION_ACTIONS,
                resources=[self.role.role_arn],
                conditions=TENANT_SESSION_CONDITIONS,
            )
        )
