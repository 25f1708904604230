"""The tap's table streams: one per Ninox table (the `files` stream is in `files.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from ninox_core.backend import Backend, Cursor, TableAddress
from ninox_core.cli.progress import ProgressClock
from ninox_core.errors import NinoxError
from ninox_core.model.datetimes import epoch_ms_to_singer
from ninox_core.model.schema import NinoxTable
from ninox_core.read_ahead import read_ahead
from ninox_core.transport.client import NinoxClient
from tap_ninox._sdk_compat import CompatStream
from tap_ninox.cli import write_lines
from tap_ninox.file_parent import FilesParent
from tap_ninox.public_reads import (
    FEED_READ,
    SCAN_READ,
    SEQUENCE_READ,
    WORKSPACE_KEY,
    FeedRead,
    ScanRead,
    TableRead,
    bookmark_of,
    read_mode,
)
from tap_ninox.records import (
    CHANGES_META_SCHEMA,
    META_SCHEMA,
    Columns,
    default_columns,
    deleted_record,
    record_converter,
    surrogate_reporter,
    table_schema,
)

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_ninox.tap import TapNinox

#: Stream-state key of an unfinished read: where it stopped and its bookmark.
RESUME_KEY = "ninox_resume"
#: Up to this many removed ids of a resumed read are checked one request each.
_PER_ID_CHECKS = 50


class NinoxStream(CompatStream):
    """Base of the tap's streams: the tap's client and its typed config."""

    # Values are converted to their JSON types by `records.py`; the SDK's
    # generic conformance pass would only cost time (about a quarter of the
    # tap's CPU per record).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapNinox, *, team_id: str, database_id: str, **kwargs: Any) -> None:
        """Remember where in Ninox the stream reads from."""
        super().__init__(tap, **kwargs)
        self.ninox_tap = tap
        self.team_id = team_id
        self.database_id = database_id

    @property
    def client(self) -> NinoxClient:
        """The tap's API client (one per run: Ninox wants no parallel calls)."""
        return self.ninox_tap.client

    @property
    def backend(self) -> Backend:
        """The tap's backend (docs/design.md "Layers"), over the same client."""
        return self.ninox_tap.backend

    @property
    def page_size(self) -> int:
        """Records asked for per page: the setting, at most what the backend answers.

        A server capping lower is still read to its empty last page.
        """
        most = self.backend.capabilities.max_page_size
        return min(int(self.config.get("page_size") or most), most)

    @cached_property
    def every_property_selected(self) -> bool:  # type: ignore[override]
        """True when every column is selected (the SDK's selection walk is moot)."""
        return all(self.mask[("properties", name)] for name in self.schema["properties"])

    def write_lines(self, data: bytes | bytearray) -> None:
        """Write whole message lines through the tap's writer (signal-safe, unflushed)."""
        write_lines(data)


