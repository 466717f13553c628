"""`toolgate admin`: bootstrap a tenant and manage its API keys directly in the service's table.

Runs with the operator's own AWS credentials (not a tenant session): it is how a deployment gets its
first admin key. Keys are printed once, on standard output; only their hashes are stored. Bootstrapping
also gives the tenant its API Gateway usage key in the deployment's usage plan (the per-tenant throttle in
front of Lambda); `usage-key` gives one to a tenant bootstrapped before the plan existed, and
`usage-keys` to every tenant in the table (after upgrading such a deployment).
"""

from __future__ import annotations

import argparse
import os
import sys

TABLE_ENV = "TOOLGATE_TABLE_NAME"
USAGE_PLAN_ENV = "TOOLGATE_USAGE_PLAN_ID"


def add_admin_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = subparsers.add_parser(
        "admin", help="bootstrap tenants and manage their API keys (uses your AWS credentials)"
    )
    commands = admin.add_subparsers(dest="admin_command", required=True)

    bootstrap = commands.add_parser("bootstrap-tenant", help="create a tenant and print its first admin key")
    _add_common(bootstrap)
    bootstrap.add_argument(
        "--principal", default="bootstrap-admin", help="who holds the key (default: %(default)s)"
    )
    _add_usage_plan(bootstrap)

    usage_key = commands.add_parser(
        "usage-key", help="give an existing tenant its API Gateway usage key (idempotent)"
    )
    _add_common(usage_key)
    _add_usage_plan(usage_key)

    usage_keys = commands.add_parser(
        "usage-keys",
        help="give every tenant in the table its API Gateway usage key (idempotent; run after upgrading)",
    )
    _add_table(usage_keys)
    _add_usage_plan(usage_keys)
    usage_keys.set_defaults(tenant=None)

    create = commands.add_parser("create-key", help="print a new API key for an existing tenant")
    _add_common(create)
    create.add_argument("--role", choices=["admin", "agent"], default="agent", help="default: %(default)s")
    create.add_argument("--principal", required=True, help="who or what holds the key")

    revoke = commands.add_parser("revoke-key", help="revoke an API key")
    _add_common(revoke)
    revoke.add_argument("key_id", help="the key id (the part after the tenant in tg_{tenant}_{key_id}_...)")

    admin.set_defaults(run=run_admin)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("tenant", help="tenant id: 1 to 63 of a-z, 0-9 and '-'")
    _add_table(parser)


def _add_table(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table",
        default=os.environ.get(TABLE_ENV),
        help=f"the service's DynamoDB table (default: ${TABLE_ENV})",
    )
    parser.add_argument("--region", help="AWS region (default: your AWS configuration)")


def _add_usage_plan(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--usage-plan",
        default=os.environ.get(USAGE_PLAN_ENV),
        help=f"the stack's TenantUsagePlanId output (default: ${USAGE_PLAN_ENV})",
    )


def run_admin(args: argparse.Namespace) -> int:
    import boto3
    from toolgate.adapters.aws.dynamodb import DynamoTenantStore
    from toolgate.adapters.aws.usage_keys import ApiGatewayUsageKeys
    from toolgate.errors import UsageKeyError
    from toolgate.service.api_keys import bootstrap_tenant, create_api_key, revoke_api_key
    from toolgate.service.tenancy import Role, is_tenant_id
    from toolgate.service.usage_keys import ensure_usage_key

    if not args.table:
        print(f"error[TABLE_MISSING]: give --table or set {TABLE_ENV}", file=sys.stderr)
        return 2
    if args.admin_command in {"bootstrap-tenant", "usage-key", "usage-keys"} and not args.usage_plan:
        print(
            f"error[USAGE_PLAN_MISSING]: give --usage-plan or set {USAGE_PLAN_ENV} "
            "(the stack's TenantUsagePlanId output)",
            file=sys.stderr,
        )
        return 2
    if args.admin_command == "usage-keys":
        return _give_every_tenant_its_usage_key(args)
    if not is_tenant_id(args.tenant):
        print("error[TENANT_ID_INVALID]: tenant ids are 1 to 63 of a-z, 0-9 and '-'", file=sys.stderr)
        return 2
    table = boto3.resource("dynamodb", region_name=args.region).Table(args.table)
    store = DynamoTenantStore(table, args.tenant)
    if args.admin_command == "revoke-key":
        record = revoke_api_key(store, args.key_id)
        print(f"revoked key {record.key_id} of tenant {args.tenant}", file=sys.stderr)
        return 0
    if args.admin_command in {"bootstrap-tenant", "usage-key"}:
        usage_keys = ApiGatewayUsageKeys(boto3.client("apigateway", region_name=args.region), args.usage_plan)
        try:
            if args.admin_command == "usage-key":
                key_id = ensure_usage_key(usage_keys, args.table, args.tenant)
                print(
                    f"tenant {args.tenant} has usage key {key_id} in plan {args.usage_plan}", file=sys.stderr
                )
                return 0
            issued = bootstrap_tenant(store, args.principal, usage_keys, args.table)
        except UsageKeyError as error:
            print(f"error[{error.code}]: {error.message}", file=sys.stderr)
            return 1
    else:
        issued = create_api_key(store, Role(args.role), args.principal)
    print(issued.key)
    print(
        f"{issued.record.role.value} key {issued.record.key_id} for tenant {args.tenant}: "
        "store it now, it is not shown again.",
        file=sys.stderr,
    )
    return 0


def _give_every_tenant_its_usage_key(args: argparse.Namespace) -> int:
    import boto3
    from toolgate.adapters.aws.dynamodb import tenant_ids
    from toolgate.adapters.aws.usage_keys import ApiGatewayUsageKeys
    from toolgate.service.usage_keys import ensure_usage_keys

    table = boto3.resource("dynamodb", region_name=args.region).Table(args.table)
    registry = ApiGatewayUsageKeys(boto3.client("apigateway", region_name=args.region), args.usage_plan)
    backfill = ensure_usage_keys(registry, args.table, tenant_ids(table))
    for tenant_id, key_id in sorted(backfill.key_ids.items()):
        print(f"tenant {tenant_id} has usage key {key_id} in plan {args.usage_plan}", file=sys.stderr)
    for tenant_id, error in sorted(backfill.failures.items()):
        print(f"error[{error.code}] tenant {tenant_id}: {error.message}", file=sys.stderr)
    print(
        f"{len(backfill.key_ids)} tenants have their usage key, {len(backfill.failures)} failed"
        + ("; run the command again for those." if backfill.failures else "."),
        file=sys.stderr,
    )
    return 1 if backfill.failures else 0
