"""Write rules of the Public API: a written value → its stored read form.

Stored (= read) forms, the contract's fixed readings: text types, `html`,
`color`, `icon`, `user`, `file` and `dchoice` as strings; `number` as a
JSON number; `boolean` as `true`/`false`; `choice` as the option name;
`multi` as a list of option names in option order; `dmulti` as a list of
strings; `date` `"2024-02-15"`; `timestamp` `"2024-02-15T13:45:30.000Z"`;
`time` `"09:30"` (`"09:30:15"` when the seconds are not zero);
`timeinterval` `"08:00:00"` (hours may exceed 24, a fraction is kept);
`appointment` `"[2024-02-15T09:00:00Z,2024-02-15T10:00:00Z)"`;
`reference` the target record's id as a string.

What a write accepts (anything else is a 400 naming the record and field):
`null` clears any field; numbers as finite JSON numbers or numeric strings;
booleans `true`/`false` only; a choice by its exact option name (or a list
of one name); multi as a list of option names (a plain string is refused);
date, timestamp and appointment as ISO 8601 strings with a zone or Unix ms;
a reference as a positive integer or digit string naming an existing
record of the referenced table. `reverse`, `function` and the response-only
types are read-only.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from ninox_emulator.public.clock import iso, parse_iso
from ninox_emulator.public.model import READ_ONLY_TYPES, Field

#: Types whose values are strings, stored as written.
TEXT_TYPES = frozenset({"string", "html", "color", "icon", "user", "file", "dchoice"})
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")
_INTERVAL = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)(\.\d{1,3})?$")
_APPOINTMENT = re.compile(r"^\[([^,\]]+),([^,)]+)\)$")


class FieldValueError(ValueError):
    """A value a field cannot take; `str()` is the reason."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _ms(value: Any) -> int | None:
    """Unix ms when `value` is an integer (not a boolean)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _moment(value: Any, what: str) -> int:
    """An ISO 8601 string with a zone, or Unix ms → epoch ms."""
    ms = _ms(value)
    if ms is None and isinstance(value, str):
        ms = parse_iso(value)
    if ms is None:
        raise FieldValueError(
            f"expected {what} as an ISO 8601 string with a zone "
            f"('2024-02-15T13:45:30Z') or Unix ms, got {value!r}"
        )
    return ms


def _short_iso(ms: int) -> str:
    """`2024-02-15T09:00:00Z` (milliseconds only when not zero)."""
    text = iso(ms)
    return text.replace(".000Z", "Z")


def _date(value: Any) -> str:
    if isinstance(value, str) and _DATE.match(value):
        try:
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise FieldValueError(f"no such date {value!r}") from None
        return value
    ms = _moment(value, "a date ('2024-02-15')")
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def _time(value: Any) -> str:
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise FieldValueError(f"expected a time 'HH:MM' or 'HH:MM:SS', got {value!r}")
    seconds = match.group(3)
    if seconds and int(seconds) > 59:
        raise FieldValueError(f"expected a time 'HH:MM' or 'HH:MM:SS', got {value!r}")
    head = f"{match.group(1)}:{match.group(2)}"
    return head if not seconds or seconds == "00" else f"{head}:{seconds}"


def _interval(value: Any) -> str:
    ms = _ms(value)
    if ms is not None and ms >= 0:
        seconds, rest = divmod(ms, 1000)
        hours, seconds = divmod(seconds, 3600)
        text = f"{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}"
        return text + (f".{rest:03d}" if rest else "")
    match = _INTERVAL.match(value) if isinstance(value, str) else None
    if not match:
        raise FieldValueError(f"expected a time interval 'HH:MM:SS' or ms, got {value!r}")
    return f"{int(match.group(1)):02d}:{match.group(2)}:{match.group(3)}{match.group(4) or ''}"


def _appointment(value: Any) -> str:
    match = _APPOINTMENT.match(value) if isinstance(value, str) else None
    if match:
        start = _moment(match.group(1).strip(), "an appointment start")
        end = _moment(match.group(2).strip(), "an appointment end")
        if end < start:
            raise FieldValueError(f"appointment {value!r} ends before it starts")
    else:
        start = end = _moment(value, "an appointment ('[start,end)')")
    return f"[{_short_iso(start)},{_short_iso(end)})"


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise FieldValueError("expected a number, got a boolean")
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise FieldValueError(f"expected a number or a numeric string, got {value!r}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldValueError(f"expected a finite number, got {_kind(value)}")
    return value


def _choice(spec: Field, value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    names = spec.option_names()
    if not isinstance(value, str):
        raise FieldValueError(f"expected an option name (one of {names}), got {_kind(value)}")
    if value not in names:
        raise FieldValueError(f"{value!r} is not an option (options: {names}; names match exactly)")
    return value


def _multi(spec: Field, value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldValueError(
            f"expected an array of option names for a multi field, got {_kind(value)}"
        )
    if spec.type == "dmulti":
        return list(value) or None
    names = spec.option_names()
    unknown = [v for v in value if v not in names]
    if unknown:
        raise FieldValueError(f"{unknown[0]!r} is not an option (options: {names})")
    chosen = set(value)
    return [n for n in names if n in chosen] or None


def reference_id(value: Any) -> int:
    """A written reference → the target record id; FieldValueError when malformed."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise FieldValueError(f"expected a record id (a positive integer), got {value!r}")


def convert(spec: Field, value: Any) -> Any:
    """`value` written to `spec` → its stored form (None clears); FieldValueError if refused.

    References are only checked for shape here; the store checks the target exists.
    """
    kind = spec.type
    if kind in READ_ONLY_TYPES:
        raise FieldValueError(f"field type '{kind}' is read-only and cannot be set directly")
    if value is None:
        return None
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise FieldValueError(f"expected a string, got {_kind(value)}")
        return value
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise FieldValueError(f"expected true or false, got {value!r}")
        return value
    if kind == "choice":
        return _choice(spec, value)
    if kind in ("multi", "dmulti"):
        return _multi(spec, value)
    if kind == "date":
        return _date(value)
    if kind == "timestamp":
        return iso(_moment(value, "a timestamp"))
    if kind == "time":
        return _time(value)
    if kind == "timeinterval":
        return _interval(value)
    if kind == "appointment":
        return _appointment(value)
    if kind == "reference":
        return str(reference_id(value))
    raise FieldValueError(f"field type '{kind}' cannot be written through the API")
