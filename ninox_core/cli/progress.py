"""When a long run says how far it got: one progress line per interval.

The tap logs records read so far per table, the target records written so
far per stream; both at most every `PROGRESS_EVERY` seconds (docs/design.md,
"Errors and logs").
"""

from __future__ import annotations

import time

#: Seconds between two progress lines of one run (tests shorten it).
PROGRESS_EVERY = 10.0


class ProgressClock:
    """Says when the next progress line is due, and how long the run has taken."""

    def __init__(self) -> None:
        """Start the clock now."""
        self.started = self._last = time.monotonic()

    def due(self) -> bool:
        """True at most once per `PROGRESS_EVERY` seconds (the first after one interval)."""
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY:
            return False
        self._last = now
        return True

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return time.monotonic() - self.started
