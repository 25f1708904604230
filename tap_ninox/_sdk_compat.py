"""Every private singer_sdk name tap-ninox relies on, and why (one place).

singer_sdk 0.54 has no public hook for these. Each override here only
forwards to a public method of ours (or does the one thing it must), so the
rest of the package never touches a private SDK name.
`tests/core/test_sdk_seam.py` fails with a clear message when an SDK upgrade
removes or reshapes one of them; update this module then.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Generator, Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import encoder as _sdk_encoder
from singer_sdk.helpers._state import StateWriter
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage, StateMessage
from typing_extensions import override

from tap_ninox.state_budget import StateBudget

if TYPE_CHECKING:
    from singer_sdk.helpers import types
    from singer_sdk.helpers.types import Context
    from singer_sdk.io_base import GenericSingerWriter

    from ninox_core.cli.inputs import ConfigInput

__all__ = ["BudgetedStateWriter", "CompatStream", "CompatTap"]

#: Bytes of a STATE line besides its value: `{"type":"STATE","value":` … `}` and the newline.
_STATE_LINE_OVERHEAD = 28


def _utc_now() -> datetime.datetime:
    """The extraction time stamped on RECORD messages (the SDK's `utc_now`)."""
    return datetime.datetime.now(datetime.timezone.utc)


def record_lines(records: list[dict[str, Any]], head: bytes, tail: bytes) -> bytes:
    """`head` + each record's JSON + `tail` (which ends in a newline), in one buffer.

    The SDK's encoder writes the records as JSON lines in one call
    (`encode_lines`); JSON it writes never holds a raw newline (one in a
    string is escaped), so each newline is exactly a record's end, and one
    `replace` turns it into the record's tail and the next record's head.
    The bytes are the ones a per-record encode writes
    (tests/tap/test_tap_page_path.py); the per-record Python work is gone.
    """
    if not records:
        return b""
    lines = _sdk_encoder.encode_lines(records)
    return head + lines[:-1].replace(b"\n", tail + head) + tail


class CompatStream(Stream):
    """`Stream` with the private names the tap's streams need."""

    #: Set by a subclass: True when the SDK's per-record selection walk would
    #: drop nothing (every column selected, type conformance off).
    every_property_selected: bool = False
    #: Set by a subclass: write the stream's SCHEMA once per run instead of
    #: at every `sync()` (a child stream is synced once per parent record).
    schema_once_per_run: bool = False
    schema_written: bool = False

    @override
    def _write_schema_message(self) -> None:
        # Why: the SDK writes a stream's SCHEMA at the start of every
        # `sync()`, and a child stream is synced once per parent record: the
        # files stream would repeat its SCHEMA before every record's files
        # (100,000 records, 100,000 identical SCHEMA lines). No public hook
        # decides when a SCHEMA is written.
        if self.schema_once_per_run and self.schema_written:
            return
        self.schema_written = True
        super()._write_schema_message()

    @override
    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        # Why: the SDK's version walks each record's properties to drop
        # deselected ones and conform types; with every column selected and
        # conformance off that drops nothing and costs a quarter of the tap's
        # CPU. There is no public hook for how RECORD messages are built.
        if not self.every_property_selected:
            yield from super()._generate_record_messages(record)
            return
        extracted = _utc_now()
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    # Why private: the ACTIVATE_VERSION version the SDK took
                    # at the start of the sync; no public accessor.
                    version=self._stream_version,
                    time_extracted=extracted,
                )

    def get_record_pages(self, context: Context | None) -> Iterable[list[dict[str, Any]]]:
        """The stream's records, a page (list) at a time; `get_records` in one-record pages.

        A stream that reads pages overrides this (and makes `get_records`
        flatten it), so that `write_page` can write a whole page at once.
        """
        for record in self.get_records(context):
            if isinstance(record, dict):
                yield [record]

    def page_path_active(self, context: Context | None) -> bool:
        """True when whole pages may be written at once.

        That is when the SDK's per-record path would change nothing: no
        stream map, alias or flattening, every column selected, no selected
        child stream, no partitions, no record limit.
        """
        maps = self.stream_maps
        return (
            context is None
            and self.partitions is None
            and self.selected
            and self.every_property_selected
            and self.ABORT_AT_RECORD_COUNT is None
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
            and not any(
                child.selected or child.has_selected_descendents for child in self.child_streams
            )
            and type(self).post_process is Stream.post_process
        )

    def write_lines(self, data: bytes | bytearray) -> None:
        """Write whole Singer message lines to stdout (the tap's writer overrides it)."""
        sys.stdout.buffer.write(data)

    @override
    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        # Why: the SDK's loop handles one record at a time (limit check,
        # post-processing, child contexts, one message object, one encode and
        # one write per record): about a third of the tap's CPU. When
        # `page_path_active` says that loop would change nothing, a page is
        # encoded into one buffer and written at once; the bytes, and the
        # STATE messages between them, are the ones the SDK's loop writes
        # (tests/tap/test_tap_page_path.py). Otherwise the SDK's loop runs.
        if not (write_messages and self.page_path_active(context)):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        self.sync_by_page()
        yield from ()

    def sync_by_page(self) -> None:
        """`_sync_records` of the SDK for one unpartitioned stream, a page at a time."""
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        every = self.STATE_MSG_FREQUENCY
        written = 0
        with record_counter, timer:
            record_counter.with_context({})
            timer.with_context({})
            # Why private: the SDK's own steps around a sync (starting
            # bookmark, finalising state) have no public names.
            state_partition_context = self._get_state_partition_context(None)
            self._write_starting_replication_value(None)
            for page in self.get_record_pages(None):
                if not page:
                    continue
                # Each line is the SDK's RECORD message, key for key; what
                # is the same for the whole page (around the record) is
                # encoded once, not once per record.
                version = self._stream_version
                head = b'{"type":"RECORD","stream":' + _sdk_encoder.encode(self.name)
                head += b',"record":'
                tail = b"" if version is None else b',"version":' + _sdk_encoder.encode(version)
                tail += b',"time_extracted":' + _sdk_encoder.encode(_utc_now()) + b"}\n"
                start = 0
                while start < len(page):
                    # Up to the next record after which the SDK writes a STATE.
                    stop = min(len(page), start + every - written % every)
                    self.write_lines(record_lines(page[start:stop], head, tail))
                    self.state_manager.is_flushed = False
                    written += stop - start
                    record_counter.increment(stop - start)
                    if written % every == 0:
                        self._write_state_message()
                    start = stop
            if state_partition_context is None:
                self._finalize_state(self.get_context_state(None))
        self._finalize_state(self.stream_state)
        self._write_state_message()

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        # Why: the bookmark is set once, at the end (`set_final_bookmark`);
        # the SDK's per-record bookkeeping would be overwritten anyway and
        # costs a tenth of the tap's CPU. No public setting turns it off.
        pass

    def write_state_now(self) -> None:
        """Write a STATE message with the stream's current state (e.g. after a page).

        The SDK writes STATE only every `STATE_MSG_FREQUENCY` records; the
        tap writes one per page, so a run that dies resumes after it. The
        SDK's writer is private (`_write_state_message`). It skips a write
        when no RECORD came since the last STATE (`is_flushed`): after the
        SDK's every-N-records STATE at a page's end, the page's resume point
        would be lost, so the state is marked changed first (the SDK's state
        writer still skips a STATE equal to the last one).
        """
        self.state_manager.is_flushed = False
        self._write_state_message()

    def set_final_bookmark(self, context: Context | None, value: Any) -> None:
        """Make `value` the bookmark the SDK writes when the stream ends.

        The SDK would bookmark the largest replication-key value it saw; the
        tap bookmarks the database sequence taken before the read
        (docs/design.md). The SDK promotes its state's progress markers to
        the bookmark when the stream ends (`finalize_state_progress_markers`);
        their layout (`progress_markers.replication_key[_value]`) is the
        SDK's internal state format, with no public setter.
        """
        markers = self.get_context_state(context).setdefault("progress_markers", {})
        markers["replication_key"] = self.replication_key
        markers["replication_key_value"] = value


