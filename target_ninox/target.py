"""target-ninox: settings, the shared Ninox client, and how a run ends."""

from __future__ import annotations

import logging
import sys
import typing as t
from functools import partial
from typing import Any

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import TargetCapabilities
from singer_sdk.sinks import Sink
from typing_extensions import override

from ninox_core import __version__
from ninox_core.cli.failures import one_line, report_failure
from ninox_core.cli.inputs import ConfigInput, check_plugin_settings, config_or_exit
from ninox_core.cli.progress import ProgressClock
from ninox_core.cli.settings import connection_properties
from ninox_core.errors import NinoxConfigError, NinoxError
from ninox_core.termination import Interrupted
from target_ninox._sdk_compat import CompatTarget, SDKConfigInput
from target_ninox.commit_policy import CommitPolicy, RunEnd
from target_ninox.context import Destination, Reports, RunContext, Settings, TableWriters
from target_ninox.deletes import overwrite
from target_ninox.errors import (
    InputError,
    InvalidLineError,
    RecordBeforeSchemaError,
    TargetNinoxError,
    UnsupportedMessageError,
)
from target_ninox.file_upload import (
    FILES_PATH_SETTING,
    UPLOAD_FILES_SETTING,
    FileUploadSink,
    SkippedFilesSink,
    is_files_stream,
)
from target_ninox.mapping import describe_table
from target_ninox.reader import NinoxMessageReader
from target_ninox.rerun_guard import RerunGuard
from target_ninox.sinks import NinoxSink
from target_ninox.write_queue import WriteQueue
from target_ninox.writer import TableWriter

#: Record ids per DELETE when `overwrite` clears what a run did not write.
OVERWRITE_DELETE_CHUNK = 1000


