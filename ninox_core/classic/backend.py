"""`ClassicBackend`: the classic REST API behind the backend seam.

Each method is one or a few of `NinoxClient`'s typed helpers, with the
answer (already checked by `ninox_core.classic.checks`) turned into domain types.
Request counts are those of the helpers: the seam adds no request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    ScanReport,
    TableAddress,
    WriteOp,
    WriteResult,
)
from ninox_core.classic.calls import PAGE_SIZE
from ninox_core.classic.records import Elements, FieldIds, to_records, to_saved
from ninox_core.errors import NinoxNotFoundError
from ninox_core.model.schema import NinoxTable
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.files import download_file, upload_file

T = TypeVar("T")

#: What the classic API can do (docs/api.md; `Capabilities` says what each means).
CLASSIC_CAPABILITIES = Capabilities(
    stable_paging=True,
    change_feed_values=True,
    server_upsert=False,
    create_with_id=True,
    transactional_writes=False,
    record_sequences=True,
    max_page_size=PAGE_SIZE,
    files=True,
)


def _container(answer: Mapping[str, Any]) -> Container:
    """A team or database object (checked to have an `id`) as a `Container`."""
    name = answer.get("name")
    return Container(str(answer["id"]), None if name is None else str(name))


#: A change-feed node id: table id (upper-case letters) + record id.
_NODE_ID = re.compile(r"^([A-Z]+)(\d+)$")


class ClassicBackend:
    """The classic API (`/v1`) for one client: team → database → table, by letter ids."""

    capabilities = CLASSIC_CAPABILITIES

    def __init__(self, client: NinoxClient) -> None:
        """Speak through `client` (its lock, retries and deadline are the transport)."""
        self.transport = client

    # ---------------------------------------------------------- metadata

    def list_workspaces(self) -> list[Container]:
        """`GET /teams`."""
        return [_container(team) for team in self.transport.list_teams()]

    def list_databases(self, workspace: str) -> list[Container]:
        """`GET /teams/{team}/databases`."""
        return [_container(db) for db in self.transport.list_databases(workspace)]

    def list_tables(self, workspace: str, database: str) -> list[NinoxTable]:
        """`GET .../tables`: every table with its fields."""
        return self.transport.list_tables(workspace, database)

    def address(self, workspace: str, database: str, table: NinoxTable) -> TableAddress:
        """Team id, database id and the table's letter id."""
        return TableAddress(workspace, database, table.id)

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
        exact: bool = True,  # noqa: ARG002 (keyset pages are exact whatever is deleted)
        report: ScanReport | None = None,  # noqa: ARG002 (nothing to report: exact)
    ) -> Iterator[list[Record]]:
        """Keyset pages (`sinceId`, `sinceSq`, `style=ids`) as `Record`s."""
        field_ids = FieldIds(table)
        for page in self.transport.iter_record_pages(
            address.workspace,
            address.database,
            address.table,
            since_id=after_id,
            since_sq=None if since is None else since.value,
            page_size=PAGE_SIZE if page_size is None else page_size,
            choice_style=choice_style,
            style="ids",
            on_replaced=on_repaired,
        ):
            yield to_records(page, field_ids)

    def read_records(
        self, address: TableAddress, table: NinoxTable, ids: Sequence[int]
    ) -> dict[int, Record]:
        """One `GET .../records/{id}` per id; a 404 leaves the id out."""
        field_ids = FieldIds(table)
        found: dict[int, Record] = {}
        for record_id in ids:
            try:
                record = self.transport.get_record(
                    address.workspace, address.database, address.table, record_id
                )
            except NinoxNotFoundError:
                continue
            found[record_id] = to_records([record], field_ids)[0]
        return found

    def cursor_now(self, address: TableAddress, *, hint: Cursor | None = None) -> Cursor:
        """The database's sequence now, checked against the change feed (`read_sequence`)."""
        return Cursor(
            self.transport.read_sequence(
                address.workspace,
                address.database,
                address.table,
                since_sq=None if hint is None else hint.value,
            )
        )

    def scan_window(self, start: Cursor, seconds: float) -> tuple[str, str] | None:  # noqa: ARG002
        """None: sequences are no times, and keyset scans skip nothing."""
        return None

    def database_cursor(self, workspace: str, database: str) -> Cursor:
        """The database's `schema.seq`."""
        return Cursor(self.transport.database_sequence(workspace, database))

    def is_behind(self, now: Cursor, bookmark: Cursor) -> bool:
        """A sequence below the bookmark: the database went back (a restored backup)."""
        return bool(bookmark.value) and int(now.value) < int(bookmark.value)

    def changes(self, address: TableAddress, since: Cursor) -> ChangeSet:
        """`GET .../changes?sinceSq=N`, only `seq` and `removes` decoded.

        `removes` lists nodes of every table (`A12`): the table's own are
        kept, as record ids.
        """
        feed = self.transport.table_changes(
            address.workspace, address.database, address.table, since.value, updates=False
        )
        removed: list[int] = []
        for node in feed.get("removes") or ():
            match = _NODE_ID.match(str(node))
            if match and match.group(1) == address.table:
                removed.append(int(match.group(2)))
        seq = feed.get("seq")
        return ChangeSet(tuple(dict.fromkeys(removed)), Cursor(int(seq)) if seq else None)

    # ------------------------------------------------------------ writes

    def write(
        self, address: TableAddress, table: NinoxTable, plan: Sequence[WriteOp]
    ) -> WriteResult:
        """One `POST .../records`; each answer element's id and sequence.

        A batch of several elements is never resent as a whole (a server
        may apply part of one, docs/api.md); one that creates is never
        resent (`NinoxClient.save_records`).
        """
        element = Elements(table)
        answer = self.transport.save_records(
            address.workspace,
            address.database,
            address.table,
            [element(op) for op in plan],
            resend=False if len(plan) > 1 else None,
        )
        return to_saved(answer)

    def delete(self, address: TableAddress, ids: Sequence[int]) -> None:
        """`DELETE .../records`, confirmed (`checks.deleted`)."""
        self.transport.delete_records(address.workspace, address.database, address.table, ids)

    # ------------------------------------------------------- attachments

    def list_files(self, address: TableAddress, record_id: int) -> list[Attachment]:
        """`GET .../records/{id}/files` (`checks.file_list`) as `Attachment`s."""
        listed = self.transport.list_files(
            address.workspace, address.database, address.table, record_id
        )
        return [_attachment(meta) for meta in listed]

    def download_file(
        self,
        address: TableAddress,
        record_id: int,
        name: str,
        consume: Callable[[Iterator[bytes]], T],
        *,
        expected_size: int | None = None,
    ) -> T:
        """`GET .../files/{name}`, streamed (`ninox_core.transport.files`)."""
        return download_file(
            self.transport,
            address.workspace,
            address.database,
            address.table,
            record_id,
            name,
            consume,
            expected_size=expected_size,
        )

    def upload_file(
        self,
        address: TableAddress,
        record_id: int,
        name: str,
        open_file: FileOpener,
        size: int,
        content_type: str | None = None,
    ) -> Attachment:
        """`POST .../files`, streamed multipart (`checks.stored_file`)."""
        return _attachment(
            upload_file(
                self.transport,
                address.workspace,
                address.database,
                address.table,
                record_id,
                name,
                open_file,
                size,
                content_type,
            )
        )


def _attachment(meta: Mapping[str, Any]) -> Attachment:
    """A checked file object of the classic API (`checks.file_list`) as an `Attachment`."""
    size, seq = meta.get("size"), meta.get("seq")
    return Attachment(
        name=str(meta["name"]),
        size=size if type(size) is int else None,
        content_type=meta.get("contentType"),
        modified_at=meta.get("modifiedDate"),
        modified_by=meta.get("modifiedUser") or None,
        seq=seq if type(seq) is int else None,
    )