class BudgetedStateWriter(StateWriter):
    """The SDK's state writer, writing a STATE only when `StateBudget` allows it.

    A STATE held back stays pending: the next one replaces it, and `flush`
    writes it (the tap calls it when the run ends, also on failure). Like
    the SDK's writer, a STATE equal to the last one written is not written
    again.
    """

    def __init__(self, message_writer: GenericSingerWriter[Any, Any], budget: StateBudget) -> None:
        """Write through `message_writer` as `budget` allows."""
        super().__init__(message_writer)
        self._writer = message_writer
        self._budget = budget
        self._last: bytes | None = None
        self._pending: bytes | None = None

    @override
    def write_state(self, state: types.TapState) -> None:
        """Write `state` now if the budget allows it, else keep it as the pending one."""
        # Encoded now: the SDK changes its state dict in place afterwards.
        encoded = _sdk_encoder.encode(state)
        if encoded == self._last:
            self._pending = None
            return
        self._pending = encoded
        if self._budget.allows(len(encoded) + _STATE_LINE_OVERHEAD):
            self.flush()

    def flush(self) -> None:
        """Write the pending STATE, if any."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        self._last = pending
        message = StateMessage(value=json.loads(pending))
        self._budget.record(lambda: self._writer.write_message(message))


class CompatTap(Tap):
    """`Tap` with the private names tap-ninox's command needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The SDK's tap, writing its STATE through a `BudgetedStateWriter`."""
        super().__init__(*args, **kwargs)
        # Why private: every STATE the SDK writes (per page, per stream, at
        # start) goes through `_state_writer`; no public hook decides when a
        # STATE is written (tap_ninox/state_budget.py says why it must).
        self._state_writer: StateWriter = BudgetedStateWriter(
            self.message_writer, StateBudget(self.output_bytes)
        )

    def output_bytes(self) -> int:
        """Bytes this process has written to stdout so far (the tap's writer counts them)."""
        raise NotImplementedError

    @override  # type: ignore[misc]  # final in the SDK, see below
    def sync_all(self) -> None:
        # Why: the budgeted writer may hold the run's last STATE back; it must
        # be written when the run ends, and when it fails (it covers only
        # what was written before it). `sync_all` is the SDK's whole run and
        # has no public hook at its end.
        try:
            super().sync_all()
        except Exception:
            self.flush_state()
            raise
        self.flush_state()

    def flush_state(self) -> None:
        """Write the STATE the budget held back, if any."""
        writer = self._state_writer
        if isinstance(writer, BudgetedStateWriter):
            writer.flush()

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Why: the SDK installs this as the SIGTERM/SIGINT handler in its
        # constructor, and its version exits 0, so an orchestrator would
        # record a killed run as a success. No public hook replaces it.
        self.on_termination_signal(signum, frame)

    def on_termination_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT arrived while the tap runs."""
        raise NotImplementedError

    @classmethod
    @override
    def cb_config(  # type: ignore[override]  # see below
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> ConfigInput:
        # Why: the SDK's callback returns its private `_ConfigInput`, which
        # reads files with tracebacks and refuses numbers from env vars. Ours
        # (`ninox_core.cli.inputs.ConfigInput`) has the same fields
        # (`config`, `parse_env`), which is all `invoke` reads.
        return cls.read_config_option(value)

    @classmethod
    def read_config_option(cls, value: tuple[str, ...]) -> ConfigInput:
        """The merged `--config` sources."""
        raise NotImplementedError
