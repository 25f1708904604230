"""`PublicBackend`: Ninox 4's Public API behind the backend seam (docs/decisions/0022).

One workspace (its id is configuration: the API lists none), its modules
as databases, tables and fields by machine name. Reads page by `limit` +
`offset` (`paging.py`), incremental reads go through the change feed of
ids (`feed.py`), writes are split into transactional requests within the
API's limits (`writes.py`). Every answer is checked where it enters
(`checks.py`); every refusal is one line (`calls.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from ninox_core.backend import (
    Attachment,
    Capabilities,
    ChangeSet,
    Container,
    Cursor,
    FileOpener,
    Record,
    RepairReport,
    Saved,
    ScanReport,
    TableAddress,
    WriteOp,
    WriteResult,
)
from ninox_core.errors import (
    NinoxAPIError,
    NinoxBadRequestError,
    NinoxConfigError,
    NinoxCursorExpired,
    NinoxError,
    NinoxNotFoundError,
    NinoxRecordsMissing,
    NinoxUpsertUnavailable,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.model.schema import NinoxTable
from ninox_core.public import checks, feed
from ninox_core.public.calls import (
    READ_RECORDS,
    READ_STRUCTURE,
    WRITE_RECORDS,
    EndpointMissing,
    PublicCalls,
)
from ninox_core.public.checks import Page
from ninox_core.public.paging import offset_pages
from ninox_core.public.records import RecordReader
from ninox_core.public.scan import scan_rows
from ninox_core.public.schema import to_table
from ninox_core.public.writes import (
    MAX_DELETE_IDS,
    WireValues,
    batches,
    encoded_size,
    halves,
    runs,
)
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.session import segment

#: Records per page the API allows (docs/api.md, "The Public API (Ninox 4)").
PAGE_SIZE = 100

#: What the Public API can do (`Capabilities` says what each means).
PUBLIC_CAPABILITIES = Capabilities(
    stable_paging=False,
    change_feed_values=False,
    server_upsert=True,
    create_with_id=False,
    transactional_writes=True,
    record_sequences=False,
    max_page_size=PAGE_SIZE,
    files=False,
)

#: Tries of an upsert whose answer did not pass its check (it is idempotent).
_UPSERT_TRIES = 3
#: A 404 that is about the table, module or workspace, not a record.
_NOT_A_RECORD = re.compile(r"table|module|workspace|field", re.IGNORECASE)
_A_RECORD = re.compile(r"record|row", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")

T = TypeVar("T")


class PublicBackend:
    """Ninox 4's Public API for one client and one workspace: module → table, by name."""

    capabilities = PUBLIC_CAPABILITIES

    def __init__(self, client: NinoxClient, workspace_id: str) -> None:
        """Speak to workspace `workspace_id` through `client` (the shared transport)."""
        self.transport = client
        self.workspace_id = workspace_id
        self.calls = PublicCalls(client, workspace_id)
        self._root: dict[str, Any] | None = None
        self._tables: dict[str, list[NinoxTable]] = {}

    # ---------------------------------------------------------- metadata

    def _workspace(self) -> dict[str, Any]:
        """`GET /workspace/{id}` once per backend: name, modules, tables, fields."""
        if self._root is None:
            try:
                self._root = self.calls.call(
                    "GET", self.calls.root, checks.workspace, scope=READ_STRUCTURE
                )
            except NinoxNotFoundError as missing:
                raise NinoxConfigError(
                    f"workspace_id {self.workspace_id!r}: the server knows no such workspace "
                    f"({missing.server_message}); copy the id from the workspace's URL "
                    "(https://go.ninox.com/<organization>/<workspace>/…), and check that "
                    "base_url is the Public API's root (https://go.ninox.com/api/v1)"
                ) from None
        return self._root

    def _check_workspace(self, workspace: str) -> None:
        if workspace != self.workspace_id:
            raise NinoxConfigError(
                f"workspace {workspace!r}: this backend serves workspace {self.workspace_id!r} "
                "only (a Public API key works in one workspace)"
            )

    def list_workspaces(self) -> list[Container]:
        """The configured workspace (the API lists none; a key works in one)."""
        name = self._workspace().get("name")
        return [Container(self.workspace_id, None if name is None else str(name))]

    def list_databases(self, workspace: str) -> list[Container]:
        """The workspace's modules (`Container` id = name = the module's name)."""
        self._check_workspace(workspace)
        return [
            Container(str(m["name"]), str(m["name"])) for m in self._workspace()["modules"] or []
        ]

    def list_tables(self, workspace: str, database: str) -> list[NinoxTable]:
        """The module's tables with their fields (from the workspace answer, or asked per table)."""
        self._check_workspace(workspace)
        if database not in self._tables:
            module = next(
                (m for m in self._workspace()["modules"] or [] if m["name"] == database), None
            )
            if module is None:
                raise NinoxNotFoundError(
                    404,
                    "GET",
                    self.calls.root,
                    f"module {database!r} is not in workspace {self.workspace_id}",
                )
            self._tables[database] = self._module_tables(module)
        return self._tables[database]

    def _module_tables(self, module: Mapping[str, Any]) -> list[NinoxTable]:
        name = str(module["name"])
        base = f"{self.calls.root}/modules/{segment(name)}"
        listed = module.get("tables")
        if not isinstance(listed, list):
            listed = self._all(f"{base}/tables", checks.tables_page, READ_STRUCTURE)
        tables = []
        for table in checks.tables({"data": listed}, 200):
            fields = table.get("fields")
            if not isinstance(fields, list):
                # A server that does not nest fields: one call per table.
                path = f"{base}/tables/{segment(str(table['name']))}/fields"
                fields = self._all(path, checks.fields_page, READ_STRUCTURE)
            tables.append(to_table(table, checks.fields({"data": fields}, 200)))
        return tables

    def _all(self, path: str, check: Callable[[Any, int], Page], scope: str) -> list[Any]:
        """Every row of a paged metadata list."""
        rows: list[Any] = []
        for _, page in offset_pages(
            lambda offset, limit: self.calls.call(
                "GET", path, check, scope=scope, params={"limit": limit, "offset": offset}
            ),
            PAGE_SIZE,
        ):
            rows.extend(page.rows)
        return rows

    def address(self, workspace: str, database: str, table: NinoxTable) -> TableAddress:
        """Workspace id, module name and the table's name (what paths take)."""
        return TableAddress(workspace, database, table.name)

    def _path(self, address: TableAddress) -> str:
        return self.calls.table_path(address.database, address.table)

    # ------------------------------------------------------------- reads

    def scan(
        self,
        address: TableAddress,
        table: NinoxTable,
        *,
        after_id: int = 0,
        since: Cursor | None = None,
        page_size: int | None = None,
        choice_style: str = "names",  # noqa: ARG002 (choices read as names; the reader maps)
        on_repaired: RepairReport | None = None,
        exact: bool = True,
        report: ScanReport | None = None,
    ) -> Iterator[list[Record]]:
        """Offset pages of the table (`scan.scan_rows`), each in ascending id order, no id twice.

        No `since` (the feed has ids only: `changes` + `read_records`).
        `after_id` drops the ids up to it (there is no keyset paging: the
        read still starts at the first record). `exact`: pages overlap by
        one record (a deletion during the scan hides nothing); without,
        ⌈N/100⌉ pages and the caller catches a skipped record (`report`).
        """
        if since is not None:
            raise ValueError("the Public API reads changes by id: use changes() and read_records()")
        path = f"{self._path(address)}/records"
        limit = max(1, min(page_size or PAGE_SIZE, PAGE_SIZE))
        reader = RecordReader(table)

        def fetch(offset: int, size: int, sort: str | None) -> Page:
            params: dict[str, Any] = {"limit": size, "offset": offset}
            if sort:
                params["sort"] = sort
            page: Page = self.calls.call(
                "GET",
                path,
                checks.records_page,
                scope=READ_RECORDS,
                params=params,
                on_replaced=on_repaired,
            )
            return page

        for offset, sort, rows in scan_rows(fetch, limit, path, overlap=exact, report=report):
            fresh = [row for row in rows if int(row["id"]) > after_id]
            if reader.lacks_formulas(fresh):
                page = {"limit": limit, "offset": offset, **({"sort": sort} if sort else {})}
                fresh = self._add_formulas(address, reader, fresh, page)
            if fresh:
                yield [reader(row) for row in fresh]

    def read_records(
        self, address: TableAddress, table: NinoxTable, ids: Sequence[int]
    ) -> dict[int, Record]:
        """One `GET …/record/{id}` per id; a 404 leaves the id out."""
        reader = RecordReader(table)
        base = f"{self._path(address)}/record"
        found: dict[int, Record] = {}
        for record_id in dict.fromkeys(ids):
            try:
                row = self.calls.call(
                    "GET", f"{base}/{segment(record_id)}", checks.one_record, scope=READ_RECORDS
                )
            except NinoxNotFoundError as gone:
                if _NOT_A_RECORD.search(gone.server_message) and not _A_RECORD.search(
                    gone.server_message
                ):
                    raise
                continue
            if reader.lacks_formulas([row]):
                row = self._add_formulas(address, reader, [row], None)[0]
            record = reader(row)
            if record.id == record_id:
                found[record_id] = record
        return found

    def _add_formulas(
        self,
        address: TableAddress,
        reader: RecordReader,
        rows: list[dict[str, Any]],
        page: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """`rows` with their formula values, asked for by name (`fields=`).

        `page`: the `limit` and `offset` the rows were read with (asked
        again as one request), None for records read one by one. A row
        the page read again does not hold is read by its id.
        """
        names = ",".join(reader.formulas)
        path = self._path(address)
        found: dict[int, dict[str, Any]] = {}
        if page is not None:
            again: Page = self.calls.call(
                "GET",
                f"{path}/records",
                checks.records_page,
                scope=READ_RECORDS,
                params={**page, "fields": names},
            )
            found = {int(row["id"]): row.get("values") or {} for row in again.rows}
        out = []
        for row in rows:
            rid = int(row["id"])
            if rid not in found:
                one = self.calls.call(
                    "GET",
                    f"{path}/record/{segment(rid)}",
                    checks.one_record,
                    scope=READ_RECORDS,
                    params={"fields": names},
                )
                found[rid] = one.get("values") or {}
            extra = {name: found[rid].get(name) for name in reader.formulas}
            out.append({**row, "values": {**(row.get("values") or {}), **extra}})
        return out

    def _feed_page(self, address: TableAddress, params: dict[str, Any], where: str) -> Page:
        """One page of `…/records/changes`; an absent or refused feed → `NinoxCursorExpired`."""
        try:
            page: Page = self.calls.call(
                "GET",
                f"{self._path(address)}/records/changes",
                checks.feed_page,
                scope=READ_RECORDS,
                params=params,
            )
        except EndpointMissing:
            raise NinoxCursorExpired(
                f"{where}: the server has no record change feed (records/changes answered "
                "its web page)"
            ) from None
        except NinoxBadRequestError as refused:
            raise NinoxCursorExpired(
                f"{where}: the change feed refused: {refused.server_message}"
            ) from None
        return page

    def cursor_now(self, address: TableAddress, *, hint: Cursor | None = None) -> Cursor:  # noqa: ARG002
        """The feed's `asOf` now (one probe, `limit=1`), less `feed.LOOKBACK`.

        Raises `NinoxCursorExpired` when the table has no history (the feed
        refuses it) or the server has no feed.
        """
        where = f"table {address.table}"
        page = self._feed_page(address, {"since": feed.probe_since(), "limit": 1}, where)
        return feed.cursor_at(str(page.meta["asOf"]))

    def scan_window(self, start: Cursor, seconds: float) -> tuple[str, str] | None:
        """`[start's time, asOf + seconds + margins]` (`feed.SCAN_WINDOW_*`).

        A `cursor_now` is the probe's `asOf` less `feed.LOOKBACK`: the
        window starts there (a deletion stamped before an `asOf` that ran
        ahead of it is in it too) and ends `seconds` (client clock) after
        `asOf`, plus the margins for millisecond stamps and clock rates.
        """
        begin = feed.since_of(start, "the scan's start")
        late = feed.SCAN_WINDOW_MARGIN + timedelta(seconds=seconds * (1 + feed.SCAN_WINDOW_RATE))
        end = begin + feed.LOOKBACK + late
        return feed.stamp(begin), feed.stamp(end)

    def database_cursor(self, workspace: str, database: str) -> Cursor:  # noqa: ARG002
        """The server's time now, from the schema change feed's `asOf` (one probe)."""
        self._check_workspace(workspace)
        page: Page = self.calls.call(
            "GET",
            f"{self.calls.root}/schema/changes",
            checks.feed_page,
            scope=READ_STRUCTURE,
            params={"since": feed.probe_since(), "limit": 1},
        )
        return feed.cursor_at(str(page.meta["asOf"]))

    def is_behind(self, now: Cursor, bookmark: Cursor) -> bool:
        """True when the server's time went back before the bookmark."""
        later, earlier = feed.moment(now.value), feed.moment(bookmark.value)
        return later is not None and earlier is not None and later < earlier

    def changes(self, address: TableAddress, since: Cursor) -> ChangeSet:
        """The feed's pages since `since` (pinned to the first page's `asOf`), collapsed by id.

        Raises `NinoxCursorExpired` when the feed no longer reaches back to
        `since` (`retentionCutoff`; none said and `since` over 30 days
        old), refuses it, or the table has no history.
        """
        where = f"table {address.table}"
        start = feed.since_of(since, where)
        first_as_of: str | None = None
        entries: list[dict[str, Any]] = []

        def fetch(offset: int, size: int) -> Page:
            params: dict[str, Any] = {"since": feed.stamp(start), "limit": size, "offset": offset}
            if first_as_of is not None:
                params["asOf"] = first_as_of
            return self._feed_page(address, params, where)

        for _, page in offset_pages(fetch, PAGE_SIZE):
            if first_as_of is None:
                first_as_of = str(page.meta["asOf"])
                feed.check_reach(start, page.meta, where)
            entries.extend(page.rows)
        assert first_as_of is not None  # noqa: S101 (offset_pages yields at least one page)
        return feed.collapse(entries, feed.cursor_at(first_as_of))

    # ------------------------------------------------------------ writes

    def write(
        self, address: TableAddress, table: NinoxTable, plan: Sequence[WriteOp]
    ) -> WriteResult:
        """Each run of one kind as few requests as the limits allow; one `Saved` per op.

        Creates are never resent after a lost answer
        (`NinoxWriteOutcomeUnknown`); updates and upserts are idempotent and
        transactional, so the transport may resend them. An update of a
        record that does not exist fails its whole request (404): the
        batch is split until that record is isolated, the rest applied,
        then `NinoxRecordsMissing` names the missing ones.
        """
        path = f"{self._path(address)}/records"
        for op in plan:
            if op.kind not in ("create", "update", "upsert_by"):
                raise NinoxError(
                    f"{path}: a {op.kind!r} write (a record with a chosen id) is not possible "
                    "through the Ninox 4 Public API, which chooses every new record's id"
                )
        wire = WireValues(table)
        saved: list[Saved | None] = [None] * len(plan)
        missing: list[int] = []
        for kind, match_field, positions in runs(plan):
            if kind == "create":
                items = [wire(plan[p].values) for p in positions]
                for position, record_id in zip(positions, self._create(path, items), strict=True):
                    saved[position] = Saved(record_id, created=True)
            elif kind == "update":
                # The record's id last: it wins over a field named "id".
                items = [{**wire(plan[p].values), "id": plan[p].record_id} for p in positions]
                gone = set(self._update(path, items))
                for position in positions:
                    record_id = int(plan[position].record_id or 0)
                    if record_id in gone:
                        missing.append(record_id)
                    else:
                        saved[position] = Saved(record_id, created=False)
            else:
                assert match_field is not None  # noqa: S101 (runs() keeps it for upsert_by)
                items = [wire(plan[p].values) for p in positions]
                results = self._upsert(path, wire.name(match_field), items)
                for position, result in zip(positions, results, strict=True):
                    saved[position] = result
        if missing:
            raise NinoxRecordsMissing(path, missing, saved)
        return [s for s in saved if s is not None]

    def _create(self, path: str, items: list[dict[str, Any]]) -> list[int]:
        """`POST …/records` per size batch; a 413 halves the batch (nothing was applied)."""
        ids: list[int] = []
        for batch in batches(items, f"POST {path}", envelope=16):
            ids.extend(self._create_batch(path, [items[i] for i in batch]))
        return ids

    def _create_batch(self, path: str, items: list[dict[str, Any]]) -> list[int]:
        try:
            created: list[int] = self.calls.call(
                "POST",
                path,
                checks.created(len(items)),
                scope=WRITE_RECORDS,
                json={"records": items},
                idempotent=False,
            )
        except NinoxAPIError as refused:
            if refused.status != 413 or len(items) == 1:
                raise
            first, second = halves(list(range(len(items))))
            return self._create_batch(path, [items[i] for i in first]) + self._create_batch(
                path, [items[i] for i in second]
            )
        return created

    def _update(self, path: str, items: list[dict[str, Any]]) -> list[int]:
        """`PATCH …/records` per size batch; the ids of records that do not exist."""
        gone: list[dict[str, Any]] = []
        for batch in batches(items, f"PATCH {path}", envelope=16):

            def send(part: list[dict[str, Any]]) -> None:
                self.calls.call(
                    "PATCH",
                    path,
                    checks.updated([int(item["id"]) for item in part]),
                    scope=WRITE_RECORDS,
                    json={"records": part},
                )

            gone += _isolate(send, [items[i] for i in batch], lambda item: int(item["id"]))
        return [int(item["id"]) for item in gone]

    def _upsert(self, path: str, match: str, items: list[dict[str, Any]]) -> list[Saved]:
        """`POST …/records/upsert` by `match` per size batch; one `Saved` per item."""
        for position, item in enumerate(items, 1):
            if item.get(match) is None:
                raise NinoxError(
                    f"POST {path}/upsert: record {position} of the batch has no value for the "
                    f"match field {match!r}; an upsert by a unique field needs one"
                )
        out: list[Saved] = []
        envelope = 40 + encoded_size(match)
        for batch in batches(items, f"POST {path}/upsert", envelope=envelope):
            part = [items[i] for i in batch]
            made, kept = self._upsert_batch(path, match, part)
            out += self._upserted(path, match, part, made, kept)
        return out

    def _upsert_batch(
        self, path: str, match: str, items: list[dict[str, Any]]
    ) -> tuple[list[int], list[int]]:
        where = f"{path}/upsert"
        for tries in range(1, _UPSERT_TRIES + 1):
            try:
                made, kept = self.calls.call(
                    "POST",
                    where,
                    checks.upserted(len(items)),
                    scope=WRITE_RECORDS,
                    json={"matchField": match, "records": items},
                )
            except EndpointMissing:
                raise NinoxUpsertUnavailable(
                    where, "the server answered its web page: this deployment has no upsert"
                ) from None
            except NinoxWriteOutcomeUnknown:
                # Idempotent and transactional: sending it again is safe.
                if tries == _UPSERT_TRIES:
                    raise
                continue
            except NinoxAPIError as refused:
                raise _upsert_error(refused, where, match) from None
            return made, kept
        raise AssertionError("unreachable")  # pragma: no cover

    def _upserted(
        self,
        path: str,
        match: str,
        items: list[dict[str, Any]],
        made: list[int],
        kept: list[int],
    ) -> list[Saved]:
        """Which record each item wrote: by position when one kind; else found by its key.

        The answer lists the ids created and updated, each in request
        order, but not which item made which. A batch of both kinds is sent
        once more (an upsert is idempotent): every item now exists, so that
        answer lists every record as updated, in request order (one request,
        not one read per item). Only when that answer does not account for
        every item (a server that under-reports) is each item's record found
        by its match value (`filter`, one read per item).
        """
        if len(made) == len(items) and not kept:
            return [Saved(i, created=True) for i in made]
        if len(kept) == len(items) and not made:
            return [Saved(i, created=False) for i in kept]
        created = set(made)
        if len(made) + len(kept) == len(items):
            again_made, again_kept = self._upsert_batch(path, match, items)
            if not again_made and len(again_kept) == len(items):
                return [Saved(i, created=i in created) for i in again_kept]
        out = []
        for item in items:
            page: Page = self.calls.call(
                "GET",
                f"{path}",
                checks.records_page,
                scope=READ_RECORDS,
                params={"filter": json.dumps({match: item[match]}), "limit": 2},
            )
            ids = {int(row["id"]) for row in page.rows}
            if len(ids) != 1:
                raise NinoxWriteOutcomeUnknown(
                    "POST",
                    f"{path}/upsert",
                    f"the upsert was applied, but {len(ids)} records have {match} = "
                    f"{item[match]!r} afterwards",
                )
            (found,) = ids
            out.append(Saved(found, created=found in created))
        return out

    def delete(self, address: TableAddress, ids: Sequence[int]) -> None:
        """`DELETE …/records` in batches; absent ids are ignored, the rest confirmed."""
        path = f"{self._path(address)}/records"
        wanted = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(wanted), MAX_DELETE_IDS):

            def send(part: list[int]) -> None:
                self.calls.call(
                    "DELETE",
                    path,
                    checks.deleted(part),
                    scope=WRITE_RECORDS,
                    json={"records": part},
                )

            _isolate(send, wanted[start : start + MAX_DELETE_IDS], int)

    # ------------------------------------------------------- attachments

    def _no_files(self) -> NinoxError:
        return NinoxError(
            f"workspace {self.workspace_id}: the Ninox 4 Public API has no usable file calls "
            "(docs/api.md §11), so attachments cannot be listed, downloaded or uploaded; "
            "turn off include_files / upload_files"
        )

    def list_files(self, address: TableAddress, record_id: int) -> list[Attachment]:  # noqa: ARG002
        """Not available (`capabilities.files` is False): one line."""
        raise self._no_files()

    def download_file(
        self,
        address: TableAddress,  # noqa: ARG002
        record_id: int,  # noqa: ARG002
        name: str,  # noqa: ARG002
        consume: Callable[[Iterator[bytes]], T],  # noqa: ARG002
        *,
        expected_size: int | None = None,  # noqa: ARG002
    ) -> T:
        """Not available (`capabilities.files` is False): one line."""
        raise self._no_files()

    def upload_file(
        self,
        address: TableAddress,  # noqa: ARG002
        record_id: int,  # noqa: ARG002
        name: str,  # noqa: ARG002
        open_file: FileOpener,  # noqa: ARG002
        size: int,  # noqa: ARG002
        content_type: str | None = None,  # noqa: ARG002
    ) -> Attachment:
        """Not available (`capabilities.files` is False): one line."""
        raise self._no_files()


