"""The Public API's data: workspace → modules → tables → fields and records.

Everything is addressed by machine name (`^[a-z0-9_]+$`); a rename changes
the name and nothing else identifies a table or a field. Record values are
kept in their read form (the README's "Public API (Ninox 4)": choices by
option name, references as id strings, timestamps as ISO strings ending in
`Z`), keyed by field name; empty fields are absent. `reverse` and `function`
fields hold no stored value (both are computed when read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: What a module, table or field name may be.
NAME = re.compile(r"^[a-z0-9_]{1,100}$")
#: Field types whose values the API refuses to write.
READ_ONLY_TYPES = frozenset(
    {"reverse", "function", "any", "lambda", "react", "rowId", "styled", "unknown", "void"}
)


@dataclass
class Field:
    """One field: its metadata as the API lists it."""

    name: str
    type: str
    label: str = ""
    variant: str | None = None
    required: bool = False
    unique: bool = False
    options: list[dict[str, Any]] | None = None
    ref_table: str | None = None
    expression: str | None = None
    uid: str = ""  # the internal id (listed only with variant V25)

    def option_names(self) -> list[str]:
        """The choice/multi option names in their order."""
        return [str(o["name"]) for o in self.options or ()]

    def to_api(self) -> dict[str, Any]:
        """The field object of `GET …/fields/{f}`."""
        out: dict[str, Any] = {"name": self.name, "labels": {"": self.label}, "type": self.type}
        if self.variant is not None:
            out["variant"] = self.variant
        out.update(
            {
                "required": self.required,
                "unique": self.unique,
                "index": self.unique,
                "search": self.type == "string",
                "readRoles": ["admin", "editor"],
                "writeRoles": ["admin", "editor"],
            }
        )
        if self.options is not None:
            out["options"] = [dict(o) for o in self.options]
        if self.ref_table is not None:
            out["refTableId"] = self.ref_table
        if self.expression is not None:
            out["expression"] = self.expression
        return out


def hashable(value: Any) -> Any:
    """A value as a dict key (a multi's list as a tuple)."""
    return tuple(value) if isinstance(value, list) else value


@dataclass
class Change:
    """One entry of a table's record change log."""

    id: int
    change_type: str  # create | update | delete
    changed_at: int  # epoch ms


class Table:
    """A table: fields, records by id, its id counter and its change log."""

    def __init__(
        self, name: str, label: str, fields: list[Field], *, has_history: bool = True
    ) -> None:
        """An empty table."""
        self.name = name
        self.label = label
        self.fields: dict[str, Field] = {f.name: f for f in fields}
        self.has_history = has_history
        self.records: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self.freed_ids: list[int] = []  # for the id-reuse variant (V29)
        self.changes: list[Change] = []
        self.uid = ""  # the internal id (listed only with variant V25)
        self._sorted: list[int] | None = None
        self._unique: dict[str, dict[Any, set[int]]] = {}

    def to_api(self, *, with_fields: bool = True) -> dict[str, Any]:
        """The table object of `GET …/tables/{t}`."""
        out: dict[str, Any] = {
            "name": self.name,
            "labels": {"": self.label},
            "icon": {"icon": "table"},
            "hasHistory": self.has_history,
            "hasFiles": False,
            "hasGlobalSearch": True,
            "isEmailLinkingEnabled": False,
            "isHidden": False,
            "createRoles": ["admin", "editor"],
            "readRoles": ["admin", "editor"],
            "writeRoles": ["admin", "editor"],
            "deleteRoles": ["admin"],
        }
        if with_fields:
            out["fields"] = [f.to_api() for f in self.fields.values()]
        return out

    def sorted_ids(self) -> list[int]:
        """The record ids, ascending (kept until `ids_changed`; do not modify)."""
        if self._sorted is None:
            self._sorted = sorted(self.records)
        return self._sorted

    def ids_changed(self) -> None:
        """Records were created or deleted: sort the ids afresh when next asked."""
        self._sorted = None

    def holders(self, name: str) -> dict[Any, set[int]]:
        """Value → ids of the records holding it, for field `name`.

        Kept up to date while writes go through `put`; `forget_indexes` after any other change.
        """
        index = self._unique.get(name)
        if index is None:
            index = {}
            for rid, values in self.records.items():
                value = hashable(values.get(name))
                if value is not None:
                    index.setdefault(value, set()).add(rid)
            self._unique[name] = index
        return index

    def put(self, rid: int, values: dict[str, Any] | None) -> None:
        """Store (or with None delete) record `rid`, keeping the value indexes."""
        old = self.records.get(rid, {})
        for name, index in self._unique.items():
            before = hashable(old.get(name))
            if before is not None:
                index.get(before, set()).discard(rid)
            after = hashable(values.get(name)) if values is not None else None
            if after is not None:
                index.setdefault(after, set()).add(rid)
        if values is None:
            self.records.pop(rid, None)
        else:
            self.records[rid] = values

    def forget_indexes(self) -> None:
        """Drop the value indexes and the sorted ids (after a rename or a restore)."""
        self._unique = {}
        self._sorted = None


@dataclass
class Module:
    """A module (an "app" in the Ninox 4 UI): its tables by name."""

    name: str
    label: str
    tables: dict[str, Table] = field(default_factory=dict)
    uid: str = ""  # the internal id (listed only with variant V25)

    def to_api(self, *, with_tables: bool = True, with_fields: bool = True) -> dict[str, Any]:
        """The module object of `GET …/modules/{m}`."""
        out: dict[str, Any] = {
            "name": self.name,
            "labels": {"": self.label},
            "icon": {"icon": "apps", "color": "#3381ff", "filling": 0},
            "isHidden": False,
            "hideNavigation": False,
            "openRoles": ["admin", "editor"],
        }
        if with_tables:
            out["tables"] = [t.to_api(with_fields=with_fields) for t in self.tables.values()]
        return out


@dataclass
class Workspace:
    """The one workspace the emulator serves."""

    id: str
    name: str
    modules: dict[str, Module] = field(default_factory=dict)
    schema_changes: list[dict[str, Any]] = field(default_factory=list)
