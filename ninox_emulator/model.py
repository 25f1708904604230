"""The data model: fields, records, tables, databases, teams (no locking here).

`store.py` owns the lock and the write rules; this module only holds data
and the indexes that keep reads cheap: sorted record ids (keyset paging is a
bisect), append-only change and deletion logs per table (a change feed costs
the changes since `sinceSq`), and per database a reverse index of ref fields
(a `rev` value is a lookup, not a scan).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ninox_emulator.formula import Formula
from ninox_emulator.values import Converter, FieldCodec


class ApiError(Exception):
    """An error answered over HTTP as `status` with `{"message": message}`."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status next to the message."""
        super().__init__(message)
        self.status = status
        self.message = message


# ------------------------------------------------------------------ model


class FieldDef:
    """One field of a table: its API description plus its value codec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        """Build from the API's field object (`id`, `name`, `type`, extras)."""
        try:
            self.id = str(spec["id"])
            self.name = str(spec["name"])
            self.type = str(spec["type"])
        except KeyError:
            raise ValueError(f"a field needs id, name and type: {spec!r}") from None
        self.choices = [
            {"id": str(c["id"]), "caption": c.get("caption", ""), "captions": c.get("captions", {})}
            for c in spec.get("choices") or ()
        ]
        self.ref_table: str | None = spec.get("refTypeId")
        self.ref_field: str | None = spec.get("refFieldId")
        self.required = bool(spec.get("required", False))
        self.fn: str | None = spec.get("fn")
        self.codec = FieldCodec(self.type, self.choices)
        self.formula: Formula | None = None  # parsed once the table knows all fields

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its parsed formula: its table parses it again (`Table.__setstate__`)."""
        return {**self.__dict__, "formula": None}

    def to_api(self) -> dict[str, Any]:
        """The field object as `GET .../tables` shows it."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.type in ("choice", "multi"):
            out["choices"] = [dict(c) for c in self.choices]
        if self.ref_table is not None:
            out["refTypeId"] = self.ref_table
        if self.ref_field is not None:
            out["refFieldId"] = self.ref_field
        if self.fn is not None:
            out["fn"] = self.fn
        if self.required:
            out["required"] = True
        return out


@dataclass
class FileEntry:
    """One attachment of a record."""

    name: str
    content_type: str
    data: bytes
    modified: int
    user: str
    seq: int

    def metadata(self) -> dict[str, Any]:
        """The entry as `GET .../files` lists it."""
        return {
            "name": self.name,
            "contentType": self.content_type,
            "size": len(self.data),
            "modifiedDate": self.modified,
            "modifiedUser": self.user,
            "seq": self.seq,
        }


class Record:
    """One record: stored values keyed by field id (empty fields absent)."""

    __slots__ = (
        "created_at",
        "created_by",
        "files",
        "id",
        "modified_at",
        "modified_by",
        "seq",
        "values",
    )

    def __init__(
        self,
        rid: int,
        seq: int,
        created_at: int | None,
        created_by: str | None,
        modified_at: int,
        modified_by: str,
    ) -> None:
        """A record without values; `created_*` None means "not known"."""
        self.id = rid
        self.seq = seq
        self.created_at = created_at
        self.created_by = created_by
        self.modified_at = modified_at
        self.modified_by = modified_by
        self.values: dict[str, Any] = {}
        self.files: dict[str, FileEntry] = {}


