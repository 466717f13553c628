"""The Support Desk API of `support_desk.yaml`, served for real on 127.0.0.1.

It keeps cases in memory, runs case exports as jobs that end after a number of status polls, and
POSTs case reports to the `callbackUrl` it is given. Every request must carry the bearer token the
server was built with. Everything it receives is treated as untrusted: bodies are bounded, and bad
input gets a JSON error, never a traceback.
"""

from __future__ import annotations

import csv
import hmac
import io
import itertools
import json
import logging
import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import urllib3
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from toolgate_local.http_server import LocalHTTPServer

#: The path the spec's server URL ends with; every route lives under it.
BASE_PATH = "/api"

_LOGGER = logging.getLogger(__name__)
_CASE_STATUSES = ("open", "pending", "closed")
_EXPORT_MEDIA_TYPES = {"json": "application/json", "csv": "text/csv"}
_CASE_FIELDS = ("case_id", "customer_id", "summary", "priority", "status", "created_at")
_MAX_QUERY_FIELDS = 20
_MAX_ERRORS_SHOWN = 5
#: A refused body up to this size is read and dropped rather than left unread on the connection.
_DRAIN_LIMIT_BYTES = 1024 * 1024
_DRAIN_CHUNK_BYTES = 64 * 1024
#: How often the serving thread checks for stop(); stop() waits at most this long.
_SHUTDOWN_POLL_SECONDS = 0.05

_ModelT = TypeVar("_ModelT", bound="_Body")

Priority = Literal["low", "medium", "high"]
CaseStatus = Literal["open", "pending", "closed"]


# --- What tests and the demo can inspect -----------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the target saw it: never the token itself, only whether it was the right one."""

    method: str
    path: str
    authorized: bool


@dataclass(frozen=True)
class CallbackDelivery:
    """One report POSTed to its `callbackUrl`, and how that URL answered."""

    report_id: str
    url: str
    payload: dict[str, Any]
    #: The callback's HTTP status; None when it could not be delivered (see `error`).
    status: int | None
    error: str | None = None


# --- Request bodies, as the spec declares them ------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)


class _NewCase(_Body):
    customer_id: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=5000)
    priority: Priority


class _CaseChange(_Body):
    priority: Priority | None = None
    status: CaseStatus | None = None


class _NewComment(_Body):
    body: str = Field(min_length=1, max_length=10_000)
    internal: bool = False


class _ExportRequest(_Body):
    customer_id: str = Field(min_length=1, max_length=200)
    format: Literal["json", "csv", "xlsx"]


class _ReportRequest(_Body):
    customer_id: str = Field(min_length=1, max_length=200)


# --- HTTP plumbing ---------------------------------------------------------------------------------


class _RequestError(Exception):
    """An error answer: a status, a stable code and a message that never echoes what was received."""

    def __init__(
        self,
        status: HTTPStatus,
        code: str,
        message: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        #: The request body was not read, so the connection cannot carry another request.
        self.close = close
        self.headers = headers or {}


@dataclass(frozen=True)
class _Request:
    params: tuple[str, ...]
    query: dict[str, list[str]]
    headers: Message
    body: bytes


@dataclass(frozen=True)
class _Response:
    status: HTTPStatus
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


_Handler = Callable[[_Request], _Response]


@dataclass
class _Export:
    export_id: str
    customer_id: str
    format: str
    cases: list[dict[str, Any]]
    polls: int = 0


class _Server(LocalHTTPServer):
    def __init__(self, target: SupportDeskTarget, host: str, port: int) -> None:
        self.target = target
        super().__init__((host, port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SupportDeskDemo/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.target.socket_timeout)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        _LOGGER.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        target = self.server.target
        url = urlsplit(self.path)
        self._unread = 0
        try:
            authorized = target.is_authorized(self.headers.get("Authorization"))
            target.record(ReceivedRequest(self.command, url.path, authorized))
            self._unread = self._declared_length()
            if not authorized:
                raise _RequestError(
                    HTTPStatus.UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "a valid bearer token is required in the Authorization header",
                    headers={"WWW-Authenticate": 'Bearer realm="support-desk"'},
                )
            handler, params = target.route(self.command, url.path)
            if self._unread > target.max_body_bytes:
                raise _RequestError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    "BODY_TOO_LARGE",
                    f"the body is larger than {target.max_body_bytes:,} bytes",
                )
            request = _Request(params, _parse_query(url.query), self.headers, self._read_body())
            response = handler(request)
        except _RequestError as problem:
            if problem.close or not self._discard_unread():
                self.close_connection = True
            response = _Response(problem.status, _error(problem.code, problem.message), problem.headers)
        except Exception:
            _LOGGER.exception("the Support Desk target failed to answer %s %s", self.command, url.path)
            self.close_connection = True
            response = _Response(HTTPStatus.INTERNAL_SERVER_ERROR, _error("INTERNAL", "the server failed"))
        self._send(response)

    def _declared_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            raise _RequestError(
                HTTPStatus.LENGTH_REQUIRED,
                "LENGTH_REQUIRED",
                "send the body with a Content-Length",
                close=True,
            )
        declared = self.headers.get("Content-Length", "0").strip()
        if not declared.isdigit():
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "Content-Length is not a number", close=True
            )
        return int(declared)

    def _read_body(self) -> bytes:
        length, self._unread = self._unread, 0
        body = self.rfile.read(length)
        if len(body) != length:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "the body ended early", close=True)
        return body

    def _discard_unread(self) -> bool:
        """Read and drop a refused request's body, so that the answer is not lost to a connection reset
        and the connection stays usable; False when the body is too large to be worth reading."""
        if self._unread > _DRAIN_LIMIT_BYTES:
            return False
        while self._unread:
            chunk = self.rfile.read(min(self._unread, _DRAIN_CHUNK_BYTES))
            if not chunk:
                return False
            self._unread -= len(chunk)
        return True

    def _send(self, response: _Response) -> None:
        data = json.dumps(response.payload).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


