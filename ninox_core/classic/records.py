"""Classic records and POST elements ↔ the seam's domain types.

A classic server is asked for id-keyed fields (`style=ids`) but may key
them by name (docs/api.md, server variants). Every record read is turned
into a `Record` here, once, with its values by field id, so nothing past
the seam reads a name-keyed answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ninox_core.backend import Record, Saved, WriteOp
from ninox_core.model.schema import NinoxTable


class FieldIds:
    """Turns a record's `fields` into `{field id: value}` for one table."""

    def __init__(self, table: NinoxTable) -> None:
        """Learn the table's ids and names once."""
        self._ids = frozenset(f.id for f in table.fields)
        # A name that is also some field's id is read as that id: an
        # id-keyed answer is what was asked for, so it wins the tie.
        self._by_name = {f.name: f.id for f in table.fields if f.name not in self._ids}

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record's fields by id (unknown keys are kept as they are)."""
        fields = record.get("fields") or {}
        if self._ids.issuperset(fields):
            # The answer was id-keyed, as asked: its own dict (decoded for
            # this page, held by nothing else) is the record's, uncopied.
            return fields if type(fields) is dict else dict(fields)
        by_name = self._by_name
        return {by_name.get(key, key): value for key, value in fields.items()}


def to_records(page: Sequence[Mapping[str, Any]], field_ids: FieldIds) -> list[Record]:
    """A checked page of classic records as `Record`s (values by field id)."""
    return [
        Record(
            record["id"],
            field_ids(record),
            record.get("sequence"),
            record.get("createdAt"),
            record.get("createdBy"),
            record.get("modifiedAt"),
            record.get("modifiedBy"),
        )
        for record in page
    ]


class Elements:
    """Builds the POST elements of one table from `WriteOp`s (docs/api.md §6).

    `{"fields": ...}` keys are resolved by name, else id, so a field whose
    id is another field's name is sent by its name; `_upsert` elements name
    fields by id at the top level.
    """

    def __init__(self, table: NinoxTable) -> None:
        """Learn which field ids must be sent by name."""
        self._post_key = {
            f.id: f.name for f in table.fields if table.field_by_name(f.id) not in (None, f)
        }

    def fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """Field ids → the keys a `{"fields": ...}` element uses (ids, nearly always)."""
        if not self._post_key:
            return values
        return {self._post_key.get(fid, fid): value for fid, value in values.items()}

    def __call__(self, op: WriteOp) -> dict[str, Any]:
        """The element that writes `op`."""
        if op.kind == "create":
            return {"fields": self.fields(op.values)}
        if op.kind == "update":
            return {"id": op.record_id, "fields": self.fields(op.values)}
        return {"_upsert": True, "_id": op.record_id, **op.values}


def to_saved(answer: Sequence[Mapping[str, Any]]) -> list[Saved]:
    """A checked POST answer (`checks.saved_records`) as `Saved`s, in order."""
    out: list[Saved] = []
    for record in answer:
        record_id = record.get("id")
        if record_id is None:
            record_id = record["_id"]
        out.append(Saved(record_id, record.get("sequence")))
    return out
