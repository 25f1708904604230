"""What a table stream does for its `files` child stream (docs/spec.md "Streams").

The `files` stream is an SDK child stream of every table stream of its
database (see `tap_ninox/files.py`): the SDK syncs it once per record the
table stream reads, with the context this mixin gives.

When only `files` is selected, the SDK still reads the table streams (a
parent with a selected child) without emitting their records. Such a read
is always a full one and leaves the table stream's state alone: a bookmark
advanced without emitting records would make a later run that selects the
table skip them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

#: The columns that say which record a `files` row belongs to.
DATABASE_ID, TABLE_ID, RECORD_ID = "_database_id", "_table_id", "_record_id"


class FilesParent(Stream):
    """Mixin for table streams: child contexts for `files`, no state when unselected."""

    database_id: str
    table: Any

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """One context per live record: database, table and record id.

        A deleted record (incremental runs) has no attachments to list.
        """
        if record.get("_sdc_deleted_at"):
            return
        yield {DATABASE_ID: self.database_id, TABLE_ID: self.table.id, RECORD_ID: record["_id"]}

    @override
    def get_starting_replication_key_value(self, context: Context | None) -> Any | None:
        """No bookmark while the stream is read only for its `files` child: a full read."""
        if not self.selected:
            return None
        return super().get_starting_replication_key_value(context)

    @override
    def get_context_state(self, context: Context | None) -> dict[str, Any]:
        """A throwaway state while unselected, so the table's real state stays as it was."""
        if not self.selected:
            scratch: dict[str, Any] = self.__dict__.setdefault("_files_only_state", {})
            return scratch
        return super().get_context_state(context)
