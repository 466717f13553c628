"""`toolgate local up`: the whole service on this machine, until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from toolgate.errors import LocalLoopbackPortError

if TYPE_CHECKING:
    from toolgate_local.provision import ResourceReport
    from toolgate_local.stack import LocalStack

DEFAULT_API_PORT = 3000
DEFAULT_MOTO_PORT = 5050
#: Resources of one type and status listed one by one; more are counted.
_LISTED = 3
#: Signals that stop the stack: Ctrl-C and SIGTERM.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How often the waiting main thread wakes, so a signal that reached another thread is handled.
_SIGNAL_CHECK_SECONDS = 0.2


def add_local_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = subparsers.add_parser(
        "local", help="run the whole service on this machine: moto, the real handlers and an HTTP front door"
    )
    commands = local.add_subparsers(dest="local_command", required=True)
    up = commands.add_parser(
        "up", help="build the stack from the synthesized template and serve it until Ctrl-C"
    )
    up.add_argument(
        "--template", type=Path, help="the synthesized template (default: the stack's template in --cdk-out)"
    )
    up.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="default: %(default)s")
    up.add_argument("--stack", help="the stack's name, when the cloud assembly holds several")
    up.add_argument(
        "--allow-loopback-port",
        action="append",
        default=[],
        type=_port,
        metavar="N",
        dest="loopback_ports",
        help="let tools call this port on this machine (127.0.0.1, ::1), repeatable; loopback is refused by "
        "default, as in AWS, and moto's and the front door's ports always are",
    )
    # Gone: it opened every loopback port, moto's included. Kept to say so instead of a usage error.
    up.add_argument("--allow-loopback", action="store_true", help=argparse.SUPPRESS)
    up.add_argument("--host", default="127.0.0.1", help="the front door's address (default: %(default)s)")
    up.add_argument("--port", type=int, default=DEFAULT_API_PORT, help="front door port; 0 picks a free one")
    up.add_argument(
        "--moto-port", type=int, default=DEFAULT_MOTO_PORT, help="moto's port; 0 picks a free one"
    )
    up.add_argument(
        "--functions-dir", type=Path, help="the handlers' folders (default: the repository's functions/)"
    )
    up.add_argument(
        "--env",
        action="append",
        default=[],
        type=_variable,
        metavar="NAME=VALUE",
        help="a setting for the handlers over the template's, e.g. TOOLGATE_JOBS_FIRST_POLL_SECONDS=1",
    )
    up.set_defaults(run=run_local_up)


def run_local_up(args: argparse.Namespace) -> NoReturn:
    # From here on, Ctrl-C or SIGTERM at any moment stops what has started and exits.
    stop_on_signals()
    with contextlib.suppress(StopRequested):
        _serve_local_stack(args)
    print("Stopped.", file=sys.stderr)
    exit_now(0)


def _serve_local_stack(args: argparse.Namespace) -> None:
    if args.allow_loopback:
        raise LocalLoopbackPortError(
            "--allow-loopback is gone: it let every tool reach moto and the front door on this machine, "
            "and through them every tenant's data. Name the ports of the services your tools call "
            "instead: --allow-loopback-port 8080 (repeatable)."
        )
    # moto and boto3 load only when the command runs, keeping `toolgate --help` fast.
    from toolgate_local.stack import LocalStack
    from toolgate_local.template import find_stack_template

    template = args.template or find_stack_template(args.cdk_out, args.stack)
    _log_to_stderr()
    stack = LocalStack(
        template,
        loopback_ports=args.loopback_ports,
        host=args.host,
        api_port=args.port,
        moto_port=args.moto_port,
        functions_dir=args.functions_dir,
        stack_name=args.stack,
        environment=dict(args.env),
    )
    try:
        stack.start()
        print(startup_report(stack), flush=True)
        wait_for_a_stop_signal()
    finally:
        stack.stop()


class StopRequested(BaseException):
    """Ctrl-C or SIGTERM: stop what has started. A BaseException, so `except Exception` lets it through.

    Not KeyboardInterrupt: after one raised during the startup's imports, Python sometimes ended the
    process with SIGINT at exit although the exception had been handled.
    """


def stop_on_signals() -> None:
    """Make Ctrl-C and SIGTERM raise StopRequested in the main thread, wherever it is (starting too).

    The first signal stops the stack; a second one while it stops ends the process at once.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)


