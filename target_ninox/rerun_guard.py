"""Unkeyed creates stay exact when a killed run is rerun from its last STATE.

docs/design.md, "Commit and state" (the rerun marker). Records without `_id` or
upsert key are created by every write; a run killed after Ninox committed
some of them, but before the STATE covering them came out, would create
them again when the pipeline reruns from the last STATE it emitted. The
commit policy keeps that window small; this module closes it.

Every STATE the target emits carries a *rerun marker*, under
`bookmarks._target_ninox` (or a top-level `_target_ninox` when the value
has no `bookmarks`): Singer SDK taps, tap-ninox among them, keep an unknown
stream's bookmark and emit their input state first, so a rerun's first
STATE hands the marker back.

    {"sq": 1234, "tables": {"A": {"sq": 1290, "ids": [81, 82]}}}

- `sq` (per table, else the default): the database sequence when the STATE
  was emitted. Every unkeyed create the STATE covers is at or below it;
  every create written after the STATE came out is above it.
- `ids`: unkeyed creates already in Ninox that the STATE does not cover
  (committed before it came out, or found by an earlier rerun and not
  matched yet).

Before a rerun writes its first unkeyed creates into a table, it reads the
records changed since the table's `sq` plus the listed `ids` (the
*candidates*), and each incoming create whose every written value equals a
candidate's is taken as that record, already there, one candidate per
create (the lost-answer reconciliation's matching, `TableWriter`). The
others are created.

A run that emitted no STATE yet emits `{"bookmarks": {}}` (nothing
covered, what a first run starts from) with its marker before its first
unkeyed create, so a first run killed early is rerun with a marker too.

A run that ends cleanly emits its last STATE once more with a *final*
marker, `{"tables": {"A": {"ids": [...]}}}`: no `sq`, only the creates
written after that STATE in the input (a tail without a STATE after it), so
the next, ordinary run matches nothing but those and never takes a record
someone else created for one of its own.

**Without record sequences** (the Ninox 4 Public API, whose records carry
no change number: `Capabilities.record_sequences` False) the stamp is a
cursor per table instead, the table's change feed position:

    {"tables": {"contacts": {"cursor": "2026-12-07T10:00:00.000Z", "ids": [81]}}}

read when a STATE is stamped, once per table written since the last stamp
(one change-feed request; none when nothing was written). A table that the
run has not announced yet is announced before its first unkeyed create:
the latest STATE is emitted once more with a marker that holds the table's
cursor, so creates a killed run made in a table it first wrote after its
last STATE are found too. A rerun's candidates are the records the feed
reports changed since the cursor (read by id) plus the listed ids. A table
without history has no feed and so no cursor: its entry lists only the
ids this run knows it created (from the answers); a create whose answer
was lost there fails the run instead (target_ninox/lost_answers.py). So
that a run killed while such a create is in flight is not rerun blind,
each unkeyed create batch into a table without history is preceded by the
latest STATE once more, its entry marked `"in_doubt": [first line, last
line]` until the answer came; a rerun from a STATE whose entry is in doubt
stops with one line (`CreatesInDoubt`) instead of creating them again.

Limits: the one mix-up left is a record another user creates or changes,
in the same table, between the killed run and its rerun, to exactly the
values of a create the rerun sends (that create is then not written). A
rerun whose first STATE has no marker (a tap that does not hand state
back) writes every create, as before.
"""

from __future__ import annotations

import logging
from array import array
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ninox_core.backend import Backend, Cursor, Record, TableAddress
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable

logger = logging.getLogger(__name__)

#: Where the marker lives in a STATE value (see the module docstring).
MARKER_KEY = "_target_ninox"


class _Creates:
    """(input line, record id) of unkeyed creates, 16 bytes each.

    A load of creates with one STATE at its end keeps every create here
    until that STATE: as tuples in a list they cost about 100 bytes each.
    """

    __slots__ = ("_ids", "_lines")

    def __init__(self) -> None:
        self._lines = array("q")
        self._ids = array("q")

    def __bool__(self) -> bool:
        return bool(self._ids)

    def extend(self, creates: Sequence[tuple[int, int]]) -> None:
        """Add (input line, record id) pairs."""
        for line, record_id in creates:
            self._lines.append(line)
            self._ids.append(record_id)

    def after(self, line: int) -> list[int]:
        """The ids of the creates read after input line `line`."""
        return [rid for at, rid in zip(self._lines, self._ids, strict=True) if at > line]

    def keep_after(self, line: int) -> None:
        """Forget the creates read at or before input line `line` (a STATE covers them)."""
        kept = [(at, rid) for at, rid in zip(self._lines, self._ids, strict=True) if at > line]
        self._lines = array("q", (at for at, _ in kept))
        self._ids = array("q", (rid for _, rid in kept))


