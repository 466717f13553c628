"""AWS errors as Toolgate errors: refusals by IAM become TENANT_FORBIDDEN, throttling STORE_UNAVAILABLE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from toolgate.errors import StoreUnavailableError, TenantForbiddenError

_FORBIDDEN = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_UNAVAILABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_aws_errors(action: str) -> Iterator[None]:
    """Re-raise IAM refusals and throttling from the block as typed errors; other errors pass through."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in _FORBIDDEN:
            raise TenantForbiddenError(f"AWS refused to {action} for this tenant.") from None
        if code in _UNAVAILABLE:
            raise StoreUnavailableError(
                f"AWS could not {action} right now ({code}); retry shortly."
            ) from None
        raise
