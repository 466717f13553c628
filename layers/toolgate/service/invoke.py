"""Invoking a tool for an agent: the call path every model conversation takes.

One request names an assistant and a tool and carries the arguments, plain or as the model's own tool
call (`toolgate.dialects.calls`). The tool must belong to a ready integration of the assistant (and pass
its toolset); it is looked up only among the caller's tenant's items, so a tool of another tenant and
a tool that exists nowhere get the same refusal. The integration's credential is read through the
tenant's resources, the runtime makes the call within the request's deadline, and the answer comes back
in the call's own format.

- **Large results.** A body longer than one answer holds (`InvokeSettings.result_page_chars`) is kept
  whole in S3 under the tenant's artifacts prefix, behind a random, expiring continuation handle; the
  answer carries the first page and the handle, and `read_continuation` serves the other pages.
- **Idempotency.** With an `Idempotency-Key`, the call is made once per tenant, assistant, tool and key;
  a retry gets the first answer. An answer is kept only once the request may have reached the API: a
  call refused before sending (bad arguments, no credential, egress denied, host unreachable) is not,
  so the retry runs again.
- **Fairness.** A tool call is first admitted against the tenant's limits (rate and concurrent calls,
  `toolgate.service.limits`), before its tool is even looked up; over either, it is refused with 429
  before any egress.
- **Audit.** Every request leaves one record: tenant, principal, assistant, tool, status, latency, error
  code, and the arguments only when the integration's `audit_arguments` allows it, with every value of
  the integration's credential (and an OAuth2 token the call used) redacted. Never a credential.

Pure: AWS is reached through `InvokeResources`, HTTP through the runtime's `Transport`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from toolgate.dialects.base import Dialect
from toolgate.dialects.calls import CallFormat, ToolCall, format_result, parse_call
from toolgate.dialects.gemini_names import restore_parameter_names
from toolgate.dialects.strict_arguments import restore_omitted_arguments
from toolgate.errors import (
    ArgumentsInvalidError,
    CallToolMismatchError,
    ContinuationNotFoundError,
    CredentialInvalidError,
    InternalServiceError,
    JobNotFoundError,
    JobsUnavailableError,
    ResponseTooLargeError,
    TenantForbiddenError,
    ToolgateError,
    ToolInternalError,
    ToolNameConflictError,
    ToolNotAvailableError,
    UpstreamOutcomeUnknownError,
    UpstreamProtocolError,
)
from toolgate.runtime.arguments import validate_arguments
from toolgate.runtime.credentials import Credential, plan_auth, secret_values
from toolgate.runtime.envelope import ToolResult, result_from_error
from toolgate.runtime.hidden import with_hidden
from toolgate.runtime.invoke import invoke_tool
from toolgate.runtime.redaction import Redactor
from toolgate.runtime.request import build_request
from toolgate.runtime.transport import Deadline, Transport
from toolgate.service.jobs.terms import JOB_STATUS_TOOL, JobPattern, job_pattern, job_status_tool
from toolgate.service.models import IntegrationRecord, utc_now
from toolgate.service.ports import InvokeResources
from toolgate.service.search import SEARCH_TOOL, ToolSearcher, checked_limit, checked_query
from toolgate.service.stored_tools import integration_credential, load_tool
from toolgate.service.tenancy import Role, TenantContext, is_resource_id
from toolgate.service.toolsets import assistant_allows
from toolgate.settings import InvokeSettings, JobSettings, RuntimeSettings, SearchSettings
from toolgate.spec.models import CanonicalTool

if TYPE_CHECKING:
    from toolgate.service.continuations import ContinuationPage, StoredContinuation
    from toolgate.service.jobs.queries import JobQueries
    from toolgate.service.jobs.views import JobView

logger = logging.getLogger(__name__)

_MAX_TOOL_NAME_CHARS = 128
_ECHO_CHARS = 80
#: The runtime never cuts a body itself: this service pages it instead.
_WHOLE_BODY = 2**62
#: Errors after which the request may have reached the API (and changed something there).
_MAY_HAVE_TAKEN_EFFECT = frozenset(
    {
        UpstreamOutcomeUnknownError.code,
        UpstreamProtocolError.code,
        ResponseTooLargeError.code,
        ToolInternalError.code,
    }
)


# --- Requests, answers, records -----------------------------------------------------------------


class InvokeRequest(NamedTuple):
    assistant_id: str
    tool_name: str
    #: The request body as parsed JSON: `{"arguments": {...}}` or a model-native tool call.
    body: object
    #: API Gateway's request id; it names the audit record.
    request_id: str
    #: When the tool call must be over (see `call_budget_seconds`).
    deadline: Deadline
    idempotency_key: str | None = None
    #: The tool format `toolgate_search_tools` answers in (`?format=`); None: the call's own format.
    tool_format: str | None = None


class AuditRecord(BaseModel):
    """One tool call, as the audit log keeps it. Never holds a credential."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    request_id: str
    at: datetime
    tenant_id: str
    principal: str
    assistant_id: str
    tool: str
    integration_id: str | None = None
    #: The format of the call: `toolgate`, `openai`, `anthropic`, ...
    call_format: str | None = None
    #: ok: the API answered 2xx; error: the call was made (or attempted) and failed, the result says
    #: why; refused: the tool was not called (a typed error); failed: an unexpected fault.
    status: Literal["ok", "error", "refused", "failed"]
    error_code: str | None = None
    #: The API's HTTP status, when it answered.
    target_status: int | None = None
    latency_ms: int
    #: The request carried an Idempotency-Key; `replayed` when the answer was the first request's.
    idempotent: bool = False
    replayed: bool = False
    #: The arguments as JSON, only for integrations with `audit_arguments`.
    arguments: str | None = None
    arguments_truncated: bool = False


