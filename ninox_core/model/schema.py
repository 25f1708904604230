"""Tables, fields and choices as Ninox's metadata endpoints describe them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Choice:
    """One option of a `choice` or `multi` field."""

    id: str
    caption: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Choice:
        """Build from `{"id": "1", "caption": "Person", "captions": {}}`."""
        return cls(id=str(data["id"]), caption=str(data.get("caption", "")))


@dataclass(frozen=True)
class NinoxField:
    """One field of a table: id (`A`, `AB`), user-facing name and Ninox type."""

    id: str
    name: str
    type: str
    choices: tuple[Choice, ...] = ()
    ref_table_id: str | None = None
    required: bool = False
    #: The server keeps the field's values unique (Public API `unique`; the
    #: target may then let the server match an upsert key). Classic: False.
    unique: bool = False
    #: The API generation whose value forms the field's server reads and
    #: writes (`classic` or `public`, `ninox_core.model.period_forms`): its
    #: writer turns an appointment or time interval of either generation
    #: into this one's form (decision 0027). Set by the backend that read it.
    generation: str = "classic"
    #: Display names the server gives the field besides `name` (Public API
    #: `labels`, every language); classic fields have none (their name is it).
    labels: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> NinoxField:
        """Build from a field object of `GET .../tables`."""
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            type=str(data.get("type") or ""),
            choices=tuple(Choice.from_api(c) for c in data.get("choices") or ()),
            ref_table_id=data.get("refTypeId"),
            required=bool(data.get("required", False)),
        )


@dataclass(frozen=True)
class NinoxTable:
    """A table with its fields, as `GET .../tables` answers it."""

    id: str
    name: str
    fields: tuple[NinoxField, ...] = ()
    #: The server keeps a change history for the table (classic: always, its
    #: sequence; Public API: `hasHistory`). Without it there is no cursor
    #: and no change feed: every read is a full scan.
    has_history: bool = True
    _by_name: dict[str, NinoxField] = field(default_factory=dict, compare=False, repr=False)
    _by_id: dict[str, NinoxField] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Index the fields by name and by id."""
        self._by_name.update({f.name: f for f in self.fields})
        self._by_id.update({f.id: f for f in self.fields})

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> NinoxTable:
        """Build from one element of `GET .../tables`."""
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or data["id"]),
            fields=tuple(NinoxField.from_api(f) for f in data.get("fields") or ()),
        )

    def field_by_name(self, name: str) -> NinoxField | None:
        """The field with exactly this name, or None."""
        return self._by_name.get(name)

    def field_by_id(self, field_id: str) -> NinoxField | None:
        """The field with this id, or None."""
        return self._by_id.get(field_id)

    def find_field(self, key: str) -> NinoxField | None:
        """A field by exact name, else by id (the target's property rule)."""
        return self._by_name.get(key) or self._by_id.get(key)
