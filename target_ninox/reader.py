"""The Singer message reader: msgspec speed plus input line numbers.

Every error about the input names its 1-based line, so the reader counts
lines. When handling a line fails because of the input, it first lets the
target commit everything read before that line (`on_input_error`), then
re-raises, so the run ends non-zero with earlier records in Ninox.
"""

from __future__ import annotations

import logging
import typing as t
from collections.abc import Callable

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder

from target_ninox.errors import InputError, InvalidLineError, WriteError, show_value

logger = logging.getLogger(__name__)


class NinoxMessageReader(MsgSpecReader):
    """`MsgSpecReader` that knows the current input line number."""

    def __init__(self) -> None:
        """Start before line 1."""
        super().__init__()
        #: 1-based number of the line being handled (0 before the first).
        self.line_number = 0
        #: Called with the exception when an input line cannot be handled.
        self.on_input_error: Callable[[BaseException], None] | None = None

    def deserialize_json(self, line: str) -> dict:
        """Decode one line; a line that is not a JSON object names its number."""
        self.line_number += 1
        try:
            message = decoder.decode(line)
        except msgspec.DecodeError as exc:
            logger.debug("Undecodable input line %d: %r", self.line_number, line[:1000])
            raise InvalidLineError(
                f"the line is not valid JSON ({exc}): {show_value(line.rstrip(), 120)}",
                line=self.line_number,
            ) from None
        if not isinstance(message, dict):
            raise InvalidLineError(
                f"the line is not a Singer message (a JSON object): {show_value(message)}",
                line=self.line_number,
            )
        return message

    @staticmethod
    def assert_line_requires(line_dict: dict, requires: set[str]) -> None:
        """Name what a message lacks (the line number is added by the caller)."""
        if not requires.issubset(line_dict):
            missing = ", ".join(sorted(requires - set(line_dict)))
            kind = line_dict.get("type", "message")
            raise InvalidLineError(f"the {kind} message has no {missing}")

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Handle every line; on an input failure let the target commit first."""
        try:
            return super().process_lines(file_input, callbacks)
        except WriteError:
            # Ninox refused or lost a write: committing more is not possible
            # and no STATE may follow, so fail as is.
            raise
        except Exception as exc:
            _add_line_number(exc, self.line_number)
            if self.on_input_error is not None:
                self.on_input_error(exc)
            raise

    def _process_unknown_message(self, message_dict: dict) -> None:
        """An unknown message type is bad input, not a crash."""
        raise InvalidLineError(
            f"unknown Singer message type {show_value(message_dict.get('type'))}"
        )


def _add_line_number(exc: BaseException, line: int) -> None:
    """Put the line number into an `InputError` that was raised without one."""
    if isinstance(exc, InputError) and exc.line is None and line:
        exc.line = line
        prefix = f"stream {exc.stream!r}, " if exc.stream else ""
        text = str(exc)
        if exc.stream and text.startswith(f"stream {exc.stream!r}: "):
            text = text[len(f"stream {exc.stream!r}: ") :]
        exc.args = (f"{prefix}input line {line}: {text}",)
