"""The Toolgate API client: `ToolgateClient` talks to a deployed or local stack's API with an API key.

The key is sent only to the configured endpoint, as `Authorization: Bearer ...`, and never appears in an
error or a log line (`redact`). GET requests are retried on 429/502/503/504 and connection failures; other
requests are sent once. `poll` waits for a job; `spec_format` names a spec file's upload format.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from toolgate.errors import (
    ApiResponseInvalidError,
    ApiUnreachableError,
    ClientConfigError,
    RemoteApiError,
    WaitTimedOutError,
)
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Retry

ENDPOINT_ENV = "TOOLGATE_ENDPOINT"
API_KEY_ENV = "TOOLGATE_API_KEY"
#: API Gateway gives the functions 29 s; a little more lets its own timeout answer arrive.
DEFAULT_TIMEOUT_SECONDS = 35.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0
DEFAULT_GET_RETRIES = 3
DEFAULT_WAIT_SECONDS = 300.0
JOB_RUNNING = "running"

UploadFormat = Literal["yaml", "json", "zip"]
SPEC_MEDIA_TYPES: Mapping[UploadFormat, str] = {
    "yaml": "application/yaml",
    "json": "application/json",
    "zip": "application/zip",
}
_SUFFIX_FORMATS: Mapping[str, UploadFormat] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".zip": "zip",
}
_ZIP_MAGIC = b"PK\x03\x04"
_JSON = "application/json"
_REDACTED = "[api key]"
_RETRYABLE_STATUSES = (429, 502, 503, 504)
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
_MIN_REDACTED_LENGTH = 8

T = TypeVar("T")


# --- The client ------------------------------------------------------------------------------------


class ToolgateClient:
    """The Toolgate API with one API key: JSON in, JSON out.

    Refusals raise `RemoteApiError` with the API's own code, answers that are not the API's raise
    `ApiResponseInvalidError`, and no answer at all raises `ApiUnreachableError`. GETs are retried on
    connection failures, timeouts, 429 and 502 to 504; other methods are never retried, because a tool
    call may have run.

    ```python
    with ToolgateClient.from_environment() as client:
        client.invoke("desk", "create_support_case", {"customer_id": "cust-42", ...})
    ```
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        get_retries: int = DEFAULT_GET_RETRIES,
    ) -> None:
        self.endpoint = checked_endpoint(endpoint)
        self._key = checked_api_key(api_key)
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=min(DEFAULT_CONNECT_TIMEOUT_SECONDS, timeout_seconds), read=timeout_seconds
            )
        )
        self._timeout_seconds = timeout_seconds
        self._get_retry = Retry(
            total=get_retries,
            backoff_factor=0.25,
            status_forcelist=_RETRYABLE_STATUSES,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
            respect_retry_after_header=True,
            redirect=0,
            raise_on_redirect=False,
        )

    @classmethod
    def from_environment(
        cls,
        endpoint: str | None = None,
        api_key: str | None = None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> ToolgateClient:
        """A client for the endpoint and key given, else for `TOOLGATE_ENDPOINT` and `TOOLGATE_API_KEY`."""
        endpoint = endpoint or os.environ.get(ENDPOINT_ENV)
        api_key = api_key or os.environ.get(API_KEY_ENV)
        if not endpoint:
            raise ClientConfigError(
                f"No endpoint: give --endpoint or set {ENDPOINT_ENV} to the stack's ApiUrl output "
                "(https://{api}.execute-api.{region}.amazonaws.com/prod/v1/)."
            )
        if not api_key:
            raise ClientConfigError(f"No API key: set {API_KEY_ENV} or give --api-key.")
        return cls(endpoint, api_key, timeout_seconds=timeout_seconds)

    def close(self) -> None:
        self._http.clear()

    def __enter__(self) -> ToolgateClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """`text` with this client's API key blotted out."""
        return redact(text, self._key)

    # --- Integrations ---------------------------------------------------------------------------------

    def create_integration(
        self, integration_id: str, settings: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {"id": integration_id, "settings": dict(settings or {})}
        return self._json("POST", ["integrations"], body)

    def get_integration(self, integration_id: str) -> dict[str, Any]:
        return self._json("GET", ["integrations", integration_id])

    def integration_status(self, integration_id: str) -> dict[str, Any]:
        return self._json("GET", ["integrations", integration_id, "status"])

    def update_settings(self, integration_id: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PUT", ["integrations", integration_id, "settings"], dict(settings))

    def ensure_integration(
        self, integration_id: str, *, assistants: Sequence[str] = (), server_url: str | None = None
    ) -> dict[str, Any]:
        """The integration, created with these settings if it does not exist. An existing one joins the
        assistants it is not in yet and takes the server URL, when given; its other settings stay."""
        wanted: dict[str, Any] = {}
        if assistants:
            wanted["assistants"] = list(dict.fromkeys(assistants))
        if server_url:
            wanted["server_url"] = server_url
        try:
            return self.create_integration(integration_id, wanted)
        except RemoteApiError as error:
            if error.api_code != "ALREADY_EXISTS":
                raise
        view = self.get_integration(integration_id)
        current: dict[str, Any] = dict(view.get("settings") or {})
        merged = {
            **current,
            **wanted,
            "assistants": list(dict.fromkeys([*current.get("assistants", []), *assistants])),
        }
        return view if merged == current else self.update_settings(integration_id, merged)

    def upload_spec(self, integration_id: str, data: bytes, upload_format: UploadFormat) -> dict[str, Any]:
        """Compile and store a spec sent in the request: the integration's view once it is in service."""
        return self._json(
            "PUT",
            ["integrations", integration_id],
            raw_body=data,
            content_type=SPEC_MEDIA_TYPES[upload_format],
        )

    def create_upload_url(self, integration_id: str, upload_format: UploadFormat) -> dict[str, Any]:
        return self._json(
            "POST", ["integrations", integration_id, "upload-url"], query={"format": upload_format}
        )

    def upload_spec_via_s3(
        self,
        integration_id: str,
        data: bytes,
        upload_format: UploadFormat,
        *,
        timeout_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> dict[str, Any]:
        """Upload a spec of any size through a presigned S3 PUT, wait until the upload function has
        applied it, and return the integration's view. A spec it refused raises `RemoteApiError`."""
        before = self.integration_status(integration_id).get("last_upload")
        upload = self.create_upload_url(integration_id, upload_format)
        version_id = self._put_presigned(str(upload["url"]), data)
        key = str(upload["key"])

        def applied(status: Mapping[str, Any]) -> bool:
            attempt = status.get("last_upload")
            if not isinstance(attempt, Mapping) or attempt == before:
                return False
            source = attempt.get("source") or {}
            if source.get("kind") != "s3" or source.get("key") != key:
                return False
            # The upload function records the object version when the S3 event carries it.
            recorded = source.get("version_id")
            return version_id is None or recorded is None or recorded == version_id

        status, done = poll(
            lambda: self.integration_status(integration_id), applied, timeout_seconds=timeout_seconds
        )
        if not done:
            raise WaitTimedOutError(
                f"The spec is in S3 ({key}) but the upload function had not applied it after "
                f"{timeout_seconds:g} s; `GET integrations/{integration_id}/status` shows when it has."
            )
        failure = status["last_upload"].get("error")
        if status["last_upload"].get("status") == "failed" and isinstance(failure, Mapping):
            raise RemoteApiError(
                str(failure.get("message", "The upload failed.")),
                api_code=str(failure.get("code", "UPLOAD_FAILED")),
                status=None,
                pointer=_text_or_none(failure.get("pointer")),
            )
        return self.get_integration(integration_id)

    def bind_credential(self, integration_id: str, credential: Mapping[str, Any]) -> dict[str, Any]:
        """Store the integration's credential; the answer shows its type, never its value."""
        return self._json("PUT", ["integrations", integration_id, "credential"], dict(credential))

    # --- Tools ----------------------------------------------------------------------------------------

    def list_tools(self, assistant_id: str, tool_format: str = "openai") -> dict[str, Any]:
        """All the assistant's tools as the model API `tool_format` takes them: every page, joined."""
        listing = self.list_tools_page(assistant_id, tool_format)
        while listing.get("next_cursor"):
            page = self.list_tools_page(assistant_id, tool_format, cursor=listing["next_cursor"])
            if not page.get("tools"):
                break
            listing = {
                **page,
                "tools": [*listing["tools"], *page["tools"]],
                "losses": {**(listing.get("losses") or {}), **(page.get("losses") or {})},
                "violations": [*(listing.get("violations") or []), *(page.get("violations") or [])],
            }
        return listing

    def list_tools_page(
        self, assistant_id: str, tool_format: str = "openai", *, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of the assistant's tools; its `next_cursor` names the next."""
        query = {"format": tool_format} | ({"cursor": cursor} if cursor else {})
        return self._json("GET", ["assistants", assistant_id, "tools"], query=query)

    def invoke(
        self,
        assistant_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Call a tool with its arguments: the result envelope (`ok`, `status`, `body`, `error`, ...)."""
        return self.invoke_call(
            assistant_id, tool, {"arguments": dict(arguments)}, idempotency_key=idempotency_key
        )

    def invoke_call(
        self,
        assistant_id: str,
        tool: str,
        call: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Send `{"arguments": ...}` or the tool call a model produced, as it produced it: the envelope,
        or the result block in the call's own format."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return self._json(
            "POST", ["assistants", assistant_id, "tools", tool, "invoke"], dict(call), headers=headers
        )

    def read_continuation(self, handle: str, page: int = 1) -> dict[str, Any]:
        """A page of a result too large for one answer."""
        return self._json("GET", ["continuations", handle], query={"page": str(page)})

    # --- Jobs -----------------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> dict[str, Any]:
        return self._json("GET", ["jobs", job_id])

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._json("DELETE", ["jobs", job_id])

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout_seconds: float = DEFAULT_WAIT_SECONDS,
        first_delay_seconds: float = 0.25,
        max_delay_seconds: float = 5.0,
    ) -> dict[str, Any]:
        """Poll the job until it is no longer running or `timeout_seconds` have passed; the last view
        (its `status` is still `running` when the time ran out)."""
        view, _ = poll(
            lambda: self.get_job(job_id),
            lambda job: job.get("status") != JOB_RUNNING,
            timeout_seconds=timeout_seconds,
            first_delay_seconds=first_delay_seconds,
            max_delay_seconds=max_delay_seconds,
        )
        return view

    # --- HTTP -----------------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: Sequence[str],
        body: Any = None,
        *,
        raw_body: bytes | None = None,
        content_type: str | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One request to `{endpoint}{path}` (each path part is URL-encoded): the answer's JSON, or
        None for an empty answer. `body` is sent as JSON, `raw_body` as it is."""
        url = self.endpoint + "/".join(quote(part, safe="") for part in path)
        if query:
            url += "?" + urlencode(query)
        sent = {"Authorization": f"Bearer {self._key}", "Accept": _JSON, **(headers or {})}
        data = raw_body
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            content_type = _JSON
        if content_type is not None:
            sent["Content-Type"] = content_type
        retries: Retry | Literal[False] = self._get_retry if method == "GET" else False
        try:
            response = self._http.request(
                method, url, body=data, headers=sent, retries=retries, redirect=False
            )
        except HTTPError as error:
            raise ApiUnreachableError(
                self.redact(self._unreachable(method, error, f"{method} {self.endpoint}"))
            ) from None
        return self._answer(response)

    def _json(
        self,
        method: str,
        path: Sequence[str],
        body: Any = None,
        **options: Any,
    ) -> dict[str, Any]:
        answer = self.request(method, path, body, **options)
        if not isinstance(answer, dict):
            raise ApiResponseInvalidError(
                f"{method} {'/'.join(path)} answered {type(answer).__name__}, not a JSON object."
            )
        return answer

    def _answer(self, response: urllib3.BaseHTTPResponse) -> Any:
        content_type = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        text = response.data.decode("utf-8", errors="replace")
        parsed: Any = None
        is_json = False
        if text and (content_type.endswith("json") or text.lstrip()[:1] in ("{", "[")):
            with contextlib.suppress(ValueError):
                parsed, is_json = json.loads(text), True
        if 200 <= response.status < 300 and (is_json or not text):
            return parsed
        if 300 <= response.status < 400:
            raise ApiResponseInvalidError(
                f"The endpoint redirected ({response.status}) instead of answering: give the API's own "
                "URL, the stack's ApiUrl output."
            )
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
            pointer = _text_or_none(error.get("pointer"))
            raise RemoteApiError(
                self.redact(str(error.get("message", ""))),
                api_code=str(error.get("code", f"HTTP_{response.status}")),
                status=response.status,
                details=error.get("details"),
                pointer=self.redact(pointer) if pointer else None,
            )
        if isinstance(parsed, dict) and "message" in parsed:
            raise self._gateway_refusal(response.status, str(parsed["message"]))
        raise ApiResponseInvalidError(
            f"The endpoint answered {response.status} with {content_type or 'no content type'}, not the "
            "Toolgate API's JSON: is it the stack's ApiUrl output?"
        )

    def _gateway_refusal(self, status: int, message: str) -> RemoteApiError:
        """API Gateway's own answers (`{"message": ...}`), named with a stable code."""
        said = self.redact(message)[:200]
        if status == 401:
            code, text = (
                "API_KEY_INVALID",
                f"The API refused the API key ({said}): check --api-key or {API_KEY_ENV}.",
            )
        elif status == 403 and "authentication token" in message.lower():
            code, text = (
                "ROUTE_NOT_FOUND",
                f"No such route at {self.endpoint} ({said}): the endpoint must be the stack's ApiUrl "
                "output, ending in /v1/.",
            )
        elif status == 403:
            code, text = "ACCESS_DENIED", f"The API refused the request ({said})."
        elif status == 413:
            code, text = "REQUEST_TOO_LARGE", f"The request is too large for the API ({said})."
        elif status == 429:
            code, text = "THROTTLED", f"The API is throttling requests ({said}); retry later."
        elif status == 504:
            code, text = "API_TIMEOUT", f"The API did not answer in time ({said})."
        elif status >= 500:
            code, text = "API_UNAVAILABLE", f"The API failed ({status}: {said}); retry later."
        else:
            code, text = f"HTTP_{status}", f"The API answered {status}: {said}"
        return RemoteApiError(text, api_code=code, status=status)

    def _unreachable(self, method: str, error: HTTPError, where: str) -> str:
        """Why no answer came, without the error's own text where it could quote a URL."""
        reason = error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error
        # urllib3's NameResolutionError is a NewConnectionError, which is a ConnectTimeoutError.
        if isinstance(reason, NameResolutionError):
            return f"Could not reach {where}: its host name does not resolve."
        if isinstance(reason, NewConnectionError):
            return f"Could not reach {where}: the connection was refused or the host is unreachable."
        if isinstance(reason, ConnectTimeoutError):
            return f"Could not reach {where}: connecting timed out."
        if isinstance(reason, SSLError):
            return f"Could not reach {where}: TLS failed ({reason})."
        if isinstance(reason, ReadTimeoutError):
            unknown = "" if method == "GET" else " The request may have taken effect."
            return f"{where} gave no answer within {self._timeout_seconds:g} s.{unknown}"
        if isinstance(reason, ProtocolError):
            return f"{where}: the connection broke before the answer ({reason})."
        return f"{where} failed ({type(reason).__name__})."

    def _put_presigned(self, url: str, data: bytes) -> str | None:
        """PUT to a presigned S3 URL (without the API key); the object's version id."""
        try:
            response = self._http.request("PUT", url, body=data, retries=False, redirect=False)
        except HTTPError as error:
            # The presigned URL holds a temporary credential: it is never quoted.
            raise ApiUnreachableError(self._unreachable("PUT", error, "PUT to S3's presigned URL")) from None
        if response.status != 200:
            raise RemoteApiError(
                f"S3 refused the presigned upload ({response.status}).",
                api_code="UPLOAD_REFUSED",
                status=response.status,
            )
        version_id = response.headers.get("x-amz-version-id")
        return str(version_id) if version_id else None


def redact(text: str, api_key: str) -> str:
    """`text` with the key blotted out. A real key is long: a stray short one is left, since blotting
    out every occurrence of a few characters would mangle the JSON printed."""
    return text.replace(api_key, _REDACTED) if len(api_key) >= _MIN_REDACTED_LENGTH else text


def checked_endpoint(endpoint: str) -> str:
    """The endpoint as a base URL ending in `/`. Plain http is refused except to this machine, where the
    local stack serves: the key would cross the network unencrypted."""
    parts = urlsplit(endpoint.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientConfigError(
            "The endpoint must be an http(s) URL: the stack's ApiUrl output, such as "
            "https://{api}.execute-api.{region}.amazonaws.com/prod/v1/."
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ClientConfigError(
            "The endpoint must be a plain base URL: no user, password, query or fragment."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ClientConfigError(
            "The endpoint uses plain http to another machine, which would send the API key unencrypted: "
            "use https (plain http is accepted for 127.0.0.1, ::1 and localhost only)."
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def checked_api_key(api_key: str) -> str:
    """The key without surrounding whitespace; refused (never quoted) when it could not be a header."""
    key = api_key.strip()
    if not key or not all("\x21" <= character <= "\x7e" for character in key) or len(key) > 1024:
        raise ClientConfigError(
            "The API key is malformed: it must be one line of printable characters without spaces, "
            "as `toolgate admin` or POST /v1/api-keys printed it."
        )
    return key


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_seconds: float,
    first_delay_seconds: float = 0.25,
    max_delay_seconds: float = 5.0,
) -> tuple[T, bool]:
    """Read until `done`, waiting 1.5 times longer each time up to `max_delay_seconds`; the last value
    read and whether it was done. The last read is made when the time runs out."""
    deadline = time.monotonic() + timeout_seconds
    delay = first_delay_seconds
    while True:
        value = read()
        if done(value):
            return value, True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return value, False
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, max_delay_seconds)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def spec_format(path: Path, data: bytes) -> UploadFormat:
    """The upload format of a spec file: its suffix, else its first bytes."""
    by_suffix = _SUFFIX_FORMATS.get(path.suffix.lower())
    if by_suffix is not None:
        return by_suffix
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    return "json" if data.lstrip()[:1] == b"{" else "yaml"


# --- The commands ----------------------------------------------------------------------------------
