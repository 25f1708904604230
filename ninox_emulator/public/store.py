"""The Public API's in-memory workspace and its write rules, behind one lock.

Rules it keeps (the fixed readings where Ninox leaves room):
- every write batch is validated whole before anything is applied
  (all-or-nothing); an update or delete naming a missing id is a 404 and
  changes nothing;
- record ids only grow and are never reused after a delete (`reuse_ids`
  plays variant V29);
- a `unique` field refuses a value another record holds (400);
- deleting a record empties the references pointing at it (each such
  record is updated);
- a table with `hasHistory` logs one change per record created, updated or
  deleted, stamped by the clock; changes older than the retention window
  (default 30 days) are forgotten; a table without history logs nothing,
  and turning history off forgets its log.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from typing import Any

from ninox_emulator.model import ApiError
from ninox_emulator.public.clock import DAY_MS, Clock, iso
from ninox_emulator.public.model import (
    NAME,
    Change,
    Field,
    Module,
    Table,
    Workspace,
)
from ninox_emulator.public.model import hashable as _hashable
from ninox_emulator.public.values import FieldValueError, convert

#: The default retention window of the record change feed.
RETENTION_DAYS = 30


def _where(index: int, name: str | None = None) -> str:
    return f"records[{index}]" + (f", field '{name}'" if name else "")


def _record_id(value: Any, index: int) -> int:
    """An id in a PATCH/DELETE body: a positive integer (a digit string is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise ApiError(400, f"records[{index}]: id must be a positive integer, got {value!r}")


class PublicStore:
    """One workspace, its records and its change logs."""

    def __init__(self, clock: Clock, workspace_id: str, name: str = "Demo Workspace") -> None:
        """An empty workspace."""
        self.lock = threading.RLock()
        self.clock = clock
        self.workspace = Workspace(workspace_id, name)
        self.retention_ms = RETENTION_DAYS * DAY_MS
        self._uids = 0

    def _uid(self, prefix: str) -> str:
        self._uids += 1
        return f"{prefix}{self._uids:06d}"

    # ------------------------------------------------------------ lookups

    def module(self, name: str) -> Module:
        """A module by name, or a 404."""
        module = self.workspace.modules.get(name)
        if module is None:
            raise ApiError(404, f"Module '{name}' not found")
        return module

    def table(self, module: str, name: str) -> Table:
        """A table by module and name, or a 404."""
        table = self.module(module).tables.get(name)
        if table is None:
            raise ApiError(404, f"Table '{name}' not found in module '{module}'")
        return table

    def field(self, module: str, table: str, name: str) -> Field:
        """A field by name, or a 404."""
        spec = self.table(module, table).fields.get(name)
        if spec is None:
            raise ApiError(404, f"Field '{name}' not found in table '{table}'")
        return spec

    # ------------------------------------------------------------- schema

    def add_module(self, name: str, label: str) -> Module:
        """A new, empty module."""
        if not NAME.match(name):
            raise ValueError(f"module name {name!r} does not match ^[a-z0-9_]+$")
        with self.lock:
            module = Module(name, label, uid=self._uid("m"))
            self.workspace.modules[name] = module
            return module

    def add_table(self, module: str, table: Table) -> Table:
        """Add `table` to `module`."""
        if not NAME.match(table.name) or not all(NAME.match(f) for f in table.fields):
            raise ValueError(f"table {table.name!r}: names must match ^[a-z0-9_]+$")
        with self.lock:
            table.uid = table.uid or self._uid("t")
            for spec in table.fields.values():
                spec.uid = spec.uid or self._uid("f")
            self.module(module).tables[table.name] = table
            return table

    def _schema_change(self, kind: str, change: str, module: str, name: str, **extra: Any) -> None:
        entry = {"kind": kind, "change": change, "module": module, "name": name, **extra}
        entry["changedAt"] = iso(self.clock.stamp())
        self.workspace.schema_changes.append(entry)

    def rename_table(self, module: str, name: str, new_name: str) -> None:
        """Rename a table; references to it follow. Nothing else identifies it (V23)."""
        with self.lock:
            mod = self.module(module)
            table = self.table(module, name)
            if not NAME.match(new_name) or new_name in mod.tables:
                raise ValueError(f"table name {new_name!r} is taken or not ^[a-z0-9_]+$")
            table.name = new_name
            mod.tables = {(new_name if k == name else k): t for k, t in mod.tables.items()}
            for other in mod.tables.values():
                for spec in other.fields.values():
                    if spec.ref_table == name:
                        spec.ref_table = new_name
            self._schema_change("table", "updated", module, new_name, previousName=name)

    def rename_field(self, module: str, table_name: str, name: str, new_name: str) -> None:
        """Rename a field; its values and the expressions naming it follow (V23)."""
        with self.lock:
            table = self.table(module, table_name)
            spec = self.field(module, table_name, name)
            if not NAME.match(new_name) or new_name in table.fields:
                raise ValueError(f"field name {new_name!r} is taken or not ^[a-z0-9_]+$")
            spec.name = new_name
            table.fields = {(new_name if k == name else k): f for k, f in table.fields.items()}
            for values in table.records.values():
                if name in values:
                    values[new_name] = values.pop(name)
            table.forget_indexes()
            word = re.compile(rf"\b{re.escape(name)}\b")
            for other in table.fields.values():
                if other.expression:
                    other.expression = word.sub(new_name, other.expression)
            self._schema_change(
                "field", "updated", module, new_name, table=table_name, previousName=name
            )

    def set_history(self, module: str, table_name: str, *, enabled: bool) -> None:
        """Turn a table's history on (logging from now) or off (its log is forgotten)."""
        with self.lock:
            table = self.table(module, table_name)
            if table.has_history == enabled:
                return
            table.has_history = enabled
            table.changes = []
            self._schema_change("table", "updated", module, table_name, hasHistory=enabled)

    def set_unique(self, module: str, table_name: str, field_name: str, *, unique: bool) -> None:
        """Mark a field unique or not (existing values are not checked)."""
        with self.lock:
            self.field(module, table_name, field_name).unique = unique
            self.table(module, table_name).forget_indexes()

    # ------------------------------------------------------------- writes

    def _log(self, table: Table, rid: int, change_type: str) -> None:
        if table.has_history:
            table.changes.append(Change(rid, change_type, self.clock.stamp()))

    def _prepare(
        self, module: str, table: Table, item: Any, index: int, *, with_id: bool
    ) -> dict[str, Any]:
        """A record of a write body → its converted values ({name: stored or None})."""
        if not isinstance(item, dict):
            raise ApiError(400, f"{_where(index)}: expected an object, got {item!r}")
        unknown = [k for k in item if k not in table.fields and not (with_id and k == "id")]
        if unknown:
            keys = ", ".join(f"'{k}'" for k in unknown)
            raise ApiError(400, f"{_where(index)}: Unrecognized key(s) in object: {keys}")
        out: dict[str, Any] = {}
        for name, value in item.items():
            if with_id and name == "id":
                continue
            spec = table.fields[name]
            try:
                stored = convert(spec, value)
            except FieldValueError as exc:
                raise ApiError(400, f"{_where(index, name)}: {exc}") from None
            if stored is not None and spec.type == "reference":
                target = self.module(module).tables.get(spec.ref_table or "")
                if target is None or int(stored) not in target.records:
                    raise ApiError(
                        400,
                        f"{_where(index, name)}: record {stored} not found in table "
                        f"'{spec.ref_table}'",
                    )
            out[name] = stored
        return out

    @staticmethod
    def _merge(values: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        merged = dict(values)
        for name, stored in changes.items():
            if stored is None:
                merged.pop(name, None)
            else:
                merged[name] = stored
        return merged

    @staticmethod
    def _check_rules(
        table: Table, planned: dict[int, dict[str, Any]], where: dict[int, int]
    ) -> None:
        """Required and unique fields over the records as they would be after the batch."""
        for rid, values in planned.items():
            for spec in table.fields.values():
                if spec.required and values.get(spec.name) is None:
                    raise ApiError(400, f"{_where(where[rid], spec.name)}: the field is required")
        for spec in table.fields.values():
            if not spec.unique:
                continue
            wanted: dict[Any, int] = {}
            for rid, values in planned.items():
                value = _hashable(values.get(spec.name))
                if value is None:
                    continue
                if value in wanted:
                    raise ApiError(
                        400,
                        f"{_where(where[rid], spec.name)}: value {values[spec.name]!r} must be "
                        f"unique (records[{where[wanted[value]]}] has it too)",
                    )
                wanted[value] = rid
            index = table.holders(spec.name)
            for value, rid in wanted.items():
                others = index.get(value, set()) - planned.keys()
                if others:
                    raise ApiError(
                        400,
                        f"{_where(where[rid], spec.name)}: value "
                        f"{planned[rid][spec.name]!r} must be unique (record {min(others)} has it)",
                    )

    def _new_id(self, table: Table, reuse_ids: bool) -> int:
        if reuse_ids and table.freed_ids:
            return table.freed_ids.pop()
        rid = table.next_id
        table.next_id += 1
        return rid

    def create(
        self,
        module: str,
        table_name: str,
        items: list[Any],
        *,
        reuse_ids: bool = False,
        apply_count: int | None = None,
    ) -> list[int]:
        """Create records (validated whole, then applied); their new ids in request order.

        `apply_count`: apply only the first n (variant V17's partial batch).
        """
        with self.lock:
            table = self.table(module, table_name)
            prepared = [
                self._prepare(module, table, item, i, with_id=False) for i, item in enumerate(items)
            ]
            planned: dict[int, dict[str, Any]] = {}
            where: dict[int, int] = {}
            for index, values in enumerate(prepared):
                planned[-1 - index] = self._merge({}, values)  # a stand-in id
                where[-1 - index] = index
            self._check_rules(table, planned, where)
            ids: list[int] = []
            for values in prepared[: apply_count if apply_count is not None else len(prepared)]:
                rid = self._new_id(table, reuse_ids)
                table.put(rid, self._merge({}, values))
                self._log(table, rid, "create")
                ids.append(rid)
            table.ids_changed()
            return ids

    def update(self, module: str, table_name: str, items: list[Any]) -> list[int]:
        """Update records by `id` (one transaction); their ids in request order."""
        with self.lock:
            table = self.table(module, table_name)
            planned: dict[int, dict[str, Any]] = {}
            where: dict[int, int] = {}
            order: list[int] = []
            for index, item in enumerate(items):
                if not isinstance(item, dict) or "id" not in item:
                    raise ApiError(400, f"{_where(index)}: every record needs its 'id'")
                rid = _record_id(item["id"], index)
                if rid not in table.records:
                    raise ApiError(404, f"Record {rid} not found in table '{table_name}'")
                values = self._prepare(module, table, item, index, with_id=True)
                planned[rid] = self._merge(planned.get(rid, table.records[rid]), values)
                where[rid] = index
                order.append(rid)
            self._check_rules(table, planned, where)
            for rid in order:
                table.put(rid, planned[rid])
                self._log(table, rid, "update")
            return order

    def delete(
        self, module: str, table_name: str, ids: list[Any], *, ignore_missing: bool = False
    ) -> list[int]:
        """Delete records (one transaction; a missing id is a 404 unless ignored)."""
        with self.lock:
            table = self.table(module, table_name)
            wanted: list[int] = []
            for index, value in enumerate(ids):
                rid = _record_id(value, index)
                if rid not in table.records:
                    if ignore_missing:
                        continue
                    raise ApiError(404, f"Record {rid} not found in table '{table_name}'")
                if rid not in wanted:
                    wanted.append(rid)
            table.ids_changed()
            for rid in wanted:
                table.put(rid, None)
                table.freed_ids.append(rid)
                self._log(table, rid, "delete")
            self._clear_references(module, table_name, set(wanted))
            return wanted

    def _clear_references(self, module: str, table_name: str, gone: set[int]) -> None:
        if not gone:
            return
        for other in self.module(module).tables.values():
            refs = [
                f.name
                for f in other.fields.values()
                if f.type == "reference" and f.ref_table == table_name
            ]
            if not refs:
                continue
            for rid, values in list(other.records.items()):
                hit = [n for n in refs if n in values and int(values[n]) in gone]
                if hit:
                    other.put(rid, {k: v for k, v in values.items() if k not in hit})
                    self._log(other, rid, "update")

    def upsert(
        self, module: str, table_name: str, match_field: Any, items: list[Any]
    ) -> tuple[list[int], list[int]]:
        """Create or update by a unique field (all-or-nothing) → (created ids, updated ids)."""
        with self.lock:
            table = self.table(module, table_name)
            spec = table.fields.get(match_field) if isinstance(match_field, str) else None
            if spec is None:
                raise ApiError(400, f"matchField {match_field!r} is not a field of '{table_name}'")
            if not spec.unique:
                raise ApiError(400, f"matchField '{match_field}' must be a field marked unique")
            keys: dict[Any, int] = {}
            holders = table.holders(spec.name)
            planned: dict[int, dict[str, Any]] = {}
            where: dict[int, int] = {}
            creates: list[dict[str, Any]] = []
            for index, item in enumerate(items):
                values = self._prepare(module, table, item, index, with_id=False)
                key = values.get(spec.name)
                if key is None:
                    raise ApiError(
                        400, f"{_where(index, spec.name)}: the match field must carry a value"
                    )
                if _hashable(key) in keys:
                    raise ApiError(
                        409,
                        f"{_where(index)}: ambiguous match: records[{keys[_hashable(key)]}] has "
                        f"the same {match_field} {key!r}",
                    )
                keys[_hashable(key)] = index
                hits = sorted(holders.get(_hashable(key), ()))
                if len(hits) > 1:
                    raise ApiError(
                        409,
                        f"{_where(index)}: ambiguous match: records {hits} have "
                        f"{match_field} {key!r}",
                    )
                rid = hits[0] if hits else -1 - index  # a stand-in id for a create
                planned[rid] = self._merge(table.records.get(rid, {}), values)
                where[rid] = index
                if not hits:
                    creates.append(planned[rid])
            self._check_rules(table, planned, where)
            updated = [rid for rid in planned if rid in table.records]
            for rid in updated:
                table.put(rid, planned[rid])
                self._log(table, rid, "update")
            created = []
            for values in creates:
                rid = self._new_id(table, reuse_ids=False)
                table.put(rid, values)
                self._log(table, rid, "create")
                created.append(rid)
            table.ids_changed()
            return created, updated

    # -------------------------------------------------------------- feeds

    def retention_cutoff(self, now: int) -> int:
        """The oldest time the change feed still covers."""
        return now - self.retention_ms

    def changes(
        self, table: Table, since: int, as_of: int, *, inclusive: bool = False
    ) -> list[Change]:
        """Changes after `since` (at it too if `inclusive`) up to `as_of`, oldest first."""
        with self.lock:
            cutoff = self.retention_cutoff(self.clock.now_ms())
            table.changes = [c for c in table.changes if c.changed_at >= cutoff]
            return [
                c
                for c in table.changes
                if (c.changed_at >= since if inclusive else c.changed_at > since)
                and c.changed_at <= as_of
            ]

    # ------------------------------------------------------ backup/restore

    def backup(self) -> Workspace:
        """A deep copy of the whole workspace (records, logs, schema)."""
        with self.lock:
            return copy.deepcopy(self.workspace)

    def restore(self, backup: Workspace) -> None:
        """Put a `backup()` back (a copy of it, so it can be restored again)."""
        with self.lock:
            self.workspace = copy.deepcopy(backup)
            for _, table in self.all_tables():
                table.forget_indexes()

    def all_tables(self) -> Iterable[tuple[str, Table]]:
        """(module name, table) for every table."""
        for module in self.workspace.modules.values():
            for table in module.tables.values():
                yield module.name, table
