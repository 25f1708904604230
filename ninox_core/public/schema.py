"""Public API modules, tables and fields → the shared model (`NinoxTable`, `NinoxField`).

Tables and fields are addressed by machine name; a server that also gives
an `id` (docs/api.md, Public API variants) has it kept as the handle
(`NinoxTable.id`, `NinoxField.id`), the name still addresses it. Types are
mapped onto the names `ninox_core.model.fieldtypes` knows, so the tap's
schemas and converters serve both APIs unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ninox_core.model.schema import Choice, NinoxField, NinoxTable

#: Public API type → shared type name (for `string`, see `_STRING_VARIANTS`).
_TYPES = {
    "number": "number",
    "boolean": "boolean",
    "choice": "choice",
    "multi": "multi",
    "date": "date",
    "timestamp": "timestamp",
    "time": "time",
    "timeinterval": "timeinterval",
    "appointment": "appointment",
    "icon": "icon",
    "color": "color",
    "user": "user",
    "file": "file",
    "html": "html",
    "reference": "ref",
    "reverse": "rev",
    "function": "formula",
    # A dynamic choice reads as the source record's id, as text.
    "dchoice": "string",
}
#: `string` fields by `variant`; other variants (text, multiline-text, signature) are text.
_STRING_VARIANTS = {
    "email": "email",
    "phone": "phone",
    "url": "url",
    "location": "location",
    "multiline-text": "text",
}
#: What a type this model does not know becomes (read as text, written as it comes).
UNKNOWN_TYPE = "unknown"


def shared_type(field: Mapping[str, Any]) -> str:
    """The shared type name of a Public API field object."""
    kind = str(field.get("type") or "")
    if kind == "string":
        return _STRING_VARIANTS.get(str(field.get("variant") or ""), "string")
    return _TYPES.get(kind, UNKNOWN_TYPE)


def _handle(item: Mapping[str, Any]) -> str:
    """The stable handle: the server's `id` where it gives one, else the name."""
    given = item.get("id")
    return str(given) if given not in (None, "") else str(item["name"])


def _choices(field: Mapping[str, Any]) -> tuple[Choice, ...]:
    options = field.get("options")
    if not isinstance(options, list):  # dchoice/dmulti: an expression string
        return ()
    return tuple(
        Choice(str(option["id"]), str(option.get("name", "")))
        for option in options
        if isinstance(option, Mapping) and "id" in option
    )


def to_field(field: Mapping[str, Any]) -> NinoxField:
    """One field object (`name`, `type`, …; checked to have a name) as a `NinoxField`."""
    ref = field.get("refTableId") or field.get("refTableName")
    return NinoxField(
        id=_handle(field),
        name=str(field["name"]),
        type=shared_type(field),
        choices=_choices(field),
        ref_table_id=None if ref is None else str(ref),
        required=bool(field.get("required", False)),
        unique=bool(field.get("unique", False)),
    )


def to_table(table: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> NinoxTable:
    """A table object and its field objects as a `NinoxTable` (`has_history` from `hasHistory`)."""
    return NinoxTable(
        id=_handle(table),
        name=str(table["name"]),
        fields=tuple(to_field(f) for f in fields),
        has_history=bool(table.get("hasHistory", False)),
    )