def wait_for_a_stop_signal() -> NoReturn:
    """Sleep until a stop signal interrupts; never returns.

    Not an untimed `Event.wait()`: a signal the kernel hands to another thread would never wake it, and a
    handler that sets the event can deadlock on the lock the waiting main thread holds. Python runs the
    handler in the main thread when its sleep ends, at the latest.
    """
    while True:
        time.sleep(_SIGNAL_CHECK_SECONDS)


def exit_now(status: int) -> NoReturn:
    """End the process once the stack has stopped, without Python's finalization.

    With moto, boto3 and the handlers loaded, collecting the heap at exit took seconds on a busy machine,
    and thread pools are joined at exit: a stop signal must end the process within a few seconds.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _exit_at_once)
    raise StopRequested


def _exit_at_once(signum: int, frame: FrameType | None) -> NoReturn:
    print("Stopped without cleaning up (a second signal).", file=sys.stderr, flush=True)
    os._exit(128 + signum)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"expected a TCP port (1-65535), not {text!r}")
    return port


def _variable(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def startup_report(stack: LocalStack) -> str:
    """What was created, served and left out, the URLs, and how to talk to the stack."""
    assert stack.template is not None
    lines = [f"Toolgate local stack {stack.template.stack_name} from {stack.template.path}", ""]
    lines.append(f"Created in moto ({stack.moto_url}):")
    for report in stack.reports:
        if report.status == "created":
            note = f"  ({report.note})" if report.note else ""
            lines.append(f"  {report.resource_type:<34} {report.logical_id:<34} {report.detail}{note}")
    served = _grouped(stack.reports, "served")
    if served:
        lines.append(f"Served by the front door ({stack.api_base_url}):")
        lines.extend(f"  {resource_type} {_ids(reports)}" for resource_type, reports in served.items())
    for resource_type, reports in _grouped(stack.reports, "not created").items():
        reasons = sorted({report.detail for report in reports})
        lines.append(f"not created locally: {resource_type} {_ids(reports)} ({'; '.join(reasons)})")
    for limitation in stack.limitations:
        lines.append(f"note: {limitation}")
    for output in stack.outputs.values():
        if output.missing:
            lines.append(f"note: output {output.name} has no local value: {output.missing}")
    lines.append("")
    lines.append(egress_policy_line(stack))
    lines.append(f"API:  {stack.api_url}")
    lines.append(f"moto: {stack.moto_url}")
    available = {name: output.value for name, output in stack.outputs.items() if output.value is not None}
    if available:
        lines.append("Outputs:")
        lines.extend(f"  {name:<26} {value}" for name, value in available.items())
    lines.extend(["", "For boto3, the AWS CLI and `toolgate admin` against this stack:"])
    environment = {
        **stack.client_environment(),
        "TOOLGATE_TABLE_NAME": available.get("TableName", ""),
        "TOOLGATE_USAGE_PLAN_ID": available.get("TenantUsagePlanId", ""),
    }
    lines.extend(f"  export {name}={value}" for name, value in environment.items() if value)
    lines.extend(
        [
            "  toolgate admin bootstrap-tenant acme      # prints the tenant's first admin key",
            f"  curl -H 'Authorization: Bearer <key>' {stack.api_url}integrations",
            "",
            "Serving; press Ctrl-C to stop.",
        ]
    )
    return "\n".join(lines)


def egress_policy_line(stack: LocalStack) -> str:
    own = f"moto's port {stack.moto_port} and the front door's port {stack.api_port} always"
    if stack.loopback_ports:
        ports = ", ".join(str(port) for port in sorted(stack.loopback_ports))
        return (
            f"Egress: loopback targets ALLOWED only on port(s) {ports} (--allow-loopback-port); every other "
            f"loopback port is REFUSED, {own}."
        )
    return (
        f"Egress: loopback targets REFUSED, as in AWS ({own}). Start with --allow-loopback-port N to let "
        "tools call a service on this machine."
    )


def _grouped(reports: list[ResourceReport], status: str) -> dict[str, list[ResourceReport]]:
    groups: dict[str, list[ResourceReport]] = defaultdict(list)
    for report in reports:
        if report.status == status:
            groups[report.resource_type].append(report)
    return dict(groups)


def _ids(reports: list[ResourceReport]) -> str:
    if len(reports) <= _LISTED:
        return ", ".join(report.logical_id for report in reports)
    return f"x{len(reports)}"


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger = logging.getLogger("toolgate-local")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
