"""Public API modules, tables and fields → the shared model (`NinoxTable`, `NinoxField`).

Tables and fields are addressed by machine name; a server that also gives
an `id` (docs/api.md, Public API variants) has it kept as the handle
(`NinoxTable.id`, `NinoxField.id`), the name still addresses it. Types are
mapped onto the names `ninox_core.model.fieldtypes` knows, so the tap's
schemas and converters serve both APIs unchanged; each field says it is a
Public API field (`generation`), so its writer writes this API's
appointment and time-interval forms (decision 0027), and carries its
labels, by which a property may also name it (`PublicTable`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ninox_core.errors import NinoxConfigError
from ninox_core.model.period_forms import PUBLIC
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


def _labels(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The item's display labels in every language (`{"": "Email", "de": "E-Mail"}`), once each."""
    labels = item.get("labels")
    if not isinstance(labels, Mapping):
        return ()
    return tuple(dict.fromkeys(t for t in labels.values() if isinstance(t, str) and t.strip()))


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
        generation=PUBLIC,
        labels=_labels(field),
    )


class PublicTable(NinoxTable):
    """A Ninox 4 table: a property also finds a field by its label (decision 0027).

    Ninox 4 names fields by machine name (`first_name`) and shows a label
    (`First name`), which is what the classic API calls the field's name.
    So a classic tap's column reaches the field whose label it is, and a
    classic → Ninox 4 copy needs no renaming. A machine name or id always
    wins; a label that several fields carry matches none and fails with one
    line rather than choosing.
    """

    def find_field(self, key: str) -> NinoxField | None:
        """A field by exact name, else by id, else by the one label equal to `key`."""
        found = super().find_field(key)
        if found is not None:
            return found
        labelled = [f for f in self.fields if key in f.labels]
        if len(labelled) > 1:
            shown = ", ".join(repr(f.name) for f in labelled)
            raise NinoxConfigError(
                f"property {key!r} of table {self.name!r} matches the label of several "
                f"fields ({shown}); name one of them by its name with a stream map"
            )
        return labelled[0] if labelled else None


def to_table(table: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> NinoxTable:
    """A table object and its field objects as a `PublicTable` (`has_history` from `hasHistory`)."""
    return PublicTable(
        id=_handle(table),
        name=str(table["name"]),
        fields=tuple(to_field(f) for f in fields),
        has_history=bool(table.get("hasHistory", False)),
    )
