"""In-memory versions of the jobs' ports (`toolgate.service.ports`) and a scripted `Transport`, to run
`JobRunner` and `CallbackReceiver` without AWS or a network.

`MemoryJobStore.update` follows `DynamoJobStore.update`: conditional on the row existing, on it running
(unless `only_running=False`) and on every `expect` field; removed fields go back to their defaults.
`MemoryLimiterStore.try_admit` follows `DynamoLimiterStore.try_admit`: one conditional write on the rate
clock and a free slot, which hands back the row as it found it when refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from spec_builders import compile_paths, json_body
from toolgate.errors import AlreadyExistsError, CallbackExpiredError, ConflictError, ToolgateError
from toolgate.runtime.transport import HttpResponse, OutboundCall
from toolgate.service.callback_ids import CallbackSigner
from toolgate.service.jobs.callbacks import CallbackReceiver
from toolgate.service.jobs.records import JobRecord, JobResources
from toolgate.service.jobs.runner import JobRunner
from toolgate.service.jobs.terms import JobPattern, JobStatus, new_job_id
from toolgate.service.limits import Admission, LimiterRow, LimitsRecord
from toolgate.service.models import (
    CredentialBinding,
    IntegrationRecord,
    IntegrationStatus,
    ReadyVersion,
    StoredTool,
    UploadSource,
)
from toolgate.service.ports import CredentialStore, JobPage, ObjectStore, TenantResources, TenantStore
from toolgate.settings import JobSettings, RuntimeSettings
from toolgate.spec.models import CanonicalTool

TENANT = "acme"
INTEGRATION = "reports"
REVISION = "rev-1"
ASSISTANT = "desk"
SERVER = "https://api.example.com/v1"
BEARER_TOKEN = "tok-3f9a1c77e0b24d55"
CALLBACK_BASE = "https://gw.example.com/prod"
MASTER_KEY = b"k" * 32
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

_STRING = {"type": "string"}
_ACCEPTED = {"202": {"description": "accepted"}}
_OK = {"200": {"description": "ok"}}

#: One small API with every way a long-running operation can be followed.
PATHS: dict[str, Any] = {
    "/exports": {
        "post": {
            "operationId": "startExport",
            "requestBody": json_body(
                {"type": "object", "properties": {"format": _STRING}, "required": ["format"]}
            ),
            "responses": {"202": {"description": "accepted", "headers": {"Location": {"schema": _STRING}}}},
        }
    },
    "/reports": {
        "post": {
            "operationId": "startReport",
            "x-toolgate-async": {
                "statusPath": "/reports/{report_id}",
                "statusPointer": "/state",
                "successValues": ["DONE"],
                "failureValues": ["BROKEN"],
                "resultPointer": "/output",
            },
            "requestBody": json_body({"type": "object", "properties": {"topic": _STRING}}),
            "responses": _ACCEPTED,
        }
    },
    "/audits": {
        "post": {
            "operationId": "startAudit",
            "x-toolgate-async": {"statusOperation": "getAudit"},
            "requestBody": json_body({"type": "object", "properties": {"scope": _STRING}}),
            "responses": _ACCEPTED,
        }
    },
    "/audits/{audit_id}": {
        "get": {
            "operationId": "getAudit",
            "parameters": [{"name": "audit_id", "in": "path", "required": True, "schema": _STRING}],
            "responses": _OK,
        }
    },
    "/notify": {
        "post": {
            "operationId": "startNotified",
            "parameters": [{"name": "X-Callback-Url", "in": "header", "schema": _STRING}],
            "requestBody": json_body({"type": "object", "properties": {"topic": _STRING}}),
            "callbacks": {"done": {"{$request.header.X-Callback-Url}": {"post": {"responses": _OK}}}},
            "responses": _ACCEPTED,
        }
    },
    "/graded": {
        "post": {
            "operationId": "startGraded",
            "parameters": [{"name": "notify", "in": "query", "schema": _STRING}],
            "x-toolgate-async": {
                "heartbeatSeconds": 900,
                "statusPointer": "/outcome",
                "successValues": ["passed"],
                "failureValues": ["flunked"],
                "resultPointer": "/grade",
            },
            "callbacks": {"graded": {"{$request.query.notify}": {"post": {"responses": _OK}}}},
            "responses": _ACCEPTED,
        }
    },
}


def compiled_tools() -> dict[str, CanonicalTool]:
    compiled = compile_paths(
        PATHS,
        {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        servers=[{"url": SERVER}],
        security=[{"bearer": []}],
    )
    assert compiled.failed_operations == [], compiled.findings
    return {tool.name: tool for tool in compiled.tools}


TOOLS = compiled_tools()
#: The tools that hand the target a callback URL; the others are polled.
CALLBACK_TOOLS = frozenset({"start_notified", "start_graded"})


def stored(tool: CanonicalTool) -> StoredTool:
    return StoredTool(
        integration_id=INTEGRATION,
        revision=REVISION,
        name=tool.name,
        description=tool.description,
        method=tool.method,
        path=tool.path,
        tool_json=tool.model_dump_json(exclude_defaults=True),
    )


# --- Ports ----------------------------------------------------------------------------------


class MemoryTenantStore:
    """The part of `TenantStore` the jobs read: one integration and its tools."""

    def __init__(self, integration: IntegrationRecord, tools: Sequence[StoredTool]) -> None:
        self.integration: IntegrationRecord | None = integration
        self.tools = {(tool.integration_id, tool.revision, tool.name): tool for tool in tools}

    @property
    def tenant_id(self) -> str:
        return TENANT

    def get_integration(self, integration_id: str) -> IntegrationRecord | None:
        if self.integration is None or self.integration.integration_id != integration_id:
            return None
        return self.integration

    def list_tools(self, integration_id: str, revision: str) -> list[StoredTool]:
        return [
            tool for (iid, rev, _), tool in self.tools.items() if (iid, rev) == (integration_id, revision)
        ]

    def get_tool(self, integration_id: str, revision: str, name: str) -> StoredTool | None:
        return self.tools.get((integration_id, revision, name))


class MemoryObjectStore:
    """Holds no objects: every tool item carries its JSON."""

    def get(self, key: str) -> bytes:
        raise KeyError(key)


class MemoryCredentials:
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)

    def get(self, slot: str, *, binding: str | None = None, fresh: bool = False) -> str | None:
        return self.values.get(slot)


class MemoryLimiterStore:
    """One tenant's limits and limiter row (the rate clock and the open calls' leases)."""

    def __init__(self, record: LimitsRecord | None = None) -> None:
        self.record = record
        self.clock_ms: int | None = None
        self.leases: set[str] = set()

    def read_limits(self) -> LimitsRecord | None:
        return self.record

    def save_limits(self, record: LimitsRecord, expected_version: int | None) -> None:
        if self.record is None and expected_version is not None:
            raise ConflictError("the limits are not set")
        if self.record is not None and self.record.version != expected_version:
            raise (AlreadyExistsError if expected_version is None else ConflictError)("the limits changed")
        self.record = record
        self.clock_ms = None

    def try_admit(self, admission: Admission) -> LimiterRow | None:
        found = LimiterRow(clock_ms=self.clock_ms, leases=frozenset(self.leases))
        if admission.rate == "idle":
            on_schedule = self.clock_ms is None or self.clock_ms < admission.now_ms
            next_clock_ms = admission.next_clock_ms
        else:
            on_schedule = self.clock_ms is not None and (
                admission.now_ms <= self.clock_ms <= admission.latest_clock_ms
            )
            next_clock_ms = (self.clock_ms or 0) + admission.interval_ms
        if not on_schedule or len(self.leases) >= admission.max_leases:
            return found
        self.clock_ms = next_clock_ms
        self.leases.add(admission.lease)
        return None

    def clear(self, leases: frozenset[str]) -> None:
        self.leases -= leases

    def release(self, lease: str) -> None:
        self.leases.discard(lease)


class MemoryJobStore:
    def __init__(self) -> None:
        self.rows: dict[str, JobRecord] = {}
        #: The changes of every write that was made, in order.
        self.writes: list[dict[str, Any]] = []
        self._stale: dict[str, JobRecord] = {}
        self._cut_off: Callable[[Mapping[str, Any]], bool] | None = None

    def serve_stale(self, job: JobRecord) -> None:
        """The next read of the job returns `job`: another writer changed the row after that read."""
        self._stale[job.job_id] = job

    def cut_off_at(self, write: Callable[[Mapping[str, Any]], bool]) -> None:
        """The next write whose changes match `write` is never made: the function is cut off there (Lambda
        timed out or crashed), after whatever it did before."""
        self._cut_off = write

    def create(self, job: JobRecord) -> None:
        assert job.job_id not in self.rows
        self.rows[job.job_id] = job

    def get(self, job_id: str) -> JobRecord | None:
        return self._stale.pop(job_id, None) or self.rows.get(job_id)

    def list(self, *, after: str | None, limit: int) -> JobPage:
        """As DynamoDB's Query of the tenant's partition: `JOB#{id}` keys in order, `limit` at most."""
        ids = sorted(job_id for job_id in self.rows if after is None or job_id > after)
        page = ids[:limit]
        more = len(ids) > limit
        return JobPage(jobs=[self.rows[job_id] for job_id in page], after=page[-1] if more else None)

    def update(
        self,
        job_id: str,
        changes: Mapping[str, Any],
        *,
        remove: Collection[str] = (),
        expect: Mapping[str, Any] | None = None,
        only_running: bool = True,
    ) -> JobRecord | None:
        if self._cut_off is not None and self._cut_off(changes):
            self._cut_off = None
            raise FunctionCutOffError("the function stopped before this write")
        job = self.rows.get(job_id)
        if job is None or (only_running and job.status is not JobStatus.RUNNING):
            return None
        if any(getattr(job, name) != value for name, value in (expect or {}).items()):
            return None
        kept = job.model_dump(exclude={name for name in remove if name not in changes})
        self.rows[job_id] = JobRecord.model_validate({**kept, **changes})
        self.writes.append(dict(changes))
        return job


class FunctionCutOffError(Exception):
    """The task function stopped mid-way; the state machine sees a failed (and maybe retried) task."""


class MemoryResultPages:
    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}

    def put(self, handle: str, data: bytes) -> None:
        self.pages[handle] = data


class RecordingTaskTokens:
    """Records what the state machine's waiting task would be sent; `ended` plays a timed-out task, and
    a token in `stale` one whose task attempt was retried (Step Functions answers TaskDoesNotExist)."""

    def __init__(self) -> None:
        self.succeeded: list[tuple[str, str]] = []
        self.heartbeats: list[str] = []
        self.ended = False
        self.stale: set[str] = set()

    def succeed(self, token: str, state: str) -> None:
        if self.ended or token in self.stale or token in {done for done, _ in self.succeeded}:
            raise CallbackExpiredError("the task has ended")
        self.succeeded.append((token, state))

    def heartbeat(self, token: str) -> None:
        if self.ended or token in self.stale:
            raise CallbackExpiredError("the task has ended")
        self.heartbeats.append(token)


class ScriptedTransport:
    """Answers each call with the next scripted response (or raises the next scripted error). An
    unscripted call raises, which `invoke_tool` reports as TOOL_INTERNAL_ERROR."""

    def __init__(self) -> None:
        self.answers: list[HttpResponse | ToolgateError] = []
        self.calls: list[OutboundCall] = []

    def script(self, *answers: HttpResponse | ToolgateError) -> None:
        self.answers.extend(answers)

    def send(self, call: OutboundCall) -> HttpResponse:
        self.calls.append(call)
        if not self.answers:
            raise AssertionError(f"unexpected call {call.request.method} {call.request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, ToolgateError):
            raise answer
        return answer


def answer(status: int, body: Any = None, **headers: str) -> HttpResponse:
    """A JSON response; header names are given with `_` for `-` (`retry_after="3"`)."""
    names = {name.replace("_", "-").lower(): value for name, value in headers.items()}
    data = b"" if body is None else json.dumps(body).encode()
    return HttpResponse(
        status=status, reason="", headers={"content-type": "application/json", **names}, body=data
    )


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def job_settings(**changes: Any) -> JobSettings:
    values: dict[str, Any] = {
        "first_poll_seconds": 5,
        "poll_backoff": 2.0,
        "max_poll_interval_seconds": 60,
        "max_job_seconds": 3600,
        "max_status_failures": 3,
        "callback_ttl_seconds": 3600,
        "max_callback_bytes": 2048,
        "retention_seconds": 86_400,
        "inline_result_chars": 1000,
    }
    values.update(changes)
    return JobSettings(**values)


def integration_record() -> IntegrationRecord:
    source = UploadSource(kind="api")
    return IntegrationRecord(
        integration_id=INTEGRATION,
        status=IntegrationStatus.READY,
        ready=ReadyVersion(
            number=1,
            revision=REVISION,
            title="Reports",
            api_version="1",
            source_openapi="3.0.3",
            tool_count=len(TOOLS),
            server_url=SERVER,
            spec_key="artifacts/spec.json",
            report_key="artifacts/report.json",
            source=source,
            ready_at=START,
        ),
        credential=CredentialBinding(type="bearer", updated_at=START),
        created_at=START,
        updated_at=START,
    )


@dataclass
class Bench:
    """One tenant's jobs, its integration's tools, and everything a runner or receiver needs."""

    settings: JobSettings = field(default_factory=job_settings)
    clock: Clock = field(default_factory=Clock)
    jobs: MemoryJobStore = field(default_factory=MemoryJobStore)
    results: MemoryResultPages = field(default_factory=MemoryResultPages)
    tokens: RecordingTaskTokens = field(default_factory=RecordingTaskTokens)
    transport: ScriptedTransport = field(default_factory=ScriptedTransport)
    signer: CallbackSigner = field(default_factory=lambda: CallbackSigner(MASTER_KEY))

    def __post_init__(self) -> None:
        self.store = MemoryTenantStore(integration_record(), [stored(tool) for tool in TOOLS.values()])
        credential = json.dumps({"type": "bearer", "token": BEARER_TOKEN})
        self.credentials = MemoryCredentials({INTEGRATION: credential})
        # The fakes implement the part of each port the jobs use.
        tenant = TenantResources(
            tenant_id=TENANT,
            store=cast("TenantStore", self.store),
            objects=cast("ObjectStore", MemoryObjectStore()),
            credentials=cast("CredentialStore", self.credentials),
        )
        self.resources = JobResources(
            tenant=tenant, jobs=self.jobs, credentials=self.credentials, results=self.results
        )

    def new_job(self, tool: str, arguments: Mapping[str, Any], **fields: Any) -> JobRecord:
        """A running job as the launcher writes it, for `tool` of the integration."""
        now = self.clock()
        pattern = JobPattern.CALLBACK if tool in CALLBACK_TOOLS else JobPattern.POLL
        lifetime = (
            self.settings.callback_ttl_seconds if tool in CALLBACK_TOOLS else self.settings.max_job_seconds
        )
        deadline = now + timedelta(seconds=lifetime)
        job_id = new_job_id()
        values: dict[str, Any] = {
            "job_id": job_id,
            "assistant_id": ASSISTANT,
            "tool": tool,
            "integration_id": INTEGRATION,
            "revision": REVISION,
            "pattern": pattern,
            "created_at": now,
            "updated_at": now,
            "deadline_at": deadline,
            "expires_at": deadline + timedelta(seconds=self.settings.retention_seconds),
            "execution_arn": f"arn:aws:states:eu-west-1:123456789012:execution:jobs:{job_id}",
            "arguments": json.dumps(arguments),
        }
        values.update(fields)
        job = JobRecord.model_validate(values)
        self.jobs.create(job)
        return job

    def row(self, job_id: str) -> JobRecord:
        job = self.jobs.get(job_id)
        assert job is not None
        return job

    def runner(self, *, with_callbacks: bool = False) -> JobRunner:
        return JobRunner(
            self.resources,
            self.settings,
            runtime=RuntimeSettings(),
            transport=self.transport,
            task_budget=lambda: 60.0,
            callback_base_url=CALLBACK_BASE + "/" if with_callbacks else None,
            signer=self.signer if with_callbacks else None,
            tokens=self.tokens if with_callbacks else None,
            clock=self.clock,
        )

    def receiver(self) -> CallbackReceiver:
        def resources_for(tenant_id: str) -> JobResources:
            assert tenant_id == TENANT
            return self.resources

        return CallbackReceiver(self.signer, resources_for, self.tokens, self.settings, clock=self.clock)
