"""Read the next item of an iterator while the caller works on the current one.

Invariant: at most one item is fetched ahead, on one worker thread, and the
items reach the caller in their order, each exactly once; an exception the
iterator raises reaches the caller where that item would have come, after
every item before it.

Why: a table is read one page per request, and a request to Ninox takes tens
of milliseconds. Fetching page N+1 while the tap converts and emits page N
hides the tap's own work behind the server's time (docs/design.md, "At
realistic latency"). Only one request is ever in flight: the worker makes the
pages' requests one after another, and the client's lock keeps any other
request of the run (the files stream's) from overlapping them.

When the caller stops early (an error downstream, a signal, `close()`), the
worker finishes the request it is in, closes the iterator on its own thread
(a generator cannot be closed from another thread while it runs) and ends.
The worker is a daemon thread, so a process that exits never waits for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar, cast

T = TypeVar("T")

#: What the worker hands over after the last item.
_DONE = object()


def read_ahead(items: Iterable[T], *, name: str = "read-ahead") -> Generator[T, None, None]:
    """Yield `items` in order while the next one is fetched on a worker thread."""
    allowed = threading.Semaphore(1)  # fetches allowed ahead of the caller: one
    stop = threading.Event()
    handed: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()

    def work() -> None:
        iterator = iter(items)
        try:
            while True:
                allowed.acquire()
                if stop.is_set():
                    return
                try:
                    item = next(iterator, _DONE)
                except BaseException as exc:  # handed to the caller as it is
                    handed.put((_DONE, exc))
                    return
                handed.put((item, None))
                if item is _DONE:
                    return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item, error = handed.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            allowed.release()  # fetch the next item while the caller works on this one
            yield cast("T", item)
    finally:
        stop.set()
        allowed.release()  # a worker waiting for permission wakes up and ends
