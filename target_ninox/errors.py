"""The errors target-ninox raises, each one clear line for the user.

Two families, both ending the run with exit code 1 after the commit policy
(target_ninox/commit_policy.py) has emitted the last STATE whose records
are all in Ninox:

- `InputError`: the input is at fault (bad line, record before its schema,
  a record that fails its schema, unknown stream or field, a value Ninox
  cannot take). Everything read before it is written first.
- `WriteError`: Ninox refused or lost a write. Nothing more is written, so
  no STATE covers the failed batch and a rerun resends it.

Several input errors also subclass the SDK exception for the same case so
that code (and the SDK's standard tests) catching those still works.
"""

from __future__ import annotations

from typing import Any

from singer_sdk.exceptions import (
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from ninox_core.errors import show_value

__all__ = ["show_value"]  # one `show_value` for every message (ninox_core.errors)


def where(stream: str | None = None, line: int | None = None) -> str:
    """`stream 'x', input line N: ` — the prefix every input error starts with."""
    parts = []
    if stream is not None:
        parts.append(f"stream {stream!r}")
    if line is not None:
        parts.append(f"input line {line}")
    return ", ".join(parts) + ": " if parts else ""


class TargetNinoxError(Exception):
    """Base class of target-ninox's own errors."""


class InputError(TargetNinoxError):
    """The input is at fault; the message names stream, line, field and value."""

    def __init__(
        self,
        message: str,
        *,
        stream: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        """Keep the parts for callers; the message already names them."""
        self.stream = stream
        self.line = line
        self.field = field
        self.value = value
        Exception.__init__(self, where(stream, line) + message)


class InvalidLineError(InputError, InvalidInputLine):
    """A line that is not JSON or not a Singer message."""


class UnsupportedMessageError(InputError):
    """A Singer message the target does not take (BATCH), or one before its SCHEMA."""


class RecordBeforeSchemaError(InputError, RecordsWithoutSchemaException):
    """A RECORD for a stream that had no SCHEMA yet."""


class MissingKeyError(InputError, MissingKeyPropertiesError):
    """A record without one of its stream's key properties."""


class RecordSchemaError(InputError, InvalidRecord):
    """A record that does not match its stream's SCHEMA."""

    def __init__(self, message: str, record: dict[str, Any], **parts: Any) -> None:
        """Keep the record like `InvalidRecord` does."""
        InputError.__init__(self, message, **parts)
        self.error_message = message
        self.record = record


class MappingError(InputError):
    """A stream without a table, or a property without a field."""


class ConversionError(InputError):
    """A value the field's Ninox type cannot take."""


class WriteError(TargetNinoxError):
    """Ninox refused a batch, or its outcome could not be established."""
