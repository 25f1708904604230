"""When tap-ninox writes a STATE line: its bytes stay within the rest of the output.

docs/design.md "State", docs/decisions/0018-state-bytes-within-the-output.md.

A Singer STATE replaces the one before it, so every line carries every
stream's bookmark: its size grows with the number of tables. Written after
every page and every stream, as the SDK and decision 0003 do, the STATE
bytes of a run grow with the square of the number of tables (500 small
tables: 17.8 MB of STATE in an 18.5 MB output). So a STATE the SDK asks to
write is written when

- the STATE bytes written so far, this line included, stay within the
  bytes of every other line written so far plus `STATE_ALLOWANCE_BYTES`, or
- `STATE_EVERY_SECONDS` have passed since the last STATE,

and otherwise kept as pending: a later STATE replaces it, and the last
one is written when the run ends, also when it fails. Each line a run
writes is still a complete, honest state (it covers only messages written
before it); a run killed without warning (SIGKILL) resumes from the last
line written, so it reads again at most the work of the last minute or of
the last lines' worth of output. A large table still gets a STATE after
every page (a page of records outweighs a STATE line).
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: STATE bytes a run may write beyond the bytes of its other lines.
STATE_ALLOWANCE_BYTES = 64 * 1024
#: A pending STATE is written once this long has passed since the last one.
STATE_EVERY_SECONDS = 60.0


class StateBudget:
    """Counts STATE and other output bytes and says whether a STATE may go out now."""

    def __init__(
        self,
        output_bytes: Callable[[], int],
        *,
        allowance: int = STATE_ALLOWANCE_BYTES,
        every_seconds: float = STATE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`output_bytes()` tells how many bytes the tap has written so far, STATE included."""
        self._output_bytes = output_bytes
        self._start = output_bytes()
        self._allowance = allowance
        self._every = every_seconds
        self._clock = clock
        self._last_at = clock()
        self.state_bytes = 0

    def allows(self, line_bytes: int) -> bool:
        """True when a STATE line of `line_bytes` may be written now."""
        other = self._output_bytes() - self._start - self.state_bytes
        if self.state_bytes + line_bytes <= other + self._allowance:
            return True
        return self._clock() - self._last_at >= self._every

    def record(self, written: Callable[[], None]) -> None:
        """Run `written` (which writes one STATE line) and count the bytes it wrote."""
        before = self._output_bytes()
        written()
        self.state_bytes += self._output_bytes() - before
        self._last_at = self._clock()
