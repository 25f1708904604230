"""Public API records → `Record`, values in the shared model's read forms.

A record is `{"id": "17", "values": {field name: value}}`. Servers differ
in how they write values (docs/api.md, "The Public API (Ninox 4)", server
variants); each form is turned here, once, into the one the shared read
converters (`ninox_core.model.read_values`) take, so the tap reads both
APIs alike:

- ids and references as numbers or strings → `int`; reverse fields as
  lists or comma-separated strings → `list[int]`;
- a choice read as its option id → the option's name; a multi as a
  comma-separated string or option ids → a list of names;
- a timestamp as epoch ms, with or without milliseconds or `Z` → UTC in
  Ninox's own form (`2024-02-15T13:45:30`, as the shared writer writes it),
  RFC 3339 with its fraction when there is one; a date
  as epoch ms → `YYYY-MM-DD`; `time` `"09:30"` →
  `"09:30:00"`; a time interval as ms → `"HH:MM:SS[.mmm]"` (its hours
  padded to two digits when it is text); an appointment in the classic
  form `"A - B"`, with offsets or `.000` → `"[A,B)"` in UTC with `Z`
  (`ninox_core.model.period_forms`, the form the shared writer writes);
- a field left out of `values` → None (an empty field), so every record
  carries every field of its table. Keys the table does not know (a field
  added since the table was read) are kept as they came.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ninox_core.backend import Record
from ninox_core.model.datetimes import (
    EPOCH,
    ninox_datetime,
    parse_datetime,
    singer_datetime,
    to_utc,
)
from ninox_core.model.period_forms import PUBLIC, appointment_in, interval_in, parse_appointment
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.model.value_forms import captions_longest_first, integer_of, split_multi

Normaliser = Callable[[Any], Any]


def record_id(value: Any) -> int | None:
    """A record id sent as a string (`"17"`) or a number; None when it is neither."""
    number = integer_of(value)
    return number if number is not None and number > 0 else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _epoch_iso(value: Any) -> str:
    return singer_datetime(EPOCH + timedelta(milliseconds=int(value)))


def _ref(value: Any) -> Any:
    if value == "":
        return None
    number = integer_of(value)
    return value if number is None else number


def _rev(value: Any) -> Any:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        items = [items]
    return [_ref(item.strip() if isinstance(item, str) else item) for item in items if item != ""]


def _shared_datetime(moment: datetime) -> str:
    """Ninox's own form (`YYYY-MM-DDTHH:MM:SS`, UTC) when whole seconds, else with its fraction.

    Whole seconds come out exactly as the shared writer writes them, so a
    record read back matches what was sent (lost answers, reruns, the key
    index compare the two); the tap's reader adds the `Z`.
    """
    return singer_datetime(moment) if moment.microsecond else ninox_datetime(moment)


def _timestamp(value: Any) -> Any:
    """Epoch ms, `…T…Z` with or without ms, without a zone (UTC) → one form (`_shared_datetime`)."""
    if _is_number(value):
        return _shared_datetime(EPOCH + timedelta(milliseconds=int(value)))
    if isinstance(value, str):
        try:
            return _shared_datetime(to_utc(parse_datetime(value)))
        except ValueError:
            return value  # the tap's reader names the field and the value
    return value


def _date(value: Any) -> Any:
    return _epoch_iso(value)[:10] if _is_number(value) else value


_SHORT_TIME = re.compile(r"^\d\d:\d\d$")


def _time(value: Any) -> Any:
    return value + ":00" if isinstance(value, str) and _SHORT_TIME.match(value) else value


def _interval(value: Any) -> Any:
    if isinstance(value, str):
        return interval_in(PUBLIC, value)
    if not _is_number(value) or value < 0:
        return value
    seconds, millis = divmod(int(value), 1000)
    hours, seconds = divmod(seconds, 3600)
    text = f"{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}"
    return text + (f".{millis:03d}" if millis else "")


def _appointment(value: Any) -> Any:
    """Either generation's form (V12: `A - B`), any zone or `.000` → this API's one form.

    It is the form the shared writer writes into a Public API field
    (decision 0027), so a record read back equals what was written.
    """
    if not isinstance(value, str):
        return value
    try:
        return appointment_in(PUBLIC, *parse_appointment(value))
    except ValueError:
        return value  # emitted as it came: the column is text


def _choice(field: NinoxField) -> Normaliser:
    names = {c.caption for c in field.choices}
    by_id = {c.id: c.caption for c in field.choices}

    def normalise(value: Any) -> Any:
        text = value if isinstance(value, str) else str(value)
        return text if text in names else by_id.get(text, text)

    return normalise


def _multi(field: NinoxField) -> Normaliser:
    one = _choice(field)
    captions = captions_longest_first(field)

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            items: list[Any] = split_multi(value, captions)
        elif isinstance(value, list):
            items = value
        else:
            items = [value]
        return [one(item) for item in items if item is not None and item != ""]

    return normalise


_BY_TYPE: dict[str, Normaliser] = {
    "ref": _ref,
    "rev": _rev,
    "timestamp": _timestamp,
    "date": _date,
    "time": _time,
    "timeinterval": _interval,
    "appointment": _appointment,
}


def _normaliser(field: NinoxField) -> Normaliser | None:
    if field.type == "choice":
        return _choice(field)
    if field.type == "multi":
        return _multi(field)
    return _BY_TYPE.get(field.type)


class RecordReader:
    """Turns one table's Public API records into `Record`s (values by field id)."""

    def __init__(self, table: NinoxTable) -> None:
        """Learn the table's fields once: name → (id, normaliser)."""
        self._fields = [(f.name, f.id, _normaliser(f)) for f in table.fields]
        self._names = frozenset(f.name for f in table.fields)
        #: Computed fields, which a server may leave out unless asked for by name.
        self.formulas = tuple(f.name for f in table.fields if f.type == "formula")

    def lacks_formulas(self, rows: list[dict[str, Any]]) -> bool:
        """True when the table has formula fields and no row carries any of them.

        A server may send `function` values only when `fields=` names them
        (docs/api.md, Public API variants); so asked, it also sends a
        formula that is empty, so a page where all are absent is asked again
        for them (`PublicBackend`).
        """
        if not self.formulas or not rows:
            return False
        return not any(name in (row.get("values") or {}) for row in rows for name in self.formulas)

    def values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """A record's `values` by field id, every field present, in the shared read forms."""
        out: dict[str, Any] = {}
        for name, field_id, normalise in self._fields:
            value = given.get(name)
            if value is not None and normalise is not None:
                value = normalise(value)
            out[field_id] = value
        for key, value in given.items():
            if key not in self._names and key not in out:
                out[key] = value
        return out

    def __call__(self, record: Mapping[str, Any]) -> Record:
        """One checked record (`checks`: an id, a `values` object or none) as a `Record`."""
        rid = record_id(record.get("id"))
        if rid is None:  # the checks let no such record through
            raise ValueError(f"record without an id: {record!r:.80}")
        return Record(rid, self.values(record.get("values") or {}))
