"""Every private singer_sdk name target-ninox overrides, and why (one place).

singer_sdk 0.54 has no public hook for these; each override only forwards
to a public method of ours, so the rest of the package never touches a
private SDK name. Signals are not here: the run installs its own handlers
with `signal.signal` (target_ninox/commit_policy.py), no SDK name needed.
"""

from __future__ import annotations

import math
import sys
from typing import Any, NoReturn

from singer_sdk import Sink, Target
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import _ConfigInput as SDKConfigInput
from singer_sdk.sinks import BatchSink
from typing_extensions import override

__all__ = ["CompatBatchSink", "CompatTarget", "SDKConfigInput"]


class CompatTarget(Target):
    """`Target` with the private names target-ninox needs."""

    # Why: the SDK commits every sink once records are 5 minutes old,
    # whatever the batch. The commit policy decides when to commit
    # (target_ninox/commit_policy.py): creates no STATE covers wait for
    # their STATE, and an age drain would write them early, to be written
    # again by a rerun. No setting or public hook turns the age drain off.
    _MAX_RECORD_AGE_IN_MINUTES: float = float("inf")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's target, plus a cache of the streams that take the fast path."""
        #: stream name → (its stream maps, its sink, whether records take the fast path).
        self.fast_streams: dict[str, tuple[object, object, bool]] = {}
        super().__init__(*args, **kwargs)

    @override
    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        # Why: the SDK's per-record path runs, for every record, what only a
        # stream map, flattening, metadata columns, a `preprocess_record` or a
        # record age limit need (a copy of the record, the map loop, a debug
        # log line, an age check): about a fifth of the target's CPU
        # (docs/design.md, "Performance"). When none of them is active the
        # record takes `fast_record`, which makes the same calls of the sink
        # in the same order; anything else takes the SDK's path unchanged.
        sink = self.fast_record_sink(message_dict)
        if sink is None:
            super()._process_record_message(message_dict)
        else:
            self.fast_record(sink, message_dict["record"])

    def fast_record_sink(self, message_dict: dict[str, Any]) -> CompatBatchSink | None:
        """The sink of a RECORD that may take the fast path, else None."""
        stream_name = message_dict.get("stream")
        if not isinstance(stream_name, str) or "record" not in message_dict:
            return None  # the SDK's path reports what is missing
        cached = self.fast_streams.get(stream_name)
        if (
            cached is not None
            # Why `_sinks_active`: `get_sink` would cost two calls per record.
            and self._sinks_active.get(stream_name) is cached[1]
            and self.mapper.stream_maps.get(stream_name) is cached[0]
        ):
            return cached[1] if cached[2] else None  # type: ignore[return-value]
        maps = self.mapper.stream_maps.get(stream_name)
        if maps is None or not self.sink_exists(stream_name):
            return None
        sink = self.get_sink(stream_name)
        allowed = isinstance(sink, CompatBatchSink) and self.fast_path_allowed(
            stream_name, maps, sink
        )
        self.fast_streams[stream_name] = (maps, sink, allowed)
        return sink if allowed and isinstance(sink, CompatBatchSink) else None

    def fast_path_allowed(self, stream_name: str, maps: Any, sink: Any) -> bool:
        """True when the SDK's per-record path would only forward to the sink."""
        if not math.isinf(self._MAX_RECORD_AGE_IN_MINUTES):
            return False
        if not (isinstance(maps, list) and len(maps) == 1):
            return False
        stream_map = maps[0]
        if type(stream_map) is not SameRecordTransform or stream_map.flattening_enabled:
            return False
        if stream_map.stream_alias != stream_name:
            return False
        return isinstance(sink, CompatBatchSink) and sink.takes_fast_records()

    def fast_record(self, sink: CompatBatchSink, record: dict[str, Any]) -> None:
        """One RECORD through `sink`: the SDK's per-record calls, nothing else."""
        # The SDK's order: batch context, `_validate_and_parse` and
        # `_singer_validate_message` (ours forward to these two), tally,
        # `process_record`, metric, drain when full. The record is not
        # copied: nothing of ours changes or keeps it.
        context = sink._get_context(record)
        sink.validate_record(record)
        sink.check_key_properties(record)
        sink.tally_record_read()
        sink.process_record(record, context)
        sink.record_counter_metric.increment()
        if sink.is_full:
            self.logger.info(
                "Target sink for '%s' is full. Current size is '%s'. Draining...",
                sink.stream_name,
                sink.current_size,
            )
            self.drain_one(sink)

    @override
    def _assert_sink_exists(self, stream_name: str) -> None:
        # Why: the SDK raises its own exception with a generic message from
        # here, and no public hook sees a RECORD before its SCHEMA.
        if not self.sink_exists(stream_name):
            self.record_before_schema(stream_name)

    @override
    def _process_activate_version_message(self, message_dict: dict[str, Any]) -> None:
        # Why: the SDK's version fails with a KeyError for a stream without
        # a SCHEMA and warns twice per message; no public hook sees it.
        self.activate_version_message(message_dict)

    @override
    def _process_batch_message(self, message_dict: dict[str, Any]) -> None:
        # Why: the SDK hands the batch files' raw records to `process_batch`,
        # past validation, conversion and the commit policy; no public hook
        # sees a BATCH message before that.
        self.batch_message(message_dict)

    @override
    def _handle_termination(self, signum: int, frame: Any) -> None:
        # Why: the SDK's signal handler drains the sinks and exits 0, so an
        # orchestrator would record an interrupted run as a success. During
        # `run()` the commit policy's own handlers replace it; this covers a
        # signal that arrives before (while the target is being built).
        try:
            super()._handle_termination(signum, frame)
        finally:
            sys.exit(128 + signum)

    def record_before_schema(self, stream_name: str) -> NoReturn:
        """A RECORD came before its stream's SCHEMA: raise the error to report."""
        raise NotImplementedError

    def activate_version_message(self, message: dict[str, Any]) -> None:
        """Handle an ACTIVATE_VERSION message."""
        raise NotImplementedError

    def batch_message(self, message: dict[str, Any]) -> None:
        """Handle a BATCH message."""
        raise NotImplementedError


