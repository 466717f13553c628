"""`toolgate upload`, `tools`, `invoke` and `jobs`: the Toolgate API of a deployed or local stack, from a
shell, a script or an agent.

Each command needs the API's endpoint, which is the stack's `ApiUrl` output (`https://.../prod/v1/`), and
an API key. Give them as `--endpoint` and `--api-key`, or as `TOOLGATE_ENDPOINT` and `TOOLGATE_API_KEY`.
The key is sent only to that endpoint, as `Authorization: Bearer ...`, and it is never printed.

Standard output is one JSON document: the API's answer. The exit status is 0 when the answer is what was
asked for, 1 when a tool call or a job ran and failed, and 2 when the request was refused or could not be
made. Any error also goes to standard error as `error[CODE]: message`.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args

from toolgate.errors import (
    ArgumentsInvalidError,
    CredentialInvalidError,
    ToolgateError,
    WaitTimedOutError,
)

from toolgate_cli.client import (
    API_KEY_ENV,
    DEFAULT_WAIT_SECONDS,
    ENDPOINT_ENV,
    JOB_RUNNING,
    ToolgateClient,
    redact,
    spec_format,
)

#: Lambda takes at most 6 MB of request event, and a zip travels in it base64-encoded: larger specs go
#: through a presigned S3 upload instead.
API_UPLOAD_LIMIT_BYTES = 4 * 1024 * 1024
#: The shell's status for a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130
IO_ERROR = "IO_ERROR"
_FINDINGS_SHOWN = 5


def add_remote_parsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from toolgate.service.views import ToolFormat

    upload = _add_command(
        subparsers,
        "upload",
        "create an integration if needed, upload its spec and bind its credential",
        _upload,
    )
    upload.add_argument("integration", help="the integration's id: 1 to 63 of a-z, 0-9 and '-'")
    upload.add_argument("spec", type=Path, help="an OpenAPI or Swagger 2.0 file: YAML, JSON or a zip")
    upload.add_argument(
        "--assistant",
        action="append",
        default=[],
        metavar="ASSISTANT",
        help="an assistant the integration joins (created if missing); repeat for several",
    )
    upload.add_argument("--server-url", help="the URL the tools call instead of the spec's servers")
    upload.add_argument(
        "--overlay",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="an OpenAPI Overlay to apply to the spec (repeatable, in order); sent in a zip with the spec",
    )
    upload.add_argument(
        "--credential-file",
        type=Path,
        help='a JSON file holding the credential, e.g. {"type": "bearer", "token": "..."}',
    )
    upload.add_argument(
        "--via-s3",
        action="store_true",
        help=f"upload through a presigned S3 URL (always done above {API_UPLOAD_LIMIT_BYTES // 2**20} MiB)",
    )

    tools = _add_command(subparsers, "tools", "list an assistant's tools in a model API's format", _tools)
    tools.add_argument("assistant", help="the assistant's id")
    tools.add_argument(
        "--format",
        dest="tool_format",
        choices=get_args(ToolFormat),
        default="openai",
        help="default: %(default)s",
    )

    invoke = _add_command(
        subparsers,
        "invoke",
        "call an assistant's tool through the API and print the result envelope",
        _invoke,
    )
    invoke.set_defaults(errors_in_envelope=True)
    invoke.add_argument("assistant", help="the assistant's id")
    invoke.add_argument("tool", help="the tool's name")
    given = invoke.add_mutually_exclusive_group()
    given.add_argument("--args", help="the tool's arguments as a JSON object (default: {})")
    given.add_argument("--args-file", type=Path, help="a file holding the arguments as JSON; '-' reads stdin")
    invoke.add_argument(
        "--idempotency-key", help="retries with the same key return the first answer instead of calling again"
    )

    jobs = subparsers.add_parser("jobs", help="read, wait for or cancel a long-running tool call")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    for name, summary, run in (
        ("get", "print a job's status and, once it has ended, its result", _job_get),
        ("wait", "poll a job until it is no longer running and print it", _job_wait),
        ("cancel", "cancel a running job", _job_cancel),
    ):
        command = _add_command(job_commands, name, summary, run)
        command.add_argument("job_id", help="the job id an async tool call answered with (job_...)")
        if name == "wait":
            command.add_argument(
                "--timeout",
                type=float,
                default=DEFAULT_WAIT_SECONDS,
                help="seconds to wait before giving up (default: %(default)g)",
            )


_Command = Callable[[argparse.Namespace, ToolgateClient, "_Output"], int]


def _add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, run: _Command
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=summary, description=summary)
    parser.add_argument(
        "--endpoint", help=f"the API's base URL, the stack's ApiUrl output (default: ${ENDPOINT_ENV})"
    )
    parser.add_argument(
        "--api-key",
        help=f"the API key (default: ${API_KEY_ENV}, which is safer: other users can see arguments)",
    )
    parser.set_defaults(run=_connected(run), errors_in_envelope=False)
    return parser


def _connected(command: _Command) -> Callable[[argparse.Namespace], int]:
    """Runs a command with a client, turning every error into `error[CODE]: message` and exit status 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        output = _Output(args.api_key or os.environ.get(API_KEY_ENV), envelope=args.errors_in_envelope)
        try:
            with ToolgateClient.from_environment(args.endpoint, args.api_key) as client:
                return command(args, client, output)
        except ToolgateError as error:
            output.failure(error.to_dict())
        except OSError as error:
            message = f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
            output.failure({"code": IO_ERROR, "message": message})
        except KeyboardInterrupt:
            output.note("interrupted: a request already sent may have taken effect")
            return INTERRUPTED
        return 2

    return run


