"""Who is calling: the tenant context the authorizer verified, roles, and the id formats."""

# Annotations are evaluated where they stand (no `from __future__ import annotations`): pydantic and
# NamedTuple then skip parsing each one from a string, a third of this module's cold-start cost (issue 16).

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple

from toolgate.errors import (
    NotFoundError,
    RoleForbiddenError,
    TenantEnvironmentMismatchError,
    UnauthenticatedError,
)

#: Tenant ids: lowercase letters, digits and dashes. They are DynamoDB partition keys and IAM tag values.
TENANT_ID_PATTERN = r"^[a-z0-9-]{1,63}$"
#: Integration, assistant and credential ids.
RESOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
#: API key ids: the middle part of `tg_{tenant}_{key_id}_{secret}`.
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
_RESOURCE_ID = re.compile(RESOURCE_ID_PATTERN)
_KEY_ID = re.compile(KEY_ID_PATTERN)


class Role(StrEnum):
    #: Manages integrations, assistants, credentials and keys.
    ADMIN = "admin"
    #: Lists an assistant's tools (and, later, invokes them).
    AGENT = "agent"


class TenantContext(NamedTuple):
    """A verified caller: the only source of the tenant id for any request."""

    tenant_id: str
    role: Role
    principal: str
    #: The API key the caller presented; None for callers inside the deployment (CLI admin, jobs).
    key_id: str | None = None

    def require(self, *allowed: Role) -> None:
        if self.role not in allowed:
            needed = " or ".join(role.value for role in allowed)
            raise RoleForbiddenError(
                f"This operation needs the {needed} role; the key in use has the {self.role.value} role."
            )

    def require_admin(self) -> None:
        self.require(Role.ADMIN)


def is_tenant_id(value: str) -> bool:
    return _TENANT_ID.fullmatch(value) is not None


def is_resource_id(value: str) -> bool:
    return _RESOURCE_ID.fullmatch(value) is not None


def is_key_id(value: str) -> bool:
    return _KEY_ID.fullmatch(value) is not None


def check_resource_id(value: str, kind: str) -> str:
    """`value` if it is a valid id; otherwise NOT_FOUND, since no such resource can exist."""
    if not is_resource_id(value):
        raise NotFoundError(
            f"No {kind} '{value[:80]}': ids are 1 to 63 lowercase letters, digits and dashes, "
            "starting with a letter or digit."
        )
    return value


def tenant_context_from_event(event: Mapping[str, Any], environment_tenant: object = None) -> TenantContext:
    """The tenant context the Lambda authorizer attached to an API Gateway proxy event.

    Only `requestContext.authorizer` is read: a tenant named in the path, query or body is never trusted.
    `environment_tenant` is the tenant Lambda's tenant isolation mode runs this environment for (the
    context's `tenant_id`; None without it): an event of any other tenant is refused.
    """
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, Mapping) else None
    if not isinstance(authorizer, Mapping):
        raise UnauthenticatedError("The request was not authenticated: no authorizer context.")
    tenant_id = authorizer.get("tenant_id")
    role = authorizer.get("role")
    principal = authorizer.get("principal")
    key_id = authorizer.get("key_id")
    if not isinstance(tenant_id, str) or not is_tenant_id(tenant_id):
        raise UnauthenticatedError("The authorizer context carries no valid tenant id.")
    if role not in {member.value for member in Role}:
        raise UnauthenticatedError("The authorizer context carries no valid role.")
    if not isinstance(principal, str) or not principal:
        raise UnauthenticatedError("The authorizer context carries no principal.")
    if not isinstance(key_id, str) or not is_key_id(key_id):
        raise UnauthenticatedError("The authorizer context carries no valid API key id.")
    if environment_tenant is not None and environment_tenant != tenant_id:
        raise TenantEnvironmentMismatchError(
            "This execution environment serves another tenant than the caller's: the API's X-Amz-Tenant-Id "
            "mapping must be the authorizer's tenant_id. Nothing was run."
        )
    return TenantContext(tenant_id=tenant_id, role=Role(role), principal=principal, key_id=key_id)