class CompatBatchSink(BatchSink):
    """`BatchSink` whose private per-record steps forward to public methods."""

    @override
    def _remove_sdc_metadata_from_schema(self) -> None:
        # Why: the SDK drops `_sdc_*` properties when `add_record_metadata` is
        # off, and `_sdc_deleted_at` drives deletions; no setting keeps them.
        pass

    @override
    def _remove_sdc_metadata_from_record(self, record: dict[str, Any]) -> None:
        # Why: as above, for the record.
        pass

    @override
    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        # Why: the SDK's version words its own errors (no stream, line, field)
        # and parses date-times the writers do not need; no public hook
        # replaces it.
        return self.validate_record(record)

    @override
    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        # Why: the SDK's message for a missing key property names no line.
        self.check_key_properties(record)

    #: Records may skip the SDK's generic per-record path (`CompatTarget.fast_record`).
    fast_records = False

    def takes_fast_records(self) -> bool:
        """True when the SDK's per-record steps would only forward to our methods."""
        cls = type(self)
        return (
            self.fast_records
            and not self.include_sdc_metadata_properties
            and cls.preprocess_record is Sink.preprocess_record
            and cls._validate_and_parse is CompatBatchSink._validate_and_parse
            and cls._singer_validate_message is CompatBatchSink._singer_validate_message
            and cls._remove_sdc_metadata_from_record
            is CompatBatchSink._remove_sdc_metadata_from_record
        )

    def validate_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Check a record against the stream's SCHEMA; returns it."""
        return record

    def check_key_properties(self, record: dict[str, Any]) -> None:
        """Check that a record carries its stream's key properties."""