def _isolate(send: Callable[[list[T]], None], items: list[T], id_of: Callable[[T], int]) -> list[T]:
    """Send `items`; when a missing record fails the whole request (404), split until it is alone.

    Returns the items whose record does not exist; every other item was
    sent in a request that succeeded. A record the 404's message names is
    tried alone first (two requests instead of a bisection).
    """
    if not items:
        return []
    try:
        send(items)
    except NinoxNotFoundError as gone:
        message = gone.server_message
        if _NOT_A_RECORD.search(message) and not _A_RECORD.search(message):
            raise
        if len(items) == 1:
            return items
        numbers = set(_NUMBER.findall(message))
        named = [item for item in items if str(id_of(item)) in numbers]
        if len(named) == 1:
            rest = [item for item in items if item is not named[0]]
            return _isolate(send, rest, id_of) + _isolate(send, named, id_of)
        first, second = halves(list(range(len(items))))
        return _isolate(send, [items[i] for i in first], id_of) + _isolate(
            send, [items[i] for i in second], id_of
        )
    return []


def _upsert_error(refused: NinoxAPIError, where: str, match: str) -> NinoxError:
    said = refused.server_message
    if refused.status == 409:
        return NinoxAPIError(
            409,
            "POST",
            where,
            f"{said} (more than one record matches the upsert key {match!r}; make its values "
            "unique in Ninox, or write these records by _id)",
        )
    if refused.status == 404 and (_NOT_A_RECORD.search(said) is None or "cannot" in said.lower()):
        return NinoxUpsertUnavailable(where, f"HTTP 404: {said}")
    if refused.status == 400 and re.search(r"unique|matchField", said, re.IGNORECASE):
        return NinoxUpsertUnavailable(where, f"HTTP 400: {said}")
    return refused
