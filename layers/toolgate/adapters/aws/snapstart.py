"""Lambda SnapStart: what environments restored from one snapshot must not share.

With SnapStart, Lambda initializes a function once when it publishes a version, snapshots the memory, and
starts every new execution environment from that snapshot. State made during init would then be shared by
all of them: the same random sequence, the same connection pools (their sockets closed), the same cached
secrets, OAuth2 tokens and sessions, and cache entries timed on a clock that does not count the time the
snapshot spent cached. `reset_after_restore` drops it all; each environment makes its own on first use.

Each request-path handler calls `register_restore_hooks()` when it is imported. Lambda's Python runtime
provides `snapshot_restore_py` (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html);
where it is absent (the local stack, tests without it) registering is a no-op.
"""

from __future__ import annotations

import random

from toolgate.wiring import clear_caches

_registered = False


def reset_after_restore() -> None:
    """Forget what a restored environment must not share with its siblings: every `Wiring`'s adapters
    (the HTTP transport with its pools, OAuth2 tokens and breakers; tenant sessions, cached credentials and
    limits; the tool and catalog caches; the callback signing key) and the random module's seed."""
    clear_caches()
    random.seed()


def register_restore_hooks() -> bool:
    """Have Lambda run `reset_after_restore` after each restore, once per process; False without
    Lambda's SnapStart runtime library."""
    global _registered  # noqa: PLW0603 - one registration per process
    try:
        from snapshot_restore_py import register_after_restore  # noqa: PLC0415 - Lambda's runtime only
    except ImportError:
        return False
    if not _registered:
        register_after_restore(reset_after_restore)
        _registered = True
    return True