# --- The target ------------------------------------------------------------------------------------


class SupportDeskTarget:
    """The Support Desk API on 127.0.0.1, in a background thread.

    `polls_before_done`: how many status polls of an export answer "running" before the one that
    answers its outcome. `callback_delay`: seconds between accepting a report and POSTing it.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        polls_before_done: int = 2,
        callback_delay: float = 0.2,
        callback_timeout: float = 10.0,
        max_body_bytes: int = 64 * 1024,
        max_records: int = 10_000,
        socket_timeout: float = 10.0,
        request_log_size: int = 1_000,
    ) -> None:
        if token is not None and not token.strip():
            raise ValueError("the bearer token must not be empty")
        if polls_before_done < 0:
            raise ValueError("polls_before_done must be zero or more")
        self._token = token or secrets.token_urlsafe(24)
        self._host = host
        self._port = port
        self.polls_before_done = polls_before_done
        self.callback_delay = callback_delay
        self.callback_timeout = callback_timeout
        self.max_body_bytes = max_body_bytes
        self.max_records = max_records
        self.socket_timeout = socket_timeout
        self._lock = threading.Lock()
        self._callback_delivered = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._cases: dict[str, dict[str, Any]] = {}
        self._comments: list[dict[str, Any]] = []
        self._exports: dict[str, _Export] = {}
        self._reports: set[str] = set()
        self._callbacks: list[CallbackDelivery] = []
        self._requests: deque[ReceivedRequest] = deque(maxlen=request_log_size)
        self._timers: set[threading.Timer] = set()
        self._http = urllib3.PoolManager()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[tuple[str, tuple[str, ...], _Handler]] = [
            ("GET", ("support", "cases"), self._list_cases),
            ("POST", ("support", "cases"), self._create_case),
            ("GET", ("support", "cases", "*"), self._get_case),
            ("PATCH", ("support", "cases", "*"), self._update_case),
            ("POST", ("support", "cases", "*", "comments"), self._add_comment),
            ("POST", ("support", "exports"), self._start_export),
            ("GET", ("support", "exports", "*"), self._get_export),
            ("POST", ("support", "reports"), self._generate_report),
        ]

    # Life cycle

    def start(self) -> Self:
        """Listen and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the Support Desk target is already running")
        self._server = _Server(self, self._host, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
            name="support-desk-target",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cancel reports not yet delivered, and close the listening socket."""
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
        self._http.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # What callers need

    @property
    def token(self) -> str:
        """The bearer token every request must carry."""
        return self._token

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Support Desk target is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The server URL to use instead of the spec's: `http://127.0.0.1:{port}/api`."""
        return f"http://{self._host}:{self.port}{BASE_PATH}"

    # Introspection

    @property
    def cases(self) -> list[dict[str, Any]]:
        """Copies of the stored cases, oldest first."""
        with self._lock:
            return [dict(case) for case in self._cases.values()]

    @property
    def comments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(comment) for comment in self._comments]

    @property
    def export_polls(self) -> dict[str, int]:
        """How many times each export's status was asked for."""
        with self._lock:
            return {export_id: job.polls for export_id, job in self._exports.items()}

    @property
    def callbacks(self) -> list[CallbackDelivery]:
        with self._lock:
            return list(self._callbacks)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The most recent requests received, oldest first."""
        with self._lock:
            return list(self._requests)

    def wait_for_callbacks(self, count: int = 1, timeout: float = 10.0) -> list[CallbackDelivery]:
        """Block until at least `count` reports were POSTed (or failed to be); TimeoutError otherwise."""
        with self._callback_delivered:
            if not self._callback_delivered.wait_for(lambda: len(self._callbacks) >= count, timeout):
                raise TimeoutError(f"{len(self._callbacks)} of {count} callbacks made within {timeout} s")
            return list(self._callbacks)

    # Used by the request handler

    def is_authorized(self, authorization: str | None) -> bool:
        scheme, _, credentials = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token.encode()
        )

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def route(self, method: str, path: str) -> tuple[_Handler, tuple[str, ...]]:
        if not path.startswith(f"{BASE_PATH}/"):
            raise _RequestError(HTTPStatus.NOT_FOUND, "NOT_FOUND", "no such route")
        segments = tuple(unquote(segment) for segment in path[len(BASE_PATH) + 1 :].split("/"))
        allowed = []
        for route_method, pattern, handler in self._routes:
            if len(pattern) != len(segments) or any(
                p not in ("*", s) or (p == "*" and not s) for p, s in zip(pattern, segments, strict=True)
            ):
                continue
            if route_method == method:
                params = tuple(s for p, s in zip(pattern, segments, strict=True) if p == "*")
                return handler, params
            allowed.append(route_method)
        if allowed:
            raise _RequestError(
                HTTPStatus.METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                f"this path accepts {', '.join(allowed)}",
                headers={"Allow": ", ".join(allowed)},
            )
        raise _RequestError(HTTPStatus.NOT_FOUND, "NOT_FOUND", "no such route")

    # Cases

    def _create_case(self, request: _Request) -> _Response:
        new = _parse(request, _NewCase)
        with self._lock:
            self._make_room()
            case_id = f"CASE-{next(self._ids)}"
            self._cases[case_id] = {
                "case_id": case_id,
                "customer_id": new.customer_id,
                "summary": new.summary,
                "priority": new.priority,
                "status": "open",
                "created_at": _now(),
            }
        return _Response(HTTPStatus.OK, {"case_id": case_id, "status": "open"})

    def _list_cases(self, request: _Request) -> _Response:
        customer_id = _single(request.query, "customer_id", required=True)
        statuses = [
            status for value in request.query.get("status", []) for status in value.split(",") if status
        ]
        if any(status not in _CASE_STATUSES for status in statuses):
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "status must be open, pending or closed"
            )
        limit_text = _single(request.query, "limit") or "20"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "limit must be a whole number 1-100"
            )
        with self._lock:
            newest_first = reversed(self._cases.values())
            matching = [
                dict(case)
                for case in newest_first
                if case["customer_id"] == customer_id and (not statuses or case["status"] in statuses)
            ]
        return _Response(HTTPStatus.OK, {"cases": matching[: int(limit_text)]})

    def _get_case(self, request: _Request) -> _Response:
        with self._lock:
            return _Response(HTTPStatus.OK, dict(self._case(request.params[0])))

    def _update_case(self, request: _Request) -> _Response:
        change = _parse(request, _CaseChange)
        with self._lock:
            case = self._case(request.params[0])
            case.update(change.model_dump(exclude_none=True))
            return _Response(HTTPStatus.OK, dict(case))

    def _add_comment(self, request: _Request) -> _Response:
        comment = _parse(request, _NewComment)
        with self._lock:
            case = self._case(request.params[0])
            self._make_room()
            comment_id = f"COMMENT-{next(self._ids)}"
            self._comments.append(
                {"comment_id": comment_id, "case_id": case["case_id"], **comment.model_dump()}
            )
        return _Response(HTTPStatus.CREATED, {"comment_id": comment_id})

    def _case(self, case_id: str) -> dict[str, Any]:
        case = self._cases.get(case_id)
        if case is None:
            raise _RequestError(HTTPStatus.NOT_FOUND, "CASE_NOT_FOUND", "no support case has this case_id")
        return case

    def _customer_cases(self, customer_id: str) -> list[dict[str, Any]]:
        return [dict(case) for case in self._cases.values() if case["customer_id"] == customer_id]

    def _make_room(self) -> None:
        stored = len(self._cases) + len(self._comments) + len(self._exports) + len(self._reports)
        if stored >= self.max_records:
            raise _RequestError(HTTPStatus.INSUFFICIENT_STORAGE, "STORE_FULL", "this demo server is full")

    # Exports: 202, then a status that ends after `polls_before_done` polls

    def _start_export(self, request: _Request) -> _Response:
        export = _parse(request, _ExportRequest)
        with self._lock:
            self._make_room()
            export_id = f"EXP-{next(self._ids)}"
            self._exports[export_id] = _Export(
                export_id, export.customer_id, export.format, self._customer_cases(export.customer_id)
            )
        return _Response(
            HTTPStatus.ACCEPTED,
            {"export_id": export_id, "status": "running"},
            {"Location": f"{BASE_PATH}/support/exports/{export_id}"},
        )

    def _get_export(self, request: _Request) -> _Response:
        with self._lock:
            job = self._exports.get(request.params[0])
            if job is None:
                raise _RequestError(HTTPStatus.NOT_FOUND, "EXPORT_NOT_FOUND", "no export has this export_id")
            job.polls += 1
            if job.polls <= self.polls_before_done:
                return _Response(HTTPStatus.OK, {"export_id": job.export_id, "status": "running"})
        return _Response(HTTPStatus.OK, _export_outcome(job))

    # Reports: 202, then a POST to callbackUrl

    def _generate_report(self, request: _Request) -> _Response:
        callback_url = request.headers.get("callbackUrl")
        if not callback_url or not _is_http_url(callback_url):
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "the callbackUrl header must be an http(s) URL"
            )
        report = _parse(request, _ReportRequest)
        with self._lock:
            self._make_room()
            report_id = f"RPT-{next(self._ids)}"
            self._reports.add(report_id)
            timer = threading.Timer(
                self.callback_delay, self._deliver_report, (report_id, report.customer_id, callback_url)
            )
            timer.daemon = True
            self._timers.add(timer)
        timer.start()
        return _Response(HTTPStatus.ACCEPTED, {"report_id": report_id, "status": "accepted"})

    def _deliver_report(self, report_id: str, customer_id: str, url: str) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t is not threading.current_thread()}
            cases = self._customer_cases(customer_id)
        payload = _report_outcome(report_id, customer_id, cases)
        status: int | None = None
        error: str | None = None
        try:
            response = self._http.request(
                "POST",
                url,
                json=payload,
                timeout=urllib3.Timeout(total=self.callback_timeout),
                retries=False,
                redirect=False,
                preload_content=False,
            )
            status = response.status
            response.close()
        except urllib3.exceptions.HTTPError as exc:
            error = type(exc).__name__
            _LOGGER.warning("report %s could not be delivered to its callbackUrl: %s", report_id, error)
        with self._callback_delivered:
            self._callbacks.append(CallbackDelivery(report_id, url, payload, status, error))
            self._callback_delivered.notify_all()


# --- Helpers ---------------------------------------------------------------------------------------


def _parse(request: _Request, model: type[_ModelT]) -> _ModelT:
    media_type = (request.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise _RequestError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", "send application/json"
        )
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_JSON", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)[:_MAX_ERRORS_SHOWN]
        ]
        raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "; ".join(problems)) from exc


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _parse_query(query: str) -> dict[str, list[str]]:
    try:
        return parse_qs(query, keep_blank_values=True, max_num_fields=_MAX_QUERY_FIELDS)
    except ValueError as exc:
        raise _RequestError(
            HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", "the query string is malformed"
        ) from exc


def _single(query: dict[str, list[str]], name: str, *, required: bool = False) -> str | None:
    values = query.get(name, [])
    if len(values) > 1:
        raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", f"{name} is given more than once")
    if required and not (values and values[0]):
        raise _RequestError(HTTPStatus.BAD_REQUEST, "INVALID_REQUEST", f"{name} is required")
    return values[0] if values else None


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _export_outcome(job: _Export) -> dict[str, Any]:
    if job.format not in _EXPORT_MEDIA_TYPES:
        return {
            "export_id": job.export_id,
            "status": "failed",
            "error": _error(
                "FORMAT_UNAVAILABLE",
                f"{job.format} exports are not available: this service has no spreadsheet writer; "
                "export as csv or json",
            ),
        }
    return {
        "export_id": job.export_id,
        "status": "succeeded",
        "result": {
            "case_count": len(job.cases),
            "download": {
                "filename": f"{job.export_id}.{job.format}",
                "media_type": _EXPORT_MEDIA_TYPES[job.format],
                "size_bytes": len(_serialize(job.cases, job.format)),
            },
            "cases": job.cases,
        },
    }


def _serialize(cases: list[dict[str, Any]], export_format: str) -> bytes:
    if export_format == "json":
        return json.dumps(cases).encode()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CASE_FIELDS)
    writer.writeheader()
    writer.writerows(cases)
    return out.getvalue().encode()


def _report_outcome(report_id: str, customer_id: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    if not cases:
        return {
            "report_id": report_id,
            "status": "failed",
            "error": _error("CUSTOMER_UNKNOWN", "this customer has no support cases to report on"),
        }
    return {
        "report_id": report_id,
        "status": "succeeded",
        "result": {
            "customer_id": customer_id,
            "case_count": len(cases),
            "by_status": dict(Counter(case["status"] for case in cases)),
            "by_priority": dict(Counter(case["priority"] for case in cases)),
        },
    }


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
