"""The Public API server's clock: real time plus an offset tests control.

Every time the server hands out (a change's `changedAt`, a feed's `asOf`,
the retention cutoff) comes from here, so a test moves past the retention
window with `advance(days=31)` instead of sleeping.

Stamps only grow: a change is stamped strictly after every `asOf` already
handed out, so a client that passes an `asOf` back as an exclusive `since`
never misses a change made in the same millisecond (the fixed reading:
`asOf` does not trail commits).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

DAY_MS = 86_400_000


def iso(ms: int) -> str:
    """Epoch ms → `2026-12-07T10:00:00.000Z`."""
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso(text: str) -> int | None:
    """An ISO 8601 timestamp with a zone (`Z` or `±HH:MM`) → epoch ms; None if malformed."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return round(moment.timestamp() * 1000)


class Clock:
    """Real time shifted by `offset_ms`; `advance` and `set` move it."""

    def __init__(self) -> None:
        """No offset."""
        self._lock = threading.Lock()
        self.offset_ms = 0
        self._last = 0

    def now_ms(self) -> int:
        """The server's current time as epoch ms."""
        return int(time.time() * 1000) + self.offset_ms

    def now_iso(self) -> str:
        """The server's current time as an ISO string ending in `Z`."""
        return iso(self.now_ms())

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> None:
        """Move the clock forward (a negative amount moves it back)."""
        total = seconds + 60 * minutes + 3600 * hours + 86400 * days
        with self._lock:
            self.offset_ms += round(total * 1000)

    def set(self, when: str | int) -> None:
        """Make `now` be `when` (ISO string with a zone, or epoch ms) from here on."""
        target = parse_iso(when) if isinstance(when, str) else int(when)
        if target is None:
            raise ValueError(f"not an ISO 8601 timestamp with a zone: {when!r}")
        with self._lock:
            self.offset_ms = target - int(time.time() * 1000)

    def reset(self) -> None:
        """Real time again."""
        with self._lock:
            self.offset_ms = 0
            self._last = 0

    def stamp(self) -> int:
        """The time of a change: now, but after every stamp and `asOf` handed out."""
        with self._lock:
            self._last = max(self.now_ms(), self._last + 1)
            return self._last

    def as_of(self) -> int:
        """A feed's `asOf`: now, never before a change already stamped."""
        with self._lock:
            self._last = max(self.now_ms(), self._last)
            return self._last
