"""Value forms shared by reading and writing: numbers, integers, JSON values, choices."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ninox_core.model.datetimes import singer_datetime, to_utc
from ninox_core.model.schema import NinoxField

#: A per-field value converter, built once by `reader` or `writer`.
Converter = Callable[[Any], Any]


#: Below this magnitude a float/Decimal that is integral is sent as an int.
INT_LIMIT = 2**53


def plain_number(value: Decimal | float) -> int | float:
    """A finite float/Decimal as int when integral (and small enough) else float.

    Raises ValueError for NaN, infinities and values beyond a double's range.
    """
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError("not a finite number")
    if as_float.is_integer() and abs(as_float) < INT_LIMIT:
        # Via the Decimal/float itself, not as_float, so 2**53-1 stays exact.
        return int(value)
    return as_float


def json_default(value: Any) -> Any:
    """Values the SDK or a JSON parser produced, as JSON values."""
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, datetime):
        return singer_datetime(to_utc(value))
    if isinstance(value, (date, time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


def integer_of(value: Any) -> int | None:
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


def choice_maps(field: NinoxField) -> tuple[dict[str, str], dict[str, str]]:
    """(id → caption, caption → id); the first choice wins a duplicated caption."""
    by_id: dict[str, str] = {}
    by_caption: dict[str, str] = {}
    for choice in field.choices:
        by_id.setdefault(choice.id, choice.caption)
        by_caption.setdefault(choice.caption, choice.id)
    return by_id, by_caption


def captions_longest_first(field: NinoxField) -> list[str]:
    """The field's captions, longest first (for `split_multi`)."""
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


def is_blank(value: Any) -> bool:
    """An empty or whitespace-only string: clears a non-text field."""
    return type(value) is str and not value.strip()
