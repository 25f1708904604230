"""`upload_files`: rows of a `files` stream become attachments again.

docs/spec.md "Settings" (`upload_files`), docs/api.md §7. A row from
tap-ninox with `download_files` names a record (`_table_id`, `_record_id`),
an attachment `name` and the `path` its bytes were written to; the sink
uploads the file at `path` to that record of the target database, streamed
from disk (`ninox_core.transport.files.upload_file`), under its original name.

- Idempotent: a record that already has a file of that name and size is
  left alone. One `GET .../files` per record and batch tells.
- A row's record may still wait in a table stream's batch, or not be read
  yet (the tap emits a record's `files` rows just before the record
  itself): when a record is not in Ninox, the commit policy commits the
  other pending batches first, and the rows of a batch's last record are
  carried over while that record is still not there (`FileUploadSink._upload`).
- Commits and STATE (docs/design.md, "Commit and state"): every row is a
  pending record of the commit policy until its file is uploaded (carried
  rows too), so a STATE is emitted only once every file its rows name is in
  Ninox.
- Only files under the target's own `files_path` (default `ninox-files`)
  are read: a row's `path` is server data, relayed by whatever wrote the
  input, so a path outside it (absolute, through `..`, or a symlink whose
  target lies outside) is refused with one line naming stream, record
  and path (`FileUploadSink._source`, docs/design.md "Attachments").
- A missing file at `path`, a table id the database does not have, a
  record that does not exist, an upload that fails: the run ends with one
  line naming the stream, the record and the file, exit 1. Uploads before
  it stay; the STATE emitted is the last one whose files are all uploaded.
"""

from __future__ import annotations

import posixpath
import typing as t
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from ninox_core.backend import Attachment, TableAddress
from ninox_core.cli.failures import mark_where
from ninox_core.errors import NinoxError, NinoxNotFoundError, NinoxWriteOutcomeUnknown
from target_ninox.context import RunContext, context_of
from target_ninox.errors import MappingError, WriteError

if t.TYPE_CHECKING:
    from singer_sdk import Target

    from target_ninox.commit_policy import CommitPolicy

TABLE_ID, RECORD_ID, NAME, PATH = "_table_id", "_record_id", "name", "path"
#: Default of `files_path`: the tap's default, so a copy on one machine needs no setting.
DEFAULT_FILES_PATH = "ninox-files"
#: Where a kept row remembers its input line.
LINE = "__line"

#: The target setting of this module (docs/spec.md "Settings").
UPLOAD_FILES_SETTING = th.Property(
    "upload_files",
    th.BooleanType,
    default=False,
    title="Upload files",
    description=(
        "Rows of a `files` stream (from tap-ninox with download_files) upload the file at "
        "`path` to record `_record_id` of the table with id `_table_id`; a record that "
        "already has a file of that name and size is left alone."
    ),
)

#: Where `upload_files` may read (docs/spec.md "Settings").
FILES_PATH_SETTING = th.Property(
    "files_path",
    th.StringType,
    default=DEFAULT_FILES_PATH,
    title="Files path",
    description=(
        "The directory (or fsspec URL) upload_files may read from: the files_path tap-ninox "
        "downloaded to. A row whose path lies outside it is refused."
    ),
)


def is_files_stream(stream_name: str) -> bool:
    """True for tap-ninox's `files` stream, also prefixed (`crm__files`)."""
    return stream_name == "files" or stream_name.endswith("__files")


