"""Upsert key → record id, for one table and one set of key fields.

Read once per table and key (keyset-paged, never one request per record),
then kept current from the answers to the target's own writes, so a key
written twice in one run updates the record the first write created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ninox_core.client import NinoxClient
from ninox_core.schema import NinoxField, NinoxTable
from target_ninox.answers import FieldIds

logger = logging.getLogger(__name__)

Key = tuple[Any, ...]

#: Records per page of the index read (the emulator's and a sane server cap).
INDEX_PAGE_SIZE = 1000


def normalize(value: Any) -> Any:
    """One canonical, hashable form of a key value, as written or as read.

    Ninox leaves empty fields out, so `""` and None are the same; numbers
    compare by value whatever their JSON spelling (`5`, `5.0`); list values
    (multi) compare as sets.
    """
    if value is None or value == "":
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, (list, tuple)):
        return tuple(sorted((normalize(v) for v in value), key=repr))
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), normalize(v)) for k, v in value.items()))
    return str(value)


class KeyIndex:
    """Which record of a table holds each upsert-key value."""

    def __init__(self, table: NinoxTable, key_fields: Sequence[NinoxField]) -> None:
        """An empty index; `load()` fills it from Ninox."""
        self.table = table
        self.key_field_ids = tuple(f.id for f in key_fields)
        self._field_ids = FieldIds(table)
        self._ids: dict[Key, int] = {}
        self._keys: dict[int, Key] = {}
        #: Highest record `sequence` read (a `sinceSq` that finds later changes).
        self.max_sequence = 0
        self.loaded = False

    def __len__(self) -> int:
        """Number of keys known."""
        return len(self._ids)

    @staticmethod
    def key_of(values: Iterable[Any]) -> Key:
        """The index key of key values in written (or read) form."""
        return tuple(normalize(v) for v in values)

    def key_of_record(self, record: Mapping[str, Any]) -> Key:
        """The key of a record as read (id- or name-keyed fields)."""
        fields = self._field_ids(record)
        return tuple(normalize(fields.get(fid)) for fid in self.key_field_ids)

    def get(self, key: Key) -> int | None:
        """The id of the record with this key, or None."""
        return self._ids.get(key)

    def set(self, key: Key, record_id: int) -> None:
        """Remember that `record_id` holds `key` (it may have held another)."""
        old = self._keys.get(record_id)
        if old is not None and old != key and self._ids.get(old) == record_id:
            del self._ids[old]
        self._ids[key] = record_id
        self._keys[record_id] = key

    def discard_ids(self, record_ids: Iterable[int]) -> None:
        """Forget deleted records."""
        for record_id in record_ids:
            key = self._keys.pop(record_id, None)
            if key is not None and self._ids.get(key) == record_id:
                del self._ids[key]

    def absorb(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take in records read with `style=ids` (the load, or a re-read).

        When several records share a key, the lowest id keeps it, so every
        run updates the same record.
        """
        duplicates = 0
        for record in records:
            record_id = int(record["id"])
            key = self.key_of_record(record)
            self.max_sequence = max(self.max_sequence, int(record.get("sequence") or 0))
            holder = self._ids.get(key)
            if holder is not None and holder != record_id:
                if holder < record_id:
                    duplicates += 1
                    continue
                duplicates += 1
            self.set(key, record_id)
        if duplicates:
            logger.warning(
                "Table '%s' (%s): %d records share an upsert key with another record; "
                "the lowest id of each key is the one updated.",
                self.table.name,
                self.table.id,
                duplicates,
            )

    def load(self, client: NinoxClient, team_id: str, database_id: str) -> None:
        """Read every record's key, keyset-paged."""
        pages = 0
        for page in client.iter_record_pages(
            team_id, database_id, self.table.id, page_size=INDEX_PAGE_SIZE, style="ids"
        ):
            pages += 1
            self.absorb(page)
        self.loaded = True
        logger.info(
            "Table '%s' (%s): read %d upsert keys (%s) in %d requests.",
            self.table.name,
            self.table.id,
            len(self),
            ", ".join(self.key_field_ids),
            pages + 1,
        )