class InvokeOutcome(NamedTuple):
    #: The response body: the envelope, or the result block in the call's format.
    response: dict[str, Any]
    record: AuditRecord


class ToolCache:
    """Canonical tools by tenant, integration, revision and name, least recently used dropped first; also
    the names a revision does not have.

    A revision's tools never change, so an entry never goes stale, and reusing the same tool object
    keeps the runtime's compiled validators warm.
    """

    def __init__(self, max_entries: int = 512) -> None:
        self._max_entries = max_entries
        self._tools: OrderedDict[tuple[str, str, str, str], CanonicalTool | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, str]) -> tuple[bool, CanonicalTool | None]:
        """(whether the key is known, its tool: None when the revision has no such tool)."""
        with self._lock:
            if key not in self._tools:
                return False, None
            self._tools.move_to_end(key)
            return True, self._tools[key]

    def put(self, key: tuple[str, str, str, str], tool: CanonicalTool | None) -> None:
        with self._lock:
            self._tools[key] = tool
            self._tools.move_to_end(key)
            while len(self._tools) > self._max_entries:
                self._tools.popitem(last=False)


def call_budget_seconds(
    config: InvokeSettings,
    *,
    lambda_remaining_ms: int,
    request_time_epoch_ms: int | None,
    now_epoch_seconds: float,
) -> float:
    """Seconds the tool call may take: the sooner of the Lambda's remaining time and API Gateway's
    timeout (counted from when API Gateway received the request), less the margin kept for the work
    after the call."""
    budget = lambda_remaining_ms / 1000
    if request_time_epoch_ms is None:
        budget = min(budget, config.api_gateway_timeout_seconds)
    else:
        gateway_left = request_time_epoch_ms / 1000 + config.api_gateway_timeout_seconds - now_epoch_seconds
        budget = min(budget, gateway_left)
    return max(0.0, budget - config.deadline_margin_seconds)


# --- The service --------------------------------------------------------------------------------