class CandidateMatcher:
    """The first unclaimed candidate holding exactly a create's values, found by lookup.

    The candidates' values are indexed once per set of fields a create
    writes (nearly always one set per stream): values → the candidates
    holding them, in candidate order. Matching N creates against M
    candidates then costs about N + M steps, not N times M (a rerun of 43k
    records took 60 s that way). The answer is the one a scan in candidate
    order would give (target_ninox/reconcile.py `first_match`): the first
    candidate, not claimed and not created by this run, whose every
    written field holds the create's value.
    """

    def __init__(
        self,
        candidates: Sequence[Any],
        fields_of: Callable[[Any], Mapping[str, Any]],
        normalize: Callable[[Any], Any],
        *,
        id_of: Callable[[Any], int] = lambda record: int(record["id"]),
    ) -> None:
        """`fields_of(record)`: its fields by id; `normalize`: the key index's value form.

        `id_of(record)`: its id (by default a mapping's `id`; the target
        passes `Record`s, `ninox_core.backend`).
        """
        self._records = [(id_of(r), fields_of(r)) for r in candidates]
        self._normalize = normalize
        self._by_fields: dict[tuple[str, ...], dict[tuple[Any, ...], deque[int]]] = {}

    def take(
        self, wanted: Mapping[str, Any], claimed: set[int], skip: set[int] | frozenset[int]
    ) -> int | None:
        """The first candidate holding `wanted` (field id → normalized value), or None.

        Neither a `claimed` id nor one in `skip` (created by this run) is
        taken; the caller claims the one returned.
        """
        fields = tuple(sorted(wanted))
        index = self._by_fields.get(fields)
        if index is None:
            index = self._by_fields[fields] = self._index(fields)
        queue = index.get(tuple(wanted[f] for f in fields))
        if not queue:
            return None
        while queue and queue[0] in claimed:
            queue.popleft()  # claimed for good: never a match again
        # Ids in `skip` are passed over but kept (the set can shrink later);
        # claimed ones behind them are passed over too.
        return next((rid for rid in queue if rid not in skip and rid not in claimed), None)

    def _index(self, fields: tuple[str, ...]) -> dict[tuple[Any, ...], deque[int]]:
        normalize = self._normalize
        index: dict[tuple[Any, ...], deque[int]] = {}
        for record_id, values in self._records:
            # `normalize` gives hashable forms (tuples for lists and objects).
            key = tuple(normalize(values.get(f)) for f in fields)
            queue = index.get(key)
            if queue is None:
                index[key] = deque([record_id])
            else:
                queue.append(record_id)
        return index


@dataclass
class _Table:
    """What this run knows of one table's unkeyed creates."""

    #: The table's cursor value last read for a stamp (per-table mode).
    cursor: Any = None
    #: Written since `cursor` was read (or never read): read it again.
    dirty: bool = True
    #: Its entry (with a cursor) is in an emitted marker (per-table mode).
    announced: bool = False
    #: The table has a change feed (learnt from its first cursor read).
    history: bool | None = None
    #: Input lines of an unkeyed create in flight into a table without
    #: history: a rerun cannot tell whether it was applied.
    in_doubt: list[int] | None = None
    #: (input line, record id) of unkeyed creates in Ninox, not yet covered
    #: by an emitted STATE.
    created: _Creates = field(default_factory=_Creates)
    #: Records a killed run may have created for this run's input; None
    #: until read (only when the incoming marker asks for it).
    candidates: list[Record] | None = None
    #: Candidate ids matched to an incoming create.
    claimed: set[int] = field(default_factory=set)
    #: The candidates by their values (built on first use).
    matcher: CandidateMatcher | None = None


class CreatesInDoubt(Exception):
    """The STATE a rerun starts from says unkeyed creates were in flight, unconfirmed.

    Into a table without history, nothing can tell whether they were
    applied; the writer stops with one line rather than risk duplicates.
    """

    def __init__(self, table_id: str, lines: list[int]) -> None:
        """Keep the table and the stopped run's input lines."""
        self.table_id = table_id
        self.lines = lines
        super().__init__(f"table {table_id}: creates of input lines {lines} in doubt")


