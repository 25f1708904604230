"""Appointments and time intervals in the forms of both API generations (decision 0027).

The two generations read and write these two types differently
(docs/api.md, "Appointments and time intervals across the generations"):

- appointment, classic: `2021-01-23T12:30:00 - 2021-01-23T13:30:00` (UTC,
  no zone, whole seconds); Ninox 4: `[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z)`
  (UTC with `Z`, milliseconds when not zero). Each server refuses the other's.
- timeinterval, classic: `0:25:16.123` (hours not padded); Ninox 4:
  `00:25:16.123` (hours two digits or more). Both servers take both.

`parse_appointment` takes either form (and one date-time, an appointment
of no length, which Ninox 4 accepts); `appointment_in` writes one in the
form of a generation. `interval_in` re-pads a time interval's hours for a
generation and leaves anything else to the server. Each server's own form
comes out unchanged, so a copy within one generation stays byte-exact.
"""

from __future__ import annotations

import re
from datetime import datetime

from ninox_core.model.datetimes import ninox_datetime, parse_datetime, singer_datetime, to_utc

#: The API generations whose value forms differ (`NinoxField.generation`).
CLASSIC, PUBLIC = "classic", "public"

#: What an appointment looks like, for messages.
APPOINTMENT_FORMS = (
    "expected an appointment like '2021-01-23T12:30:00 - 2021-01-23T13:30:00' "
    "(classic Ninox) or '[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z)' (Ninox 4)"
)

_INTERVAL_RE = re.compile(r"(-?)(\d+):([0-5]\d):([0-5]\d)((?:\.\d{1,3})?)", re.ASCII)


def _moment(text: str) -> datetime:
    """One end of an appointment as an aware UTC date-time (naive = UTC)."""
    try:
        return to_utc(parse_datetime(text))
    except (ValueError, OverflowError):  # also Feb 30, and year 1 pushed out by its offset
        raise ValueError(f"not a date-time: {text.strip()!r}") from None


def parse_appointment(text: str) -> tuple[datetime, datetime]:
    """`(start, end)` in UTC of an appointment in either generation's form.

    Takes `A - B` (classic), `[A,B)` (Ninox 4) and one date-time `A`
    (`[A,A)`); `A` and `B` in any ISO 8601 form `parse_datetime` takes
    (any offset, a fraction, a bare date; naive means UTC). Raises
    ValueError (its text the reason) for anything else, and for an end
    before the start, which neither server stores.
    """
    body = text.strip()
    if body.startswith("["):
        if not body.endswith(")"):
            raise ValueError("a Ninox 4 appointment ends with ')'")
        start_text, comma, end_text = body[1:-1].partition(",")
        if not comma or "," in end_text:
            raise ValueError("a Ninox 4 appointment is '[start,end)'")
    elif " - " in body:
        start_text, _, end_text = body.partition(" - ")
    else:
        start_text = end_text = body
    start, end = _moment(start_text), _moment(end_text)
    if end < start:
        raise ValueError("it ends before it starts")
    return start, end


def _ms_iso(moment: datetime) -> str:
    """RFC 3339 UTC with `Z`, milliseconds only when not zero (what Ninox 4 keeps)."""
    return singer_datetime(moment.replace(microsecond=moment.microsecond // 1000 * 1000))


def appointment_in(generation: str, start: datetime, end: datetime) -> str:
    """The appointment `start`-`end` (UTC) in `generation`'s form.

    Classic keeps whole seconds: a fraction is dropped, as for date-times
    (docs/api.md §3); Ninox 4 keeps milliseconds.
    """
    if generation == PUBLIC:
        return f"[{_ms_iso(start)},{_ms_iso(end)})"
    return f"{ninox_datetime(start)} - {ninox_datetime(end)}"


def interval_in(generation: str, text: str) -> str:
    """A time interval `H:MM:SS[.fff]` with its hours as `generation` writes them.

    Text of any other shape comes back as it is, for the server to judge
    (Ninox 4's documentation also shows `09:00-17:00`).
    """
    match = _INTERVAL_RE.fullmatch(text.strip())
    if match is None:
        return text
    sign, hours, minutes, seconds, fraction = match.groups()
    width = 2 if generation == PUBLIC else 1
    return f"{sign}{int(hours):0{width}d}:{minutes}:{seconds}{fraction}"
