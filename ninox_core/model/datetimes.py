"""Dates, times and date-times in the forms Ninox and Singer use (docs/api.md).

Shared by reading (`read_values`) and writing (`write_values`).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

UTC = timezone.utc


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Deliberately our own parser: `fromisoformat` accepts different forms on
# Python 3.10 and 3.11+ (`Z`, fraction lengths, basic format), and the SDK
# monkeypatches it on 3.10. One regex gives the same answer everywhere.
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)"
    r"(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
    r"\s*([Zz]|[+-]\d\d(?::?\d\d)?)?)?",
    re.ASCII,
)


TIME_RE = re.compile(
    r"(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*([Zz]|[+-]\d\d(?::?\d\d)?)?", re.ASCII
)


DATE_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)


def parse_offset(text: str | None) -> timezone | None:
    """`Z`, `+02:00`, `-0530`, `+02` as a timezone; None for no offset."""
    if not text:
        return None
    if text in ("Z", "z"):
        return UTC
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
        tzinfo=parse_offset(off),
    )


def to_utc(moment: datetime) -> datetime:
    """Naive = UTC; aware converted to UTC."""
    zone = moment.tzinfo
    if zone is UTC:
        return moment  # the SDK's usual value: skip the costly astimezone
    if zone is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def ninox_datetime(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` of a UTC datetime.

    isoformat always pads the year to 4 digits (strftime does not on glibc),
    so its first 19 characters are exactly this; keyword-free, it is also the
    fastest way to get them.
    """
    return moment.isoformat()[:19]


def singer_datetime(moment: datetime) -> str:
    """RFC 3339 UTC with `Z`; a fraction as ms, or µs when finer."""
    us = moment.microsecond
    if not us:
        return moment.isoformat()[:19] + "Z"
    if us % 1000 == 0:
        return f"{moment.isoformat()[:19]}.{us // 1000:03d}Z"
    return f"{moment.isoformat()[:19]}.{us:06d}Z"


def hms(value: time) -> str:
    """`HH:MM:SS` of a time (fraction dropped)."""
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
    return singer_datetime(to_utc(parse_datetime(value)))


def epoch_ms_to_singer(value: Any) -> str | None:
    """Epoch milliseconds (change feed, file metadata) as RFC 3339 UTC with `Z`.

    None, `""` and booleans become None.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    # Integer arithmetic: no float rounding of the milliseconds, and negative
    # values (before 1970) work on every platform.
    return singer_datetime(EPOCH + timedelta(milliseconds=int(value)))