class FileUploadSink(BatchSink):
    """Uploads the files a `files` stream's rows point to."""

    #: Committed after the other batches a STATE commits: its rows need
    #: their records in Ninox (target_ninox/commit_policy.py).
    commits_last = True

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Check the stream has the columns an upload needs."""
        super().__init__(target, stream_name, schema, key_properties)
        #: All this sink uses of the run (decision 0028); never the Target itself.
        self.run: RunContext = context_of(target)
        missing = [p for p in (TABLE_ID, RECORD_ID, NAME, PATH) if p not in schema["properties"]]
        if missing:
            raise MappingError(
                f"upload_files: the stream has no {', '.join(missing)} column; it needs the "
                "`files` stream of tap-ninox run with include_files and download_files",
                stream=stream_name,
            )
        self.uploaded = self.unchanged = 0
        #: Rows held back for the next batch (see `_upload`).
        self._carried: list[dict[str, Any]] = []

    # The commit policy (target_ninox/commit_policy.py) knows every row's
    # input line: a STATE is emitted only once the files of every row read
    # before it are uploaded, carried rows included.

    @property
    def _policy(self) -> CommitPolicy:
        return self.run.policy

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Keep what the upload needs (the batch is bounded by `batch_size_rows`)."""
        line = self.run.input_line()
        row = {key: record.get(key) for key in (TABLE_ID, RECORD_ID, NAME, PATH, "content_type")}
        row[LINE] = line
        context.setdefault("records", []).append(row)
        self._policy.record_read(self, line)

    @property
    @override
    def current_size(self) -> int:
        """Rows to upload, carried rows included (so that every commit sees them)."""
        return super().current_size + len(self._carried)

    @property
    @override
    def is_full(self) -> bool:
        """Full at `batch_size_rows` new rows (carried rows do not fill a batch)."""
        return super().current_size >= self.max_size

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Upload every file of the batch its record does not already have."""
        rows = self._carried + (context.get("records") or [])
        self._carried = []
        context["records"] = []
        self._run(rows, final=False)

    @override
    def clean_up(self) -> None:
        """At the end of the input: upload what was carried, then log what was uploaded."""
        if self._carried:
            rows, self._carried = self._carried, []
            self._run(rows, final=True)
        verb = "would upload" if self._dry_run else "uploaded"
        self.logger.info(
            "Stream '%s': %s %d files; %d were already there.",
            self.stream_name,
            verb,
            self.uploaded,
            self.unchanged,
        )
        super().clean_up()

    @property
    def _dry_run(self) -> bool:
        return bool(self.config.get("dry_run"))

    def _run(self, rows: list[dict[str, Any]], *, final: bool) -> None:
        """Upload `rows`; tell the commit policy what is done and what is carried."""
        # The client is free once no table write is in flight (write_queue.py).
        self.run.writes.settle()
        try:
            if rows:
                self._upload(rows, final=final)
        except Exception as exc:
            self._policy.batch_failed(self)
            if isinstance(exc, WriteError):
                raise
            if not isinstance(exc, (NinoxError, OSError)):
                # A bug of ours, reported as one (ninox_core/cli/failures.py).
                mark_where(exc, f"stream {self.stream_name!r}, uploading files")
                raise
            raise WriteError(
                f"stream {self.stream_name!r}: uploading files failed: {type(exc).__name__}: {exc}"
            ) from exc
        self._policy.batch_committed(self, still_pending=[row[LINE] for row in self._carried])

    def _upload(self, rows: list[dict[str, Any]], *, final: bool) -> None:
        """Upload `rows`, one listing per record.

        The rows of the batch's last record are carried to the next batch
        (or the end of the input) when that record is not in Ninox yet:
        tap-ninox sends a record's `files` rows just before the record, so a
        batch that fills up on a `files` row comes before its record. No STATE
        covers a carried row: tap-ninox writes STATE only after the record.
        """
        destination = self.run.destination
        # upload_files is classic-only (refused with workspace_id at the start).
        team_id, database_id = destination.workspace, destination.database
        tables = {table.id for table in destination.tables}
        by_record: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:
            by_record.setdefault((str(row[TABLE_ID]), int(row[RECORD_ID])), []).append(row)
        last = next(reversed(by_record))
        drained = False
        for (table_id, record_id), record_rows in by_record.items():
            where = f"stream {self.stream_name!r}: record {record_id} (table {table_id})"
            if table_id not in tables:
                raise WriteError(
                    f"{where}: database {database_id} has no table with id {table_id!r}; "
                    "upload_files needs a copy with the source's table ids"
                )
            sources = [(row, *self._source(row, where)) for row in record_rows]
            address = TableAddress(team_id, database_id, table_id)
            present = self._listed(address, record_id, where)
            if present is None and not drained:
                # Its record may wait in another sink's batch: write those first
                # (only then, so that table batches keep their size otherwise).
                self._policy.commit_others(self)
                drained = True
                present = self._listed(address, record_id, where)
            if present is None:
                if not final and (table_id, record_id) == last:
                    self._carried = record_rows
                    continue
                if not self._dry_run:
                    raise WriteError(
                        f"{where}: the record does not exist in table {table_id} of database "
                        f"{database_id}; copy the table's records too (select its stream)"
                    )
                present = {}  # its record would have been written by this run
            for row, fs, fs_path, size in sources:
                name = str(row[NAME])
                existing = present.get(name)
                if existing is not None and existing.size == size:
                    self.unchanged += 1
                    continue
                if not self._dry_run:
                    upload = partial(
                        self.run.destination.backend.upload_file,
                        address,
                        record_id,
                        name,
                        partial(fs.open, fs_path, "rb"),
                        size,
                        row.get("content_type"),
                    )
                    present[name] = self._confirmed_upload(
                        upload, (address, record_id), name, size, where, row
                    )
                self.uploaded += 1

    @cached_property
    def _files_root(self) -> tuple[Any, str, str]:
        """The filesystem and root of `files_path` (symlinks resolved), and the setting."""
        setting = str(self.config.get("files_path") or DEFAULT_FILES_PATH)
        fs, root = fsspec.core.url_to_fs(setting.rstrip("/") or ".")
        if isinstance(fs, LocalFileSystem):
            root = str(Path(root).resolve())
        return fs, root, setting

    def _confined(self, fs: Any, fs_path: str) -> str | None:
        """`fs_path` as it is read when it lies under `files_path`; None when it does not.

        On a local disk the path is resolved (`..` and every symlink
        followed) before the comparison, and the resolved path is what is
        read, so a link swapped afterwards changes nothing. Elsewhere
        (`s3://…`) there are no links: the path is normalised and must be in
        the same filesystem under the same prefix.
        """
        root_fs, root, _ = self._files_root
        if type(fs) is not type(root_fs):
            return None
        if isinstance(fs, LocalFileSystem):
            real = Path(fs_path).resolve()
            return str(real) if real.is_relative_to(root) else None
        normal = posixpath.normpath(fs_path)
        return normal if normal.startswith(root.rstrip("/") + "/") else None

    def _source(self, row: dict[str, Any], where: str) -> tuple[Any, str, int]:
        """The filesystem, path and size of the file a row points to (under `files_path`)."""
        name, path = row[NAME], row[PATH]
        if not path:
            raise WriteError(
                f"{where}: file {name!r} has no path; run tap-ninox with download_files"
            )
        fs, given = fsspec.core.url_to_fs(str(path))
        fs_path = self._confined(fs, given)
        if fs_path is None:
            raise WriteError(
                f"{where}: file {name!r}: {path} is not under files_path "
                f"{self._files_root[2]!r}, and upload_files reads only files there; set "
                "files_path to the directory tap-ninox downloaded to"
            )
        try:
            return fs, fs_path, int(fs.size(fs_path))
        except FileNotFoundError:
            raise WriteError(
                f"{where}: file {name!r}: {path} does not exist; run tap-ninox with "
                "download_files into the same files_path again"
            ) from None

    def _confirmed_upload(
        self,
        upload: Callable[[], Attachment],
        record: tuple[TableAddress, int],
        name: str,
        size: int,
        where: str,
        row: dict[str, Any],
    ) -> Attachment:
        """Upload once; an unconfirmed answer is checked against the record's files.

        An upload of the same name replaces the file, so one that was not
        confirmed and is not listed with its size is sent once more; one
        that is still not there fails the run (docs/design.md "Checked answers").
        """
        try:
            try:
                return upload()
            except NinoxWriteOutcomeUnknown:
                stored = self._stored(record, name, size, where)
                if stored is not None:
                    return stored
            try:
                return upload()
            except NinoxWriteOutcomeUnknown as lost:
                stored = self._stored(record, name, size, where)
                if stored is not None:
                    return stored
                raise WriteError(
                    f"{where}: uploading file {name!r} from {row[PATH]}: the server did "
                    f"not confirm it and does not list it ({lost.reason}); run again"
                ) from None
        except (NinoxError, OSError) as exc:
            raise WriteError(
                f"{where}: uploading file {name!r} from {row[PATH]} failed: {exc}"
            ) from exc

    def _stored(
        self, record: tuple[TableAddress, int], name: str, size: int, where: str
    ) -> Attachment | None:
        """The record's file `name` when it is listed with `size` bytes, else None."""
        stored = (self._listed(*record, where) or {}).get(name)
        return stored if stored is not None and stored.size == size else None

    def _listed(
        self, address: TableAddress, record_id: int, where: str
    ) -> dict[str, Attachment] | None:
        """The record's attachments by name; None when the record does not exist."""
        try:
            listed = self.run.destination.backend.list_files(address, record_id)
        except NinoxNotFoundError:
            return None
        except NinoxError as exc:
            raise WriteError(f"{where}: listing the record's files failed: {exc}") from exc
        return {meta.name: meta for meta in listed}


class SkippedFilesSink(BatchSink):
    """A `files` stream while `upload_files` is off: its rows are not uploaded.

    docs/spec.md "Settings": `upload_files` false means the rows of a
    `files` stream upload nothing, so they are read and left, with one INFO
    line per stream naming the setting; a stream mapped in `table_mapping`
    is written to its table as any other stream instead.
    """

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Say once per stream why its rows are skipped."""
        super().__init__(target, stream_name, schema, key_properties)
        if context_of(target).reports.first(f"skipped files {stream_name}"):
            self.logger.info(
                "Stream '%s': attachment rows are not uploaded (upload_files is off); set "
                "upload_files: true to upload the files they name, or map the stream in "
                "table_mapping to write the rows to a table.",
                stream_name,
            )

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Leave the row: nothing of it goes to Ninox."""

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Nothing to write."""
