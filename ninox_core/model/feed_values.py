"""Change-feed values: the raw form of `.../changes` → Singer value (docs/api.md).

Only kinds whose raw form differs from the record form have a maker here;
the others read as in `read_values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ninox_core.errors import ValueConversionError
from ninox_core.model.datetimes import EPOCH
from ninox_core.model.read_values import READERS
from ninox_core.model.schema import NinoxField
from ninox_core.model.value_forms import Converter


def _read_raw_date(field: NinoxField, style: str) -> Converter:
    """Change feed: a date is the epoch ms of its midnight UTC."""

    def read(value: Any) -> Any:
        if type(value) is str:
            return value or None
        try:
            return (EPOCH + timedelta(milliseconds=int(value))).date().isoformat()
        except (TypeError, ValueError, OverflowError):
            raise ValueConversionError(field, value, "expected epoch milliseconds") from None

    return read


_HEX_RE = re.compile(r"[0-9a-fA-F]+", re.ASCII)


def _read_raw_multi(field: NinoxField, style: str) -> Converter:
    """Change feed: a list of choice ids, or a hex bitmask string (docs/api.md).

    In the bitmask, bit i set means the i-th choice in the field's schema
    order (`"a"` = bits 1 and 3 = the second and fourth choice).
    """
    items = READERS["multi"](field, style)
    one = READERS["choice"](field, style)
    choices = field.choices

    def read(value: Any) -> Any:
        if type(value) is str and _HEX_RE.fullmatch(value):
            mask = int(value, 16)
            if mask >> len(choices):
                raise ValueConversionError(field, value, f"a bitmask of its {len(choices)} choices")
            return [one(c.id) for i, c in enumerate(choices) if mask >> i & 1]
        return items(value)

    return read


#: Ninox kind name → the maker of its change-feed reader.
FEED_READERS: dict[str, Callable[[NinoxField, str], Converter]] = {
    "date": _read_raw_date,
    "multi": _read_raw_multi,
}
