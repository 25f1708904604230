"""The one-line messages of a write that failed or whose outcome is unknown."""

from __future__ import annotations

import re
from collections.abc import Sequence

from target_ninox.batches import PendingRecord, Planned
from target_ninox.errors import show_value

_RECORD_INDEX = re.compile(r"\b(?:record|element|item|index)\D{0,12}?(\d+)", re.IGNORECASE)


def record_index(message: str) -> int | None:
    """The 0-based position of the refused record in Ninox's 400 message."""
    match = _RECORD_INDEX.search(message or "")
    return int(match.group(1)) if match else None


def label(item: Planned, key_properties: Sequence[str]) -> str:
    """`input line 12 (key email='a@b')`, naming every merged line."""
    lines = [r.line for r in item.sources]
    text = (
        f"input line {lines[0]}" if len(lines) == 1 else "input lines " + ", ".join(map(str, lines))
    )
    first = item.sources[0]
    if first.record_id is not None:
        return f"{text} (_id {first.record_id})"
    if first.key_values is not None and key_properties:
        pairs = zip(key_properties, first.key_values, strict=False)
        shown = ", ".join(f"{p}={show_value(v, 40)}" for p, v in pairs)
        return f"{text} (key {shown})"
    return text


def lines_of(run: Sequence[PendingRecord]) -> str:
    """`input lines 3-9` for a run of records."""
    low, high = run[0].line, run[-1].line
    return f"input line {low}" if low == high else f"input lines {low}-{high}"


def span(pending: Sequence[Planned]) -> str:
    """`input lines 3-9` for the records merged into some elements."""
    lines = [r.line for p in pending for r in p.sources]
    if not lines:
        return "no input lines"
    low, high = min(lines), max(lines)
    return f"input line {low}" if low == high else f"input lines {low}-{high}"