class TargetNinox(CompatTarget):
    """Singer target for Ninox: batched upserts into the tables of one database."""

    name = "target-ninox"
    #: `hard-delete` declared for Meltano and `--about`: the target's own
    #: `hard_delete` setting deletes records that carry `_sdc_deleted_at`.
    capabilities = [*Target.capabilities, TargetCapabilities.HARD_DELETE]
    # One distribution (`tap-ninox`) installs both connectors.
    package_name = "tap-ninox"
    default_sink_class = NinoxSink
    message_reader_class = NinoxMessageReader

    config_jsonschema = th.PropertiesList(
        *connection_properties("target-ninox", __version__),
        th.Property(
            "database_id",
            th.StringType,
            title="Database ID",
            description="The Ninox database to write into (required for the classic API).",
        ),
        th.Property(
            "module",
            th.StringType,
            title="Module",
            description=(
                "Ninox 4 only (with workspace_id): the module, by name, to write into "
                "(required there)."
            ),
        ),
        th.Property(
            "table_mapping",
            th.ObjectType(additional_properties=th.StringType),
            default={},
            title="Table mapping",
            description=(
                "Stream name → table name or id. Unmapped streams match the table whose "
                "name gives the stream name (lower case, non-alphanumerics as `_`), else "
                "the table with that id; `<database>__<table>` streams by their table part."
            ),
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType(minimum=1),
            default=100,
            title="Batch size",
            description="Records per POST.",
        ),
        th.Property(
            "upsert_keys",
            th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
            default={},
            title="Upsert keys",
            description=(
                "Stream name → Ninox field names that identify a record: a record whose "
                "key exists is updated, else created. Overrides the stream's key properties."
            ),
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            title="Hard delete",
            description=(
                "Records with `_sdc_deleted_at` set delete the Ninox record (by `_id`, else "
                "by upsert key). Off: they are skipped and counted in the log."
            ),
        ),
        th.Property(
            "unknown_fields",
            th.StringType(allowed_values=["error", "ignore"]),
            default="error",
            title="Unknown fields",
            description="A property that matches no Ninox field: fail (`error`) or skip it.",
        ),
        th.Property(
            "load_method",
            th.StringType(allowed_values=["upsert", "append-only", "overwrite"]),
            default="upsert",
            title="Load method",
            description=(
                "`upsert`: records with `_id` or upsert keys update, others are created; "
                "`append-only`: every record is created (`_id` and keys ignored); "
                "`overwrite`: as `upsert`, then, once every stream is committed, the "
                "records of each written table that this run did not write are deleted "
                "(never after a failed run)."
            ),
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description=(
                "Validate and map everything and report per stream what would be created, "
                "updated and deleted; write nothing."
            ),
        ),
        UPLOAD_FILES_SETTING,
        FILES_PATH_SETTING,
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the reader hooks; nothing is sent to Ninox yet."""
        super().__init__(*args, **kwargs)
        # One client for the whole run: Ninox wants one call at a time, so
        # sinks drain one after the other too.
        self.max_parallelism = 1
        #: One batch write in flight while the next batch is read.
        writes = WriteQueue()
        check_destination(self.config)
        settings = Settings.from_config(self.config)
        destination = Destination(self.config, f"target-ninox/{__version__}")
        # The class named here, so a test may hand a subclass (`TableWriter`).
        writers = TableWriters(destination, settings, TableWriter)
        #: Keeps unkeyed creates exact across reruns (none in a dry run: no STATE).
        guard = (
            None
            if settings.dry_run
            else RerunGuard(
                destination.database_sequence,
                table_cursor=writers.table_cursor,
                record_sequences=lambda: destination.backend.capabilities.record_sequences,
            )
        )
        writers.guard = guard
        #: When records are committed and which STATE is emitted (one place).
        policy = CommitPolicy(
            self.drain_one,
            self.drain_all,
            # A dry run puts nothing into Ninox, so no STATE may claim it did.
            write_state=_no_state if settings.dry_run else None,
            finish=self.overwrite_tables,
            batch_size=settings.batch_size,
            guard=guard,
            settle=writes.settle,
        )
        if guard is not None:
            guard.before_first_create = policy.emit_start
            guard.announce = policy.emit_again
        reader = self.message_reader
        #: What the sinks and writers are handed instead of this object
        #: (decision 0028): no part asks the Target for a service.
        self.context = RunContext(
            settings=settings,
            destination=destination,
            writers=writers,
            policy=policy,
            writes=writes,
            input_line=partial(_line_of, reader),
            logger=self.logger,
            reports=Reports(),
        )
        #: When the next "written so far" line is due.
        self.progress = ProgressClock()
        self.logger.addFilter(_drain_line_at_debug)
        if isinstance(reader, NinoxMessageReader):
            reader.policy = policy
            reader.every_lines = self.every_lines

    def every_lines(self) -> None:
        """Run every few input lines: say how far we are."""
        if self.progress.due():
            self.log_progress()

    def log_progress(self) -> None:
        """One line: records written (or, in a dry run, to be written) so far per stream.

        The tap says how far it read every `PROGRESS_EVERY` seconds; this is
        the target's side of the pipe (docs/design.md, "Errors and logs").
        """
        counts = [
            f"{name} {stats.created + stats.updated + stats.upserted + stats.deleted}"
            for name, (_, stats) in self.context.writers.stats.items()
        ]
        self.logger.info(
            "%s so far: %s (%.1f s)",
            "Records that would be written" if self.context.settings.dry_run else "Records written",
            ", ".join(counts) or "none yet",
            self.progress.elapsed,
        )

    # ------------------------------------------------------------- run

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """`files` streams upload attachments with `upload_files`, else are skipped.

        Unless `table_mapping` names it, a `files` stream is not a table's
        records: without `upload_files` its rows are left (one INFO line).
        Other streams write records.
        """
        if is_files_stream(stream_name):
            if self.config.get("upload_files"):
                return FileUploadSink
            if stream_name not in (self.config.get("table_mapping") or {}):
                return SkippedFilesSink
        return super().get_sink_class(stream_name)

    def record_before_schema(self, stream_name: str) -> t.NoReturn:
        """A RECORD before its stream's SCHEMA is bad input (one clear line)."""
        raise RecordBeforeSchemaError(
            "a RECORD came before the stream's SCHEMA message (a tap must send the SCHEMA first)",
            stream=stream_name,
        )

    @override
    def activate_version_message(self, message: dict[str, Any]) -> None:
        """ACTIVATE_VERSION: ignored with one warning per stream, as SDK targets do.

        target-ninox keeps no table versions, so it deletes nothing for an
        older version (docs/design.md, "Singer messages"); before its
        stream's SCHEMA the message is bad input, like a RECORD.
        """
        self._check_message(message, "ACTIVATE_VERSION", {"stream", "version"})
        stream_name = message["stream"]
        if not isinstance(stream_name, str) or stream_name not in self.mapper.stream_maps:
            raise UnsupportedMessageError(
                "an ACTIVATE_VERSION message came before the stream's SCHEMA message (a tap "
                "must send the SCHEMA first)",
                stream=str(stream_name),
            )
        if self.context.reports.first(f"ACTIVATE_VERSION {stream_name}"):
            self.logger.warning(
                "Stream '%s': ACTIVATE_VERSION messages are ignored: target-ninox keeps no "
                "table versions and deletes no records of older ones (load_method "
                "overwrite deletes what a run did not write).",
                stream_name,
            )

    @override
    def batch_message(self, message: dict[str, Any]) -> None:
        """BATCH: refused with one line; target-ninox reads RECORD messages only.

        Like the SDK's SQL targets (target-postgres), it does not declare the
        `batch` capability (docs/design.md, "Singer messages").
        """
        self._check_message(message, "BATCH", {"stream"})
        raise UnsupportedMessageError(
            "target-ninox does not accept BATCH messages (records in batch files); turn "
            "off batch_config in the tap's settings so that it sends RECORD messages",
            stream=str(message["stream"]),
        )

    def _check_message(self, message: dict[str, Any], kind: str, requires: set[str]) -> None:
        missing = sorted(requires - set(message))
        if missing:
            raise InvalidLineError(f"the {kind} message has no {', '.join(missing)}")

    @override
    def process_endofpipe(self) -> None:
        """Commit the last batches; a signal meanwhile stops after them.

        Their writes are settled here, so the input is fully handled when
        `listen()` returns (the SDK's test runner calls only that).
        """
        with self.context.policy.uninterrupted():
            super().process_endofpipe()
            self.context.writes.settle()

    def run(self, file_input: Any = None) -> RunEnd:
        """Read the whole input; however it ends, the commit policy ends the run."""
        failure: BaseException | None = None
        policy = self.context.policy
        with policy.signals_handled():
            try:
                self.listen(file_input)
            except (Exception, Interrupted) as exc:
                failure = exc
            try:
                end = policy.end_run(failure)
            finally:
                self.context.writes.close()
        self.log_summary()
        return end

    def overwrite_tables(self) -> None:
        """`overwrite`, after a clean run: delete what this run did not write."""
        context = self.context
        if context.settings.load_method == "overwrite":
            overwrite(
                context.destination.backend,
                context.destination.address,
                context.writers.all(),
                dry_run=context.settings.dry_run,
                logger=self.logger,
            )

    def log_summary(self) -> None:
        """One line per stream: created, updated, upserted, deleted, skipped."""
        dry = self.context.settings.dry_run
        for stream_name, (table, stats) in self.context.writers.stats.items():
            verb = "would" if dry else "did"
            self.logger.info(
                "%sStream '%s' → %s: %s create %d, update %d, upsert by _id %d, delete %d "
                "records%s%s%s%s.",
                "Dry run, nothing written. " if dry else "",
                stream_name,
                describe_table(table),
                verb,
                stats.created,
                stats.updated,
                stats.upserted,
                stats.deleted,
                f"; {stats.merged} records merged with an earlier one of the same key"
                if stats.merged
                else "",
                f"; {stats.found} records were already created by the stopped run this one reruns"
                if stats.found
                else "",
                f"; {stats.delete_no_match} deletions matched no record"
                if stats.delete_no_match
                else "",
                f"; {stats.skipped_deletes} deleted records skipped (set hard_delete to "
                "delete them in Ninox)"
                if stats.skipped_deletes
                else "",
            )

    # -------------------------------------------------------------- CLI

    @classmethod
    @override
    def cb_config(  # type: ignore[override]  # duck-types the SDK's private _ConfigInput
        cls, ctx: Any, param: Any, value: tuple[str, ...]
    ) -> ConfigInput:
        """Read `--config` files and `ENV` with one-line errors (ninox_core.cli.inputs)."""
        return config_or_exit(cls, value)

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: SDKConfigInput | None = None,
        file_input: Any = None,
    ) -> None:
        """Run the target; a failure ends it with one clear line and exit code 1."""
        # PluginBase.invoke prints --about and exits; Target.invoke would
        # then run the target without catching anything.
        super(Target, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        config = config or SDKConfigInput()
        target: TargetNinox | None = None
        try:
            check_plugin_settings(cls, config)
            target = cls(
                config=config.config,
                validate_config=True,
                parse_env_config=config.parse_env,
            )
            end = target.run(file_input)
        except (ConfigValidationError, KeyboardInterrupt):
            raise
        except Exception as exc:
            end = RunEnd(1, exc)
        finally:
            if target is not None:
                target.context.destination.close()
        if end.error is not None:
            report_failure(
                cls.logger,
                end.error,
                "target-ninox",
                describe_failure(end.error, target),
                user_errors=(TargetNinoxError,),
                prefix=_input_line(target),
            )
        if end.exit_code:
            sys.exit(end.exit_code)


def check_destination(config: t.Mapping[str, Any]) -> None:
    """Where to write: `database_id` (classic) or `module` (Ninox 4), one line if wrong."""
    if config.get("workspace_id"):
        if config.get("database_id"):
            raise NinoxConfigError(
                "database_id is a classic-API setting, but workspace_id selects the Ninox 4 "
                "Public API: set module (the module's name) instead of database_id"
            )
        if not config.get("module"):
            raise NinoxConfigError(
                "module is required with workspace_id (Ninox 4 Public API): set it to the "
                "name of the module to write into"
            )
        if config.get("upload_files"):
            raise NinoxConfigError(
                "upload_files: the Ninox 4 Public API has no file upload (workspace_id is "
                "set); turn upload_files off"
            )
    elif config.get("module"):
        raise NinoxConfigError(
            "module is a Ninox 4 setting (with workspace_id); the classic API writes into "
            "database_id: set database_id instead of module"
        )
    elif not config.get("database_id"):
        raise NinoxConfigError(
            "database_id is required: the id of the Ninox database to write into (Ninox 4 "
            "workspaces: workspace_id and module instead)"
        )


def _drain_line_at_debug(record: logging.LogRecord) -> bool:
    """The SDK's "Target sink for '…' is full. … Draining..." only at DEBUG.

    It comes once per batch (10,000 lines for a million records) and hides
    what matters; the progress line says how far the run is instead.
    """
    if str(record.msg).startswith("Target sink for") and record.levelno == logging.INFO:
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
    return True


def _no_state(value: dict[str, Any]) -> None:
    """Where STATE goes in a dry run: nowhere."""


def describe_failure(exc: BaseException, target: TargetNinox | None = None) -> str:
    """The one line a run failed by a user error ends with (bugs: ninox_core/cli/failures.py)."""
    if isinstance(exc, Interrupted):
        text = (
            f"{exc}: the STATE of what was committed was emitted; rerun from the last "
            "STATE emitted to continue"
        )
    elif isinstance(exc, (TargetNinoxError, NinoxError)):
        text = str(exc)
    else:
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        text = f"{type(exc).__name__}: {detail}"
        if not isinstance(exc, InputError):
            text = _input_line(target) + text
    return one_line(text)


def _input_line(target: TargetNinox | None) -> str:
    """`input line N: ` for the line being read when the run failed, else ``."""
    line = target.context.input_line() if target is not None else 0
    return f"input line {line}: " if line else ""


def _line_of(reader: object) -> int:
    """The input line `reader` is at (0 before the first, or for another reader)."""
    return int(getattr(reader, "line_number", 0) or 0)


if __name__ == "__main__":
    TargetNinox.cli()
