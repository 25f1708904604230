"""Every private singer_sdk name tap-ninox relies on, and why (one place).

singer_sdk 0.54 has no public hook for these. Each override here only
forwards to a public method of ours (or does the one thing it must), so the
rest of the package never touches a private SDK name.
`tests/test_sdk_seam.py` fails with a clear message when an SDK upgrade
removes or reshapes one of them; update this module then.
"""

from __future__ import annotations

import datetime
from collections.abc import Generator
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from singer_sdk import Stream, Tap
from singer_sdk.singerlib import RecordMessage

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

    from ninox_core.cli_input import ConfigInput

__all__ = ["CompatStream", "CompatTap"]


class CompatStream(Stream):
    """`Stream` with the private names the tap's streams need."""

    #: Set by a subclass: True when the SDK's per-record selection walk would
    #: drop nothing (every column selected, type conformance off).
    every_property_selected: bool = False

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
        extracted = datetime.datetime.now(datetime.timezone.utc)
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
        SDK's writer is private (`_write_state_message`).
        """
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


class CompatTap(Tap):
    """`Tap` with the private names tap-ninox's command needs."""

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Why: the SDK installs this as the SIGTERM/SIGINT handler in its
        # constructor, and its version exits 0, so an orchestrator would
        # record a killed run as a success. No public hook replaces it.
        self.on_termination_signal(signum, frame)

    def on_termination_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT arrived while the tap runs."""
        raise NotImplementedError

    @classmethod
    def cb_config(  # type: ignore[override]  # see below
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> ConfigInput:
        # Why: the SDK's callback returns its private `_ConfigInput`, which
        # reads files with tracebacks and refuses numbers from env vars. Ours
        # (`ninox_core.cli_input.ConfigInput`) has the same fields
        # (`config`, `parse_env`), which is all `invoke` reads.
        return cls.read_config_option(value)

    @classmethod
    def read_config_option(cls, value: tuple[str, ...]) -> ConfigInput:
        """The merged `--config` sources."""
        raise NotImplementedError
