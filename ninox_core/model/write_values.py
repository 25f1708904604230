"""Writing values: a Singer value (as the SDK parsed it) → the Ninox text form for POST (target).

`fieldtypes.writer` picks the converter per field; the decisions are listed
in `ninox_core.model.fieldtypes`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ninox_core.errors import ValueConversionError
from ninox_core.model.datetimes import (
    DATE_RE,
    TIME_RE,
    UTC,
    hms,
    ninox_datetime,
    parse_datetime,
    parse_offset,
    singer_datetime,
    to_utc,
)
from ninox_core.model.period_forms import (
    APPOINTMENT_FORMS,
    appointment_in,
    interval_in,
    parse_appointment,
)
from ninox_core.model.schema import NinoxField
from ninox_core.model.value_forms import (
    INT_LIMIT,
    Converter,
    captions_longest_first,
    choice_maps,
    integer_of,
    is_blank,
    json_default,
    plain_number,
    split_multi,
)

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _to_number(field: NinoxField, value: Any) -> int | float:
    """A JSON-safe number for a number field (never a Decimal)."""
    kind = type(value)
    if kind is int:
        whole: int = value
        if -INT_LIMIT < whole < INT_LIMIT:
            return whole
        try:
            float(whole)
        except OverflowError:
            raise ValueConversionError(field, value, "the number is too large") from None
        return whole
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
        return plain_number(value)
    except (ValueError, OverflowError, InvalidOperation):
        raise ValueConversionError(field, value, "expected a finite number") from None


def _write_number(field: NinoxField) -> Converter:
    def write(value: Any) -> Any:
        if value is None or is_blank(value):
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
            return str(plain_number(value))
        except (ValueError, OverflowError, InvalidOperation):
            return None
    if isinstance(value, datetime):
        return singer_datetime(to_utc(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return hms(value) if not value.microsecond else value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        # Ninox has no object or array field: keep the data as JSON text.
        try:
            return json.dumps(
                value, ensure_ascii=False, separators=(",", ":"), default=json_default
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
                if DATE_RE.fullmatch(text):
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
            if zone is None or zone is UTC:
                return ninox_datetime(moment)  # no tz arithmetic: the common, fast case
            try:
                return ninox_datetime(moment.astimezone(UTC))
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
            return hms(_time_to_utc(value))
        if type(value) is str:
            text = value.strip()
            if not text:
                return None
            match = TIME_RE.fullmatch(text)
            if match is not None:
                h, mi, s, _frac, off = match.groups()
                try:
                    parsed = time(int(h), int(mi), int(s or 0), tzinfo=parse_offset(off))
                except ValueError:
                    pass
                else:
                    return hms(_time_to_utc(parsed))
        raise ValueConversionError(field, value, "expected a time like 12:30:00")

    return write


def _write_appointment(field: NinoxField) -> Converter:
    # Either generation's form in, the field's own out (decision 0027): what
    # is written then equals what the server reads back, which lost
    # answers, reruns and the key index compare.
    generation = field.generation

    def write(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is str:
            if not value.strip():
                return None
            try:
                start, end = parse_appointment(value)
            except ValueError as exc:
                raise ValueConversionError(field, value, f"{exc}; {APPOINTMENT_FORMS}") from None
            return appointment_in(generation, start, end)
        raise ValueConversionError(field, value, APPOINTMENT_FORMS)

    return write


def _write_interval(field: NinoxField) -> Converter:
    # Both servers take both generations' forms; the field's own is written
    # so that it equals what the server reads back (decision 0027).
    generation = field.generation
    text = _write_text(field)

    def write(value: Any) -> Any:
        written = text(value)
        return interval_in(generation, written) if written else written

    return write


def _choice_caption(field: NinoxField) -> Callable[[Any], str]:
    """Caption or id (str, int, integral Decimal) → caption; raises otherwise."""
    by_id, by_caption = choice_maps(field)
    listed = [repr(c) for c in by_caption]
    known = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
    reason = f"expected one of its choices ({known or 'it has none'}), by caption or id"

    def caption(value: Any) -> str:
        if type(value) is str:
            if value in by_caption:
                return value
            found = by_id.get(value)
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            number = integer_of(value)
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
        if value is None or is_blank(value):
            return None
        return caption(value)

    return write


def _write_multi(field: NinoxField) -> Converter:
    caption = _choice_caption(field)
    captions = captions_longest_first(field)

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
        if value is None or is_blank(value):
            return None
        number = integer_of(value)
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
    return json_default(value)


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


#: Ninox kind name → the maker of its writer.
WRITERS: dict[str, Callable[[NinoxField], Converter]] = {
    "number": _write_number,
    "text": _write_text,
    "boolean": _write_boolean,
    "date": _write_date,
    "datetime": _write_datetime,
    "time": _write_time,
    "appointment": _write_appointment,
    "timeinterval": _write_interval,
    "choice": _write_choice,
    "multi": _write_multi,
    "ref": _write_ref,
    "as_is": _write_as_is,
    "computed": _write_computed,
}
