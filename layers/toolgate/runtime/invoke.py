"""Carry out one tool call: arguments, request, credentials, transport, result envelope.

Pure: the HTTP work happens behind the `Transport` protocol. Whatever goes wrong comes back as a
`ToolResult` with a stable error code the model can act on, never as an exception or a traceback, and
no credential value appears in it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from toolgate.errors import ToolgateError, ToolInternalError
from toolgate.runtime.arguments import validate_arguments
from toolgate.runtime.credentials import Credential, apply_auth, credential_fingerprint, plan_auth
from toolgate.runtime.envelope import ToolResult, result_from_error, result_from_response
from toolgate.runtime.hidden import with_hidden
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.request import build_request
from toolgate.runtime.transport import Deadline, EgressPolicy, HttpResponse, OutboundCall, Transport
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
    refetch_credential: Callable[[], Credential | None] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> ToolResult:
    """Call `tool` with the model's `arguments` and return the envelope the model reads.

    `deadline` is the caller's remaining budget (Lambda time left, API Gateway's 29 s); the call takes
    at most the sooner of it and `settings.default_timeout_seconds`. `server_url` overrides the tool's
    server. `allowed_hosts`, the tenant's allowlist, replaces `settings.allowed_hosts`. `callback_url`
    goes in the parameter the tool's async pattern declares for it; like a credential, it never shows.
    `redactor`, when given, collects every secret of the call (the credential's values, an OAuth2 token
    the adapter used), so the caller can keep them out of its own records of the call too.

    `parameters` are the integration's parameter settings, the values of hidden arguments declared
    `from:` one (`runtime.hidden`).

    `refetch_credential` reads the bound credential again, bypassing any cache. When the API answers
    401, it is called once; if the credential it returns differs (it was rebound or rotated), the
    request is sent once more with it. A 401 means the API refused the request without acting on it, so
    this holds for every method.
    """
    settings = settings or get_settings().runtime
    started = time.monotonic()
    redactor = redactor if redactor is not None else Redactor()
    try:
        effective_deadline = Deadline.after(settings.default_timeout_seconds).sooner(deadline)
        values = with_hidden(tool, validate_arguments(tool, arguments, argument_limits), parameters)
        request = build_request(tool, values, server_url=server_url)
        if callback_url is not None and tool.async_pattern is not None:
            from toolgate.runtime.async_calls import with_callback_url  # noqa: PLC0415 - only callback jobs

            redactor.add(callback_url)
            request = with_callback_url(request, tool.async_pattern, callback_url)
        policy = EgressPolicy.from_settings(settings, allowed_hosts=allowed_hosts)

        def send(with_credential: Credential | None) -> HttpResponse:
            plan = plan_auth(tool, with_credential, target_url=request.url)
            redactor.add_all(plan.secrets)
            call = OutboundCall(
                request=apply_auth(request, plan),
                deadline=effective_deadline,
                policy=policy,
                tenant=tenant,
                redactor=redactor,
                oauth=plan.oauth,
                client_certificate=plan.client_certificate,
            )
            return transport.send(call)

        response = send(credential)
        if response.status == 401 and refetch_credential is not None:
            response = _again_if_rebound(response, credential, refetch_credential, send)
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


def _again_if_rebound(
    refused: HttpResponse,
    credential: Credential | None,
    refetch: Callable[[], Credential | None],
    send: Callable[[Credential | None], HttpResponse],
) -> HttpResponse:
    """After a 401: the credential read afresh, and the request sent once more if it changed. The 401
    stands when the credential cannot be read again: it is the API's own answer."""
    try:
        fresh = refetch()
    except ToolgateError as error:
        logger.info("the credential could not be read again after a 401: %s", error.code)
        return refused
    if fresh is None or (
        credential is not None and credential_fingerprint(fresh) == credential_fingerprint(credential)
    ):
        return refused
    again = send(fresh)
    return again._replace(attempts=refused.attempts + again.attempts)
