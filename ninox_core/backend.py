"""The backend seam: what the tap and the target ask of any Ninox API generation.

The connectors' algorithms (the tap's streams; the target's writer, key
index, lost-answer reconciliation and rerun markers) speak `Backend` and
the domain types below, never a wire format. Each API generation is one
implementation in its own sub-package: the classic REST API in
`ninox_core.classic` (the first); Ninox 4's Public API beside it, later.
The transport under them (`NinoxClient.send`: retries, deadline,
redaction) is shared. Why and how: docs/decisions/0020-backend-seam.md and
docs/design.md "Layers".

What an algorithm may not assume of every backend is a `Capabilities`
flag it consults, not a branch on which backend it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from ninox_core.model.schema import NinoxTable

if TYPE_CHECKING:
    from ninox_core.transport.client import NinoxClient

T = TypeVar("T")

#: `(record id, field key)` → report one text value the backend repaired.
RepairReport = Callable[[Any, Any], None]


@dataclass(frozen=True, slots=True)
class TableAddress:
    """Where a table lives, in the words every API generation has.

    Classic: team id, database id, table letter id. Public API: workspace,
    module, table name. The algorithms pass it along; only a backend reads
    its parts.
    """

    workspace: str
    database: str
    table: str

    def __str__(self) -> str:
        """`workspace/database/table`, for messages."""
        return f"{self.workspace}/{self.database}/{self.table}"


@dataclass(frozen=True, slots=True)
class Container:
    """A database (classic) or module (Public API) the key can see."""

    id: str
    #: None when the server gave no name.
    name: str | None


class Record(msgspec.Struct, gc=False):
    """One record as a backend read it, normalised once, inside the backend.

    `values` are keyed by field id whatever the server answered (a server
    may key them by name). `sequence` is the record's change number where
    the API has one (classic), else None. The created/modified metadata is
    passed on as the server sent it (None where the API has none).
    """

    id: int
    values: dict[str, Any]
    sequence: int | None = None
    created_at: Any = None
    created_by: Any = None
    modified_at: Any = None
    modified_by: Any = None


@dataclass(slots=True)
class ScanReport:
    """What a scan that is not `exact` tells its caller as it ends (`Backend.scan`).

    `read_before_last`: the largest id the scan had read before its last
    request. A record deleted during the scan can have hidden another from
    it (by shifting offset pages) only if it was read before a later
    request: only a deletion of an id up to this one can (0: none can).
    """

    read_before_last: int = 0


@dataclass(frozen=True, slots=True)
class Cursor:
    """A point in a table's (or database's) history, opaque to the algorithms.

    `value` is what the backend put in it and what a STATE stores (classic:
    the database's integer change sequence; Public API: the feed's `asOf`).
    Only the backend that made a cursor compares or reads it.
    """

    value: Any


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What a change feed says happened to a table since a cursor.

    `removed`: ids of the table's records deleted since (deduplicated, in
    feed order); `cursor`: the feed's own position (the cursor to read
    from next time), or None when the server did not say.
    `changed`: ids created or updated since and not deleted since (only
    backends without `change_feed_values` fill it: their caller reads those
    records by id; the classic feed's changes come from a scan since the
    cursor instead). `changed_at`: when the feed last reported each id of
    `changed` and `removed` (RFC 3339 UTC), where the feed tells.
    """

    removed: tuple[int, ...]
    cursor: Cursor | None
    changed: tuple[int, ...] = ()
    changed_at: Mapping[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class WriteOp:
    """One element of a write plan: a create, an update or an upsert.

    `values` are keyed by field id, in the shared type model's write forms
    (`ninox_core.model.write_values`); the backend turns them into its wire
    format. `record_id`: the record an update writes into, or the id an
    upsert gives its record (create with a chosen id, `create_with_id`).
    Kind `"upsert_by"` lets the server match the record by the value of
    `match_field` (a field id of a `unique` field; `server_upsert`).
    """

    kind: str  # "create", "update", "upsert" or "upsert_by"
    values: dict[str, Any]
    record_id: int | None = None
    match_field: str | None = None


class Saved(msgspec.Struct, gc=False):
    """One element of a checked write result: the record it wrote.

    `sequence` is the record's change number after the write, where the
    API tells it (classic), else None. `created`: whether the write made a
    new record, where the API tells (a server-matched upsert), else None.
    """

    id: int
    sequence: int | None = None
    created: bool | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an API generation can do; the algorithms consult these flags.

    - `stable_paging`: a scan resumes after an id, and records created or
      deleted during it shift nothing (classic: keyset paging by id);
    - `change_feed_values`: the change feed carries changed values, so an
      incremental read is one scan since a cursor (classic), not one read
      per changed id (Public API);
    - `server_upsert`: the server matches an upsert key itself (Public
      API's `upsert` by a unique field); else the target keeps a key index;
    - `create_with_id`: a create may choose its record's id (classic
      `_upsert` with `_id`), so a Ninox → Ninox copy keeps ids;
    - `transactional_writes`: a batch is applied whole or not at all, so a
      lost answer may be resent as a whole (not classic: a server may apply
      part of a batch, docs/api.md);
    - `record_sequences`: records carry a change number the lost-answer
      read-back and the rerun markers can read back from (classic);
    - `files`: records carry attachments the connectors can list, download
      and upload (classic; the Public API has no usable file calls);
    - `max_page_size`: the most records a page may ask for.
    """

    stable_paging: bool
    change_feed_values: bool
    server_upsert: bool
    create_with_id: bool
    transactional_writes: bool
    record_sequences: bool
    max_page_size: int
    files: bool = False


class Attachment(msgspec.Struct, gc=False):
    """One file attached to a record, as the backend listed it.

    `modified_at` is passed on as the server sent it (classic: epoch ms);
    `seq` is the file's change number where the API has one, else None.
    """

    name: str
    size: int | None = None
    content_type: str | None = None
    modified_at: Any = None
    modified_by: str | None = None
    seq: int | None = None


#: Opens a file to upload, at its start, once per try.
FileOpener = Callable[[], AbstractContextManager[IO[bytes]]]

#: A write plan's checked result: one `Saved` per `WriteOp`, in order.
WriteResult = list[Saved]


class Backend(Protocol):
    """The calls the tap and the target make of a Ninox API generation.

    Every answer a method returns has been checked where it entered the
    program (docs/decisions/0017-checked-answers.md); a write whose answer
    was lost or did not account for every element raises
    `NinoxWriteOutcomeUnknown` for the caller to reconcile.
    """

    capabilities: Capabilities
    #: The shared transport under the backend (retry settings, request count).
    transport: NinoxClient

    # ---------------------------------------------------------- metadata

    def list_workspaces(self) -> list[Container]:
        """Every workspace (classic: team) the key can see."""
        ...

    def list_databases(self, workspace: str) -> list[Container]:
        """Every database (module) of `workspace` the key can see."""
        ...

    def list_tables(self, workspace: str, database: str) -> list[NinoxTable]:
        """Every table of a database with its fields."""
        ...

    def address(self, workspace: str, database: str, table: NinoxTable) -> TableAddress:
        """The address of `table` of `database` (what the other calls take)."""
        ...

    # ------------------------------------------------------------- reads

    def scan(
        self,
        address: TableAddress,
        table: NinoxTable,
        *,
        after_id: int = 0,
        since: Cursor | None = None,
        page_size: int | None = None,
        choice_style: str = "names",
        on_repaired: RepairReport | None = None,
        exact: bool = True,
        report: ScanReport | None = None,
    ) -> Iterator[list[Record]]:
        """Pages of the table's records in ascending id order, never empty.

        `after_id`: only records with larger ids (a resumed scan; needs
        `stable_paging`: without it a scan restarts from the first record).
        `since`: only records changed after that cursor.
        `page_size`: records per page, by default `capabilities.max_page_size`
        (every read's default: the fewest requests).
        `on_repaired(record id, field)` hears of text the backend repaired.
        `exact`: every record that exists throughout the scan is in it,
        also when others are deleted meanwhile. `exact=False` lets a
        backend without `stable_paging` skip such a record for fewer
        requests (Public API: pages without overlap, docs/decisions/0022);
        its caller must catch the skip (docs/decisions/0023), with what
        `report` says when the pages end (left as it is by exact scans).
        """
        ...

    def read_records(
        self, address: TableAddress, table: NinoxTable, ids: Sequence[int]
    ) -> dict[int, Record]:
        """The records `ids` that exist, by id (deleted ones are left out)."""
        ...

    def cursor_now(self, address: TableAddress, *, hint: Cursor | None = None) -> Cursor:
        """A cursor at or after every change already made to the table.

        Read before a scan, it is the bookmark the scan's changes are
        covered by. `hint`: a cursor the caller already holds (a
        bookmark), which a backend may use to ask its server less.
        Only for tables with `has_history`; raises `NinoxCursorExpired`
        when the table has no history (any more) or the server has no
        change feed (Public API): the caller then reads in full, without
        a bookmark.
        """
        ...

    def scan_window(self, start: Cursor, seconds: float) -> tuple[str, str] | None:
        """The server times a read may have seen changes in, as RFC 3339 UTC texts.

        `start`: the `cursor_now` the read took first; `seconds`: how long
        it ran from just before taking it (the client's monotonic clock,
        so clock offsets cancel). The window starts at the cursor's time
        less the backend's look-back and ends `seconds` and a small margin
        after the server's time at `start`. None where cursors are no
        times (classic sequences: their scans are exact anyway).
        """
        ...

    def database_cursor(self, workspace: str, database: str) -> Cursor:
        """The database's own cursor now (the rerun marker's stamp)."""
        ...

    def is_behind(self, now: Cursor, bookmark: Cursor) -> bool:
        """True when the history went back before `bookmark` (a restored backup)."""
        ...

    def changes(self, address: TableAddress, since: Cursor) -> ChangeSet:
        """What the feed says changed since `since` (`ChangeSet`), and its cursor.

        Raises `NinoxCursorExpired` when the feed no longer reaches back to
        `since` (retention) or the table has no history any more: the
        caller then reads the table in full, with one warning.
        """
        ...

    # ------------------------------------------------------------ writes

    def write(
        self, address: TableAddress, table: NinoxTable, plan: Sequence[WriteOp]
    ) -> WriteResult:
        """Apply `plan` (one request where the API allows) and return its checked result.

        A plan that creates records is never resent after a lost answer
        (`NinoxWriteOutcomeUnknown`); without `transactional_writes` a plan
        of several elements is not resent either.
        """
        ...

    def delete(self, address: TableAddress, ids: Sequence[int]) -> None:
        """Delete the records `ids` (absent ids are ignored), confirmed by the server."""
        ...

    # ------------------------------------------------------- attachments
    # Only where `capabilities.files`. A files row names its table by id, so
    # these take the address `TableAddress(workspace, database, table id)`.

    def list_files(self, address: TableAddress, record_id: int) -> list[Attachment]:
        """The record's attachments (checked); `NinoxNotFoundError` when it does not exist."""
        ...

    def download_file(
        self,
        address: TableAddress,
        record_id: int,
        name: str,
        consume: Callable[[Iterator[bytes]], T],
        *,
        expected_size: int | None = None,
    ) -> T:
        """Pass the file's bytes, in chunks, to `consume` (called again from the start per try)."""
        ...

    def upload_file(
        self,
        address: TableAddress,
        record_id: int,
        name: str,
        open_file: FileOpener,
        size: int,
        content_type: str | None = None,
    ) -> Attachment:
        """Store a file of `size` bytes under `name` (replacing one of that name).

        An answer that does not confirm it raises `NinoxWriteOutcomeUnknown`.
        """
        ...


__all__ = [
    "Attachment",
    "Backend",
    "Capabilities",
    "ChangeSet",
    "Container",
    "Cursor",
    "FileOpener",
    "Record",
    "RepairReport",
    "Saved",
    "TableAddress",
    "WriteOp",
    "WriteResult",
]