class InvokeService:
    def __init__(
        self,
        context: TenantContext,
        resources: InvokeResources,
        config: InvokeSettings,
        *,
        runtime: RuntimeSettings,
        transport: Transport,
        tools: ToolCache,
        observer: Callable[[AuditRecord, bool], None] | None = None,
        jobs_config: JobSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        searcher: ToolSearcher | None = None,
        search_config: SearchSettings | None = None,
    ) -> None:
        if resources.tenant_id != context.tenant_id:
            raise ValueError("the resources are not the caller's tenant's")
        self.context = context
        self.resources = resources
        self.config = config
        self._runtime = runtime.model_copy(update={"result_body_chars": _WHOLE_BODY})
        self._max_continuation_bytes = 8 * runtime.max_response_bytes
        self._transport = transport
        self._tools = tools
        #: Told of every record and whether the audit log took it: the handler's logs and metrics.
        self._observer = observer
        self._jobs_config = jobs_config or JobSettings()
        self._clock = clock
        #: Where `toolgate_search_tools` searches; None: this deployment serves no search.
        self.searcher = searcher
        self.search_config = search_config or SearchSettings()

    def invoke(self, request: InvokeRequest) -> InvokeOutcome:
        """Call the tool and answer in the call's format. Typed errors are refusals: nothing was called."""
        self.context.require(Role.ADMIN, Role.AGENT)
        started = time.monotonic()
        draft = _Draft(self.context, request, self._clock())
        try:
            call = parse_call(request.body)
            draft.call_format = call.format.value
            if call.name is not None and call.name != request.tool_name:
                raise CallToolMismatchError(
                    f"The tool call names '{call.name[:_ECHO_CHARS]}' but was sent to tool "
                    f"'{request.tool_name[:_ECHO_CHARS]}'; send it to that tool's invoke URL."
                )
            if request.tool_name == JOB_STATUS_TOOL:
                envelope, replayed = self._job_status(request, call), False
            elif request.tool_name == SEARCH_TOOL and self.searcher is not None:
                with self._admitted(request):
                    envelope, replayed = self._search(request, call, self.searcher), False
            else:
                # Admitted before the tool is looked up: a refusal under load then costs one write.
                with self._admitted(request):
                    integration, tool = self._resolve(request.assistant_id, request.tool_name)
                    draft.integration_id = integration.integration_id
                    if integration.settings.audit_arguments:
                        limit = self.config.max_audited_argument_bytes
                        draft.audit_arguments(call.arguments, limit, self._audit_redactor(integration))
                    envelope, replayed = self._answer(request, call, integration, tool, draft.redactor)
        except ToolgateError as error:
            self._finish(draft.record("refused", started, error_code=error.code))
            raise
        except Exception:
            self._finish(draft.record("failed", started, error_code=InternalServiceError.code))
            raise
        failure = envelope.get("error")
        record = draft.record(
            "ok" if envelope.get("ok") is True else "error",
            started,
            error_code=failure.get("code") if isinstance(failure, dict) else None,
            target_status=envelope.get("status"),
            replayed=replayed,
        )
        self._finish(record)
        return InvokeOutcome(response=format_result(call, envelope), record=record)

    def job(self, job_id: str) -> JobView:
        """One of the tenant's jobs: its status, and its result or error once it has ended."""
        return self._job_queries().get(job_id)

    def cancel_job(self, job_id: str) -> JobView:
        """Stop one of the tenant's running jobs."""
        return self._job_queries().cancel(job_id)

    def tool(self, assistant_id: str, tool_name: str) -> CanonicalTool:
        """The assistant's tool of that name, as a call would find it (ToolNotAvailableError if none)."""
        self.context.require(Role.ADMIN, Role.AGENT)
        return self._resolve(assistant_id, tool_name)[1]

    def job_queries(self) -> JobQueries:
        """The tenant's jobs, read and cancelled as its caller (JobsUnavailableError without jobs)."""
        return self._job_queries()

    def read_continuation(self, handle: str, page: int) -> ContinuationPage:
        """One page of a large result kept by an earlier call of this tenant."""
        self.context.require(Role.ADMIN, Role.AGENT)
        missing = ContinuationNotFoundError(
            f"No result continuation '{handle[:_ECHO_CHARS]}': handles belong to one tenant and expire "
            f"{self.config.continuation_ttl_seconds} seconds after their call; call the tool again."
        )
        from toolgate.service import continuations  # noqa: PLC0415 - only continuation reads need it

        if not continuations.CONTINUATION_HANDLE.fullmatch(handle):
            raise missing
        try:
            data = self.resources.results.get(handle, self._max_continuation_bytes)
        except TenantForbiddenError:
            # Without s3:ListBucket on the key, S3 answers a missing object with AccessDenied.
            data = None
        if data is None:
            raise missing
        stored = continuations.StoredContinuation.model_validate_json(data)
        if stored.expires_at <= self._clock():
            raise missing
        return continuations.continuation_page(stored, handle, page)

    # --- Finding the tool ---------------------------------------------------------------------

    def _resolve(self, assistant_id: str, tool_name: str) -> tuple[IntegrationRecord, CanonicalTool]:
        """The assistant's integration that defines the tool, and the tool. The refusal is the same for
        every reason, so it says nothing about other tenants; the reason is logged."""
        refusal = ToolNotAvailableError(
            f"Assistant '{assistant_id[:_ECHO_CHARS]}' has no tool '{tool_name[:_ECHO_CHARS]}': it is not "
            "a tool of a ready integration the assistant may use. List the assistant's tools with "
            f"GET /v1/assistants/{assistant_id[:_ECHO_CHARS]}/tools."
        )
        if not is_resource_id(assistant_id) or not tool_name or len(tool_name) > _MAX_TOOL_NAME_CHARS:
            logger.info("tool not available", extra={"reason": "malformed_name"})
            raise refusal
        assistant = self.resources.tenant.store.get_assistant(assistant_id)
        if assistant is None:
            logger.info("tool not available", extra={"reason": "no_assistant"})
            raise refusal
        defined = [
            located
            for integration_id in assistant.integrations
            if (located := self._locate(integration_id, tool_name)) is not None
        ]
        if not defined:
            logger.info("tool not available", extra={"reason": "no_ready_integration_defines_it"})
            raise refusal
        found = [(integration, tool) for integration, tool in defined if assistant_allows(assistant, tool)]
        if not found:
            logger.info("tool not available", extra={"reason": "not_in_toolset"})
            raise refusal
        if len(found) > 1:
            owners = " and ".join(f"'{integration.integration_id}'" for integration, _ in found)
            raise ToolNameConflictError(
                f"Integrations {owners} both define tool '{tool_name}'; list only one of them in assistant "
                f"'{assistant_id}' or limit its toolset."
            )
        return found[0]

    def _locate(self, integration_id: str, tool_name: str) -> tuple[IntegrationRecord, CanonicalTool] | None:
        store = self.resources.tenant.store
        integration = store.get_integration(integration_id)
        # A second look only when an upload replaced the revision between the two reads.
        for _ in range(2):
            if integration is None or integration.ready is None:
                return None
            revision = integration.ready.revision
            key = (self.context.tenant_id, integration_id, revision, tool_name)
            known, tool = self._tools.get(key)
            if known:
                return None if tool is None else (integration, tool)
            item = store.get_tool(integration_id, revision, tool_name)
            if item is not None:
                tool = load_tool(item, self.resources.tenant)
                self._tools.put(key, tool)
                return integration, tool
            integration = store.get_integration(integration_id)
            if (
                integration is not None
                and integration.ready is not None
                and integration.ready.revision == revision
            ):
                self._tools.put(key, None)
                return None
        return None

    # --- Calling it -----------------------------------------------------------------------------

    def _answer(
        self,
        request: InvokeRequest,
        call: ToolCall,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        redactor: Redactor,
    ) -> tuple[dict[str, Any], bool]:
        """The envelope, and whether it is an earlier request's (idempotent replay)."""
        if call.arguments_problem is not None:
            return _error_envelope(ArgumentsInvalidError(call.arguments_problem)), False
        arguments = call.arguments
        if call.format is CallFormat.GEMINI:
            # The Gemini listing renames arguments Gemini cannot name (`api-key` became `api_key`).
            arguments = restore_parameter_names(arguments, tool.input_schema)
        # Strict OpenAI tools make models send null for an optional argument they leave out.
        arguments = restore_omitted_arguments(arguments, tool.input_schema)

        def compute() -> tuple[dict[str, Any], bool]:
            return self._call(request, integration, tool, arguments, redactor)

        if request.idempotency_key is None:
            return compute()[0], False
        scope = {
            "tenant_id": self.context.tenant_id,
            "assistant_id": request.assistant_id,
            "tool": tool.name,
            "key": request.idempotency_key,
        }
        holds_for = request.deadline.remaining() + self.config.deadline_margin_seconds
        return self.resources.idempotency.run_once(scope, {"arguments": arguments}, compute, holds_for)

    def _call(
        self,
        request: InvokeRequest,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        arguments: dict[str, Any],
        redactor: Redactor,
    ) -> tuple[dict[str, Any], bool]:
        pattern = job_pattern(tool)
        if pattern is not None:
            return self._launch(request, integration, tool, arguments, pattern)
        try:
            credential = self._credential(integration)
        except CredentialInvalidError as error:
            return _error_envelope(error), False
        result = invoke_tool(
            tool,
            arguments,
            transport=self._transport,
            credential=credential,
            settings=self._runtime,
            deadline=request.deadline,
            tenant=self.context.tenant_id,
            redactor=redactor,
            refetch_credential=lambda: self._credential(integration, fresh=True),
            parameters=integration.settings.parameters,
        )
        envelope = self._paged(result.to_dict(), request, tool)
        if result.full_body is not None:
            envelope = self._with_full_response(envelope, result.full_body, request, tool)
        return envelope, _may_have_taken_effect(result)

    def _admitted(self, request: InvokeRequest) -> AbstractContextManager[None]:
        """The call's slot under the tenant's limits, held until the call ends (RateLimitedError or
        ConcurrencyLimitedError when over them); its lease expires with the request's time budget."""
        limiter = self.resources.limiter
        if limiter is None:
            return nullcontext()
        return limiter.outbound_call(request.deadline.remaining() + self.config.deadline_margin_seconds)

    def _launch(
        self,
        request: InvokeRequest,
        integration: IntegrationRecord,
        tool: CanonicalTool,
        arguments: dict[str, Any],
        pattern: JobPattern,
    ) -> tuple[dict[str, Any], bool]:
        """Start a job for a long-running operation, once its call is known to be sendable."""
        jobs, executions = self.resources.jobs, self.resources.executions
        if jobs is None or executions is None:
            unavailable = JobsUnavailableError(
                f"'{tool.name}' is a long-running operation, and this deployment runs no jobs state machine; "
                "it cannot be called here."
            )
            return _error_envelope(unavailable), False
        try:
            values = validate_arguments(tool, arguments)
            sent = with_hidden(tool, values, integration.settings.parameters)
            plan_auth(tool, self._credential(integration), target_url=build_request(tool, sent).url)
        except ToolgateError as error:
            return _error_envelope(error), False
        from toolgate.service.jobs.launch import JobLauncher  # noqa: PLC0415 - only long-running operations

        launcher = JobLauncher(jobs, executions, self._jobs_config, self._clock)
        try:
            envelope = launcher.launch(
                self.context.tenant_id,
                request.assistant_id,
                integration=integration,
                tool=tool,
                arguments=values,
                pattern=pattern,
            )
        except ToolgateError as error:
            return _error_envelope(error), False
        return envelope, True

    def _job_status(self, request: InvokeRequest, call: ToolCall) -> dict[str, Any]:
        """The built-in job-status tool: a job this assistant started, as a tool result."""
        job_id = call.arguments.get("job_id")
        if call.arguments_problem is not None or not isinstance(job_id, str):
            problem = (
                call.arguments_problem or 'Call it with {"job_id": "job_..."}, the id the operation returned.'
            )
            return _error_envelope(ArgumentsInvalidError(problem))
        try:
            view = self._job_queries().get(job_id, assistant_id=request.assistant_id)
        except JobNotFoundError as error:
            return _error_envelope(error)
        return view.envelope()

    def _search(self, request: InvokeRequest, call: ToolCall, searcher: ToolSearcher) -> dict[str, Any]:
        """`toolgate_search_tools`: the best matching tools as full definitions in the caller's format.
        Each found tool is resolved as a call to it would be, so only tools of the toolset come back."""
        from toolgate.dialects import render_tools  # noqa: PLC0415 - only searches render here

        if call.arguments_problem is not None:
            return _error_envelope(ArgumentsInvalidError(call.arguments_problem))
        arguments = call.arguments
        extra = sorted(set(arguments) - {"query", "limit"})
        try:
            if extra:
                raise ArgumentsInvalidError(
                    f"Unknown arguments {extra[:5]}; the arguments are query and limit."
                )
            dialect = search_dialect(request.tool_format, call.format)
            query = checked_query(arguments.get("query"))
            limit = checked_limit(arguments.get("limit"), self.search_config)
            names = searcher.search(self.context.tenant_id, request.assistant_id, query, limit)
        except ToolgateError as error:
            return _error_envelope(error)
        tools = [tool for name in names if (tool := self._found(request.assistant_id, name)) is not None]
        definitions = render_tools(tools, dialect).definitions
        return {"ok": True, "status": 200, "body": {"format": dialect.value, "tools": definitions}}

    def _found(self, assistant_id: str, name: str) -> CanonicalTool | None:
        if name == JOB_STATUS_TOOL:
            return job_status_tool()
        try:
            return self._resolve(assistant_id, name)[1]
        except ToolNotAvailableError:
            return None

    def _job_queries(self) -> JobQueries:
        if self.resources.jobs is None:
            raise JobsUnavailableError("This deployment runs no jobs state machine; there are no jobs.")
        from toolgate.service.jobs.queries import JobQueries  # noqa: PLC0415 - only the job routes read jobs

        return JobQueries(
            self.context, self.resources.jobs, self._jobs_config, self.resources.executions, self._clock
        )

    def _credential(self, integration: IntegrationRecord, *, fresh: bool = False) -> Credential | None:
        """The integration's credential. Its own binding's time comes with the read, so a credential
        rebound through the API is read afresh by every process on its next call."""
        bound = integration.credential
        own = integration.credential_slot == integration.integration_id
        binding = bound.updated_at.isoformat() if own and bound is not None else None
        return integration_credential(integration, self.resources.credentials, binding=binding, fresh=fresh)

    def _audit_redactor(self, integration: IntegrationRecord) -> Redactor | None:
        """A Redactor of the integration's credential values for audited arguments; None when the
        credential cannot be parsed (its values are unknown, so no arguments are kept)."""
        try:
            credential = self._credential(integration)
        except CredentialInvalidError:
            return None
        return Redactor(secret_values(credential) if credential is not None else ())

    def _paged(self, envelope: dict[str, Any], request: InvokeRequest, tool: CanonicalTool) -> dict[str, Any]:
        """The envelope with a body that fits one answer; a longer body is kept whole for paging."""
        body = envelope.get("body")
        if body is None:
            return envelope
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        page_chars = self.config.result_page_chars
        if len(text) <= page_chars:
            return envelope
        first_page = {**envelope, "body": text[:page_chars], "truncated": True}
        kept = self._keep(text, request, tool)
        if kept is None:
            # The call has happened: its first page still answers it, without a way to the rest.
            return {
                **first_page,
                "hint": f"The body has {len(text)} characters; only the first {page_chars} can be shown. "
                "Ask for less with the tool's filters or pagination.",
            }
        handle, stored = kept
        expires = stored.expires_at.isoformat(timespec="seconds")
        return {
            **first_page,
            "hint": (
                f"The body has {len(text)} characters; this is the first {page_chars} (page 0 of "
                f"{stored.pages}). Read the rest with GET /v1/continuations/{handle}?page=1 and onwards "
                f"until {expires}, or ask for less with the tool's filters or pagination."
            ),
            "continuation": {
                "handle": handle,
                "page": 0,
                "pages": stored.pages,
                "next_page": 1,
                "expires_at": expires,
            },
        }

    def _with_full_response(
        self, envelope: dict[str, Any], full_body: Any, request: InvokeRequest, tool: CanonicalTool
    ) -> dict[str, Any]:
        """A trimmed envelope (`x-toolgate.response.select`) with a handle to the whole response."""
        text = json.dumps(full_body, ensure_ascii=False, separators=(",", ":"))
        kept = self._keep(text, request, tool)
        if kept is None:
            return envelope
        handle, stored = kept
        expires = stored.expires_at.isoformat(timespec="seconds")
        whole = (
            f"The whole response ({len(text)} characters, {stored.pages} page(s)) is at "
            f"GET /v1/continuations/{handle}?page=0 until {expires}."
        )
        hint = envelope.get("hint")
        return {
            **envelope,
            "hint": f"{hint} {whole}" if hint else whole,
            "full_response": {"handle": handle, "pages": stored.pages, "expires_at": expires},
        }

    def _keep(
        self, text: str, request: InvokeRequest, tool: CanonicalTool
    ) -> tuple[str, StoredContinuation] | None:
        """Keep `text` in S3 behind a new continuation handle; None when it could not be kept."""
        from toolgate.service.continuations import keep_result  # noqa: PLC0415 - only results too long for an answer

        try:
            return keep_result(
                self.resources.results,
                assistant_id=request.assistant_id,
                tool=tool.name,
                text=text,
                now=self._clock(),
                lifetime_seconds=self.config.continuation_ttl_seconds,
                page_chars=self.config.result_page_chars,
            )
        except ToolgateError as error:
            logger.error("the full result could not be kept", extra={"error_code": error.code})
            return None

    def _finish(self, record: AuditRecord) -> None:
        written = True
        try:
            self.resources.audit.record(record)
        except Exception as error:  # the call happened: its answer must still reach the caller
            logger.error("the audit record could not be written", extra={"error_type": type(error).__name__})
            written = False
        if self._observer is not None:
            self._observer(record, written)


