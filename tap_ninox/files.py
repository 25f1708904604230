"""The `files` stream: attachment metadata and, with `download_files`, bytes.

docs/spec.md "Streams" (the `files` stream), docs/api.md §7.

Shape: one `files` stream per database (`<database>__files` when several
are synced), an SDK child stream (`parent_stream_type`) of every table
stream of that database. The SDK syncs it once per record a table stream
reads, with the context `FilesParent.generate_child_contexts` gives
(database, table, record id): one `GET .../files` per record, and memory
that does not depend on the table's size. On an incremental run only the
changed records are read, so only their attachments are listed; deleted
records are skipped.

Only `files` selected: the SDK reads the table streams without emitting
their records (see `tap_ninox/file_parent.py`): every run lists the
attachments of every record, and with `download_files` fetches only the
new or changed ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk import typing as th
from typing_extensions import override

from ninox_core.backend import Attachment, TableAddress
from ninox_core.errors import NinoxConfigError, NinoxError, NinoxNotFoundError
from ninox_core.model.datetimes import epoch_ms_to_singer
from tap_ninox.file_parent import DATABASE_ID, RECORD_ID, TABLE_ID
from tap_ninox.file_store import FileStore, safe_names
from tap_ninox.streams import NinoxStream, TableStream

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from tap_ninox.tap import TapNinox

#: Name of the stream (prefixed `<database>__` when several databases are synced).
FILES_STREAM = "files"
DEFAULT_FILES_PATH = "ninox-files"

#: The tap settings of this module (docs/spec.md "Settings").
FILES_SETTINGS = (
    th.Property(
        "download_files",
        th.BooleanType,
        default=False,
        title="Download files",
        description=(
            "With include_files, also copy each attachment's bytes to files_path "
            "(unchanged files are not fetched again)."
        ),
    ),
    th.Property(
        "files_path",
        th.StringType,
        default=DEFAULT_FILES_PATH,
        title="Files path",
        description=(
            "Where downloaded attachments go: a local directory or an fsspec URL "
            "(s3://bucket/prefix, gs://…, with that fsspec package installed). Files are "
            "written under <files_path>/<database id>/<table id>/<record id>/<name>."
        ),
    ),
)


class FilesStream(NinoxStream):
    """Attachments of every record its database's table streams read this run."""

    parent_stream_type = TableStream
    # One state for the stream, not one partition per record (the SDK's
    # default for child streams would grow the state with the table).
    state_partitioning_keys: list[str] = []
    # One SCHEMA per run, not one before every parent record's files.
    schema_once_per_run = True
    primary_keys = [DATABASE_ID, TABLE_ID, RECORD_ID, "name"]
    schema = {
        "type": "object",
        "properties": {
            DATABASE_ID: {"type": ["string"]},
            TABLE_ID: {"type": ["string"]},
            RECORD_ID: {"type": ["integer"]},
            "name": {"type": ["string"]},
            "content_type": {"type": ["string", "null"]},
            "size": {"type": ["integer", "null"]},
            "modified_at": {"type": ["string", "null"], "format": "date-time"},
            "modified_by": {"type": ["string", "null"]},
            "seq": {"type": ["integer", "null"]},
            "path": {"type": ["string", "null"]},
            "sha256": {"type": ["string", "null"]},
        },
    }

    @cached_property
    def store(self) -> FileStore | None:
        """Where bytes go with `download_files`, else None."""
        if not self.config.get("download_files"):
            return None
        return FileStore(str(self.config.get("files_path") or DEFAULT_FILES_PATH))

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        """The SDK's own lines at DEBUG: it logs one per sync, that is per parent record."""
        super().log(message, *args, level=min(level, logging.DEBUG), **kwargs)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """One `GET .../files` for the record of `context`; one row per attachment."""
        if not context or context.get(DATABASE_ID) != self.database_id:
            return
        table_id, record_id = str(context[TABLE_ID]), int(context[RECORD_ID])
        try:
            listed = self.backend.list_files(self._address(table_id), record_id)
        except NinoxNotFoundError:
            # Deleted since the table stream read it: nothing to list.
            return
        except NinoxError as exc:
            raise NinoxError(
                f"stream '{self.name}' (table {table_id}, record {record_id}): {exc}"
            ) from exc
        file_names = safe_names(meta.name for meta in listed)
        for meta in listed:
            row = self._row(table_id, record_id, meta, file_names[meta.name])
            if row is not None:
                yield row

    def _address(self, table_id: str) -> TableAddress:
        """Where the files of a table live (a files row names its table by id)."""
        return TableAddress(self.team_id, self.database_id, table_id)

    def _row(
        self, table_id: str, record_id: int, meta: Attachment, file_name: str
    ) -> dict[str, Any] | None:
        """The stream's row for one attachment; None when it was deleted meanwhile."""
        row: dict[str, Any] = {
            DATABASE_ID: self.database_id,
            TABLE_ID: table_id,
            RECORD_ID: record_id,
            "name": meta.name,
            "content_type": meta.content_type,
            "size": meta.size,
            "modified_at": epoch_ms_to_singer(meta.modified_at),
            "modified_by": meta.modified_by,
            "seq": meta.seq,
            "path": None,
            "sha256": None,
        }
        if self.store is not None:
            try:
                row["path"], row["sha256"] = self._download(table_id, record_id, meta, file_name)
            except NinoxNotFoundError as exc:
                if self._still_listed(table_id, record_id, meta.name):
                    raise NinoxError(
                        f"stream '{self.name}': downloading file {meta.name!r} of record "
                        f"{record_id} (table {table_id}) failed: {exc}"
                    ) from exc
                self.logger.warning(
                    "%s: file %r of record %d (table %s) was deleted while the tap read it; "
                    "it is left out of this run",
                    self.name,
                    meta.name,
                    record_id,
                    table_id,
                )
                return None
        return row

    def _still_listed(self, table_id: str, record_id: int, name: str) -> bool:
        try:
            listed = self.backend.list_files(self._address(table_id), record_id)
        except NinoxNotFoundError:
            return False
        return any(meta.name == name for meta in listed)

    def _download(
        self, table_id: str, record_id: int, meta: Attachment, file_name: str
    ) -> tuple[str, str]:
        if self.store is None:  # only called with download_files, which sets it
            raise RuntimeError("files stream: download without a file store")
        name, size = meta.name, meta.size

        def fetch(consume: Any) -> str:
            return str(
                self.backend.download_file(
                    self._address(table_id), record_id, name, consume, expected_size=size
                )
            )

        try:
            stored = self.store.store(
                (self.database_id, table_id, record_id), meta, fetch, file_name
            )
        except NinoxNotFoundError:
            raise
        except (NinoxError, OSError) as exc:
            raise NinoxError(
                f"stream '{self.name}': downloading file {name!r} of record {record_id} "
                f"(table {table_id}) to {self.store.url} failed: {exc}"
            ) from exc
        if stored.downloaded:
            self.logger.info(
                "%s: downloaded %r of record %d (table %s), %s bytes, to %s",
                self.name,
                name,
                record_id,
                table_id,
                size,
                stored.path,
            )
        return stored.path, stored.sha256


def files_streams(tap: TapNinox, team_id: str, stream_names: dict[str, str]) -> list[FilesStream]:
    """The `files` stream of each database (`stream_names`: database id → stream name)."""
    return [
        FilesStream(tap, team_id=team_id, database_id=db_id, name=name)
        for db_id, name in stream_names.items()
    ]


def check_files_settings(config: Mapping[str, Any]) -> None:
    """`download_files` needs `include_files` (one clear line otherwise)."""
    if config.get("download_files") and not config.get("include_files"):
        raise NinoxConfigError(
            "download_files is true but include_files is false: set include_files to true "
            "to list and download attachments"
        )


def link_files_streams(streams: Iterable[Stream]) -> None:
    """Keep on each table stream only the `files` child of its own database.

    The SDK makes every stream of the child type a child of every stream of
    the parent type; with several databases a table stream would otherwise
    sync the `files` streams of the other databases too.
    """
    for stream in streams:
        if isinstance(stream, TableStream):
            stream.child_streams[:] = [
                child
                for child in stream.child_streams
                if not isinstance(child, FilesStream) or child.database_id == stream.database_id
            ]