class _Output:
    """Standard output and standard error, with the API key blotted out of everything written."""

    def __init__(self, api_key: str | None, *, envelope: bool) -> None:
        self._key = api_key.strip() if api_key else ""
        self._envelope = envelope

    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def document(self, document: Any) -> None:
        sys.stdout.write(self._redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")

    def note(self, text: str) -> None:
        print(self._redact(text), file=sys.stderr)

    def error(self, error: Mapping[str, Any]) -> None:
        where = f" (at {error['pointer']})" if error.get("pointer") else ""
        self.note(f"error[{error.get('code')}]: {error.get('message')}{where}")
        if error.get("details") is not None:
            self.note(f"details: {json.dumps(error['details'], ensure_ascii=False)}")

    def failure(self, error: Mapping[str, Any]) -> None:
        """A request that could not be made or was refused; `invoke` also prints it as an envelope."""
        if self._envelope:
            self.document({"ok": False, "error": dict(error)})
        self.error(error)


def _upload(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    data = args.spec.read_bytes()
    credential = _read_credential(args.credential_file) if args.credential_file else None
    upload_format = spec_format(args.spec, data)
    if args.overlay:
        data = with_overlays(data, upload_format, [(path.name, path.read_bytes()) for path in args.overlay])
        upload_format = "zip"
    client.ensure_integration(args.integration, assistants=args.assistant, server_url=args.server_url)
    if args.via_s3 or len(data) > API_UPLOAD_LIMIT_BYTES:
        view = client.upload_spec_via_s3(args.integration, data, upload_format)
    else:
        view = client.upload_spec(args.integration, data, upload_format)
    if credential is not None:
        client.bind_credential(args.integration, credential)
        view = client.get_integration(args.integration)
    output.document(view)
    output.note(upload_summary(view))
    return 0


def with_overlays(data: bytes, upload_format: str, overlays: list[tuple[str, bytes]]) -> bytes:
    """A zip of the spec and its overlays, which the service applies in the order of their paths
    (`overlays/01-...`, after any overlays the spec's own zip holds)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if upload_format == "zip":
            with zipfile.ZipFile(io.BytesIO(data)) as original:
                for info in original.infolist():
                    archive.writestr(info, original.read(info))
        else:
            archive.writestr(f"openapi.{upload_format}", data)
        for index, (name, content) in enumerate(overlays, start=1):
            stem = name.removesuffix(".yaml").removesuffix(".yml").removesuffix(".json")
            stem = stem.removesuffix(".overlay")
            suffix = ".json" if name.endswith(".json") else ".yaml"
            archive.writestr(f"overlays/{index:02d}-{stem}.overlay{suffix}", content)
    return buffer.getvalue()


def _read_credential(path: Path) -> dict[str, Any]:
    """The credential file's JSON object; its content is never quoted, it holds a secret."""
    try:
        credential = json.loads(path.read_bytes())
    except ValueError:
        credential = None
    if not isinstance(credential, dict):
        raise CredentialInvalidError(
            f'{path} is not a JSON object such as {{"type": "bearer", "token": "..."}} '
            "(its content is not shown)."
        )
    return credential


def upload_summary(view: Mapping[str, Any]) -> str:
    """What an upload left in service, and the report's counts and first findings, for people."""
    from toolgate.spec.lint import format_findings
    from toolgate.spec.models import Finding

    ready = view.get("ready") or {}
    lines = [f"integration {view.get('id')}: {view.get('status')}"]
    if ready:
        lines[0] += (
            f", version {ready.get('number')}: {ready.get('tool_count')} tools from "
            f"{ready.get('title')!r} {ready.get('api_version')}"
        )
        summary = ready.get("summary") or {}
        lines.append(
            f"findings: {summary.get('errors', 0)} errors, {summary.get('warnings', 0)} warnings, "
            f"{summary.get('info', 0)} notes; {summary.get('failed_operations', 0)} operations failed"
        )
        findings = [Finding.model_validate(finding) for finding in summary.get("top_findings", [])]
        if findings:
            lines.append(format_findings(findings[:_FINDINGS_SHOWN]))
        tokens = ready.get("tokens") or {}
        if tokens:
            counts = ", ".join(f"{name} {count:,}" for name, count in tokens.items())
            lines.append(f"tokens of all its tools, per request: {counts}")
        warnings = [Finding.model_validate(finding) for finding in ready.get("token_warnings", [])]
        if warnings:
            lines.append(format_findings(warnings[:_FINDINGS_SHOWN]))
    credential = view.get("credential") or {}
    lines.append(
        f"credential: {credential.get('type')}, bound" if credential.get("bound") else "credential: none"
    )
    return "\n".join(lines)


def _tools(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    listing = client.list_tools(args.assistant, args.tool_format)
    output.document(listing)
    losses = sum(len(found) for found in (listing.get("losses") or {}).values())
    exact = "" if listing.get("token_count_exact", True) else "about "
    note = (
        f"{len(listing.get('tools', []))} tools in {args.tool_format} format, {exact}"
        f"{listing.get('token_count', 0):,} tokens per request; {losses} losses, "
        f"{len(listing.get('violations') or [])} violations"
    )
    unavailable = [f"{item.get('id')} ({item.get('status')})" for item in listing.get("unavailable") or []]
    if unavailable:
        note += f"; not listed, no ready version: {', '.join(unavailable)}"
    for warning in listing.get("warnings") or []:
        note += f"\nwarning[{warning.get('code')}]: {warning.get('message')}"
    output.note(note)
    return 0


def _invoke(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    arguments = _read_arguments(args)
    result = client.invoke(args.assistant, args.tool, arguments, idempotency_key=args.idempotency_key)
    output.document(result)
    job = result.get("job")
    if isinstance(job, Mapping) and job.get("job_id"):
        output.note(f"job {job['job_id']} started: `toolgate jobs wait {job['job_id']}` follows it")
    error = result.get("error")
    if isinstance(error, Mapping):
        output.error(error)
    return 0 if result.get("ok") is True else 1


def _read_arguments(args: argparse.Namespace) -> dict[str, Any]:
    if args.args_file is not None:
        source = "stdin" if str(args.args_file) == "-" else str(args.args_file)
        text = sys.stdin.read() if source == "stdin" else args.args_file.read_text(encoding="utf-8")
    else:
        source, text = "--args", args.args if args.args is not None else "{}"
    try:
        arguments = json.loads(text)
    except ValueError as error:
        raise ArgumentsInvalidError(f"The arguments in {source} are not JSON: {error}.") from None
    if not isinstance(arguments, dict):
        raise ArgumentsInvalidError(
            f"The arguments in {source} must be a JSON object of the tool's parameters, such as "
            '{"customer_id": "cust-42"}.'
        )
    return arguments


def _job_get(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    output.document(client.get_job(args.job_id))
    return 0


def _job_wait(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    job = client.wait_for_job(args.job_id, timeout_seconds=args.timeout)
    output.document(job)
    if job.get("status") == JOB_RUNNING:
        output.error(
            {
                "code": WaitTimedOutError.code,
                "message": f"Job {args.job_id} was still running after {args.timeout:g} s.",
            }
        )
        return 2
    error = job.get("error")
    if isinstance(error, Mapping):
        output.error(error)
    return 0 if job.get("status") == "succeeded" else 1


def _job_cancel(args: argparse.Namespace, client: ToolgateClient, output: _Output) -> int:
    output.document(client.cancel_job(args.job_id))
    return 0