# --- Helpers ------------------------------------------------------------------------------------


class _Draft:
    """The audit record's fields as the request is handled."""

    def __init__(self, context: TenantContext, request: InvokeRequest, at: datetime) -> None:
        self.context = context
        self.request = request
        self.at = at
        self.call_format: str | None = None
        self.integration_id: str | None = None
        #: Collects the call's secrets (credential values, an OAuth2 token) as it runs.
        self.redactor = Redactor()
        self._audited: tuple[Mapping[str, Any], int] | None = None
        self._withheld = False

    def audit_arguments(
        self, arguments: Mapping[str, Any], max_bytes: int, redactor: Redactor | None
    ) -> None:
        """Keep the arguments for the record, redacted there of every secret known by then; none are
        kept when `redactor` is None (the credential's values are unknown)."""
        self._audited = (arguments, max_bytes)
        self._withheld = redactor is None
        if redactor is not None:
            self.redactor = redactor

    def _arguments(self, replayed: bool) -> tuple[str | None, bool]:
        # A replay's arguments are the first request's (Powertools checks their hash): its record has them.
        if self._audited is None or self._withheld or replayed:
            return None, False
        arguments, max_bytes = self._audited
        redacted = self.redactor.redact_value(arguments)
        text = json.dumps(redacted, ensure_ascii=False, separators=(",", ":"), default=str)
        # Again on the text: a secret that is not inside a string, such as a number equal to an API key.
        data = self.redactor.redact(text).encode()
        return data[:max_bytes].decode("utf-8", errors="ignore"), len(data) > max_bytes

    def record(
        self,
        status: Literal["ok", "error", "refused", "failed"],
        started: float,
        *,
        error_code: str | None = None,
        target_status: object = None,
        replayed: bool = False,
    ) -> AuditRecord:
        arguments, truncated = self._arguments(replayed)
        return AuditRecord(
            request_id=self.request.request_id,
            at=self.at,
            tenant_id=self.context.tenant_id,
            principal=self.context.principal,
            assistant_id=self.request.assistant_id[:_ECHO_CHARS],
            tool=self.request.tool_name[:_MAX_TOOL_NAME_CHARS],
            integration_id=self.integration_id,
            call_format=self.call_format,
            status=status,
            error_code=error_code,
            target_status=target_status if isinstance(target_status, int) else None,
            latency_ms=round((time.monotonic() - started) * 1000),
            idempotent=self.request.idempotency_key is not None,
            replayed=replayed,
            arguments=arguments,
            arguments_truncated=truncated,
        )


def search_dialect(tool_format: str | None, call_format: CallFormat) -> Dialect:
    """The format search results are rendered in: `?format=`, else the call's own (plain calls: openai)."""
    if tool_format is not None:
        from toolgate.dialects.render import as_dialect  # noqa: PLC0415 - only searches render here

        return as_dialect(tool_format)
    return Dialect.OPENAI if call_format is CallFormat.TOOLGATE else Dialect(call_format.value)


def _error_envelope(error: ToolgateError) -> dict[str, Any]:
    return result_from_error(error, Redactor()).to_dict()


def _may_have_taken_effect(result: ToolResult) -> bool:
    """Whether the request may have reached the API: then its answer is kept for an idempotency key."""
    if result.status is not None:
        return True
    return result.error is not None and result.error.code in _MAY_HAVE_TAKEN_EFFECT
