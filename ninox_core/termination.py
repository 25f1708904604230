"""SIGTERM and SIGINT: stop at a safe point, then exit non-zero.

The SDK's own handler writes a STATE and exits 0, so an orchestrator
records a killed run as a success. Here the handler raises `Interrupted`
in the main thread, except while a Singer message is being written (a half
line on stdout would break the target): then it waits until the message is
out. The connector catches `Interrupted`, writes its last STATE (one that
covers only what was written) and exits 128 + the signal number: 143 for
SIGTERM, 130 for SIGINT (docs/design.md, "Interruption").
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
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


class TerminationGuard:
    """Turns SIGTERM/SIGINT into `Interrupted`, deferred out of critical sections."""

    def __init__(self) -> None:
        """No signal received yet."""
        self.received: int | None = None
        self._stopping = False
        #: The connector instance whose state to write on the way out.
        self.owner: Any = None
        self._depth = 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: raise `Interrupted` now, or when the critical block ends.

        The connector routes its SDK signal handler here (the SDK installs
        that handler for SIGTERM and SIGINT in the main thread).
        """
        if self.received is not None:
            return  # already stopping: a second signal must not cut the final STATE
        self.received = signum
        if self._depth == 0:
            raise Interrupted(signum)

    @contextmanager
    def critical(self) -> Iterator[None]:
        """Defer a signal until the block (e.g. writing one message) is done."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0 and self.received is not None and not self._stopping:
            self._stopping = True
            raise Interrupted(self.received)

    def stopping(self) -> None:
        """Mark the final STATE as being written: no more `Interrupted` from here."""
        self._stopping = True
        self._depth += 1
