"""SIGTERM and SIGINT: stop at a safe point, then exit non-zero.

The SDK's own handler writes a STATE and exits 0, so an orchestrator
records a killed run as a success. Here the handler raises `Interrupted`
in the main thread, except while a Singer message is being written (a half
line on stdout would break the target): then it waits until the message is
out. The connector catches `Interrupted`, writes its last STATE (one that
covers only what was written) and exits 128 + the signal number: 143 for
SIGTERM, 130 for SIGINT (docs/design.md, "Interruption").

Every wait of the connectors (retry back-off, `Retry-After`, a lost-answer
round) goes through `pause`, which a signal cuts short on any thread: both
connectors' handlers call `request_stop`, and `pause` then raises
`Interrupted` at once. A wait can thus never hold a stopped run for minutes
(docs/design.md, "Signals").
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Interrupted(BaseException):
    """The process was asked to stop by a signal.

    A BaseException, so that `except Exception` blocks on the way up (the
    SDK's, retries) do not swallow it.
    """

    def __init__(self, signum: int) -> None:
        """Remember which signal."""
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as shells report a signalled process."""
        return 128 + self.signum


#: The signal that asked the run to stop (0: none yet).
_stop_signal = 0
#: A pipe written to (one byte, never read) when a stop is requested:
#: `pause` waits on its other end, so a signal handler wakes the waits of
#: every thread with a plain write (no lock: safe in a handler).
_wake_reader, _wake_writer = os.pipe()
os.set_blocking(_wake_writer, False)


def request_stop(signum: int) -> None:
    """A signal asked the run to stop: every `pause`, now or later, raises `Interrupted`.

    Safe to call from a signal handler.
    """
    global _stop_signal  # noqa: PLW0603  # the process's one stop flag
    if not _stop_signal:
        _stop_signal = signum
    with contextlib.suppress(OSError):  # already woken: the pipe holds bytes
        os.write(_wake_writer, b"!")


def pause(seconds: float) -> None:
    """Wait `seconds`; raise `Interrupted` at once when a stop is (or gets) requested."""
    if seconds > 0 and not _stop_signal:
        select.select([_wake_reader], [], [], seconds)
    if _stop_signal:
        raise Interrupted(_stop_signal)


def clear_stop() -> None:
    """Forget a requested stop (for tests that run connectors in-process)."""
    global _stop_signal  # noqa: PLW0603
    _stop_signal = 0
    os.set_blocking(_wake_reader, False)
    with contextlib.suppress(OSError):
        while os.read(_wake_reader, 4096):
            pass
    os.set_blocking(_wake_reader, True)


class TerminationGuard:
    """Turns SIGTERM/SIGINT into `Interrupted`, deferred out of critical sections.

    The one interruption policy of both connectors: the tap routes the SDK's
    signal handler to `handle`; the target installs it itself (`installed`).
    Work a signal must not cut (writing one message, reading one input line)
    runs in `critical()`; a signal received meanwhile stops the run right
    after it, unless that work failed (its failure ends the run).
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        """No signal received yet; `on_signal(signum)` hears of the first one."""
        self.received: int | None = None
        self._stopping = False
        #: The connector instance whose state to write on the way out.
        self.owner: Any = None
        self._depth = 0
        self._on_signal = on_signal
        self._critical = _Critical(self)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: raise `Interrupted` now, or when the critical block ends.

        Every wait of the process (`pause`) ends at once too.
        """
        del frame
        if self.received is not None:
            return  # already stopping: a second signal must not cut the final STATE
        self.received = signum
        if self._on_signal is not None:
            self._on_signal(signum)
        request_stop(signum)
        if self._depth == 0 and not self._stopping:
            raise Interrupted(signum)

    def critical(self) -> _Critical:
        """Defer a signal until the block (e.g. writing one message) is done.

        One reusable object (entered once per message or input line: a
        generator-based context manager would cost a few microseconds more).
        """
        return self._critical

    def stopping(self) -> None:
        """Mark the final STATE as being written: no more `Interrupted` from here."""
        self._stopping = True
        self._depth += 1

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Route SIGTERM and SIGINT to `handle` for the duration of a run.

        Outside the main thread signals are left alone. At the end the
        previous handlers come back, and a later run in this process (tests)
        waits again (`clear_stop`).
        """
        previous: dict[int, Any] = {}
        try:
            for wanted in (signal.SIGTERM, signal.SIGINT):
                previous[wanted] = signal.signal(wanted, self.handle)
        except ValueError:  # not the main thread
            previous = {}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            clear_stop()


class _Critical:
    """`TerminationGuard.critical()`: entered around work a signal must not cut."""

    __slots__ = ("_guard",)

    def __init__(self, guard: TerminationGuard) -> None:
        self._guard = guard

    def __enter__(self) -> None:
        self._guard._depth += 1  # the guard's own helper

    def __exit__(self, exc_type: object, exc: object, traceback: object) -> None:
        guard = self._guard
        guard._depth -= 1
        if (
            exc_type is None
            and guard._depth == 0
            and guard.received is not None
            and not guard._stopping
        ):
            guard._stopping = True
            raise Interrupted(guard.received)
