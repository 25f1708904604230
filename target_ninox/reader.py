"""The Singer input loop: one line at a time, numbered, bytes decoded here.

Every error about the input names its 1-based line (and the stream when the
line tells it). STATE messages go to the commit policy, which holds them
until their records are in Ninox (target_ninox/commit_policy.py); every
other message goes to the SDK's handler. A blank line is skipped. Lines are
read as bytes where the input allows it, so invalid UTF-8 is reported on
its own line instead of wherever the text decoder's buffer happened to be.
"""

from __future__ import annotations

import contextlib
import logging
import re
import typing as t
from collections import Counter
from collections.abc import Callable, Iterable

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder
from typing_extensions import override

from target_ninox.commit_policy import CommitPolicy
from target_ninox.errors import InputError, InvalidLineError, show_value

logger = logging.getLogger(__name__)

#: `NinoxMessageReader.every_lines` runs after this many lines.
EVERY_LINES = 50

_STREAM = re.compile(rb'"stream"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


class NinoxMessageReader(MsgSpecReader):
    """Reads Singer messages, knowing the current input line number."""

    def __init__(self) -> None:
        """Start before line 1."""
        super().__init__()
        #: 1-based number of the line being handled (0 before the first).
        self.line_number = 0
        #: Set by the target: where STATE messages go.
        self.policy: CommitPolicy | None = None
        #: Set by the target: run every `EVERY_LINES` lines (the progress
        #: line, target_ninox/target.py).
        self.every_lines: Callable[[], None] | None = None

    @override
    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        """Decode one line; a line that is not a JSON object names its number."""
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
    @override
    def assert_line_requires(line_dict: dict[str, t.Any], requires: set[str]) -> None:
        """Name what a message lacks (the line number is added by the caller)."""
        if not requires.issubset(line_dict):
            missing = ", ".join(sorted(requires - set(line_dict)))
            kind = line_dict.get("type")
            what = f"the {kind} message" if isinstance(kind, str) else "the message"
            raise InvalidLineError(f"{what} has no {missing}")

    @override
    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, t.Any]], None]],
    ) -> t.Counter[str]:
        """Handle every line in order; input errors leave with their line number."""
        counts: Counter[str] = Counter()
        source = file_input or self.default_input
        policy = self.policy
        every_lines = self.every_lines
        for number, raw in enumerate(_lines(source), 1):
            self.line_number = number
            if every_lines is not None and not number % EVERY_LINES:
                every_lines()
            guard = policy.uninterrupted() if policy is not None else contextlib.nullcontext()
            try:
                with guard:
                    kind = self._handle(raw, callbacks)
            except Exception as exc:
                _add_line_number(exc, number)
                raise
            if kind:
                counts[kind] += 1
        return counts

    def _handle(
        self, raw: str | bytes, callbacks: dict[str, Callable[[dict[str, t.Any]], None]]
    ) -> str:
        """Handle one line; returns its message type ("" for a blank line)."""
        text = self._text(raw)
        if not text.strip():
            return ""  # a blank line between messages carries nothing
        message = self.deserialize_json(text)
        kind = message.get("type")
        if kind is None:
            raise InvalidLineError(
                'the line has no "type", so it is not a Singer message: '
                f"{show_value(text.rstrip(), 120)}"
            )
        if kind == "STATE" and self.policy is not None:
            self.assert_line_requires(message, {"value"})
            self.policy.state_read(self.line_number, message["value"])
        elif (callback := callbacks.get(kind)) is not None:
            if kind != "RECORD" or type(message.get("stream")) is not str:
                check_shape(kind, message)
            callback(message)
        else:
            raise InvalidLineError(f"unknown Singer message type {show_value(kind)}")
        return str(kind)

    def _text(self, raw: str | bytes) -> str:
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            found = _STREAM.search(raw)
            stream = found.group(1).decode("utf-8", "replace") if found else None
            tail = "" if stream else " (the line does not say which stream it belongs to)"
            raise InvalidLineError(
                f"the line is not valid UTF-8 (byte {raw[exc.start]:#04x} at byte "
                f"{exc.start + 1} of the line){tail}; the input must be UTF-8 JSON lines",
                stream=stream,
                line=self.line_number,
            ) from None


#: Per message type: the keys it must have and the JSON type of each (the
#: SDK would fail on a wrong one with an AttributeError or a TypeError).
_SHAPES: dict[str, dict[str, tuple[type, str]]] = {
    "SCHEMA": {"stream": (str, "a string"), "schema": (dict, "a JSON object")},
    "RECORD": {"stream": (str, "a string"), "record": (dict, "a JSON object")},
    "ACTIVATE_VERSION": {"stream": (str, "a string"), "version": (object, "")},
    "BATCH": {"stream": (str, "a string")},
}


def check_shape(kind: str, message: dict[str, t.Any]) -> None:
    """A Singer message has the keys its type needs, each of the right JSON type.

    Raises `InvalidLineError` naming the key (the caller adds the line).
    """
    shape = _SHAPES.get(kind)
    if shape is None:
        return
    stream = message.get("stream")
    named = stream if isinstance(stream, str) else None
    missing = sorted(key for key in shape if key not in message)
    if missing:
        raise InvalidLineError(f"the {kind} message has no {', '.join(missing)}", stream=named)
    for key, (wanted, described) in shape.items():
        if not isinstance(message[key], wanted):
            raise InvalidLineError(
                f"the {kind} message's {key} must be {described}, not {show_value(message[key])}",
                stream=named,
            )
    key_properties = message.get("key_properties")
    if (
        kind == "SCHEMA"
        and key_properties is not None
        and not (
            isinstance(key_properties, list) and all(isinstance(p, str) for p in key_properties)
        )
    ):
        raise InvalidLineError(
            "the SCHEMA message's key_properties must be a list of property names, not "
            f"{show_value(key_properties)}",
            stream=named,
        )


def _lines(source: t.IO[str]) -> Iterable[str | bytes]:
    """The input's lines, as bytes when the text has a byte buffer below it."""
    buffer = getattr(source, "buffer", None)
    return buffer if buffer is not None else source


def _add_line_number(exc: BaseException, line: int) -> None:
    """Put the line number into an `InputError` that was raised without one."""
    if isinstance(exc, InputError) and exc.line is None and line:
        exc.line = line
        prefix = f"stream {exc.stream!r}, " if exc.stream else ""
        text = str(exc)
        if exc.stream and text.startswith(f"stream {exc.stream!r}: "):
            text = text[len(f"stream {exc.stream!r}: ") :]
        exc.args = (f"{prefix}input line {line}: {text}",)
