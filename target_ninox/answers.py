"""Records as Ninox answers them, keyed by field id whatever the server did.

The target reads with `style=ids`, but a server may ignore it and key
fields by name (docs/api.md, server variants). Every place that reads an
answer's fields (the key index, lost-answer reconciliation) goes through
`FieldIds`, so a name-keyed answer reads the same as an id-keyed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ninox_core.schema import NinoxTable


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
        if all(key in self._ids for key in fields):
            return dict(fields)
        by_name = self._by_name
        return {by_name.get(key, key): value for key, value in fields.items()}
