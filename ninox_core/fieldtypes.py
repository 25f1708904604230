"""The field-type model: per Ninox type, its Singer schema and value conversions.

Every Ninox type maps to a `FieldKind` (one dict, `KINDS`, aliases included).
A kind gives the column's JSON schema and builds, once per field, the
converters the connectors call per value: `reader` (Ninox text form → Singer
value, tap) and `writer` (Singer value as the SDK parsed it → Ninox text form
for POST, target). Every column is nullable (`["<type>", "null"]`).

===================  ====================  ==========================  =======================
Ninox type           JSON schema           read (Ninox → Singer)       write (Singer → Ninox)
===================  ====================  ==========================  =======================
string, text,        string                as is                       str; other values as
email, phone, url,                                                     text (see decisions)
link, html, color,
icon, location,
file, image, user,
appointment,
timeinterval
number               number                as is                       int if integral, else
                                                                       float
boolean              boolean               as is                       bool
date                 string, format date   "2021-01-23" (also from     "YYYY-MM-DD"
                                           epoch ms or a date-time)
datetime, timestamp  string, format        "2021-01-23T12:30:00Z"      "YYYY-MM-DDTHH:MM:SS"
                     date-time             (RFC 3339, UTC, `Z`)        (UTC, no zone, no ms)
time                 string, format time   as is ("12:30:00")          "HH:MM:SS"
choice               string                caption, or id string with  caption (given a
                                           choice_style "ids"          caption or an id)
multi                array of string       list of captions / ids      list of captions
ref                  integer               int                         int (a record id)
rev                  array of integer      list of int                 computed: not writable
formula, fn          string                strings as is, other        computed: not writable
                                           values as compact JSON
anything else        string                as formula (reported        as it comes (JSON-safe)
                                           unknown: `is_known_type`)
===================  ====================  ==========================  =======================

`None` reads as `None` and writes as `None` (which clears the field).

Decisions where Ninox or the brief leaves room:

- Read: values the server already sends in the Singer form (text-like,
  number, boolean, time) are not touched at all: `reader` returns None
  for them so the tap skips the call. A value a reader cannot convert (a ref
  that is no integer, a malformed date-time) raises `ValueConversionError`
  rather than emitting something that breaks the column's schema.
- Read: Ninox's own date-time form (19 characters, `T` at index 10) is
  trusted and only gets its `Z`: parsing every value would cost more than the
  rest of the conversion. Other forms (offsets, a fraction, epoch ms) are
  parsed, converted to UTC and checked. A fraction of a second the server
  sent is kept, as milliseconds (".250") or, when finer, microseconds.
- Read: `multi` may arrive as one comma-separated string; it is split on
  the field's known captions first (longest first), so captions holding a
  comma survive, and on "," for the rest. Choice ids may arrive as integers;
  they are emitted as strings. A caption/id the schema does not know is
  emitted as it came (a choice added since discovery must not stop the tap).
- Write: an empty string for a field that is not text-like clears it (None;
  `[]` for multi): CSV-like sources send empty cells as "".
- Write: naive date-times are UTC; aware ones are converted to UTC; the
  fraction of a second is dropped (Ninox keeps none). Strings in RFC 3339 /
  ISO 8601 form are accepted with `Z`, any offset, `T` or a space, any number
  of fraction digits; a bare date means midnight UTC. Epoch numbers are
  refused (seconds or milliseconds? the value cannot say).
- Write: a date field takes a date, a "YYYY-MM-DD" string, or a date-time
  whose time of day is exactly midnight in its own offset (that calendar date
  is kept, not shifted to UTC: many sources type dates as midnight
  date-times). Any other date-time is refused instead of silently losing its
  time.
- Write: a time field takes a time or "HH:MM[:SS[.f]]"; an offset (time
  object with tzinfo, "12:30:00+02:00") is converted to UTC like date-times;
  fractions are dropped.
- Write: number fields take int, float, Decimal and numeric strings ("2.5",
  "-1e3"); never booleans, NaN or infinities. Python ints stay ints (exact
  digits); floats and Decimals become int when integral and below 2**53 (above
  it a double has no fraction anyway and `int(1e300)` is a 301-digit literal),
  else float. Never a Decimal: the result must suit stdlib `json`.
- Write: boolean fields take bools and the strings "true"/"false" (any case);
  not 0/1, which more often signals a mapping mistake than a flag.
- Write: choice takes a caption (exact match, tried first, so a caption that
  looks like another choice's id wins) or an id as string, int or integral
  Decimal; the caption is sent. multi takes a list (or tuple) of those, or one
  comma-separated string split as on read; duplicates are dropped, order kept.
- Write: ref takes a positive integer, or an integral float, Decimal or
  string ("4", 4.0); 1.5, 0, -3 and booleans are refused.
- Write: text-like types take strings as they are; numbers as
  their text (int when integral: 1.50 → "1.5"); booleans as "true"/"false";
  date-times as RFC 3339 UTC with `Z`, dates and times in ISO form; objects
  and arrays as compact JSON text (the form tap-ninox reads them back in).
- Write: a type this model does not know takes values as they come, for
  Ninox to judge (the target cannot know its form); only Decimals and
  date/time objects, also nested, become JSON numbers and ISO text.
- `rev` and formula/fn are computed by Ninox: `is_writable` is False and their
  writer raises for every value, None included; callers skip such fields.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from ninox_core.schema import NinoxField

#: A per-field value converter, built once by `reader` or `writer`.
Converter = Callable[[Any], Any]

CHOICE_STYLES = ("names", "ids")

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
#: Below this magnitude a float/Decimal that is integral is sent as an int.
_INT_LIMIT = 2**53
_MAX_SHOWN = 80


class ValueConversionError(ValueError):
    """A value that cannot be converted for a field.

    Attributes `field_name`, `field_type`, `value` and `reason` (what the
    field expects); the message is one sentence naming all of them.
    """

    def __init__(self, field: NinoxField, value: Any, reason: str) -> None:
        self.field_name = field.name
        self.field_type = field.type
        self.value = value
        self.reason = reason
        super().__init__(
            f"field {field.name!r} ({field.type}) cannot take the value "
            f"{show_value(value)}: {reason}"
        )


def show_value(value: Any) -> str:
    """`repr(value)`, cut to about 80 characters for messages."""
    try:
        shown = repr(value)
    except ValueError:  # an int past Python's 4300-digit str() limit
        if isinstance(value, int):
            return f"<int of {int(math.log10(abs(value))) + 1} digits>"
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 3] + "..."


# ------------------------------------------------------------ dates and times

# Deliberately our own parser: `fromisoformat` accepts different forms on
# Python 3.10 and 3.11+ (`Z`, fraction lengths, basic format), and the SDK
# monkeypatches it on 3.10. One regex gives the same answer everywhere.
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*([Zz]|[+-]\d\d(?::?\d\d)?)?)?",
    re.ASCII,
)
_TIME_RE = re.compile(
    r"(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*([Zz]|[+-]\d\d(?::?\d\d)?)?", re.ASCII
)
_DATE_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)


def _offset(text: str | None) -> timezone | None:
    """`Z`, `+02:00`, `-0530`, `+02` as a timezone; None for no offset."""
    if not text:
        return None
    if text in ("Z", "z"):
        return _UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _micro(fraction: str | None) -> int:
    """Fraction-of-second digits as microseconds (truncated past 6 digits)."""
    return int((fraction + "000000")[:6]) if fraction else 0


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 date-time or date as written (offset kept, naive if none).

    Raises ValueError for anything else, including impossible dates.
    """
    match = _DATETIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a date-time: {text!r}")
    y, mo, d, h, mi, s, frac, off = match.groups()
    return datetime(
        int(y),
        int(mo),
        int(d),
        int(h or 0),
        int(mi or 0),
        int(s or 0),
        _micro(frac),
        tzinfo=_offset(off),
    )


