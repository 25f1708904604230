"""The record change feed → `ChangeSet`, and the `asOf` cursor (docs/decisions/0022).

The feed (`GET …/records/changes?since=…`) lists ids created, updated or
deleted since a time, and its `meta.asOf`: the server's time the answer
covers up to, which the next read starts from. A `Cursor` holds `asOf`
minus `LOOKBACK` (RFC 3339, UTC, milliseconds): a server whose `asOf`
runs ahead of commits still in flight, or whose `since` is inclusive,
then costs a few ids read again, never a change missed. The tap stores
the cursor as it is; only this module reads its value.

Collapsing: a record may have several entries, in any order (docs/api.md,
server variants); the last by `changedAt` (feed order among equals)
decides: a deletion → `removed`, anything else → `changed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ninox_core.backend import ChangeSet, Cursor
from ninox_core.errors import NinoxCursorExpired
from ninox_core.model.datetimes import UTC, parse_datetime, singer_datetime, to_utc
from ninox_core.public.records import record_id

#: Subtracted from every `asOf` a cursor holds (docs/decisions/0022).
LOOKBACK = timedelta(seconds=60)
#: Added to the end of a scan's window (`PublicBackend.scan_window`): the
#: feed stamps milliseconds. The end is already late by the probe's and the
#: last page's network time (the elapsed time is the client's, from before
#: the probe to after the last page), so the margin stays small: a deletion
#: just after the read would make the next run read the table again.
SCAN_WINDOW_MARGIN = timedelta(milliseconds=10)
#: And per second of the scan: the server's and the client's clocks may tick
#: at slightly different rates (1,000 ppm: far more than NTP lets a clock slew).
SCAN_WINDOW_RATE = 0.001
#: How far before now (client clock) the probe for the current `asOf` asks from.
PROBE_WINDOW = timedelta(hours=1)
#: The feed's retention when the server does not say (`retentionCutoff`
#: absent): a bookmark older than this is taken as expired, since such a
#: server may silently answer less than was asked.
ASSUMED_RETENTION = timedelta(days=30)
#: `changeType` values that mean the record is gone.
_DELETIONS = frozenset({"delete", "deleted", "remove", "removed"})


def moment(text: Any) -> datetime | None:
    """An RFC 3339 / ISO 8601 time as an aware UTC datetime; None when it is none."""
    if not isinstance(text, str):
        return None
    try:
        return to_utc(parse_datetime(text))
    except ValueError:
        return None


def stamp(when: datetime) -> str:
    """`2026-12-07T10:00:00.000Z`: the form the feed takes as `since`."""
    when = to_utc(when)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def cursor_at(as_of: str) -> Cursor:
    """The cursor for a feed answer's `asOf`: `asOf` minus `LOOKBACK`."""
    when = moment(as_of)
    if when is None:
        raise NinoxCursorExpired(f"the change feed's asOf {as_of!r} is not a timestamp")
    return Cursor(stamp(when - LOOKBACK))


def since_of(cursor: Cursor, where: str) -> datetime:
    """The time a cursor stands for; a value that is none is an expired bookmark."""
    when = moment(cursor.value)
    if when is None:
        raise NinoxCursorExpired(
            f"{where}: the bookmark {str(cursor.value)[:40]!r} is not a change-feed time"
        )
    return when


def probe_since(now: datetime | None = None) -> str:
    """`since` for the probe that learns the current `asOf`: an hour back (client clock)."""
    return stamp((now or datetime.now(UTC)) - PROBE_WINDOW)


def check_reach(since: datetime, meta: Mapping[str, Any], where: str) -> None:
    """Raise `NinoxCursorExpired` when the feed no longer reaches back to `since`."""
    cutoff = moment(meta.get("retentionCutoff"))
    as_of = moment(meta.get("asOf"))
    if cutoff is not None and since < cutoff:
        raise NinoxCursorExpired(
            f"{where}: the bookmark ({stamp(since)}) is older than the change feed keeps "
            f"(from {stamp(cutoff)})"
        )
    if cutoff is None and as_of is not None and since < as_of - ASSUMED_RETENTION:
        raise NinoxCursorExpired(
            f"{where}: the bookmark ({stamp(since)}) is more than "
            f"{ASSUMED_RETENTION.days} days old and the server does not say how far back "
            "its change feed reaches"
        )


def collapse(entries: Iterable[Mapping[str, Any]], cursor: Cursor | None) -> ChangeSet:
    """The feed's entries (checked: each has an id), the last per record deciding."""
    ordered = list(entries)
    times = [moment(entry.get("changedAt")) for entry in ordered]
    positions = list(range(len(ordered)))
    if all(t is not None for t in times):
        positions.sort(key=lambda i: (times[i], i))
    last: dict[int, int] = {}
    for position in positions:
        rid = record_id(ordered[position].get("id"))
        if rid is not None:
            last.pop(rid, None)  # re-inserted: the order of the last entry counts
            last[rid] = position
    removed: list[int] = []
    changed: list[int] = []
    changed_at: dict[int, str] = {}
    for rid, position in last.items():
        kind = str(ordered[position].get("changeType") or "").lower()
        (removed if kind in _DELETIONS else changed).append(rid)
        when = times[position]
        if when is not None:
            changed_at[rid] = singer_datetime(when)
    return ChangeSet(tuple(removed), cursor, tuple(changed), changed_at)