def marker_of(value: dict[str, Any]) -> dict[str, Any] | None:
    """The rerun marker a STATE value carries, if any."""
    if not isinstance(value, dict):
        return None
    bookmarks = value.get("bookmarks")
    found = bookmarks.get(MARKER_KEY) if isinstance(bookmarks, dict) else None
    if found is None:
        found = value.get(MARKER_KEY)
    return found if isinstance(found, dict) else None


def without_marker(value: dict[str, Any]) -> dict[str, Any]:
    """A STATE value as the tap wrote it (the marker taken out)."""
    if not isinstance(value, dict):
        return value
    out = {k: v for k, v in value.items() if k != MARKER_KEY}
    bookmarks = out.get("bookmarks")
    if isinstance(bookmarks, dict) and MARKER_KEY in bookmarks:
        out["bookmarks"] = {k: v for k, v in bookmarks.items() if k != MARKER_KEY}
    return out


class RerunGuard:
    """Stamps emitted STATEs with the rerun marker; finds a killed run's creates."""

    def __init__(
        self,
        database_sequence: Callable[[], int],
        *,
        table_cursor: Callable[[str], Any] | None = None,
        record_sequences: Callable[[], bool] = lambda: True,
    ) -> None:
        """`database_sequence()` reads the database's current sequence.

        Where the backend has no record sequences (`record_sequences()`
        False, asked when first needed), `table_cursor(table id)` reads a
        table's change-feed cursor value instead (None: the table has no
        history), and the markers hold one per table.
        """
        self._database_sequence = database_sequence
        self._table_cursor = table_cursor
        self._record_sequences = record_sequences
        self._per_table: bool | None = None
        #: Per-table mode: unkeyed creates no stamped marker lists yet.
        self._unstamped = False
        #: The marker of the latest STATE read (from the run being rerun).
        self.incoming: dict[str, Any] | None = None
        #: Highest sequence known to be in the past (answers, reads).
        self._top: int | None = None
        #: A write whose sequence is not known happened since `_top`.
        self._unsure = False
        self._tables: dict[str, _Table] = {}
        #: Called once, before the run's first unkeyed create (the commit
        #: policy emits a STATE there if none came out yet).
        self.before_first_create: Callable[[], None] | None = None
        #: Per-table mode: called before the first unkeyed create into a
        #: table, to emit the latest STATE again with the table's cursor.
        self.announce: Callable[[], None] | None = None

    @property
    def per_table(self) -> bool:
        """True when markers hold a cursor per table (no record sequences)."""
        if self._per_table is None:
            self._per_table = self._table_cursor is not None and not self._record_sequences()
        return self._per_table

    # ------------------------------------------------------------- input

    def state_read(self, value: dict[str, Any]) -> None:
        """Remember the marker of a STATE read (tap-ninox hands it back)."""
        marker = marker_of(value)
        if marker is not None:
            self.incoming = marker

    # ------------------------------------------------------------ writes

    def saw_sequence(self, sequence: Any) -> None:
        """A record at `sequence` was read or written."""
        if isinstance(sequence, int):
            self._top = sequence if self._top is None else max(self._top, sequence)

    def wrote_unsequenced(self) -> None:
        """A write whose sequence the answer did not tell."""
        self._unsure = True

    def about_to_create(
        self, table_id: str | None = None, lines: tuple[int, int] | None = None
    ) -> None:
        """Unkeyed creates (of input `lines`) are about to be written (into `table_id`)."""
        if table_id is not None and self.per_table:
            table = self._table(table_id)
            table.dirty = True
            if not table.announced:
                self.before_first_create = None
                if self.announce is not None:
                    self.announce()
            if table.history is False and lines is not None and self.announce is not None:
                table.in_doubt = list(lines)
                self.announce()
            return
        hook, self.before_first_create = self.before_first_create, None
        if hook is not None:
            hook()

    def write_settled(self, table_id: str) -> None:
        """The write into `table_id` is answered or definitely refused: nothing in doubt."""
        table = self._tables.get(table_id)
        if table is not None and table.in_doubt is not None:
            table.in_doubt = None
            self._unstamped = True

    def wrote(self, table_id: str) -> None:
        """The run wrote into `table_id`: its cursor is read again for the next stamp."""
        table = self._tables.get(table_id)
        if table is not None:
            table.dirty = True

    def created(self, table_id: str, line: int, record_id: int) -> None:
        """An unkeyed create of input line `line` is record `record_id`."""
        table = self._table(table_id)
        table.created.extend([(line, record_id)])
        table.dirty = True
        self._unstamped = True

    def created_many(self, table_id: str, creates: Sequence[tuple[int, int]]) -> None:
        """Unkeyed creates of one answer: (input line, record id) each."""
        table = self._table(table_id)
        table.created.extend(creates)
        table.dirty = True
        self._unstamped = True

    def _table(self, table_id: str) -> _Table:
        return self._tables.setdefault(table_id, _Table())

    # ----------------------------------------------------------- reruns

    def candidates(
        self, table_id: str, read: Callable[[int | None, list[int]], list[Record]]
    ) -> tuple[list[Record], set[int]]:
        """The records a killed run may have created for this input, and those claimed.

        `read(since, ids)` reads the records changed since `since` (the
        marker's sequence, or in per-table mode its cursor value; None:
        none) plus the records `ids`. Read once per table, before its first
        unkeyed create; empty without an incoming marker.
        """
        table = self._table(table_id)
        if table.candidates is None:
            table.candidates = []
            entry = self._incoming_entry(table_id)
            doubt = entry.get("in_doubt") if entry is not None and self.per_table else None
            if isinstance(doubt, list) and doubt:
                table.candidates = None
                raise CreatesInDoubt(table_id, [int(line) for line in doubt])
            if entry is not None:
                since = self._since(entry)
                ids = [int(i) for i in entry.get("ids") or []]
                if since is not None or ids:
                    table.candidates = read(since, ids)
                    for record in table.candidates:
                        self.saw_sequence(record.sequence)
        return table.candidates, table.claimed

    def matcher(self, table_id: str, normalize: Callable[[Any], Any]) -> CandidateMatcher:
        """The candidates of a table (read by `candidates` first) by their values."""
        table = self._table(table_id)
        if table.matcher is None:
            table.matcher = CandidateMatcher(table.candidates or [], _VALUES, normalize, id_of=_ID)
        return table.matcher

    def _since(self, entry: dict[str, Any]) -> Any:
        """Where a marker entry's candidates start: its sequence, or its cursor."""
        if self.per_table:
            cursor = entry.get("cursor")
            return cursor if isinstance(cursor, str) and cursor else None
        since = entry.get("sq")
        return since if isinstance(since, int) else None

    def _incoming_entry(self, table_id: str) -> dict[str, Any] | None:
        marker = self.incoming
        if marker is None:
            return None
        tables = marker.get("tables")
        entry = tables.get(table_id) if isinstance(tables, dict) else None
        if isinstance(entry, dict):
            return entry
        if self.per_table:
            return None  # no database-wide stamp: every table has its own
        return {"sq": marker["sq"]} if isinstance(marker.get("sq"), int) else None

    # ------------------------------------------------------------ stamps

    def stamp(self, value: dict[str, Any], line: int, *, final: bool = False) -> dict[str, Any]:
        """The STATE `value` (read at input `line`) with the marker to emit."""
        if not isinstance(value, dict):
            return value  # not a Singer state object: nothing to carry a marker
        marker = self._marker(line, final=final)
        if marker is None:
            # No marker rather than the one the tap handed back, which
            # would point a rerun at a sequence before this run's writes.
            return without_marker(value)
        out = dict(value)
        bookmarks = out.get("bookmarks")
        if isinstance(bookmarks, dict):
            out["bookmarks"] = {**bookmarks, MARKER_KEY: marker}
        else:
            out[MARKER_KEY] = marker
        return out

    def _marker(self, line: int, *, final: bool) -> dict[str, Any] | None:
        tables: dict[str, Any] = {}
        if final:
            if line == 0:
                return {}  # the input had no STATE: nothing to list against
            for table_id, table in self._tables.items():
                ids = table.created.after(line)
                if ids:
                    tables[table_id] = {"ids": ids}
            return {"tables": tables} if tables else {}
        if self.per_table:
            return self._table_marker(line)
        sq = self._now()
        if sq is None:
            return None
        incoming = self.incoming or {}
        # Tables this run has not touched keep the marker it was given.
        default = incoming["sq"] if isinstance(incoming.get("sq"), int) else sq
        old_tables = incoming.get("tables")
        if isinstance(old_tables, dict):
            tables.update(old_tables)
        for table_id, table in self._tables.items():
            table.created.keep_after(line)
            ids = table.created.after(line)
            if table.candidates:
                ids += [r.id for r in table.candidates if r.id not in table.claimed]
            if table.candidates is not None or table.created or table_id in tables:
                entry: dict[str, Any] = {"sq": sq}
                if ids:
                    entry["ids"] = sorted(set(ids))
                tables[table_id] = entry
        marker: dict[str, Any] = {"sq": default}
        if tables:
            marker["tables"] = tables
        return marker

    def unstamped(self) -> bool:
        """True when unkeyed creates were made that no emitted marker accounts for.

        Per-table mode only: a table without history has no cursor to find
        them by, so a failed run emits its last STATE once more listing
        them (`CommitPolicy.end_run`). With record sequences the stamp's
        sequence already precedes them.
        """
        return self.per_table and self._unstamped

    def _table_marker(self, line: int) -> dict[str, Any] | None:
        """The per-table marker: each table's cursor (if it has history) and ids."""
        self._unstamped = False
        incoming = self.incoming or {}
        old_tables = incoming.get("tables")
        tables: dict[str, Any] = dict(old_tables) if isinstance(old_tables, dict) else {}
        for table_id, table in self._tables.items():
            table.created.keep_after(line)
            ids = table.created.after(line)
            if table.candidates:
                ids += [r.id for r in table.candidates if r.id not in table.claimed]
            if table.candidates is None and not table.created and table_id not in tables:
                continue
            if table.dirty and self._table_cursor is not None:
                try:
                    table.cursor = self._table_cursor(table_id)
                except NinoxError as exc:
                    logger.warning(
                        "Reading the change-feed cursor of table '%s' for the STATE's rerun "
                        "marker failed (%s); a rerun from this STATE may create unkeyed "
                        "records twice.",
                        table_id,
                        exc,
                    )
                    return None
                table.dirty = False
                table.history = table.cursor is not None
            entry: dict[str, Any] = {}
            if table.cursor is not None:
                entry["cursor"] = table.cursor
            if ids:
                entry["ids"] = sorted(set(ids))
            if table.in_doubt is not None:
                entry["in_doubt"] = table.in_doubt
            elif table.candidates is None and isinstance(tables.get(table_id), dict):
                # Its incoming doubt was never resolved (the rerun stopped on it).
                doubt = tables[table_id].get("in_doubt")
                if doubt:
                    entry["in_doubt"] = doubt
            tables[table_id] = entry
            table.announced = True
        return {"tables": tables} if tables else {}

    def _now(self) -> int | None:
        """A sequence at or above every write so far (read when answers did not tell)."""
        if self._top is None or self._unsure:
            try:
                sequence = self._database_sequence()
            except NinoxError as exc:
                logger.warning(
                    "Reading the database sequence for the STATE's rerun marker failed "
                    "(%s); a rerun from this STATE may create unkeyed records twice.",
                    exc,
                )
                return None
            self._unsure = False
            self.saw_sequence(sequence)
        return self._top


