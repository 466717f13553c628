"""`make demo`: the whole service on this machine (moto, the real handlers, the synthesized state
machine), the Support Desk target, and the journey from upload to grounded results. The stack then stays
up for you to try until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from toolgate.errors import ToolgateError

from toolgate_demo.journey import ASSISTANT, JourneyError, run_journey
from toolgate_demo.target import SupportDeskTarget

#: The demo's export finishes after a few polls; the deployed schedule would make it wait 35 s.
DEMO_POLLING = {"TOOLGATE_JOBS_FIRST_POLL_SECONDS": "1", "TOOLGATE_JOBS_MAX_POLL_INTERVAL_SECONDS": "2"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolgate_demo", description=__doc__)
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"), help="default: %(default)s")
    parser.add_argument("--port", type=int, default=3000, help="the front door's port (default: %(default)s)")
    parser.add_argument("--exit", action="store_true", help="stop after the journey instead of serving")
    parser.add_argument("--verbose", action="store_true", help="show the functions' JSON logs and metrics")
    args = parser.parse_args(argv)
    if not args.verbose:
        # The functions log JSON lines and print metrics to stdout, as in Lambda: too much for a demo.
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"

    # moto and the stack load only here: `--help` stays fast.
    from toolgate_cli.local import StopRequested, stop_on_signals  # noqa: PLC0415
    from toolgate_local.template import find_stack_template  # noqa: PLC0415

    template = find_stack_template(args.cdk_out, None)
    print(f"Toolgate demo: the stack from {template}, on moto, with the real handlers.")
    print("Jobs are polled every 1-2 s for the demo (deployed: 5 s, doubling up to 60 s).")
    # From here on, Ctrl-C or SIGTERM at any moment stops what has started.
    stop_on_signals()
    try:
        return _run(template, args)
    except StopRequested:
        print("\nStopped.")
        return 0


def _run(template: Path, args: argparse.Namespace) -> int:
    from toolgate_cli.local import egress_policy_line, wait_for_a_stop_signal  # noqa: PLC0415
    from toolgate_local.stack import LocalStack  # noqa: PLC0415

    with SupportDeskTarget() as target:
        # Tools may reach the demo API's port on 127.0.0.1, and no other port of this machine.
        local = LocalStack(
            template, loopback_ports={target.port}, api_port=args.port, moto_port=0, environment=DEMO_POLLING
        )
        with local as stack:
            print(f"{egress_policy_line(stack)}\n")
            print(f"Support Desk API (the company's API): {target.base_url}\nToolgate API: {stack.api_url}\n")
            try:
                result = run_journey(stack, target)
            except (JourneyError, ToolgateError) as error:
                print(f"\nThe demo failed: {error}", file=sys.stderr)
                return 1
            print("\nDone: upload to grounded results, over REST and MCP. The stack keeps running; try it:\n")
            print(f"  export TOOLGATE_ENDPOINT={stack.api_url} TOOLGATE_API_KEY={result.api_key}")
            print(
                '  curl -s -H "Authorization: Bearer $TOOLGATE_API_KEY" '
                '-d \'{"arguments": {"customer_id": "cust-42"}}\' '
                f"$TOOLGATE_ENDPOINT/assistants/{ASSISTANT}/tools/list_support_cases/invoke"
            )
            print(
                '  curl -s -H "Authorization: Bearer $TOOLGATE_API_KEY" '
                f'"$TOOLGATE_ENDPOINT/assistants/{ASSISTANT}/tools?format=mcp"'
            )
            print(f"  toolgate mcp-config {ASSISTANT} --client claude   # add the assistant to an MCP client")
            if not args.exit:
                print("\nCtrl-C stops it.")
                wait_for_a_stop_signal()
            return 0


if __name__ == "__main__":
    from toolgate_cli.local import exit_now

    exit_now(main())
