"""The field-type model: per Ninox type, its Singer schema and value conversions.

Ninox type → Singer JSON schema; read (Ninox → Singer); write (Singer → Ninox):

- string, text, email, phone, url, link, html, color, icon, location, file,
  image, user, appointment, timeinterval → string; as is; str (numbers
  become their text, objects and arrays their compact JSON text).
- number → number; as is; int if integral, else float.
- boolean → boolean; as is; bool ("true"/"false" accepted).
- date → string/date; "2021-01-23"; "YYYY-MM-DD".
- datetime, timestamp → string/date-time; "2021-01-23T12:30:00Z" (UTC);
  "YYYY-MM-DDTHH:MM:SS" in UTC.
- time → string/time; "12:30:00"; "HH:MM:SS".
- choice → string; caption, or id with choice_style ids; caption (a caption
  or an id is accepted).
- multi → array of string; captions or ids; list of captions.
- ref → integer; record id; int.
- rev → array of integer; record ids; computed, not writable.
- formula, fn → string; strings as is, other values as JSON text; computed,
  not writable.
- anything else → string; strings as is, other values as JSON text; as is.

Every column is nullable; None reads and writes as None (writing None clears
the field).

Decisions where Ninox leaves room:
- A `multi` value may arrive as one comma-separated string of captions; it is
  split on the field's known captions first, so captions holding a comma
  survive, and on "," for the rest.
- A choice id may arrive as an integer; it is emitted as its string.
- Written date-times lose their fraction of a second (Ninox keeps none); naive
  ones are taken as UTC. A date field given a date-time keeps its UTC date.
- Text fields take numbers (written as their text), objects and arrays
  (written as compact JSON text) but not booleans; number fields take
  numeric strings; booleans take only true/false (or those words).

Converters are built once per field (`reader`, `writer`) so the per-value
work is one call, or none where the value needs no change (`reader` returns
None then).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from ninox_core.schema import NinoxField

Converter = Callable[[Any], Any]


class ValueConversionError(ValueError):
    """A value cannot be converted for a field; the message says which and why."""

    def __init__(self, field: NinoxField, value: Any, reason: str) -> None:
        """Keep the parts; the message names the field, the value and the reason."""
        self.field_name = field.name
        self.field_type = field.type
        self.value = value
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(
            f"field {field.name!r} ({field.type}) cannot take the value {shown}: {reason}"
        )


# ------------------------------------------------------------ dates and times


_FRACTION = re.compile(r"\.(\d+)")


def _parse_datetime(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 date-time as an aware UTC datetime (naive = UTC)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes no "Z" and only 3 or 6 fraction digits.
    value = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def ninox_datetime_to_singer(value: Any) -> str | None:
    """A Ninox date-time ("2022-06-28T19:35:01", UTC) in RFC 3339 with `Z`.

    `""` (records whose creation time Ninox does not know) becomes None;
    epoch milliseconds (the change feed's form) are accepted too.
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch_ms_to_singer(value)
    text = str(value)
    # The common case, Ninox's own form, costs one concatenation.
    if len(text) == 19 and text[10] == "T":
        return text + "Z"
    return _parse_datetime(text).strftime("%Y-%m-%dT%H:%M:%S") + _fraction(text)


def _fraction(text: str) -> str:
    """Keep a fraction of a second the server sent, then `Z`."""
    match = re.search(r"T\d\d:\d\d:\d\d(\.\d+)", text)
    return (match.group(1) if match else "") + "Z"


def epoch_ms_to_singer(value: Any) -> str | None:
    """Epoch milliseconds (change feed, file metadata) as RFC 3339 UTC with `Z`."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    moment = datetime.fromtimestamp(float(value) / 1000.0, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{moment.microsecond // 1000:03d}Z" if moment.microsecond else "Z"
    )


def user_to_singer(value: Any) -> str | None:
    """A user column (`createdBy`, `modifiedBy`): `0` or `""` (unknown) is None."""
    if value is None or value in (0, ""):
        return None
    return str(value)


# ------------------------------------------------------------------ readers


def _json_text(value: Any) -> Any:
    """Strings as they are, other values as compact JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _read_datetime(field: NinoxField, style: str) -> Converter:
    return ninox_datetime_to_singer


def _read_ref(field: NinoxField, style: str) -> Converter:
    return lambda v: v if type(v) is int else int(v)


def _read_rev(field: NinoxField, style: str) -> Converter:
    return lambda v: [int(i) for i in v] if isinstance(v, list) else [int(v)]


def _read_json_text(field: NinoxField, style: str) -> Converter:
    return _json_text


def _choice_maps(field: NinoxField) -> tuple[dict[str, str], dict[str, str]]:
    by_id = {c.id: c.caption for c in field.choices}
    by_caption = {c.caption: c.id for c in field.choices}
    return by_id, by_caption


def _read_choice(field: NinoxField, style: str) -> Converter:
    by_id, by_caption = _choice_maps(field)
    if style == "ids":
        # An id arrives as a string (or an integer); a caption means the
        # server ignored choiceStyle, so look its id up.
        def read_id(value: Any) -> Any:
            text = str(value)
            return text if text in by_id else by_caption.get(text, text)

        return read_id

    def read_caption(value: Any) -> Any:
        if type(value) is str and value in by_caption:
            return value
        return by_id.get(str(value), str(value))

    return read_caption


def _read_multi(field: NinoxField, style: str) -> Converter:
    one = _read_choice(field, style)
    captions = sorted((c.caption for c in field.choices), key=len, reverse=True)

    def read(value: Any) -> Any:
        items = _split_multi(value, captions) if isinstance(value, str) else value
        if not isinstance(items, list):
            items = [items]
        return [one(item) for item in items]

    return read


def _split_multi(text: str, captions: list[str]) -> list[str]:
    """Split "A, B, C" into captions, keeping known captions that hold a comma."""
    if not text:
        return []
    parts: list[str] = []
    rest = text.strip()
    while rest:
        for caption in captions:
            if rest == caption or rest.startswith(caption + ","):
                parts.append(caption)
                rest = rest[len(caption) :].lstrip(",").lstrip()
                break
        else:
            head, _, rest = rest.partition(",")
            parts.append(head.strip())
            rest = rest.lstrip()
    return [p for p in parts if p]


# ------------------------------------------------------------------ writers


def _json_default(value: Any) -> Any:
    """Numbers and dates inside objects the SDK parsed, back to JSON values."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_text(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise ValueConversionError(field, value, "expected text")
        if isinstance(value, (int, float, Decimal)):
            return str(_number(field, value))
        if isinstance(value, (dict, list)):
            # Ninox has no object or array field: keep the data as JSON text,
            # the form tap-ninox reads such values back in.
            try:
                return json.dumps(
                    value, ensure_ascii=False, separators=(",", ":"), default=_json_default
                )
            except (TypeError, ValueError):
                pass
        raise ValueConversionError(field, value, "expected text")

    return write


def _number(field: NinoxField, value: Any) -> int | float:
    """A JSON-safe number: int when integral, else float (never Decimal)."""
    if isinstance(value, bool):
        raise ValueConversionError(field, value, "expected a number, not a boolean")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except ArithmeticError:
            raise ValueConversionError(field, value, "expected a number") from None
    if not isinstance(value, (int, float, Decimal)):
        raise ValueConversionError(field, value, "expected a number")
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise ValueConversionError(field, value, "expected a finite number")
    if value == value.to_integral_value() if isinstance(value, Decimal) else value.is_integer():
        return int(value)
    return float(value)


def _write_number(field: NinoxField) -> Converter:
    return lambda v: None if v is None else _number(field, v)


def _write_boolean(field: NinoxField) -> Converter:
    words = {"true": True, "false": False}

    def write(value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in words:
            return words[value.strip().lower()]
        raise ValueConversionError(field, value, "expected true or false")

    return write


def _write_date(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime):
            return _as_utc(value).date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                if len(value.strip()) == 10:
                    return date.fromisoformat(value.strip()).isoformat()
                return _parse_datetime(value).date().isoformat()
            except ValueError:
                pass
        raise ValueConversionError(field, value, "expected a date like 2021-01-23")

    return write


def _write_datetime(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        moment: datetime | None = None
        if isinstance(value, datetime):
            moment = _as_utc(value)
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        elif isinstance(value, str):
            try:
                moment = _parse_datetime(value)
            except ValueError:
                moment = None
        if moment is None:
            raise ValueConversionError(
                field, value, "expected a date-time like 2021-01-23T12:30:00Z"
            )
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    return write


def _write_time(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, time):
            return value.strftime("%H:%M:%S")
        if isinstance(value, str):
            try:
                return time.fromisoformat(value.strip()).strftime("%H:%M:%S")
            except ValueError:
                pass
        raise ValueConversionError(field, value, "expected a time like 12:30:00")

    return write


def _choice_caption(field: NinoxField) -> Converter:
    by_id, by_caption = _choice_maps(field)

    def caption(value: Any) -> str:
        if isinstance(value, str) and value in by_caption:
            return value
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            found = by_id.get(str(value))
            if found is not None:
                return found
        known = ", ".join(repr(c.caption) for c in field.choices) or "none"
        raise ValueConversionError(field, value, f"not one of its choices ({known})")

    return caption


def _write_choice(field: NinoxField) -> Converter:
    caption = _choice_caption(field)
    return lambda v: None if v is None else caption(v)


def _write_multi(field: NinoxField) -> Converter:
    caption = _choice_caption(field)
    captions = sorted((c.caption for c in field.choices), key=len, reverse=True)

    def write(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = _split_multi(value, captions)
        if not isinstance(value, (list, tuple)):
            raise ValueConversionError(field, value, "expected a list of choices")
        return [caption(item) for item in value]

    return write


def _write_ref(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None:
            return None
        try:
            number = _number(field, value)
        except ValueConversionError:
            number = None
        if isinstance(number, int) and number > 0:
            return number
        raise ValueConversionError(field, value, "expected a record id (a positive integer)")

    return write


def _write_computed(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        raise ValueConversionError(field, value, "Ninox computes this field; it cannot be written")

    return write


def _write_as_is(field: NinoxField) -> Converter:
    return lambda v: v


# ------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class FieldKind:
    """How one Ninox type maps to Singer and back."""

    schema: dict[str, Any]
    make_reader: Callable[[NinoxField, str], Converter] | None
    make_writer: Callable[[NinoxField], Converter]
    writable: bool = True


_STRING = {"type": ["string", "null"]}
_TEXT = FieldKind(_STRING, None, _write_text)
_JSON_TEXT = FieldKind(_STRING, _read_json_text, _write_as_is)

KINDS: dict[str, FieldKind] = {
    **dict.fromkeys(
        (
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
        ),
        _TEXT,
    ),
    "number": FieldKind({"type": ["number", "null"]}, None, _write_number),
    "boolean": FieldKind({"type": ["boolean", "null"]}, None, _write_boolean),
    "date": FieldKind({"type": ["string", "null"], "format": "date"}, None, _write_date),
    **dict.fromkeys(
        ("datetime", "timestamp"),
        FieldKind(
            {"type": ["string", "null"], "format": "date-time"}, _read_datetime, _write_datetime
        ),
    ),
    "time": FieldKind({"type": ["string", "null"], "format": "time"}, None, _write_time),
    "choice": FieldKind(_STRING, _read_choice, _write_choice),
    "multi": FieldKind(
        {"type": ["array", "null"], "items": {"type": "string"}}, _read_multi, _write_multi
    ),
    "ref": FieldKind({"type": ["integer", "null"]}, _read_ref, _write_ref),
    "rev": FieldKind(
        {"type": ["array", "null"], "items": {"type": "integer"}},
        _read_rev,
        _write_computed,
        writable=False,
    ),
    **dict.fromkeys(
        ("formula", "fn"), FieldKind(_STRING, _read_json_text, _write_computed, writable=False)
    ),
}


def is_known_type(type_name: str) -> bool:
    """True for the Ninox types this model knows (others map to strings)."""
    return type_name in KINDS


def kind_of(field: NinoxField) -> FieldKind:
    """The kind of a field; unknown types behave as strings kept as they are."""
    return KINDS.get(field.type, _JSON_TEXT)


def is_writable(field: NinoxField) -> bool:
    """False for fields Ninox computes (`rev`, formulas)."""
    return kind_of(field).writable


def singer_schema(field: NinoxField) -> dict[str, Any]:
    """The JSON schema of a field's column (a fresh, nullable dict)."""
    return json.loads(json.dumps(kind_of(field).schema))


def reader(field: NinoxField, choice_style: str = "names") -> Converter | None:
    """Ninox text value → Singer value, or None when values pass unchanged.

    Callers skip None values themselves; the converter never sees them.
    """
    make = kind_of(field).make_reader
    return make(field, choice_style) if make else None


def writer(field: NinoxField) -> Converter:
    """Singer value (as the SDK parsed it) → Ninox text form for POST.

    Raises `ValueConversionError` for a value the field cannot take.
    """
    return kind_of(field).make_writer(field)


def to_python(field: NinoxField, value: Any) -> Any:
    """A Ninox text value as a Python value (date, aware datetime, time, …)."""
    if value is None:
        return None
    singer = reader(field)
    converted = singer(value) if singer else value
    kind = kind_of(field)
    fmt = kind.schema.get("format")
    if fmt == "date":
        return date.fromisoformat(converted)
    if fmt == "date-time":
        return _parse_datetime(converted)
    if fmt == "time":
        return time.fromisoformat(converted)
    return converted