class TableStream(FilesParent, NinoxStream):
    """The records of one table, incremental on Ninox's change sequence.

    The bookmark is the database's sequence read *before* the table is read,
    so that a change made while the tap pages is read by this run or the
    next, never lost. Incremental runs read `sinceSq` = bookmark, keyset-paged
    by id, then (with `include_deletes`) the table's change feed for deleted
    ids.

    Where records carry no sequence (Ninox 4 Public API), the read is one of
    `tap_ninox/public_reads.py`, chosen by `read_mode`: through the change
    feed (replication key `_changed_at`, bookmark the feed's `asOf`) or, for
    a table without history, in full on every run (no replication key).
    """

    primary_keys = ["_id"]
    replication_key = "_sequence"
    # Records come in id order, not sequence order.
    is_sorted = False

    def __init__(
        self,
        tap: TapNinox,
        *,
        table: NinoxTable,
        name: str,
        columns: Columns | None = None,
        schema: dict[str, Any] | None = None,
        absent: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        """Build the stream's schema from the table's fields.

        `columns` (field id → column name), `schema` and `absent` (columns
        whose field no longer exists) come from an input catalog that
        carries Ninox ids; by default every field is a column named by
        discovery's rule.
        """
        self.table = table
        self.columns: dict[str, str] = dict(default_columns(table) if columns is None else columns)
        self.absent_columns = absent
        self.read_mode = read_mode(tap.backend.capabilities, table)
        sequences = self.read_mode == SEQUENCE_READ
        if schema is None:
            meta = META_SCHEMA if sequences else CHANGES_META_SCHEMA
            schema = table_schema(table, tap.logger, self.columns, meta)
        super().__init__(tap, name=name, schema=schema, **kwargs)
        if self.read_mode == FEED_READ:
            self.replication_key = "_changed_at"
        elif self.read_mode == SCAN_READ:
            self.replication_key = None  # type: ignore[assignment]

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> Any | None:
        """None: the bookmark is the server's cursor, never capped by the client clock."""
        return None

    @cached_property
    def address(self) -> TableAddress:
        """Where the table lives, for the backend."""
        return self.backend.address(self.team_id, self.database_id, self.table)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Yield changed (or, on a first run, all) records, then deleted ids."""
        for page in self.get_record_pages(context):
            yield from page

    def get_record_pages(self, context: Context | None) -> Iterable[list[dict[str, Any]]]:
        """The records of `get_records`, a page at a time (the deleted ids last).

        A resumable STATE follows each page of records: it is written when
        the next page is asked for, so after the page's RECORD messages.
        """
        try:
            if self.read_mode == SEQUENCE_READ:
                yield from self._read(context)
            else:
                yield from self._read_without_sequences(context)
        except NinoxError as exc:
            where = (
                f"module {self.database_id}"
                if self.ninox_tap.names_are_ids
                else f"id {self.table.id}, database {self.database_id}"
            )
            raise NinoxError(
                f"stream '{self.name}' (table {self.table.name!r}, {where}): {exc}"
            ) from exc

    def _read_without_sequences(self, context: Context | None) -> Iterable[list[dict[str, Any]]]:
        """`FEED_READ` or `SCAN_READ` (`tap_ninox/public_reads.py`)."""
        state = self.get_context_state(context)
        state[WORKSPACE_KEY] = self.team_id
        # Read only for a child stream: in full, the stream's state untouched.
        bookmark = bookmark_of(state) if self.selected else None
        read = TableRead(
            backend=self.backend,
            address=self.address,
            table=self.table,
            stream=self.name,
            logger=self.logger,
            convert=record_converter(
                self.table,
                self.config.get("choice_style", "names"),
                self.logger,
                self.columns,
                self.absent_columns,
                sequences=False,
            ),
            column_names=[*self.columns.values(), *self.absent_columns],
            page_size=self.page_size,
            include_deletes=bool(self.config.get("include_deletes", True)) and self.selected,
            deleted_at=epoch_ms_to_singer(self.ninox_tap.initialized_at) or "",
            state=state if self.selected else {},
            checkpoint=self.write_state_now,
        )
        clock = ProgressClock()
        if self.read_mode == FEED_READ:
            yield from FeedRead(read).pages(bookmark)
        else:
            if bookmark is not None:
                self.logger.warning(
                    "Stream '%s' (table %r, module %s): the table has no history any more "
                    "(it had at the bookmark %s); it is read in full on every run, and "
                    "deletions are found from the next run on",
                    self.name,
                    self.table.name,
                    self.database_id,
                    bookmark,
                )
                for key in ("replication_key", "replication_key_value"):
                    state.pop(key, None)
            yield from ScanRead(read).pages()
        self.logger.info(
            "%s: read %d records%s in %.1f s%s",
            self.name,
            read.records,
            f" and {read.deletions} deletions" if read.deletions else "",
            clock.elapsed,
            f"; bookmark {read.bookmark}" if read.bookmark else "",
        )
        state.pop(RESUME_KEY, None)
        if read.bookmark is not None and self.selected:
            self.set_final_bookmark(context, read.bookmark)

    def _read(self, context: Context | None) -> Iterable[list[dict[str, Any]]]:
        bookmark = self.get_starting_replication_key_value(context) or None
        state = self.get_context_state(context)
        after_id, sequence_before, full = self._starting_point(state, bookmark)
        # The bookmark the state was started from; what is read depends on `full`.
        started_from = bookmark
        if full:
            bookmark = None
        # Ids up to here were read (and emitted) by the run this one resumes.
        resumed_after = after_id
        choice_style = self.config.get("choice_style", "names")
        convert = record_converter(
            self.table, choice_style, self.logger, self.columns, self.absent_columns
        )
        emitted_now: set[int] = set()
        page_size = self.page_size
        clock = ProgressClock()
        count = pages = 0

        self.logger.info(
            "Reading table %r (%s) %s",
            self.table.name,
            self.table.id,
            f"changes since sequence {bookmark}" if bookmark else "in full",
        )
        # The next page is read while this one is converted and emitted (one
        # request in flight; docs/design.md, "At realistic latency").
        for page in read_ahead(
            self.backend.scan(
                self.address,
                self.table,
                after_id=after_id,
                since=None if bookmark is None else Cursor(bookmark),
                page_size=page_size,
                choice_style=choice_style,
                on_repaired=surrogate_reporter(self.table, self.logger),
            ),
            name=f"read-ahead {self.name}",
        ):
            pages += 1
            rows = [convert(record) for record in page]
            if bookmark:
                emitted_now.update(row["_id"] for row in rows)
            yield rows
            count += len(page)
            # Every page ends with a resumable STATE: a run that dies later
            # resumes after this page instead of reading the table again.
            state[RESUME_KEY] = {
                "since_sq": started_from,
                "after_id": page[-1].id,
                "sequence_before": sequence_before,
            }
            if full and started_from:
                state[RESUME_KEY]["full"] = True
            self.write_state_now()
            if clock.due():
                self.logger.info(
                    "%s: %d records in %d pages so far (%.1f s)",
                    self.name,
                    count,
                    pages,
                    clock.elapsed,
                )

        deleted = 0
        if bookmark and self.config.get("include_deletes", True):
            gone: list[dict[str, Any]] = []
            for row in self._deleted_records(bookmark, emitted_now, resumed_after):
                gone.append(row)
                if len(gone) >= page_size:
                    deleted += len(gone)
                    yield gone
                    gone = []
            if gone:
                deleted += len(gone)
                yield gone

        self.logger.info(
            "%s: read %d records in %d pages%s in %.1f s; bookmark %s",
            self.name,
            count,
            pages,
            f" and {deleted} deletions" if deleted else "",
            clock.elapsed,
            sequence_before,
        )
        self._finish(context, sequence_before)

    def _starting_point(self, state: dict[str, Any], bookmark: int | None) -> tuple[int, int, bool]:
        """The id to read after, the sequence to bookmark at the end, and whether in full.

        A fresh read starts at id 0 and takes the database sequence now
        (see the class docstring). A read an earlier run left unfinished
        (`RESUME_KEY`, same starting bookmark) goes on after its last page and
        keeps the sequence taken before it began.

        A database sequence below the bookmark means the database went back
        (a backup was restored): the changes made since take numbers the
        bookmark already covers, so a `sinceSq` read would skip them. The
        table is read in full instead, with one warning (docs/design.md
        "The read algorithm").
        """
        resume = state.get(RESUME_KEY)
        # Resuming after an id needs keyset paging (`Capabilities.stable_paging`).
        stable = self.backend.capabilities.stable_paging
        if stable and isinstance(resume, dict) and resume.get("since_sq") == bookmark:
            after_id = int(resume["after_id"])
            self.logger.info(
                "%s: resuming an interrupted read after record id %d", self.name, after_id
            )
            return after_id, int(resume["sequence_before"]), bool(resume.get("full"))
        hint = None if bookmark is None else Cursor(bookmark)
        now = self.backend.cursor_now(self.address, hint=hint)
        sequence = int(now.value)
        if hint is not None and self.backend.is_behind(now, hint):
            self.logger.warning(
                "Stream '%s' (table %r, id %s, database %s): the database's sequence %d is "
                "lower than the bookmark %d (was the database restored from a backup?); "
                "the table is read again in full. Records the restore removed are not "
                "reported as deleted",
                self.name,
                self.table.name,
                self.table.id,
                self.database_id,
                sequence,
                bookmark,
            )
            return 0, sequence, True
        return 0, sequence, False

    def _deleted_records(
        self, bookmark: int, live_ids: set[int], resumed_after: int
    ) -> Iterable[dict[str, Any]]:
        """One record per id the change feed lists as removed since `bookmark`.

        A feed may still list an id that was deleted, then created again
        under the same id (`_upsert`). Such a record is live: this run read
        it (`live_ids`), since its re-creation changed it after `bookmark`.
        On a resumed read the ids up to `resumed_after` were read by the
        interrupted run, whose memory is gone: for those, whether they
        exist is asked of the server (`_still_live`), so a resume never
        reports a live record deleted.
        """
        changes = self.backend.changes(self.address, Cursor(bookmark))
        feed_seq = int(changes.cursor.value) if changes.cursor is not None else 0
        # Every deletion of a run carries the run's start time.
        deleted_at = epoch_ms_to_singer(self.ninox_tap.initialized_at) or ""
        column_names = [*self.columns.values(), *self.absent_columns]
        # Deleted, then created again under the same id: it is live.
        removed = [record_id for record_id in changes.removed if record_id not in live_ids]
        unknown = [record_id for record_id in removed if record_id <= resumed_after]
        live = self._still_live(unknown, bookmark, resumed_after) if unknown else set()
        for record_id in dict.fromkeys(removed):
            if record_id not in live:
                yield deleted_record(column_names, record_id, feed_seq, deleted_at)

    def _still_live(self, record_ids: list[int], bookmark: int, up_to: int) -> set[int]:
        """Which of `record_ids` (all <= `up_to`) exist now.

        A few ids are asked for one by one; many, by reading again the
        changed records up to `up_to` (what the interrupted run had read):
        either way the cost is bounded by the work the run resumes.
        """
        if len(record_ids) <= _PER_ID_CHECKS:
            return set(self.backend.read_records(self.address, self.table, record_ids))
        wanted = set(record_ids)
        found: set[int] = set()
        for page in self.backend.scan(
            self.address,
            self.table,
            since=Cursor(bookmark),
            page_size=self.page_size,
        ):
            found.update(r.id for r in page if r.id in wanted)
            if page[-1].id >= up_to:
                break
        return found

    def _finish(self, context: Context | None, sequence: int) -> None:
        """Forget the resume point; bookmark `sequence` when the stream ends.

        The SDK would bookmark the largest `_sequence` it saw; the tap wants
        the database sequence taken before the read (docs/design.md), also
        when no record changed (so deletions are not read twice) and when
        records changed mid-read carry a larger one (so they are read again
        next time).
        """
        self.get_context_state(context).pop(RESUME_KEY, None)
        self.set_final_bookmark(context, sequence)
