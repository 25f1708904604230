"""The emulator's own field values: validation of writes and the three forms.

Deliberately independent of `ninox_core.fieldtypes`: the emulator plays the
far side of the wire, so one conversion bug cannot hide on both sides.

Stored forms: text-like → str; number → int/float; boolean → bool; date →
"YYYY-MM-DD"; datetime/timestamp → epoch milliseconds (int); time →
"HH:MM:SS"; choice → choice id (str); multi → list of choice ids; ref →
record id (int); unknown types → any JSON scalar. `rev` and formulas are
computed when read and cannot be written.

What a write accepts (anything else is a 400 naming record index and field):
- text-like types: strings only;
- number: int or float (not bool, not strings);
- boolean: true/false only;
- date: "YYYY-MM-DD"; datetime/timestamp: "YYYY-MM-DDTHH:MM:SS" (UTC, no zone,
  no fraction: Ninox's own form); time: "HH:MM:SS" or "HH:MM";
- choice: a caption, or an id (string or integer); multi: a list of those, or
  one comma-separated string of captions;
- ref: a positive integer (not checked against the other table: Ninox keeps
  dangling references, and copies write tables in any order);
- null or "" clears a field.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

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
        "appointment",
        "timeinterval",
    }
)
COMPUTED_TYPES = frozenset({"rev", "formula", "fn"})
KNOWN_TYPES = (
    TEXT_TYPES
    | COMPUTED_TYPES
    | {
        "number",
        "boolean",
        "date",
        "datetime",
        "timestamp",
        "time",
        "choice",
        "multi",
        "ref",
    }
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


class InvalidValue(ValueError):
    """A value a field cannot take; the message says what is expected."""


def epoch_ms(text: str) -> int:
    """Ninox's datetime text (UTC) as epoch milliseconds."""
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def datetime_text(ms: int) -> str:
    """Epoch milliseconds as Ninox's datetime text (UTC, no zone, no fraction)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def date_ms(text: str) -> int:
    """A date as the change feed sends it: epoch ms of its midnight UTC."""
    day = date.fromisoformat(text)
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)


def parse_write(field: dict[str, Any], value: Any) -> Any:
    """A written value in stored form; raises `InvalidValue`."""
    kind = field["type"]
    if value is None or value == "":
        return None
    if kind in COMPUTED_TYPES:
        raise InvalidValue("Ninox computes this field; it cannot be written")
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise InvalidValue(f"expected a string, got {type(value).__name__}")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidValue(f"expected a number, got {type(value).__name__}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidValue(f"expected true or false, got {value!r}")
        return value
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise InvalidValue(f"malformed date {value!r}, expected YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            raise InvalidValue(f"malformed date {value!r}, expected YYYY-MM-DD") from None
        return value
    if kind in ("datetime", "timestamp"):
        if not isinstance(value, str) or not _DATETIME.match(value):
            raise InvalidValue(f"malformed datetime {value!r}, expected YYYY-MM-DDTHH:MM:SS (UTC)")
        try:
            return epoch_ms(value)
        except ValueError:
            raise InvalidValue(f"malformed datetime {value!r}") from None
    if kind == "time":
        match = _TIME.match(value) if isinstance(value, str) else None
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise InvalidValue(f"malformed time {value!r}, expected HH:MM:SS")
        seconds = match.group(3) or "00"
        if int(seconds) > 59:
            raise InvalidValue(f"malformed time {value!r}, expected HH:MM:SS")
        return f"{match.group(1)}:{match.group(2)}:{seconds}"
    if kind == "choice":
        return _choice_id(field, value)
    if kind == "multi":
        if isinstance(value, str):
            value = _split_captions(field, value)
        if not isinstance(value, list):
            raise InvalidValue("expected a list of choices")
        ids = [_choice_id(field, item) for item in value]
        return list(dict.fromkeys(ids)) or None
    if kind == "ref":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidValue(f"expected a record id (positive integer), got {value!r}")
        return value
    # A type the emulator does not model: keep any JSON scalar.
    if isinstance(value, (dict, list)):
        raise InvalidValue("expected a scalar value")
    return value


def _choice_id(field: dict[str, Any], value: Any) -> str:
    for choice in field.get("choices", ()):
        if value == choice["caption"]:
            return str(choice["id"])
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        for choice in field.get("choices", ()):
            if str(value) == str(choice["id"]):
                return str(choice["id"])
    captions = ", ".join(repr(c["caption"]) for c in field.get("choices", ()))
    raise InvalidValue(f"choice {value!r} does not exist (choices: {captions})")


def _split_captions(field: dict[str, Any], text: str) -> list[str]:
    captions = sorted((c["caption"] for c in field.get("choices", ())), key=len, reverse=True)
    out: list[str] = []
    rest = text.strip()
    while rest:
        for caption in captions:
            if rest == caption or rest.startswith(caption + ","):
                out.append(caption)
                rest = rest[len(caption) :].lstrip(", ")
                break
        else:
            head, _, rest = rest.partition(",")
            out.append(head.strip())
            rest = rest.strip()
    return out


def render(field: dict[str, Any], stored: Any, choice_ids: bool) -> Any:
    """A stored value as GET .../records answers it (text form)."""
    kind = field["type"]
    if kind in ("datetime", "timestamp"):
        return datetime_text(stored)
    if kind == "choice":
        return stored if choice_ids else field["_captions"].get(stored, stored)
    if kind == "multi":
        if choice_ids:
            return list(stored)
        return [field["_captions"].get(i, i) for i in stored]
    return stored


def render_raw(field: dict[str, Any], stored: Any) -> Any:
    """A stored value as the change feed sends it (epoch ms, ids)."""
    kind = field["type"]
    if kind == "date":
        return date_ms(stored)
    if kind == "multi":
        return list(stored)
    return stored
