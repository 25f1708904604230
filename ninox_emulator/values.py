"""The emulator's own field-value rules: validation and the three value forms.

Every field value exists in three forms:

- **stored** (in memory and in `--data` snapshots): text-like types as `str`,
  number as `int`/`float`, boolean as `bool`, date as `"YYYY-MM-DD"`,
  datetime/timestamp as epoch milliseconds (`int`), time/timeinterval/
  appointment as their normalized text, choice as its id string, multi as a
  list of id strings in the schema's choice order, ref as `int`.
- **text** (the record API, docs/api.md §3): datetimes `"YYYY-MM-DDTHH:MM:SS"`
  (UTC, no zone, no ms); choice as caption (`choiceStyle=names`) or id string
  (`ids`); multi as a list of those.
- **raw** (change feed, docs/api.md §5): dates and datetimes as epoch ms,
  choice as id string, multi as a list of id strings, ref as `int`; every other
  type as its stored value.

What a write accepts (strict on purpose: a lenient emulator hides client bugs;
anything else is refused with a reason the caller turns into a 400):

- `null` or `""` clears any field; so does `[]` for multi.
- text-like types (string, text, email, phone, url, link, html, location,
  color, icon, file, image, user) and unknown types: strings only.
- number: JSON numbers only (no strings, no booleans, no NaN/Infinity).
- boolean: `true`/`false` only.
- date: `"YYYY-MM-DD"`, a real calendar date.
- datetime/timestamp: `"YYYY-MM-DDTHH:MM:SS"`, optionally with a fraction of a
  second (dropped: Ninox keeps none) and a trailing `Z` or `+00:00` (both mean
  UTC, which Ninox's JavaScript date parser reads the same way). Any other
  offset, a space instead of `T`, or a bare date is refused: Ninox stores UTC
  and a client must convert first.
- time: `"HH:MM:SS"`. timeinterval: `"H:MM:SS"` with any number of hours, an
  optional `-` and an optional `.fff`. appointment: two datetimes joined by
  `" - "`, the end not before the start.
- choice: a caption (matched exactly, first), else an id as string or integer.
- multi: a list of captions/ids, or one string of comma-separated captions.
- ref: a positive integer naming an existing record of the referenced table
  (checked by the store).
- rev and formula/fn are computed and cannot be written.
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

#: Types whose values are plain strings in every form.
TEXT_TYPES = frozenset(
    {
        "string",
        "text",
        "email",
        "phone",
        "url",
        "link",
        "html",
        "location",
        "color",
        "icon",
        "file",
        "image",
        "user",
    }
)
#: Every type the emulator knows; others are kept as strings.
KNOWN_TYPES = TEXT_TYPES | {
    "number",
    "boolean",
    "date",
    "datetime",
    "timestamp",
    "time",
    "timeinterval",
    "appointment",
    "choice",
    "multi",
    "ref",
    "rev",
    "formula",
    "fn",
}
#: Types Ninox computes: never written, never in the change feed.
COMPUTED_TYPES = frozenset({"rev", "formula", "fn"})

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|\+00:00)?$"
)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$")
_INTERVAL = re.compile(r"^-?\d+:[0-5]\d:[0-5]\d(?:\.\d{1,3})?$")

Converter = Callable[[Any], Any]


class FieldValueError(ValueError):
    """A value a field cannot take; `str()` is the reason, for a 400 message."""


# ----------------------------------------------------------- date helpers


@lru_cache(maxsize=65536)
def _format_seconds(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def format_datetime(ms: int | None) -> str:
    """Epoch ms → `"YYYY-MM-DDTHH:MM:SS"` (UTC); None → `""` (unknown)."""
    if ms is None:
        return ""
    return _format_seconds(ms // 1000)


@lru_cache(maxsize=65536)
def date_to_ms(text: str) -> int:
    """`"YYYY-MM-DD"` → epoch ms of that day's midnight UTC (the raw form)."""
    y, m, d = (int(p) for p in text.split("-"))
    return calendar.timegm((y, m, d, 0, 0, 0)) * 1000


def parse_datetime(value: Any) -> int:
    """A written datetime → epoch ms (whole seconds); raises FieldValueError."""
    if not isinstance(value, str):
        raise FieldValueError(f"expected a datetime string, got {_describe(value)}")
    match = _DATETIME.match(value)
    if not match:
        raise FieldValueError(
            f"malformed datetime {value!r}: expected 'YYYY-MM-DDTHH:MM:SS' (UTC, no zone)"
        )
    try:
        y, mo, d, h, mi, s = (int(g) for g in match.groups())
        moment = datetime(y, mo, d, h, mi, s)
    except ValueError as exc:
        raise FieldValueError(f"invalid datetime {value!r}: {exc}") from None
    return calendar.timegm(moment.timetuple()) * 1000