class Table:
    """A table: fields, records, sorted ids, change log and tombstones."""

    def __init__(self, table_id: str, name: str, fields: Iterable[dict[str, Any]]) -> None:
        """An empty table with `fields` (API field objects)."""
        self.id = table_id
        self.name = name
        self.fields: dict[str, FieldDef] = {}
        for spec in fields:
            f = FieldDef(spec)
            if f.id in self.fields:
                raise ValueError(f"table {table_id}: duplicate field id {f.id!r}")
            self.fields[f.id] = f
        self.by_name: dict[str, FieldDef] = {}
        self.plan: dict[str, tuple[str, Converter | None, Converter | None]] = {}
        self._index_names()
        self.records: dict[int, Record] = {}
        self.ids: list[int] = []  # sorted: keyset paging is a bisect
        self.next_rid = 1
        # Append-only (seq, id) logs; seqs only grow, so both are sorted by seq.
        self.log_seq: list[int] = []
        self.log_id: list[int] = []
        self.del_seq: list[int] = []
        self.del_id: list[int] = []
        self.ref_fields = [f for f in self.fields.values() if f.type == "ref"]
        self.rev_fields = [f for f in self.fields.values() if f.type == "rev"]
        self.formula_fields = [f for f in self.fields.values() if f.type in ("formula", "fn")]
        for f in self.formula_fields:
            f.formula = Formula(f.fn or "", self._getter)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what holds closures (`plan`); `__setstate__` rebuilds it."""
        return {k: v for k, v in self.__dict__.items() if k != "plan"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (the demo is built once, then copied): the plan and formulas again."""
        self.__dict__.update(state)
        self._index_names()
        for f in self.formula_fields:
            f.formula = Formula(f.fn or "", self._getter)

    def _index_names(self) -> None:
        """Rebuild what depends on field names (after building or a rename)."""
        self.by_name = {f.name: f for f in self.fields.values()}
        # Per field id: (name, text converter for names, for ids); None = as stored.
        self.plan = {
            f.id: (f.name, f.codec.names, f.codec.ids)
            for f in self.fields.values()
            if not f.codec.computed
        }

    def rename_field(self, field_id: str, new_name: str) -> None:
        """Give a field a new name; formulas naming it follow (their getters hold ids)."""
        f = self.fields[field_id]
        old = f.name
        f.name = new_name
        for other in self.formula_fields:
            if other.fn:
                other.fn = other.fn.replace(f"'{old}'", f"'{new_name}'")
        self._index_names()

    def _getter(self, key: str) -> Callable[[Record], Any] | None:
        f = self.by_name.get(key) or self.fields.get(key)
        if f is None:
            for candidate in self.fields.values():  # Ninox names are case-insensitive
                if candidate.name.lower() == key.lower():
                    f = candidate
                    break
        if f is None or f.codec.computed:
            return None
        fid, codec = f.id, f.codec

        def get(rec: Record) -> Any:
            value = rec.values.get(fid)
            return None if value is None else codec.text(value)

        return get

    def field(self, key: str, *, ids_first: bool = False) -> FieldDef | None:
        """A field by name or id (`ids_first` picks which wins a clash)."""
        if ids_first:
            return self.fields.get(key) or self.by_name.get(key)
        return self.by_name.get(key) or self.fields.get(key)

    def to_api(self) -> dict[str, Any]:
        """The table as `GET .../tables` shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "fields": [f.to_api() for f in self.fields.values()],
        }

    def insert(self, rec: Record) -> None:
        """Add a record, keeping `ids` sorted and `next_rid` ahead."""
        self.records[rec.id] = rec
        if not self.ids or rec.id > self.ids[-1]:
            self.ids.append(rec.id)
        else:
            bisect.insort(self.ids, rec.id)
        if rec.id >= self.next_rid:
            self.next_rid = rec.id + 1

    def remove(self, rid: int) -> Record:
        """Take a record out of the table."""
        rec = self.records.pop(rid)
        del self.ids[bisect.bisect_left(self.ids, rid)]
        return rec

    def log_change(self, seq: int, rid: int) -> None:
        """Note that record `rid` changed at `seq` (compacting the log now and then)."""
        self.log_seq.append(seq)
        self.log_id.append(rid)
        if len(self.log_seq) > 4 * len(self.records) + 4096:
            # Only each record's latest change matters to readers.
            latest = sorted((r.seq, r.id) for r in self.records.values())
            self.log_seq = [s for s, _ in latest]
            self.log_id = [i for _, i in latest]


@dataclass
class Database:
    """A database: tables, its change sequence and the reverse ref index."""

    id: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    seq: int = 0
    version: int = 1
    # (table id, ref field id) → target record id → ids of records pointing there.
    rev_index: dict[tuple[str, str], dict[int, set[int]]] = field(default_factory=dict)
    # (table id, rev field id) → the (table, ref field) it reverses.
    rev_sources: dict[tuple[str, str], tuple[str, str] | None] = field(default_factory=dict)

    def next_seq(self) -> int:
        """Take the next sequence number."""
        self.seq += 1
        return self.seq

    def rebuild_index(self) -> None:
        """Recompute the reverse ref index from the records (after loads)."""
        self.rev_index = {}
        for table in self.tables.values():
            for f in table.ref_fields:
                index: dict[int, set[int]] = {}
                for rec in table.records.values():
                    target = rec.values.get(f.id)
                    if target is not None:
                        index.setdefault(target, set()).add(rec.id)
                self.rev_index[(table.id, f.id)] = index
        self.rev_sources = {
            (table.id, f.id): self._rev_source(table, f)
            for table in self.tables.values()
            for f in table.rev_fields
        }

    def _rev_source(self, table: Table, rev: FieldDef) -> tuple[str, str] | None:
        """The (table, ref field) a rev field of `table` reverses, if any."""
        other = self.tables.get(rev.ref_table or "")
        if other is None:
            return None
        if rev.ref_field and rev.ref_field in other.fields:
            return (other.id, rev.ref_field)
        for f in other.ref_fields:
            if f.ref_table == table.id:
                return (other.id, f.id)
        return None


@dataclass
class Team:
    """A team (workspace): its users and databases."""

    id: str
    name: str
    users: list[str] = field(default_factory=list)
    databases: dict[str, Database] = field(default_factory=dict)
