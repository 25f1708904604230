"""The per-stream sink: Singer records in, batched Ninox writes out.

Per record (`process_record`, while reading): validate against the SCHEMA,
convert every value to its Ninox form and choose the write mode, so that a
bad record fails on its own input line, before anything after it is sent.
Per batch (`process_batch`): hand the converted records to the table's
`TableWriter`, which sends one POST (and the deletions), on the write
queue's worker while the next batch is read (target_ninox/write_queue.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from jsonschema.exceptions import SchemaError
from singer_sdk import Target, metrics
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from typing_extensions import override

from ninox_core.cli.failures import mark_where
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable
from target_ninox._sdk_compat import CompatBatchSink
from target_ninox.commit_policy import HOLD_BATCHES
from target_ninox.context import RunContext, context_of
from target_ninox.conversion import convert_record, record_id_of, record_key
from target_ninox.errors import (
    InputError,
    MissingKeyError,
    RecordSchemaError,
    WriteError,
    show_value,
)
from target_ninox.mapping import (
    DELETED_COLUMN,
    ID_COLUMN,
    StreamMapping,
    describe_table,
    log_mapping,
    map_stream,
    resolve_table,
)
from target_ninox.validation import RecordValidator
from target_ninox.writer import PendingRecord, TableWriter, WriteStats


class _Validator(BaseJSONSchemaValidator):
    """The SDK's validator interface around the compiled `RecordValidator`."""

    def __init__(self, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self.records = RecordValidator(schema)

    @override
    def validate(self, record: dict[str, Any]) -> None:
        """Unused: `NinoxSink._validate_and_parse` words its own errors."""
        error = self.records.first_error(record)
        if error is not None:
            raise RecordSchemaError(error.message, record)


class SettledBatchTimer(metrics.Timer):
    """`batch_processing_time`, told once a batch's write has settled.

    The SDK times `process_batch`, which here only hands the write to the
    write queue's worker (target_ninox/write_queue.py), and its timer keeps
    the first status it logged for every later batch: a write that failed
    would read "succeeded". This timer logs nothing around `process_batch`;
    `settled` logs the batch's time and real status.
    """

    @override
    def __enter__(self) -> SettledBatchTimer:
        return self

    @override
    def __exit__(self, *exc_info: object) -> None:
        """Nothing: the write has not settled yet (`settled` tells it)."""

    def settled(self, started: float, error: BaseException | None) -> None:
        """Log the time from `started` to now and whether the write succeeded."""
        status = metrics.Status.FAILED if error is not None else metrics.Status.SUCCEEDED
        tags = {**self.tags, metrics.Tag.STATUS: status}
        metrics.log(self.logger, metrics.Point("timer", self.metric, time.time() - started, tags))


class NinoxSink(CompatBatchSink):
    """Writes one stream into the Ninox table it maps to."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Map the stream onto its table now, before any record is written.

        Errors are raised here rather than in `setup()`, where the SDK would
        log a second line for them.
        """
        super().__init__(target, stream_name, schema, key_properties)
        #: All this sink uses of the run (decision 0028); never the Target itself.
        self.run: RunContext = context_of(target)
        settings, destination = self.run.settings, self.run.destination
        self.hard_delete = settings.hard_delete
        table = resolve_table(
            stream_name,
            destination.tables,
            settings.table_mapping,
            settings.module or destination.database,
            container="module" if settings.module else "database",
        )
        upsert_keys = settings.upsert_keys.get(stream_name)
        self.mapping: StreamMapping = map_stream(
            stream_name,
            table,
            self.schema.get("properties") or {},
            key_properties,
            upsert_keys=upsert_keys,
            unknown_fields=settings.unknown_fields,
        )
        #: `append-only`: every record is created, `_id` and keys ignored.
        self.append_only = settings.load_method == "append-only"
        if self.append_only:
            self.mapping.key_properties, self.mapping.key_source = (), ""
        self.table_writer: TableWriter = self.run.writers.writer(table, self.mapping.key_fields)
        self.stats: WriteStats = self.run.writers.stream_stats(stream_name, table)
        if self.run.reports.first(stream_name):
            log_mapping(
                self.run.logger,
                self.mapping,
                load_method=settings.load_method,
                dry_run=settings.dry_run,
            )
        self._warned_hold = False
        # Read once: `max_size` is a chain of SDK properties, asked per record.
        self._full_at = self.max_size

    @property
    def table(self) -> NinoxTable:
        """The Ninox table this stream writes into."""
        return self.mapping.table

    # ------------------------------------------------------------ SDK hooks

    @override
    def get_batch_processing_timer(self) -> metrics.Timer:
        """A timer told when the write settles, with its real outcome."""
        return SettledBatchTimer(
            metrics.Metric.BATCH_PROCESSING_TIME, tags={metrics.Tag.STREAM: self.stream_name}
        )

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """A compiled validator (jsonschema only for what it cannot decide)."""
        if self.validate_schema:
            try:
                self.record_validator = _Validator(self.schema)
            except SchemaError as exc:
                raise InputError(
                    f"the SCHEMA message's schema is not a valid JSON schema: {exc.message}",
                    stream=self.stream_name,
                ) from None
            return self.record_validator
        return None

    def validate_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Validate against the SCHEMA; values stay as they are.

        The SDK would also turn date-time strings into `datetime` objects;
        the Ninox writers take the strings directly, so that work is skipped.
        """
        validator = getattr(self, "record_validator", None)
        if isinstance(validator, _Validator):
            error = validator.records.first_error(record)
            if error is not None:
                path = "/".join(str(p) for p in error.absolute_path)
                where = f"property {path!r}: " if path else ""
                # jsonschema shows the value as repr: `Decimal('3.5')` for 3.5.
                message = error.message.replace(
                    repr(error.instance), show_value(error.instance, 10**6)
                )
                raise RecordSchemaError(
                    f"the record does not match the stream's SCHEMA: {where}{message}",
                    record,
                    stream=self.stream_name,
                    line=self._line(),
                    field=path or None,
                    value=error.instance if path else None,
                )
        return record

    def check_key_properties(self, record: dict[str, Any]) -> None:
        """A record must carry every key property of its stream."""
        missing = [p for p in self.key_properties if p not in record]
        if missing:
            raise MissingKeyError(
                f"the record has no {', '.join(map(repr, missing))}, a key property of the "
                f"stream (key properties: {list(self.key_properties)})",
                stream=self.stream_name,
                line=self._line(),
                field=missing[0],
            )

    # -------------------------------------------------------------- records

    def _line(self) -> int | None:
        return self.run.input_line() or None

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Convert one record now; it is written when its batch drains."""
        line = self._line() or 0
        record_id = None if self.append_only else record.get(ID_COLUMN)
        if record_id is not None:
            record_id = record_id_of(record_id, self.stream_name, line)
        mapping = self.mapping
        if record.get(DELETED_COLUMN) is not None:
            if not self.hard_delete:
                self.stats.skipped_deletes += 1
                self.run.policy.record_read(self, line)
                return
            key, key_values = (None, None)
            if record_id is None and mapping.key_properties:
                key, key_values = record_key(
                    mapping, record, convert_record(mapping, record, line), line, optional=False
                )
            pending = PendingRecord(line, {}, record_id, key, key_values, deleted=True)
        else:
            fields = convert_record(mapping, record, line)
            key, key_values = (None, None)
            if mapping.key_properties:
                key, key_values = record_key(
                    mapping, record, fields, line, optional=record_id is not None
                )
            pending = PendingRecord(line, fields, record_id, key, key_values)
        records = context.get("records")
        if records is None:
            records = context["records"] = []
        records.append(pending)
        once_only = pending.record_id is None and pending.key is None and not pending.deleted
        self.run.policy.record_read(self, line, once_only=once_only)

    @property
    @override
    def is_full(self) -> bool:
        """Full at `batch_size_rows`, but see below.

        Creates that must not be written twice wait for a STATE
        (target_ninox/commit_policy.py, rule 5), up to `HOLD_BATCHES` batches.
        """
        if self.current_size < self._full_at:
            return False
        if not self.run.policy.waits_for_state(self):
            return True
        if self.current_size < self._full_at * HOLD_BATCHES:
            return False
        if not self._warned_hold:
            self._warned_hold = True
            self.logger.warning(
                "Stream '%s': %d records came without a STATE after them; committing them "
                "anyway. They have no _id or upsert key, so a rerun after a crash before "
                "the next STATE would create them again (set upsert_keys to avoid that).",
                self.stream_name,
                self.current_size,
            )
        return True

    # -------------------------------------------------------------- batches

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Send the batch to the write queue; the next batch is read meanwhile.

        The write runs on the queue's worker (target_ninox/write_queue.py);
        the commit policy learns its end when it is settled, on this thread.
        """
        policy, writes = self.run.policy, self.run.writes
        writes.settle()  # a failed write before this one ends the run here
        records = context.get("records") or []
        context["records"] = []
        flight = policy.batch_sent(self)
        started = time.time()

        def done(error: BaseException | None) -> None:
            timer = self.batch_processing_timer
            if isinstance(timer, SettledBatchTimer):
                timer.settled(started, error)
            if error is not None:
                policy.batch_failed(flight)
                raise error
            policy.batch_committed(flight)

        writes.submit(partial(self.write_batch, records), done)

    def write_batch(self, records: Sequence[PendingRecord]) -> None:
        """Write converted records (on the write queue's worker); failures are `WriteError`."""
        try:
            # A batch held for a STATE can hold several batches' worth.
            size = self.max_size
            for start in range(0, len(records), size):
                self.table_writer.write(
                    self.stream_name,
                    records[start : start + size],
                    self.stats,
                    self.mapping.key_properties,
                )
        except WriteError:
            raise
        except NinoxError as exc:
            raise WriteError(
                f"stream {self.stream_name!r}: writing to {describe_table(self.table)} "
                f"failed: {exc}. Earlier batches are in Ninox and their STATE emitted; "
                "rerun from that STATE."
            ) from exc
        except Exception as exc:
            # Not a user error: a bug of ours, reported as one (ninox_core/cli/failures.py).
            mark_where(exc, f"stream {self.stream_name!r}, writing to {describe_table(self.table)}")
            raise