#: A candidate's values (by field id) and id, for `CandidateMatcher`.
_VALUES: Callable[[Any], Mapping[str, Any]] = attrgetter("values")
_ID: Callable[[Any], int] = attrgetter("id")


def read_candidates(
    backend: Backend, address: TableAddress, table: NinoxTable
) -> Callable[[Any, list[int]], list[Record]]:
    """`read(since, ids)` for `RerunGuard.candidates`, through the backend.

    A feed with values (classic) is one scan since the sequence; a feed of
    ids (Public API) names the records changed since the cursor, which
    are then read by id with the listed ones.
    """

    def read(since_sq: Any, ids: list[int]) -> list[Record]:
        found: dict[int, Record] = {}
        if since_sq is not None and not backend.capabilities.change_feed_values:
            # Raises NinoxCursorExpired past the feed's retention: the
            # caller fails with one line rather than guess.
            changed = backend.changes(address, Cursor(since_sq)).changed
            wanted = list(dict.fromkeys([*changed, *ids]))
            records = backend.read_records(address, table, wanted)
            return [records[i] for i in wanted if i in records]
        if since_sq is not None:
            for page in backend.scan(address, table, since=Cursor(since_sq)):
                for record in page:
                    sequence = record.sequence
                    if isinstance(sequence, int) and sequence <= since_sq:
                        continue  # a server that ignores sinceSq (docs/api.md)
                    found[record.id] = record
        # Deleted since: not found, nothing to match.
        missing = [record_id for record_id in dict.fromkeys(ids) if record_id not in found]
        found.update(backend.read_records(address, table, missing))
        return list(found.values())

    return read