def _utc(moment: datetime) -> datetime:
    """Naive = UTC; aware converted to UTC."""
    zone = moment.tzinfo
    if zone is _UTC:
        return moment  # the SDK's usual value: skip the costly astimezone
    if zone is None:
        return moment.replace(tzinfo=_UTC)
    return moment.astimezone(_UTC)


def _ninox_datetime(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a UTC datetime.

    isoformat always pads the year to 4 digits (strftime does not on glibc),
    so its first 19 characters are exactly this; keyword-free, it is also the
    fastest way to get them.
    """
    return moment.isoformat()[:19]


def _singer_datetime(moment: datetime) -> str:
    """RFC 3339 UTC with `Z`; a fraction as ms, or µs when finer."""
    us = moment.microsecond
    if not us:
        return moment.isoformat()[:19] + "Z"
    if us % 1000 == 0:
        return f"{moment.isoformat()[:19]}.{us // 1000:03d}Z"
    return f"{moment.isoformat()[:19]}.{us:06d}Z"


def _hms(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def ninox_datetime_to_singer(value: Any) -> str | None:
    """A Ninox date-time ("2022-06-28T19:35:01", UTC) as RFC 3339 UTC with `Z`.

    For `_created_at`/`_modified_at` and datetime fields. `""` and None
    (records whose creation time Ninox does not know) become None; epoch
    milliseconds (the change feed's form) and other ISO forms (offsets, a
    fraction) are accepted. Raises ValueError for anything else.
    """
    if type(value) is str and len(value) == 19 and value[10] == "T":
        # Ninox's own form, by far the common case: one concatenation.
        return value + "Z"
    if value is None or value == "":
        return None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return epoch_ms_to_singer(value)
    if not isinstance(value, str):
        raise ValueError(f"not a date-time: {value!r}")
    return _singer_datetime(_utc(parse_datetime(value)))


def epoch_ms_to_singer(value: Any) -> str | None:
    """Epoch milliseconds (change feed, file metadata) as RFC 3339 UTC with `Z`.

    None, `""` and booleans become None.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    # Integer arithmetic: no float rounding of the milliseconds, and negative
    # values (before 1970) work on every platform.
    return _singer_datetime(_EPOCH + timedelta(milliseconds=int(value)))


def user_to_singer(value: Any) -> str | None:
    """A user column (`createdBy`, `modifiedBy`) as a string; `0`, `"0"`, `""` (unknown) → None."""
    if value is None or value in ("", 0, "0"):
        return None
    return str(value)


# ------------------------------------------------------------------ readers


def _json_default(value: Any) -> Any:
    """Values the SDK or a JSON parser produced, as JSON values."""
    if isinstance(value, Decimal):
        return _plain_number(value)
    if isinstance(value, datetime):
        return _singer_datetime(_utc(value))
    if isinstance(value, (date, time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_text(value: Any) -> Any:
    """Strings as they are, other values as compact JSON text (never raises)."""
    if value is None or type(value) is str:
        return value
    try:
        if isinstance(value, Decimal):
            return json.dumps(_plain_number(value))
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError, OverflowError, InvalidOperation):
        # Formula and unknown columns must never stop the tap (Decimal NaN, …).
        return str(value)


def _read_json_text(field: NinoxField, style: str) -> Converter:
    return _json_text


def _read_datetime(field: NinoxField, style: str) -> Converter:
    to_singer = ninox_datetime_to_singer

    def read(value: Any) -> Any:
        if type(value) is str and len(value) == 19 and value[10] == "T":
            return value + "Z"
        try:
            return to_singer(value)
        except (ValueError, OverflowError):
            raise ValueConversionError(field, value, "expected a date-time") from None

    return read


def _read_date(field: NinoxField, style: str) -> Converter:
    """A date field's value as `YYYY-MM-DD` from every form servers send.

    Ninox's own form passes unchanged; epoch milliseconds (docs/api.md,
    server variants) are the UTC midnight of the day; a date-time string
    keeps the calendar date it was written with (its offset is not applied:
    a date sent as "2021-01-23T00:00:00+02:00" means the 23rd).
    """

    def read(value: Any) -> Any:
        if type(value) is str:
            if len(value) == 10 and _DATE_RE.fullmatch(value):
                return value
            if not value.strip():
                return None
            try:
                return parse_datetime(value).date().isoformat()
            except ValueError:
                raise ValueConversionError(field, value, "expected a date") from None
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            try:
                return (_EPOCH + timedelta(milliseconds=int(value))).date().isoformat()
            except (ValueError, OverflowError):
                pass
        raise ValueConversionError(field, value, "expected a date") from None

    return read


def _read_raw_date(field: NinoxField, style: str) -> Converter:
    """Change feed: a date is the epoch ms of its midnight UTC."""

    def read(value: Any) -> Any:
        if type(value) is str:
            return value or None
        try:
            return (_EPOCH + timedelta(milliseconds=int(value))).date().isoformat()
        except (TypeError, ValueError, OverflowError):
            raise ValueConversionError(field, value, "expected epoch milliseconds") from None

    return read


_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


def _integer(value: Any) -> int | None:
    """An int from an int, integral float/Decimal or integer string; else None."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return int(value) if _INTEGER_RE.fullmatch(value.strip()) else None
    if isinstance(value, (float, Decimal)):
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError, InvalidOperation):
            return None
    return None


def _read_ref(field: NinoxField, style: str) -> Converter:
    def read(value: Any) -> Any:
        if type(value) is int:
            return value
        number = _integer(value)
        if number is None:
            raise ValueConversionError(field, value, "expected a record id (an integer)")
        return number

    return read


def _read_rev(field: NinoxField, style: str) -> Converter:
    one = _read_ref(field, style)

    def read(value: Any) -> Any:
        if isinstance(value, list):
            return [one(item) for item in value]
        if isinstance(value, str):
            return [one(item) for item in value.split(",") if item.strip()]
        return [one(value)]

    return read


def _choice_maps(field: NinoxField) -> tuple[dict[str, str], dict[str, str]]:
    """(id → caption, caption → id); the first choice wins a duplicated caption."""
    by_id: dict[str, str] = {}
    by_caption: dict[str, str] = {}
    for choice in field.choices:
        by_id.setdefault(choice.id, choice.caption)
        by_caption.setdefault(choice.caption, choice.id)
    return by_id, by_caption


def _read_choice(field: NinoxField, style: str) -> Converter:
    by_id, by_caption = _choice_maps(field)
    if style == "ids":
        # An id arrives as a string (or an integer); a caption means the
        # server ignored choiceStyle, so look its id up.
        def read_id(value: Any) -> Any:
            text = value if type(value) is str else str(value)
            return text if text in by_id else by_caption.get(text, text)

        return read_id

    def read_caption(value: Any) -> Any:
        if type(value) is str and value in by_caption:
            return value
        text = value if type(value) is str else str(value)
        return by_id.get(text, text)

    return read_caption


def _captions_longest_first(field: NinoxField) -> list[str]:
    return sorted({c.caption for c in field.choices if c.caption}, key=len, reverse=True)


def split_multi(text: str, captions: list[str]) -> list[str]:
    """Split "A, B, C" into items; known `captions` (longest first) may hold commas."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        for caption in captions:
            if rest == caption or rest.startswith(caption + ","):
                parts.append(caption)
                rest = rest[len(caption) + 1 :].lstrip()
                break
        else:
            head, _, rest = rest.partition(",")
            parts.append(head.strip())
            rest = rest.lstrip()
    return [p for p in parts if p]


def _read_multi(field: NinoxField, style: str) -> Converter:
    one = _read_choice(field, style)
    captions = _captions_longest_first(field)

    def read(value: Any) -> Any:
        if isinstance(value, list):
            return [one(item) for item in value if item is not None and item != ""]
        if isinstance(value, str):
            return [one(item) for item in split_multi(value, captions)]
        return [one(value)]

    return read


_HEX_RE = re.compile(r"[0-9a-fA-F]+", re.ASCII)


def _read_raw_multi(field: NinoxField, style: str) -> Converter:
    """Change feed: a list of choice ids, or a hex bitmask string (docs/api.md).

    In the bitmask, bit i set means the i-th choice in the field's schema
    order (`"a"` = bits 1 and 3 = the second and fourth choice).
    """
    items = _read_multi(field, style)
    one = _read_choice(field, style)
    choices = field.choices

    def read(value: Any) -> Any:
        if type(value) is str and _HEX_RE.fullmatch(value):
            mask = int(value, 16)
            if mask >> len(choices):
                raise ValueConversionError(field, value, f"a bitmask of its {len(choices)} choices")
            return [one(c.id) for i, c in enumerate(choices) if mask >> i & 1]
        return items(value)

    return read


# ------------------------------------------------------------------ writers


def _blank(value: Any) -> bool:
    """An empty or whitespace-only string: clears a non-text field."""
    return type(value) is str and not value.strip()


_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _plain_number(value: Decimal | float) -> int | float:
    """A finite float/Decimal as int when integral (and small enough) else float.

    Raises ValueError for NaN, infinities and values beyond a double's range.
    """
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError("not a finite number")
    if as_float.is_integer() and abs(as_float) < _INT_LIMIT:
        # Via the Decimal/float itself, not as_float, so 2**53-1 stays exact.
        return int(value)
    return as_float


def _to_number(field: NinoxField, value: Any) -> int | float:
    """A JSON-safe number for a number field (never a Decimal)."""
    kind = type(value)
    if kind is int:
        if -_INT_LIMIT < value < _INT_LIMIT:
            return value
        try:
            float(value)
        except OverflowError:
            raise ValueConversionError(field, value, "the number is too large") from None
        return value
    if kind is bool:
        raise ValueConversionError(field, value, "expected a number, not a boolean")
    if kind is str:
        text = value.strip()
        if not _NUMBER_RE.fullmatch(text):
            raise ValueConversionError(field, value, "expected a number")
        value = Decimal(text)
    elif not isinstance(value, (float, Decimal)):
        raise ValueConversionError(field, value, "expected a number")
    try:
        return _plain_number(value)
    except (ValueError, OverflowError, InvalidOperation):
        raise ValueConversionError(field, value, "expected a finite number") from None


def _write_number(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None or _blank(value):
            return None
        return _to_number(field, value)

    return write


def _text(value: Any) -> str | None:
    """Any SDK value as text for a text field; None when it has no text form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        try:
            return str(_plain_number(value))
        except (ValueError, OverflowError, InvalidOperation):
            return None
    if isinstance(value, datetime):
        return _singer_datetime(_utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return _hms(value) if not value.microsecond else value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        # Ninox has no object or array field: keep the data as JSON text.
        try:
            return json.dumps(
                value, ensure_ascii=False, separators=(",", ":"), default=_json_default
            )
        except (TypeError, ValueError):
            return None
    return None


def _write_text(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None or type(value) is str:
            return value
        try:
            text = _text(value)
        except ValueError:  # e.g. an int past Python's 4300-digit str() limit
            text = None
        if text is None:
            raise ValueConversionError(field, value, "expected text")
        return text

    return write


def _write_boolean(field: NinoxField) -> Converter:
    words = {"true": True, "false": False}

    def write(value: Any) -> Any:
        if value is None or value is True or value is False:
            return value
        if type(value) is str:
            word = value.strip().lower()
            if word in words:
                return words[word]
            if not word:
                return None
        raise ValueConversionError(field, value, 'expected true or false (or "true"/"false")')

    return write


def _date_of(moment: datetime) -> date | None:
    """The calendar date of a date-time at midnight (its own offset), else None."""
    if moment.time() == time(0):
        return moment.date()
    return None


def _write_date(field: NinoxField) -> Converter:
    expected = "expected a date like 2021-01-23"

    def write(value: Any) -> Any:
        if value is None:
            return None
        day: date | None = None
        if isinstance(value, datetime):
            day = _date_of(value)
            if day is None:
                raise ValueConversionError(
                    field,
                    value,
                    f"{expected} (a date-time at midnight would do; "
                    "this one has a time of day the date field would lose)",
                )
        elif isinstance(value, date):
            day = value
        elif type(value) is str:
            text = value.strip()
            if not text:
                return None
            try:
                if _DATE_RE.fullmatch(text):
                    day = date(int(text[:4]), int(text[5:7]), int(text[8:10]))
                else:
                    day = _date_of(parse_datetime(text))
            except ValueError:
                day = None
        if day is None:
            raise ValueConversionError(field, value, expected)
        return day.isoformat()

    return write


def _write_datetime(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        moment: datetime | None = None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif type(value) is str:
            if not value.strip():
                return None
            try:
                moment = parse_datetime(value)
            except ValueError:
                moment = None
        if moment is not None:
            zone = moment.tzinfo
            if zone is None or zone is _UTC:
                return _ninox_datetime(moment)  # no tz arithmetic: the common, fast case
            try:
                return _ninox_datetime(moment.astimezone(_UTC))
            except OverflowError:  # year 1 or 9999 pushed out of range by the offset
                pass
        raise ValueConversionError(field, value, "expected a date-time like 2021-01-23T12:30:00Z")

    return write


def _time_to_utc(value: time) -> time:
    offset = value.utcoffset()
    if offset is None:
        return value
    moment = datetime.combine(date(2000, 1, 1), value.replace(tzinfo=None)) - offset
    return moment.time()


def _write_time(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, time):
            return _hms(_time_to_utc(value))
        if type(value) is str:
            text = value.strip()
            if not text:
                return None
            match = _TIME_RE.fullmatch(text)
            if match is not None:
                h, mi, s, _frac, off = match.groups()
                try:
                    parsed = time(int(h), int(mi), int(s or 0), tzinfo=_offset(off))
                except ValueError:
                    pass
                else:
                    return _hms(_time_to_utc(parsed))
        raise ValueConversionError(field, value, "expected a time like 12:30:00")

    return write


def _choice_caption(field: NinoxField) -> Callable[[Any], str]:
    """Caption or id (str, int, integral Decimal) → caption; raises otherwise."""
    by_id, by_caption = _choice_maps(field)
    listed = [repr(c) for c in by_caption]
    known = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
    reason = f"expected one of its choices ({known or 'it has none'}), by caption or id"

    def caption(value: Any) -> str:
        if type(value) is str:
            if value in by_caption:
                return value
            found = by_id.get(value)
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            number = _integer(value)
            found = by_id.get(str(number)) if number is not None else None
        else:
            found = None
        if found is None:
            raise ValueConversionError(field, value, reason)
        return found

    return caption


def _write_choice(field: NinoxField) -> Converter:
    caption = _choice_caption(field)

    def write(value: Any) -> Any:
        if value is None or _blank(value):
            return None
        return caption(value)

    return write


def _write_multi(field: NinoxField) -> Converter:
    caption = _choice_caption(field)
    captions = _captions_longest_first(field)

    def write(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is str:
            value = split_multi(value, captions)
        if not isinstance(value, (list, tuple)):
            raise ValueConversionError(field, value, "expected a list of choices (captions or ids)")
        # dict.fromkeys: drop duplicates (Ninox keeps a set), keep the order.
        return list(dict.fromkeys(caption(item) for item in value))

    return write


def _write_ref(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None or _blank(value):
            return None
        number = _integer(value)
        if number is None or number <= 0:
            raise ValueConversionError(field, value, "expected a record id (a positive integer)")
        return number

    return write


def _json_safe(value: Any) -> Any:
    """The value with Decimals and dates (also nested) as JSON values; TypeError else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError("not a finite number")
        return value
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    return _json_default(value)


def _write_as_is(field: NinoxField) -> Converter:
    # The type's form is unknown, so Ninox judges the value, not the target;
    # only what stdlib json cannot write (Decimal, dates) is converted.
    def write(value: Any) -> Any:
        if value is None or type(value) is str:
            return value
        try:
            return _json_safe(value)
        except (TypeError, ValueError, OverflowError, InvalidOperation):
            raise ValueConversionError(field, value, "expected a JSON value") from None

    return write


def _write_computed(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        raise ValueConversionError(field, value, "Ninox computes this field; it cannot be written")

    return write


# ------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class FieldKind:
    """How one Ninox type maps to Singer and back.

    `make_reader`/`make_raw_reader` are None when values pass unchanged.
    """

    name: str
    schema: dict[str, Any]
    make_reader: Callable[[NinoxField, str], Converter] | None
    make_writer: Callable[[NinoxField], Converter]
    writable: bool = True
    known: bool = True
    #: For the change feed's raw form when it differs from the text form.
    make_raw_reader: Callable[[NinoxField, str], Converter] | None = None


def _nullable(json_type: str, **extra: Any) -> dict[str, Any]:
    return {"type": [json_type, "null"], **extra}


_TEXT = FieldKind("text", _nullable("string"), None, _write_text)
_UNKNOWN = FieldKind("unknown", _nullable("string"), _read_json_text, _write_as_is, known=False)
_DATETIME = FieldKind(
    "datetime", _nullable("string", format="date-time"), _read_datetime, _write_datetime
)
_FORMULA = FieldKind(
    "formula", _nullable("string"), _read_json_text, _write_computed, writable=False
)

_TEXT_TYPES = (
    "string",
    "text",
    "email",
    "phone",
    "url",
    "link",
    "html",
    "color",
    "icon",
    "location",
    "file",
    "image",
    "user",
    "appointment",
    "timeinterval",
)

#: Ninox type name (aliases included) → its kind. Other names are unknown.
KINDS: dict[str, FieldKind] = {
    **dict.fromkeys(_TEXT_TYPES, _TEXT),
    "number": FieldKind("number", _nullable("number"), None, _write_number),
    "boolean": FieldKind("boolean", _nullable("boolean"), None, _write_boolean),
    "date": FieldKind(
        "date",
        _nullable("string", format="date"),
        _read_date,
        _write_date,
        make_raw_reader=_read_raw_date,
    ),
    "datetime": _DATETIME,
    "timestamp": _DATETIME,
    "time": FieldKind("time", _nullable("string", format="time"), None, _write_time),
    "choice": FieldKind("choice", _nullable("string"), _read_choice, _write_choice),
    "multi": FieldKind(
        "multi",
        _nullable("array", items={"type": "string"}),
        _read_multi,
        _write_multi,
        make_raw_reader=_read_raw_multi,
    ),
    "ref": FieldKind("ref", _nullable("integer"), _read_ref, _write_ref),
    "rev": FieldKind(
        "rev",
        _nullable("array", items={"type": "integer"}),
        _read_rev,
        _write_computed,
        writable=False,
    ),
    "formula": _FORMULA,
    "fn": _FORMULA,
}


def is_known_type(type_name: str) -> bool:
    """True for the Ninox types this model knows; callers warn once for others."""
    return type_name in KINDS


def kind_of(field: NinoxField) -> FieldKind:
    """The kind of a field; unknown types get a string kind with `known` False."""
    return KINDS.get(field.type, _UNKNOWN)


def is_writable(field: NinoxField) -> bool:
    """False for fields Ninox computes (`rev`, formula/fn)."""
    return kind_of(field).writable


def singer_schema(field: NinoxField) -> dict[str, Any]:
    """The JSON schema of a field's column: a fresh, nullable dict."""
    return copy.deepcopy(kind_of(field).schema)


def _check_style(choice_style: str) -> None:
    if choice_style not in CHOICE_STYLES:
        raise ValueError(f"choice_style must be 'names' or 'ids', not {choice_style!r}")


def reader(field: NinoxField, choice_style: str = "names") -> Converter | None:
    """Ninox text value → Singer value; None when values pass unchanged.

    The converter is never given None (callers skip it: None stays None).
    Raises `ValueConversionError` for a value it cannot convert.
    """
    _check_style(choice_style)
    make = kind_of(field).make_reader
    return make(field, choice_style) if make else None


def raw_reader(field: NinoxField, choice_style: str = "names") -> Converter | None:
    """Change-feed raw value (epoch ms dates, choice ids) → Singer value; None = unchanged.

    Like `reader`, for the values of `.../changes` (docs/api.md §5).
    """
    _check_style(choice_style)
    kind = kind_of(field)
    make = kind.make_raw_reader or kind.make_reader
    return make(field, choice_style) if make else None


def writer(field: NinoxField) -> Converter:
    """Singer value (as the SDK parsed it) → Ninox text form for POST.

    None → None (clears the field). Raises `ValueConversionError` for a value
    the field cannot take, and for every value of a computed field.
    """
    return kind_of(field).make_writer(field)


def parse_text(field: NinoxField, value: Any, choice_style: str = "names") -> Any:
    """A Ninox text value as a Python value: the reader's, with dates as date/datetime/time.

    Date-times become aware UTC datetimes. A convenience (tests, the
    emulator): it builds the converter on every call.
    """
    if value is None:
        return None
    read = reader(field, choice_style)
    converted = value if read is None else read(value)
    if converted is None:
        return None
    fmt = kind_of(field).schema.get("format")
    try:
        if fmt == "date":
            return date.fromisoformat(converted)
        if fmt == "date-time":
            return _utc(parse_datetime(converted))
        if fmt == "time":
            return time.fromisoformat(converted)
    except (TypeError, ValueError):
        raise ValueConversionError(field, value, f"expected a {fmt}") from None
    return converted


def format_text(field: NinoxField, value: Any) -> Any:
    """A Python or Singer value in Ninox's text form: `writer(field)(value)`, once."""
    return writer(field)(value)
