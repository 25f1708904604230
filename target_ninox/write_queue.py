"""One batch write in flight while the next batch is read and converted.

Ninox wants one call at a time, and a POST mostly waits on the server. The
target's own work per record (decoding, validating, converting) needs no
server, so a batch's write (plan, POST, answer) runs on one worker thread
while the main thread reads the next batch: the target's wall time becomes
the larger of the two, not their sum (docs/design.md, "One write in
flight"). At most one write is in flight; submitting the next one first
waits for it, so writes still reach Ninox one at a time and in input order.

The rule that keeps this simple: while a write is in flight, only the worker
uses the Ninox client, the table writers (key indexes) and the rerun guard.
The main thread reads and converts input; anything else it does that needs
them, or that emits a STATE, calls `settle()` first.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable

from ninox_core.termination import Interrupted

if t.TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

#: What the main thread learns when a write ends: None, or the write's error.
Done = Callable[[BaseException | None], None]


class WriteQueue:
    """Runs one write at a time on a worker thread; `settle()` reports it."""

    def __init__(self, *, background: bool = True) -> None:
        """`background=False` runs each write at once, on the caller's thread."""
        self.background = background
        self._executor: ThreadPoolExecutor | None = None
        self._flight: tuple[Future[None], Done] | None = None

    @property
    def in_flight(self) -> bool:
        """True while a submitted write is not settled yet."""
        return self._flight is not None

    def submit(self, write: Callable[[], None], done: Done) -> None:
        """Start `write()`; `done(error)` runs on this thread when it is settled.

        The write in flight before it is settled first (its `done` may raise
        its error, and then `write` is not started).
        """
        self.settle()
        if not self.background:
            error: BaseException | None = None
            try:
                write()
            except (Exception, Interrupted) as exc:  # handed to `done`, as from the worker
                error = exc
            done(error)
            return
        if self._executor is None:
            # Imported here: a run that never writes does not pay for it.
            from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

            self._executor = ThreadPoolExecutor(1, thread_name_prefix="target-ninox-write")
        self._flight = (self._executor.submit(write), done)

    def settle(self) -> None:
        """Wait for the write in flight (if any) and run its `done` here."""
        flight, self._flight = self._flight, None
        if flight is None:
            return
        future, done = flight
        done(future.exception())

    def close(self) -> None:
        """Stop the worker thread once its write (if any) has ended.

        A write still in flight here is not reported: every way a run ends
        settles it before (target_ninox/commit_policy.py, `end_run`).
        """
        self._flight = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
