"""How a table stream reads where records carry no change sequence (Ninox 4 Public API).

docs/design.md "Reading Ninox 4 tables", docs/decisions/0023-reading-ninox-4-tables.md.

The read is chosen by what the backend and the table can do
(`read_mode`), never by which backend it is:

- `SEQUENCE_READ` (`Capabilities.record_sequences` and
  `change_feed_values`, the classic API): `tap_ninox/streams.py` as before;
- `FEED_READ` (the table `has_history`): the first run takes the feed's
  cursor (`cursor_now`, the server's `asOf`) BEFORE a full scan and
  bookmarks it, with the scan's window in server time (`WINDOW_KEY`,
  below); later runs ask the feed what changed since the bookmark,
  read the changed records by id (one request each; an id no longer there
  was deleted since) and emit the feed's deletions; the bookmark becomes
  the feed's own cursor, also when nothing changed. More changed ids than
  `CHANGED_IDS_LIMIT` are read by one full scan instead. A bookmark the
  feed no longer covers (retention, history turned off and on) re-reads
  the table in full, with one warning;
- `SCAN_READ` (no history): a full scan on every run; deletions are the
  ids of the last complete read (kept in the stream's state as
  `tap_ninox/id_ranges.py` text) that this read did not find, each checked
  with the server first, so a record an offset page skipped is emitted,
  not reported deleted. A read that did not complete leaves the ids of the
  last complete one in place and reports no deletions.

Offset pages shift when records are deleted during a scan: a record
behind the deleted one moves back past the cursor and is skipped. Full
reads scan without overlap (`Backend.scan(exact=False)`: ⌈N/100⌉ pages)
and catch the skip afterwards (docs/decisions/0023):

- without history, by the id comparison: a skipped record the last
  complete read had is among the vanished ids, asked of the server one
  GET each, emitted as a record and kept among the ids of this read (so
  its later deletion is reported). A skipped record that is new since the
  last complete read (or any, on a first run) is emitted by the next run:
  a full read emits every record every run;
- with history, by the scan's window: the server times between the
  cursor (the probe's `asOf` less the feed's look-back) and the scan's
  end (its elapsed time on the client's monotonic clock after `asOf`,
  plus a margin: clock offsets cancel), kept in the state
  (`WINDOW_KEY`). The next run reads the feed from the bookmark anyway:
  a deletion stamped inside the window may have hidden a record, so that
  run reads the table again in full with overlapping pages (exact), plus
  the feed's deletions, with one warning; otherwise it goes on
  incrementally. Either way the window is cleared when that run
  completes.

The ids a table without history seems to have lost are asked of the
server before they are reported deleted: a false deletion would drop a
live record from the replica until the next run.

An interrupted read restarts on the next run (offset pages cannot be
resumed): from the same bookmark and window, or in full. Nothing is lost;
records the interrupted run emitted are emitted again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ninox_core.backend import (
    Backend,
    Capabilities,
    ChangeSet,
    Cursor,
    Record,
    ScanReport,
    TableAddress,
)
from ninox_core.errors import NinoxCursorExpired, NinoxError
from ninox_core.model.datetimes import parse_datetime, to_utc
from ninox_core.model.schema import NinoxTable
from tap_ninox.id_ranges import IdRanges, decode, encode, missing
from tap_ninox.records import removed_record

SEQUENCE_READ, FEED_READ, SCAN_READ = "sequence", "changes", "full"
#: More changed ids than this: one full scan is cheaper than one read per id.
CHANGED_IDS_LIMIT = 1000
#: Up to this many vanished ids are checked one request each; more, by one more scan.
CHECKS_BY_ID_LIMIT = 1000
#: Stream-state key: the workspace a Ninox 4 stream's state belongs to.
WORKSPACE_KEY = "ninox_workspace"
#: Stream-state key: the ids of the last complete read (`SCAN_READ` tables).
IDS_KEY = "ninox_ids"
#: Stream-state key (`FEED_READ` tables): `start/end/id`, the server times
#: (RFC 3339 UTC) the last full read without overlap ran in
#: (`Backend.scan_window`) and the largest id it read before its last
#: request (`ScanReport`); absent after an incremental or exact read, or
#: when no deletion can have hidden a record (a one-page read).
WINDOW_KEY = "ninox_scan_window"
#: Id-range texts larger than this are not kept (see `ScanRead.keep_ids`).
IDS_STATE_LIMIT_BYTES = 1_000_000

Row = dict[str, Any]


def read_mode(capabilities: Capabilities, table: NinoxTable) -> str:
    """`SEQUENCE_READ`, `FEED_READ` or `SCAN_READ` (module docstring)."""
    if capabilities.record_sequences and capabilities.change_feed_values:
        return SEQUENCE_READ
    return FEED_READ if table.has_history else SCAN_READ


@dataclass
class TableRead:
    """What one read of a Ninox 4 table needs: where, how to convert, where to report.

    `convert` turns a `Record` into a row; `column_names` are the stream's
    field columns (a deleted record's are all null); `deleted_at` is the
    run's start (RFC 3339 UTC), the deletion time where the feed tells
    none; `state` is the stream's state (the read keeps `IDS_KEY` in it);
    `checkpoint` writes a STATE after a page.
    """

    backend: Backend
    address: TableAddress
    table: NinoxTable
    stream: str
    logger: logging.Logger
    convert: Callable[[Record], Row]
    column_names: Sequence[str]
    page_size: int
    include_deletes: bool
    deleted_at: str
    state: dict[str, Any]
    checkpoint: Callable[[], None]
    #: Set by a `FeedRead` when it ends: the bookmark to write.
    bookmark: str | None = field(default=None, init=False)
    #: Counts for the closing log line.
    records: int = field(default=0, init=False)
    deletions: int = field(default=0, init=False)

    @property
    def where(self) -> str:
        """`stream 'x' (table 'y', module m)`, for messages."""
        return f"stream '{self.stream}' (table {self.table.name!r}, module {self.address.database})"

    def tombstone(self, record_id: int, deleted_at: str | None, changed_at: str | None) -> Row:
        """The row of a deleted record."""
        self.deletions += 1
        return removed_record(
            self.column_names, record_id, deleted_at or self.deleted_at, changed_at
        )

    def scan(
        self,
        seen: IdRanges,
        changed_at: Mapping[int, str] | None = None,
        *,
        exact: bool,
        report: ScanReport | None = None,
    ) -> Iterator[list[Row]]:
        """Every record of the table, a page at a time, with a STATE after each page.

        The ids read are added to `seen`; `changed_at` gives `_changed_at`
        of the ids the feed reported. `exact=False`: the fewest requests,
        and a record may be skipped when another is deleted meanwhile
        (module docstring: how the caller catches it), with what `report`
        says when the pages end.
        """
        pages = self.backend.scan(
            self.address, self.table, page_size=self.page_size, exact=exact, report=report
        )
        for page in pages:
            for record in page:
                seen.add(record.id)
            rows = [self.convert(record) for record in page]
            if changed_at:
                for row in rows:
                    row["_changed_at"] = changed_at.get(row["_id"])
            self.records += len(rows)
            if rows:
                yield rows
            self.checkpoint()

    def previous_ids(self) -> IdRanges | None:
        """The ids of the last complete read, if the state has them."""
        text = self.state.get(IDS_KEY)
        if not self.include_deletes or text is None:
            return None
        try:
            return decode(str(text))
        except ValueError as exc:
            raise NinoxError(
                f"state: {IDS_KEY} is not what tap-ninox wrote ({exc}); "
                f"drop the stream's {IDS_KEY} (deletions are then found from the next run on)"
            ) from None

    def vanished(self, ids: list[int], seen: IdRanges) -> Iterator[list[Row]]:
        """Rows for ids the last complete read had and this one did not find.

        Each is asked of the server first (an offset page may have skipped
        it when another record was deleted during the scan): one that
        exists is emitted as a record, the others as deleted. Many are
        checked by one more scan instead of one request each.
        """
        alive: dict[int, Record] = {}
        if len(ids) <= CHECKS_BY_ID_LIMIT:
            for start in range(0, len(ids), self.page_size):
                alive.update(
                    self.backend.read_records(
                        self.address, self.table, ids[start : start + self.page_size]
                    )
                )
        else:
            wanted = set(ids)
            # Exact: a record this scan skipped would be reported deleted.
            for page in self.backend.scan(
                self.address, self.table, page_size=self.page_size, exact=True
            ):
                alive.update((r.id, r) for r in page if r.id in wanted)
        if alive:
            self.logger.warning(
                "%s: %d records the scan did not see exist (records were deleted during "
                "the scan, which shifts offset pages); they are emitted now",
                self.where,
                len(alive),
            )
        rows: list[Row] = []
        for record_id in ids:
            record = alive.get(record_id)
            if record is not None:
                seen.add(record_id)
                rows.append(self.convert(record))
                self.records += 1
            else:
                rows.append(self.tombstone(record_id, None, None))
            if len(rows) >= self.page_size:
                yield rows
                rows = []
        if rows:
            yield rows


class FeedRead:
    """`FEED_READ`: a table with history, read through its change feed (module docstring)."""

    def __init__(self, read: TableRead) -> None:
        """Read `read.table`; `read.bookmark` holds the new bookmark when the pages end."""
        self.read = read

    def pages(self, bookmark: str | None) -> Iterator[list[Row]]:
        """The rows of this run: changed (or all) records, then deleted ones."""
        read = self.read
        if bookmark is None:
            yield from self._full(None, reason="in full (no bookmark yet)")
            return
        began = time.monotonic()
        try:
            changes = read.backend.changes(read.address, Cursor(bookmark))
        except NinoxCursorExpired as exc:
            read.logger.warning(
                "%s: the change feed no longer covers the bookmark %s (%s); the table is "
                "read again in full. Records deleted since then are not reported as deleted",
                read.where,
                bookmark,
                exc,
            )
            yield from self._full(None, reason="in full (bookmark expired)")
            return
        cursor = changes.cursor or Cursor(bookmark)
        window: str | None = None
        hidden = self._deleted_during_last_scan(changes)
        if hidden is not None:
            read.logger.warning(
                "%s: %s, which may have hidden a record from that read's offset pages; "
                "the table is read again in full with overlapping pages",
                read.where,
                hidden,
            )
            window = yield from self._full(
                cursor,
                reason="in full with overlapping pages (records were deleted during the "
                "last full read)",
                changed_at=changes.changed_at,
                exact=True,
            )
        elif len(changes.changed) > CHANGED_IDS_LIMIT:
            window = yield from self._full(
                cursor,
                reason=f"in full ({len(changes.changed)} records changed since {bookmark}: "
                f"more than {CHANGED_IDS_LIMIT}, one scan is cheaper than a read per id)",
                changed_at=changes.changed_at,
                began=began,
            )
        else:
            read.logger.info(
                "Reading table %r: %d changed and %d deleted records since %s",
                read.table.name,
                len(changes.changed),
                len(changes.removed),
                bookmark,
            )
            yield from self._changed(changes)
        if read.include_deletes:
            yield from _batched(self._removed(changes), read.page_size)
        self._finish(cursor, window)

    def _finish(self, bookmark: Cursor, window: str | None) -> None:
        """The read completed: the new bookmark, and the window of its scan (or none)."""
        read = self.read
        read.bookmark = str(bookmark.value)
        if window is None:
            read.state.pop(WINDOW_KEY, None)
        else:
            read.state[WINDOW_KEY] = window

    def _deleted_during_last_scan(self, changes: ChangeSet) -> str | None:
        """Why the last full read may have skipped a record (None: it cannot have).

        The feed since the bookmark covers the last full read's window: a
        deletion stamped inside it (or not stamped) of a record that read
        had passed before its last request may have shifted an unread
        record behind that read's cursor.
        """
        text = self.read.state.get(WINDOW_KEY)
        if text is None:
            return None
        start, end, below = [*str(text).split("/"), "", ""][:3]
        first, last = _moment(start), _moment(end)
        if first is None or last is None or not below.isdigit():
            return f"the state's {WINDOW_KEY} {str(text)[:60]!r} is not what tap-ninox wrote"
        inside = 0
        for record_id in changes.removed:
            if record_id > int(below):
                continue  # read on the last page or not at all: it shifted nothing unread
            when = _moment(changes.changed_at.get(record_id))
            if when is None or first <= when <= last:
                inside += 1
        if not inside:
            return None
        return f"{inside} records were deleted while the last full read ran ({start} to {end})"

    def _changed(self, changes: ChangeSet) -> Iterator[list[Row]]:
        """The changed records, read by id; an id gone since is a deleted record."""
        read = self.read
        changed_at = changes.changed_at
        ids = list(changes.changed)
        for start in range(0, len(ids), read.page_size):
            chunk = ids[start : start + read.page_size]
            found = read.backend.read_records(read.address, read.table, chunk)
            rows: list[Row] = []
            for record_id in chunk:
                record = found.get(record_id)
                if record is None:
                    # Deleted after the feed was read: the feed of the next
                    # run lists the deletion too (a second, identical row).
                    if read.include_deletes:
                        rows.append(read.tombstone(record_id, None, changed_at.get(record_id)))
                    continue
                row = read.convert(record)
                row["_changed_at"] = changed_at.get(record_id)
                rows.append(row)
                read.records += 1
            if rows:
                yield rows

    def _removed(self, changes: ChangeSet) -> Iterator[Row]:
        read = self.read
        for record_id in changes.removed:
            when = changes.changed_at.get(record_id)
            yield read.tombstone(record_id, when, when)

    def _full(
        self,
        start: Cursor | None,
        *,
        reason: str,
        changed_at: Mapping[int, str] | None = None,
        exact: bool = False,
        began: float | None = None,
    ) -> Generator[list[Row], None, str | None]:
        """Read the table in full; bookmark the cursor taken before (`start`, else now).

        Taken before the scan, the cursor covers every change the scan may
        have missed: the next run reads them (decision 0002's argument,
        with the feed's `asOf` for the sequence). A scan that is not
        `exact` may skip a record when another is deleted meanwhile: it
        returns its window (`WINDOW_KEY`; `began`: the monotonic time just
        before `start` was taken), which the next run checks against the
        feed's deletions (module docstring). An exact scan (or a backend
        without a window, or a read no deletion can have shifted) returns
        None. Without `start` the read is the run's whole read: it sets the
        bookmark and window itself; else its caller does, when it ends.
        """
        read = self.read
        whole = start is None
        if start is None:
            began = time.monotonic()
            try:
                start = read.backend.cursor_now(read.address)
            except NinoxCursorExpired as exc:
                yield from self._without_feed(exc)
                return None
        if began is None:
            began = time.monotonic()
        first = start
        # A backend whose cursors are no times has no window to check: exact.
        exact = exact or read.backend.scan_window(first, 0.0) is None
        read.logger.info("Reading table %r %s", read.table.name, reason)
        # Ids of a complete read from before history was turned on: this
        # read's deletions are found by comparing, once (then no more ids).
        previous = read.previous_ids()
        seen = IdRanges()
        report = ScanReport()
        yield from read.scan(seen, changed_at=changed_at, exact=exact, report=report)
        window = None
        times = read.backend.scan_window(first, time.monotonic() - began)
        if not exact and times is not None and report.read_before_last > 0:
            window = f"{times[0]}/{times[1]}/{report.read_before_last}"
        if previous is not None:
            yield from read.vanished(list(missing(previous, seen)), seen)
        read.state.pop(IDS_KEY, None)
        if whole:
            self._finish(first, window)
        return window

    def _without_feed(self, why: NinoxCursorExpired) -> Iterator[list[Row]]:
        """No cursor to take (no history any more, or no feed): a `ScanRead`, no bookmark."""
        read = self.read
        read.logger.warning(
            "%s: the table's change feed gives no cursor (%s); it is read in full without "
            "a bookmark, and its deletions are found by comparing ids from the next run on",
            read.where,
            why,
        )
        for key in ("replication_key", "replication_key_value"):
            read.state.pop(key, None)
        yield from ScanRead(read).pages()
        return None


class ScanRead:
    """`SCAN_READ`: a table without history, read in full; deletions by id comparison."""

    def __init__(self, read: TableRead) -> None:
        """Read `read.table`, keeping its ids in `read.state[IDS_KEY]`."""
        self.read = read

    def pages(self) -> Iterator[list[Row]]:
        """Every record, then (with `include_deletes`) the ids the last read had and this lacks."""
        read = self.read
        previous = read.previous_ids()
        read.logger.info(
            "Reading table %r in full (no history: every run reads it in full)",
            read.table.name,
        )
        # A window belongs to a table with history (it had, or `_without_feed`).
        read.state.pop(WINDOW_KEY, None)
        seen = IdRanges()
        # Without overlap: a record skipped because another was deleted
        # meanwhile is among the vanished ids (checked below), or, if new
        # since the last complete read, emitted by the next run.
        yield from read.scan(seen, exact=False)
        # The scan completed: only now may ids it lacks count as deleted.
        if not read.include_deletes:
            read.state.pop(IDS_KEY, None)
            return
        if previous is not None:
            yield from read.vanished(list(missing(previous, seen)), seen)
        self.keep_ids(seen)

    def keep_ids(self, seen: IdRanges) -> None:
        """Keep `seen` as the ids of the last complete read, if it is small enough.

        Every STATE line carries every stream's state, and the STATE budget
        (decision 0018) holds lines back that outweigh the output. An id
        text above `IDS_STATE_LIMIT_BYTES` (a table of roughly 250,000
        scattered ids) is therefore not kept: the next run reports no
        deletions for the table, and this one says so once.
        """
        read = self.read
        text = encode(seen)
        if len(text) > IDS_STATE_LIMIT_BYTES:
            read.state.pop(IDS_KEY, None)
            read.logger.warning(
                "%s: the ids of its %d records take %d bytes, more than the %d the state "
                "keeps; deletions in this table are not reported (turn on history for the "
                "table in Ninox to have them)",
                read.where,
                len(seen),
                len(text),
                IDS_STATE_LIMIT_BYTES,
            )
            return
        read.state[IDS_KEY] = text


def _batched(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _moment(text: Any) -> datetime | None:
    """An RFC 3339 time as an aware UTC datetime; None when it is none."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return to_utc(parse_datetime(text))
    except ValueError:
        return None


def bookmark_of(state: Mapping[str, Any]) -> str | None:
    """The stream's bookmark (the feed's `asOf` text) in its state, or None."""
    value = state.get("replication_key_value")
    return None if value is None else str(value)
