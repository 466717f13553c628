"""DynamoDB's single-item writes are atomic; moto's, served on many threads at once, are not.

moto checks a condition and then applies the write in Python, and another thread's write to the same
item can land in between: two conditional writes that must exclude each other (the tenant limiter's
admissions, optimistic version checks) could then both succeed. While the local stack runs, every item
write of moto's DynamoDB backend takes one lock, as the service's own partition would serialize them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

#: The backend's methods that check a condition and write an item.
ITEM_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


@contextmanager
def atomic_item_writes() -> Iterator[None]:
    """While inside, moto's DynamoDB item writes run one at a time."""
    lock = threading.RLock()
    originals = {name: getattr(DynamoDBBackend, name) for name in ITEM_WRITES}
    for name, original in originals.items():
        setattr(DynamoDBBackend, name, _serialized(original, lock))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(DynamoDBBackend, name, original)


def _serialized(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return run
