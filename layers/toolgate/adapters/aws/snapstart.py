"""Lambda SnapStart: what environments restored from one snapshot must not share.

With SnapStart, Lambda initializes a function once when it publishes a version, snapshots the memory, and
starts every new execution environment from that snapshot. State made during init would then be shared by
all of them: the same random sequence, the same connection pools (their sockets closed), the same cached
secrets, OAuth2 tokens and sessions, and cache entries timed on a clock that does not count the time the
snapshot spent cached. `reset_after_restore` drops it all; each environment makes its own on first use.

The other way round, what a handler defers to its first request is not in the snapshot, and every
restored environment would pay for it again: `prime_for_snapshot` does that work before the snapshot is
taken, keeping only what needs no reset (modules, pydantic validators, AWS service models; never a client,
session, credential or connection, which the reset would drop anyway).

Each request-path handler calls `register_restore_hooks(...)` when it is imported, naming what its
requests need. Lambda's Python runtime provides `snapshot_restore_py`
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html); where it is absent
(the local stack, tests without it) registering is a no-op.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Sequence
from importlib import import_module

from pydantic import BaseModel

from toolgate.wiring import clear_caches

_registered = False

#: What a tenant's tool-call resources reach (`AwsInvokeProvider`): STS for the tenant's session, then its
#: table, objects and secrets, and the jobs state machine.
TENANT_CALL_SERVICES = ("sts", "dynamodb", "s3", "secretsmanager", "stepfunctions")


def prime_for_snapshot(modules: Sequence[str] = (), services: Sequence[str] = ()) -> None:
    """What every request would otherwise do first, done once before the snapshot: import the lazily
    loaded `modules` its requests use, build every toolgate pydantic model loaded by then (settings,
    records, request and response models are built on first use, `defer_build`), and read the AWS
    `services`' models into the shared loader."""
    for name in modules:
        import_module(name)
    for model in _deferred_models():
        model.model_rebuild(raise_errors=False)
    if services:
        from toolgate.adapters.aws.session import load_service_models  # noqa: PLC0415 - with services only

        load_service_models(services)


def _deferred_models() -> Iterator[type[BaseModel]]:
    """Every pydantic model defined by a loaded toolgate module whose validator is not built yet."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "toolgate" or name.startswith("toolgate.")):
            continue
        for value in list(vars(module).values()):
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == name
                and not value.__pydantic_complete__
            ):
                yield value


def reset_after_restore() -> None:
    """Forget what a restored environment must not share with its siblings: every `Wiring`'s adapters
    (the HTTP transport with its pools, OAuth2 tokens and breakers; tenant sessions, cached credentials and
    limits; the tool and catalog caches; the callback signing key) and the random module's seed."""
    clear_caches()
    random.seed()


def register_restore_hooks(modules: Sequence[str] = (), services: Sequence[str] = ()) -> bool:
    """Have Lambda run `prime_for_snapshot(modules, services)` before the snapshot and
    `reset_after_restore` after each restore, once per process; False without Lambda's SnapStart runtime
    library."""
    global _registered  # noqa: PLW0603 - one registration per process
    try:
        from snapshot_restore_py import (  # noqa: PLC0415 - Lambda's runtime only
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    if not _registered:
        register_before_snapshot(prime_for_snapshot, tuple(modules), tuple(services))
        register_after_restore(reset_after_restore)
        _registered = True
    return True
