"""Reading values: a field's value as Ninox sends it in records → its Singer value (tap).

`fieldtypes.reader` picks the converter per field; the decisions are listed
in `ninox_core.model.fieldtypes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ninox_core.errors import ValueConversionError
from ninox_core.model.datetimes import DATE_RE, EPOCH, ninox_datetime_to_singer, parse_datetime
from ninox_core.model.schema import NinoxField
from ninox_core.model.value_forms import (
    Converter,
    captions_longest_first,
    choice_maps,
    integer_of,
    json_default,
    plain_number,
    split_multi,
)


def user_to_singer(value: Any) -> str | None:
    """A user column (`createdBy`, `modifiedBy`) as a string; `0`, `"0"`, `""` (unknown) → None."""
    if value is None or value in ("", 0, "0"):
        return None
    return str(value)


def _json_text(value: Any) -> Any:
    """Strings as they are, other values as compact JSON text (never raises)."""
    if value is None or type(value) is str:
        return value
    try:
        if isinstance(value, Decimal):
            return json.dumps(plain_number(value))
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=json_default)
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
            if len(value) == 10 and DATE_RE.fullmatch(value):
                return value
            if not value.strip():
                return None
            try:
                return parse_datetime(value).date().isoformat()
            except ValueError:
                raise ValueConversionError(field, value, "expected a date") from None
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            try:
                return (EPOCH + timedelta(milliseconds=int(value))).date().isoformat()
            except (ValueError, OverflowError):
                pass
        raise ValueConversionError(field, value, "expected a date") from None

    return read


def _read_ref(field: NinoxField, style: str) -> Converter:
    def read(value: Any) -> Any:
        if type(value) is int:
            return value
        number = integer_of(value)
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


def _read_choice(field: NinoxField, style: str) -> Converter:
    by_id, by_caption = choice_maps(field)
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


def _read_multi(field: NinoxField, style: str) -> Converter:
    one = _read_choice(field, style)
    captions = captions_longest_first(field)

    def read(value: Any) -> Any:
        if isinstance(value, list):
            return [one(item) for item in value if item is not None and item != ""]
        if isinstance(value, str):
            return [one(item) for item in split_multi(value, captions)]
        return [one(value)]

    return read


#: Ninox kind name → the maker of its reader (kinds whose values pass unchanged have none).
READERS: dict[str, Callable[[NinoxField, str], Converter]] = {
    "json_text": _read_json_text,
    "datetime": _read_datetime,
    "date": _read_date,
    "ref": _read_ref,
    "rev": _read_rev,
    "choice": _read_choice,
    "multi": _read_multi,
}
