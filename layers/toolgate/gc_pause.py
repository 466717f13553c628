"""Garbage-collector control for bulk work.

Loading and compiling a large spec allocates millions of acyclic objects; each cyclic-GC pass over the
growing heap is wasted work (it more than doubles PyYAML's load time on Stripe's spec). Collection is
paused for the duration and restored to its previous state afterwards.
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
