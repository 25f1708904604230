"""Every private singer_sdk name target-ninox overrides, and why (one place).

singer_sdk 0.54 has no public hook for these; each override only forwards
to a public method of ours, so the rest of the package never touches a
private SDK name. Signals are not here: the run installs its own handlers
with `signal.signal` (target_ninox/commit_policy.py), no SDK name needed.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from singer_sdk import Target
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

    def validate_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Check a record against the stream's SCHEMA; returns it."""
        return record

    def check_key_properties(self, record: dict[str, Any]) -> None:
        """Check that a record carries its stream's key properties."""