def _describe(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    return f"{kind.get(type(value), 'object' if isinstance(value, dict) else 'value')} {shown}"


# --------------------------------------------------------------- writers


def _write_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise FieldValueError(f"expected a string, got {_describe(value)}")
    return value


def _write_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldValueError(f"expected a number, got {_describe(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldValueError(f"expected a finite number, got {value!r}")
    return value


def _write_boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise FieldValueError(f"expected true or false, got {_describe(value)}")
    return value


def _write_date(value: Any) -> Any:
    if not isinstance(value, str):
        raise FieldValueError(f"expected a date string, got {_describe(value)}")
    match = _DATE.match(value)
    if not match:
        raise FieldValueError(f"malformed date {value!r}: expected 'YYYY-MM-DD'")
    try:
        date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise FieldValueError(f"invalid date {value!r}: {exc}") from None
    return value


def _write_time(value: Any) -> Any:
    if not isinstance(value, str) or not _TIME.match(value):
        raise FieldValueError(f"malformed time {value!r}: expected 'HH:MM:SS'")
    return value


def _write_interval(value: Any) -> Any:
    if not isinstance(value, str) or not _INTERVAL.match(value):
        raise FieldValueError(f"malformed time interval {value!r}: expected 'H:MM:SS[.fff]'")
    return value


def _write_appointment(value: Any) -> Any:
    if not isinstance(value, str) or " - " not in value:
        raise FieldValueError(
            f"malformed appointment {value!r}: expected 'YYYY-MM-DDTHH:MM:SS - YYYY-MM-DDTHH:MM:SS'"
        )
    start_text, _, end_text = value.partition(" - ")
    start, end = parse_datetime(start_text.strip()), parse_datetime(end_text.strip())
    if end < start:
        raise FieldValueError(f"appointment {value!r} ends before it starts")
    return f"{format_datetime(start)} - {format_datetime(end)}"


def _write_datetime(value: Any) -> Any:
    return parse_datetime(value)


_WRITERS: dict[str, Converter] = {
    "number": _write_number,
    "boolean": _write_boolean,
    "date": _write_date,
    "datetime": _write_datetime,
    "timestamp": _write_datetime,
    "time": _write_time,
    "timeinterval": _write_interval,
    "appointment": _write_appointment,
}


# ----------------------------------------------------------------- codec


class FieldCodec:
    """Converters of one field, built once so each value costs one call.

    `names`/`ids`/`raw` are None where the stored value is already the answer.
    """

    def __init__(self, field_type: str, choices: list[dict[str, Any]] | None = None) -> None:
        """Build the converters for `field_type` (and its choices)."""
        # What `__reduce__` rebuilds it from: the converters are closures.
        self._args = (field_type, [dict(c) for c in choices or []])
        self.type = field_type
        self.computed = field_type in COMPUTED_TYPES
        self.names: Converter | None = None
        self.ids: Converter | None = None
        self.raw: Converter | None = None
        self._caption_to_id: dict[str, str] = {}
        self._id_to_caption: dict[str, str] = {}
        self._order: dict[str, int] = {}
        for position, choice in enumerate(choices or []):
            cid, caption = str(choice["id"]), str(choice.get("caption", ""))
            self._id_to_caption[cid] = caption
            self._caption_to_id.setdefault(caption, cid)
            self._order[cid] = position
        if field_type in ("datetime", "timestamp"):
            self.names = self.ids = format_datetime
        elif field_type == "date":
            self.raw = date_to_ms
        elif field_type == "choice":
            captions = self._id_to_caption
            self.names = lambda v: captions.get(v, v)
        elif field_type == "multi":
            captions = self._id_to_caption
            self.names = lambda v: [captions.get(i, i) for i in v]
            self.ids = self.raw = list

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as its constructor's arguments (the demo is built once, then copied)."""
        return (FieldCodec, self._args)

    def write(self, value: Any) -> Any:
        """A written text-form value → stored value, or None to clear the field."""
        if value is None or (isinstance(value, str) and value == ""):
            return None
        if self.computed:
            raise FieldValueError(f"{self.type} fields are computed by Ninox and cannot be written")
        if self.type == "choice":
            return self._choice_id(value)
        if self.type == "multi":
            return self._multi_ids(value)
        if self.type == "ref":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise FieldValueError(f"expected a record id (integer), got {_describe(value)}")
            return value
        writer = _WRITERS.get(self.type, _write_text)
        return writer(value)

    def _choice_id(self, value: Any) -> str:
        if isinstance(value, str):
            if value in self._caption_to_id:
                return self._caption_to_id[value]
            if value in self._id_to_caption:
                return value
        elif isinstance(value, int) and not isinstance(value, bool):
            if str(value) in self._id_to_caption:
                return str(value)
        else:
            raise FieldValueError(f"expected a choice caption or id, got {_describe(value)}")
        known = ", ".join(repr(c) for c in self._caption_to_id) or "none"
        raise FieldValueError(f"no choice {value!r} (choices: {known})")

    def _multi_ids(self, value: Any) -> list[str] | None:
        if isinstance(value, str):
            # One comma-separated string of captions (the real service's form);
            # a whole caption that holds a comma wins over splitting.
            if value in self._caption_to_id:
                items: list[Any] = [value]
            else:
                items = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list):
            items = value
        else:
            raise FieldValueError(f"expected a list of choices, got {_describe(value)}")
        chosen = {self._choice_id(item) for item in items}
        if not chosen:
            return None
        return sorted(chosen, key=lambda cid: self._order.get(cid, 0))

    def text(self, stored: Any, choice_ids: bool = False) -> Any:
        """Stored → text form (docs/api.md §3)."""
        conv = self.ids if choice_ids else self.names
        return stored if conv is None else conv(stored)

    def to_raw(self, stored: Any) -> Any:
        """Stored → change-feed raw form (docs/api.md §5)."""
        return stored if self.raw is None else self.raw(stored)
