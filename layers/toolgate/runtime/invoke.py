"""Carry out one tool call: arguments, request, credentials, transport, result envelope.

Pure: the HTTP work happens behind the `Transport` protocol. Whatever goes wrong comes back as a
`ToolResult` with a stable error code the model can act on, never as an exception or a traceback, and
no credential value appears in it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection

from toolgate.errors import ToolgateError, ToolInternalError
from toolgate.runtime.arguments import validate_arguments
from toolgate.runtime.async_calls import with_callback_url
from toolgate.runtime.credentials import Credential, apply_auth, plan_auth
from toolgate.runtime.envelope import ToolResult, result_from_error, result_from_response
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.request import build_request
from toolgate.runtime.transport import Deadline, EgressPolicy, OutboundCall, Transport
from toolgate.settings import ArgumentLimits, RuntimeSettings, get_settings
from toolgate.spec.models import CanonicalTool

logger = logging.getLogger(__name__)


def invoke_tool(
    tool: CanonicalTool,
    arguments: object,
    *,
    transport: Transport,
    credential: Credential | None = None,
    settings: RuntimeSettings | None = None,
    argument_limits: ArgumentLimits | None = None,
    deadline: Deadline | None = None,
    tenant: str = "default",
    server_url: str | None = None,
    allowed_hosts: Collection[str] | None = None,
    callback_url: str | None = None,
    redactor: Redactor | None = None,
) -> ToolResult:
    """Call `tool` with the model's `arguments` and return the envelope the model reads.

    `deadline` is the caller's remaining budget (Lambda time left, API Gateway's 29 s); the call takes
    at most the sooner of it and `settings.default_timeout_seconds`. `server_url` overrides the tool's
    server. `allowed_hosts`, the tenant's allowlist, replaces `settings.allowed_hosts`. `callback_url`
    goes in the parameter the tool's async pattern declares for it; like a credential, it never shows.
    `redactor`, when given, collects every secret of the call (the credential's values, an OAuth2 token
    the adapter used), so the caller can keep them out of its own records of the call too.
    """
    settings = settings or get_settings().runtime
    started = time.monotonic()
    redactor = redactor if redactor is not None else Redactor()
    try:
        effective_deadline = Deadline.after(settings.default_timeout_seconds).sooner(deadline)
        values = validate_arguments(tool, arguments, argument_limits)
        request = build_request(tool, values, server_url=server_url)
        if callback_url is not None and tool.async_pattern is not None:
            redactor.add(callback_url)
            request = with_callback_url(request, tool.async_pattern, callback_url)
        plan = plan_auth(tool, credential, target_url=request.url)
        redactor.add_all(plan.secrets)
        call = OutboundCall(
            request=apply_auth(request, plan),
            deadline=effective_deadline,
            policy=EgressPolicy.from_settings(settings, allowed_hosts=allowed_hosts),
            tenant=tenant,
            redactor=redactor,
            oauth=plan.oauth,
            client_certificate=plan.client_certificate,
        )
        response = transport.send(call)
        result = result_from_response(tool, response, settings, redactor)
    except ToolgateError as error:
        result = result_from_error(error, redactor)
    except Exception as error:  # a bug must not reach the model as a traceback, nor leak a secret
        logger.error(
            "tool %s failed unexpectedly: %s: %s",
            tool.name,
            type(error).__name__,
            redactor.redact(str(error)),
        )
        result = result_from_error(
            ToolInternalError("Toolgate failed unexpectedly while calling the tool; the failure is logged."),
            redactor,
        )
    logger.debug(
        "tool %s: ok=%s status=%s code=%s in %.1f ms",
        tool.name,
        result.ok,
        result.status,
        result.error.code if result.error else None,
        (time.monotonic() - started) * 1000,
    )
    return result
