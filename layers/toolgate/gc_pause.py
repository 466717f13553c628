"""Garbage-collector control for bulk work and for a function's init.

Loading and compiling a large spec allocates millions of acyclic objects; each cyclic-GC pass over the
growing heap is wasted work (it more than doubles PyYAML's load time on Stripe's spec). Collection is
paused for the duration and restored to its previous state afterwards.

A Lambda handler's init is the same kind of work: importing boto3, pydantic, Powertools and our modules
allocates long-lived objects, and each collection pass walks the whole growing heap (about 100 ms of CPU
of the invoke function's cold start, docs/performance.md "Cold start"). Each handler disables collection
before its first import and calls `resume_after_init()` at its end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def resume_after_init() -> None:
    """End of a handler's init: move every object made so far into the collector's permanent generation
    (`gc.freeze`: modules, classes and settings live as long as the process, so no later pass walks them),
    then collect again as usual. A cycle made garbage during init is kept, not freed: a little memory."""
    gc.freeze()
    gc.enable()
