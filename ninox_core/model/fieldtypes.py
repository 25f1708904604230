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
file, image, user
appointment          string                as is (each generation's    the field's generation's
                                           own form)                   form, from either (0027)
timeinterval         string                as is                       text; `H:MM:SS[.fff]` with
                                                                       the generation's hours
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
- Write: an appointment takes either API generation's form (`A - B`,
  `[A,B)`) or one date-time, and is written in the form of the field's own
  generation (`NinoxField.generation`): the two servers refuse each other's
  forms, and what is written must equal what is read back (lost answers,
  reruns and the key index compare them). Anything else, or an end before
  the start, is refused (decision 0027, `period_forms`).
- Write: a time interval is text; one of the form `H:MM:SS[.fff]` gets its
  hours as the field's generation reads them (`0:25:16` classic,
  `00:25:16` Ninox 4); other text is left for the server to judge.
- `rev` and formula/fn are computed by Ninox: `is_writable` is False and their
  writer raises for every value, None included; callers skip such fields.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ninox_core.model.read_values import READERS
from ninox_core.model.schema import NinoxField
from ninox_core.model.value_forms import Converter
from ninox_core.model.write_values import WRITERS

__all__ = [
    "CHOICE_STYLES",
    "KINDS",
    "Converter",
    "FieldKind",
    "is_known_type",
    "is_writable",
    "kind_of",
    "reader",
    "singer_schema",
    "writer",
]

CHOICE_STYLES = ("names", "ids")


# ------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class FieldKind:
    """How one Ninox type maps to Singer and back.

    `make_reader` is None when values pass unchanged.
    """

    name: str
    schema: dict[str, Any]
    make_reader: Callable[[NinoxField, str], Converter] | None
    make_writer: Callable[[NinoxField], Converter]
    writable: bool = True
    known: bool = True


def _nullable(json_type: str, **extra: Any) -> dict[str, Any]:
    return {"type": [json_type, "null"], **extra}


_TEXT = FieldKind("text", _nullable("string"), None, WRITERS["text"])
_UNKNOWN = FieldKind(
    "unknown", _nullable("string"), READERS["json_text"], WRITERS["as_is"], known=False
)
_DATETIME = FieldKind(
    "datetime", _nullable("string", format="date-time"), READERS["datetime"], WRITERS["datetime"]
)
_FORMULA = FieldKind(
    "formula", _nullable("string"), READERS["json_text"], WRITERS["computed"], writable=False
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
)

#: Ninox type name (aliases included) → its kind. Other names are unknown.
KINDS: dict[str, FieldKind] = {
    **dict.fromkeys(_TEXT_TYPES, _TEXT),
    "number": FieldKind("number", _nullable("number"), None, WRITERS["number"]),
    "boolean": FieldKind("boolean", _nullable("boolean"), None, WRITERS["boolean"]),
    "date": FieldKind(
        "date",
        _nullable("string", format="date"),
        READERS["date"],
        WRITERS["date"],
    ),
    "datetime": _DATETIME,
    "timestamp": _DATETIME,
    "time": FieldKind("time", _nullable("string", format="time"), None, WRITERS["time"]),
    "appointment": FieldKind("appointment", _nullable("string"), None, WRITERS["appointment"]),
    "timeinterval": FieldKind("timeinterval", _nullable("string"), None, WRITERS["timeinterval"]),
    "choice": FieldKind("choice", _nullable("string"), READERS["choice"], WRITERS["choice"]),
    "multi": FieldKind(
        "multi",
        _nullable("array", items={"type": "string"}),
        READERS["multi"],
        WRITERS["multi"],
    ),
    "ref": FieldKind("ref", _nullable("integer"), READERS["ref"], WRITERS["ref"]),
    "rev": FieldKind(
        "rev",
        _nullable("array", items={"type": "integer"}),
        READERS["rev"],
        WRITERS["computed"],
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


def writer(field: NinoxField) -> Converter:
    """Singer value (as the SDK parsed it) → Ninox text form for POST.

    None → None (clears the field). Raises `ValueConversionError` for a value
    the field cannot take, and for every value of a computed field.
    """
    return kind_of(field).make_writer(field)
