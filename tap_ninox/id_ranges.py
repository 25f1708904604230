"""The ids of a table's last complete read, kept compactly in a STATE.

A Ninox 4 table without history has no change feed: its deletions are the
ids of the last complete read that the current read no longer finds
(docs/design.md "Reading Ninox 4 tables"). Those ids go into the stream's
state, so they must stay small.

Algorithm. Ids are collected into sorted, disjoint, non-adjacent runs
`[first, last]` (`IdRanges.add`, any order: an id next to a run extends
it, an id between two runs that it joins merges them; a sorted stream of
ids, the usual case, costs O(1) each). Record ids are mostly handed out in
ascending order, so a table of 100,000 records with a few hundred deleted
is a few hundred runs, whatever its size.

Text form (`encode`/`decode`): the runs in ascending order, separated by
`,`; each run is `gap` or `gap+extra` in base 36, where `gap` is its first
id minus the previous run's last id (the first run: minus 0) and `extra`
its last id minus its first (left out when 0). Ids 1..1000, 1003, 1005..1006
are `1+rr,3,2+1`. A table of random sparse ids costs about 4 bytes an id;
a densely numbered one a few bytes in all. The form starts with
`FORM_PREFIX` so a later form can be told apart.

`missing(previous, current)` yields the ids of `previous` not in `current`,
walking both run lists once (O(runs + result)).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

#: Marks the text form (version 1).
FORM_PREFIX = "r1:"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


class IdRanges:
    """A set of positive integer ids as sorted, disjoint, non-adjacent runs."""

    __slots__ = ("_firsts", "_lasts")

    def __init__(self) -> None:
        """An empty set."""
        self._firsts: list[int] = []
        self._lasts: list[int] = []

    def add(self, record_id: int) -> None:
        """Add one id (any order; fastest in ascending order)."""
        firsts, lasts = self._firsts, self._lasts
        if lasts and record_id > lasts[-1]:  # the usual case: ascending ids
            if record_id == lasts[-1] + 1:
                lasts[-1] = record_id
            else:
                firsts.append(record_id)
                lasts.append(record_id)
            return
        # The first run whose last id is >= record_id - 1 may take it.
        index = bisect_left(lasts, record_id - 1)
        if index == len(lasts):
            firsts.append(record_id)
            lasts.append(record_id)
            return
        if firsts[index] <= record_id <= lasts[index]:
            return
        if lasts[index] == record_id - 1:
            lasts[index] = record_id
            # It may now touch the next run: merge them.
            if index + 1 < len(firsts) and firsts[index + 1] == record_id + 1:
                lasts[index] = lasts.pop(index + 1)
                firsts.pop(index + 1)
            return
        if firsts[index] == record_id + 1:
            firsts[index] = record_id
            return
        firsts.insert(index, record_id)
        lasts.insert(index, record_id)

    def __contains__(self, record_id: object) -> bool:
        """True when `record_id` is in the set."""
        if not isinstance(record_id, int):
            return False
        index = bisect_left(self._lasts, record_id)
        return index < len(self._lasts) and self._firsts[index] <= record_id

    def __len__(self) -> int:
        """The number of ids."""
        return sum(last - first + 1 for first, last in self.runs())

    def runs(self) -> Iterator[tuple[int, int]]:
        """The runs `(first, last)`, ascending."""
        return zip(self._firsts, self._lasts, strict=True)

    @classmethod
    def from_runs(cls, runs: list[tuple[int, int]]) -> IdRanges:
        """A set from runs already sorted, disjoint and non-adjacent (as `decode` gives)."""
        made = cls()
        made._firsts = [first for first, _ in runs]
        made._lasts = [last for _, last in runs]
        return made


def encode(ids: IdRanges) -> str:
    """The text form of `ids` (module docstring)."""
    parts: list[str] = []
    previous = 0
    for first, last in ids.runs():
        gap = _base36(first - previous)
        parts.append(gap if last == first else f"{gap}+{_base36(last - first)}")
        previous = last
    return FORM_PREFIX + ",".join(parts)


def decode(text: str) -> IdRanges:
    """The set a text of `encode` holds; ValueError on anything else."""
    if not text.startswith(FORM_PREFIX):
        msg = f"not an id-range text (it does not start with {FORM_PREFIX!r})"
        raise ValueError(msg)
    body = text[len(FORM_PREFIX) :]
    runs: list[tuple[int, int]] = []
    previous = 0
    for part in body.split(",") if body else ():
        gap, _, extra = part.partition("+")
        try:
            first = previous + int(gap, 36)
            last = first + (int(extra, 36) if extra else 0)
        except ValueError:
            msg = f"id-range text has {part!r}, not base-36 numbers"
            raise ValueError(msg) from None
        # Runs are ascending, positive and never touch: anything else was
        # not written by `encode`.
        if first < 1 or (runs and first <= previous + 1):
            msg = f"id-range text is not ascending at {part!r}"
            raise ValueError(msg)
        runs.append((first, last))
        previous = last
    return IdRanges.from_runs(runs)


def missing(previous: IdRanges, current: IdRanges) -> Iterator[int]:
    """The ids of `previous` that `current` lacks, ascending."""
    now = list(current.runs())
    index = 0
    for first, last in previous.runs():
        start = first
        # Skip the runs of `current` that end before this one starts.
        while index < len(now) and now[index][1] < start:
            index += 1
        probe = index
        while start <= last:
            if probe >= len(now) or now[probe][0] > last:
                yield from range(start, last + 1)
                break
            run_first, run_last = now[probe]
            if run_first > start:
                yield from range(start, run_first)
            start = max(start, run_last + 1)
            probe += 1


def _base36(number: int) -> str:
    if number == 0:
        return "0"
    digits: list[str] = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits))
