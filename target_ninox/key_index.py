"""Upsert key → record id, for one table and one set of key fields.

Read once per table and key (keyset-paged, never one request per record),
then kept current from the answers to the target's own writes, so a key
written twice in one run updates the record the first write created.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ninox_core.backend import Backend, Record
from ninox_core.model.schema import NinoxField, NinoxTable

logger = logging.getLogger(__name__)

Key = tuple[Any, ...]


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


def is_empty_key_value(value: Any) -> bool:
    """True for a key value that is no key: null, `""` or only spaces.

    Ninox leaves empty fields out of its answers, so such a value would
    match every record whose key field is empty (SPEC "Trust no answer").
    """
    return value is None or (isinstance(value, str) and not value.strip())


def is_empty_key(key: Key) -> bool:
    """True when any part of a key is empty (`is_empty_key_value`): it matches nothing."""
    return any(is_empty_key_value(v) for v in key)


def key_hash(encoded: bytes) -> int:
    """The 64-bit hash the index sorts by (collisions are fine: bytes decide)."""
    return hash(encoded)


def encode_key(key: Key) -> bytes:
    """The exact, compact form of a key the index stores and compares."""
    return repr(key).encode("utf-8", "surrogatepass")


class KeyIndex:
    """Which record of a table holds each upsert-key value.

    Compact, because a table can hold millions of keys (docs/design.md, key
    index): the keys read at load time live in flat arrays sorted by a
    64-bit hash of the key — hash, record id, and the offset of the key's
    exact bytes in one shared buffer — about 30 bytes plus the key's own
    length per key, instead of two dicts of tuples. A lookup bisects the
    hashes and compares the stored key bytes, so two keys whose hashes
    collide are never taken for one another. Keys written after the load
    go to a small dict; ids deleted or moved to another key since the load
    are remembered so the arrays are never rewritten.
    """

    def __init__(self, table: NinoxTable, key_fields: Sequence[NinoxField]) -> None:
        """An empty index; `load()` fills it from Ninox."""
        self.table = table
        self.key_field_ids = tuple(f.id for f in key_fields)
        # Loaded keys, sorted by hash (parallel arrays).
        self._hashes = array("q")
        self._ids = array("q")
        self._offsets = array("q", [0])
        self._blob = bytearray()
        #: Ids of loaded entries no longer valid (deleted, or now another key).
        self._stale: set[int] = set()
        # Keys set since the load: exact key bytes -> id, and back.
        self._added: dict[bytes, int] = {}
        self._added_keys: dict[int, bytes] = {}
        #: Highest record `sequence` read (a `sinceSq` that finds later changes).
        self.max_sequence = 0
        self.loaded = False
        self._duplicates = 0

    def __len__(self) -> int:
        """Number of keys loaded plus keys set since (for the log)."""
        return len(self._ids) + len(self._added)

    def __bool__(self) -> bool:
        """An index is an object, not a collection: always true."""
        return True

    @staticmethod
    def key_of(values: Iterable[Any]) -> Key:
        """The index key of key values in written (or read) form."""
        return tuple(normalize(v) for v in values)

    def key_of_record(self, record: Record) -> Key:
        """The key of a record as read (its values by field id, `Record`)."""
        values = record.values
        return tuple(normalize(values.get(fid)) for fid in self.key_field_ids)

    # ---------------------------------------------------------------- reads

    def get(self, key: Key) -> int | None:
        """The id of the record with this key, or None (always for an empty key)."""
        if is_empty_key(key):
            return None
        encoded = encode_key(key)
        found = self._added.get(encoded)
        if found is not None:
            return found
        return self._loaded_id(encoded)

    def _loaded_id(self, encoded: bytes) -> int | None:
        """The id the loaded arrays hold for these exact key bytes (lowest id)."""
        hashes, offsets, blob = self._hashes, self._offsets, self._blob
        wanted = key_hash(encoded)
        at = bisect_left(hashes, wanted)
        while at < len(hashes) and hashes[at] == wanted:
            # Equal hashes: only the stored bytes tell equal keys apart.
            if blob[offsets[at] : offsets[at + 1]] == encoded:
                record_id = self._ids[at]
                if record_id not in self._stale:
                    return record_id
            at += 1
        return None

    # --------------------------------------------------------------- writes

    def set(self, key: Key, record_id: int) -> None:
        """Remember that `record_id` holds `key` (it may have held another)."""
        encoded = encode_key(key)
        old = self._added_keys.get(record_id)
        if old is not None and old != encoded and self._added.get(old) == record_id:
            del self._added[old]
        if self.loaded and self._loaded_id(encoded) != record_id:
            # The loaded entry of this id (if any) no longer holds its key.
            self._stale.add(record_id)
        self._added[encoded] = record_id
        self._added_keys[record_id] = encoded

    def discard_ids(self, record_ids: Iterable[int]) -> None:
        """Forget deleted records."""
        for record_id in record_ids:
            self._stale.add(record_id)
            encoded = self._added_keys.pop(record_id, None)
            if encoded is not None and self._added.get(encoded) == record_id:
                del self._added[encoded]

    def absorb(self, records: Iterable[Record]) -> None:
        """Take in records read back after a lost answer (the index is loaded).

        When a record's key is already held by a lower id, that id keeps it,
        so every run updates the same record.
        """
        for record in records:
            record_id = record.id
            self.max_sequence = max(self.max_sequence, int(record.sequence or 0))
            key = self.key_of_record(record)
            if is_empty_key(key):
                continue  # matches nothing (`is_empty_key_value`)
            holder = self.get(key)
            if holder is not None and holder != record_id and holder < record_id:
                continue
            self.set(key, record_id)

    # ----------------------------------------------------------------- load

    def load(self, backend: Backend, workspace: str, database: str) -> None:
        """Read every record's key, keyset-paged, into the sorted arrays."""
        hashes, ids, offsets, blob = array("q"), array("q"), array("q", [0]), bytearray()
        pages = 0
        address = backend.address(workspace, database, self.table)
        for page in backend.scan(address, self.table):
            pages += 1
            for record in page:
                self.max_sequence = max(self.max_sequence, int(record.sequence or 0))
                key = self.key_of_record(record)
                if is_empty_key(key):
                    continue  # never a match: not indexed (`is_empty_key_value`)
                encoded = encode_key(key)
                hashes.append(key_hash(encoded))
                ids.append(record.id)
                blob += encoded
                offsets.append(len(blob))
        self._build(hashes, ids, offsets, blob)
        self.loaded = True
        if self._duplicates:
            logger.warning(
                "Table '%s' (%s): %d records share an upsert key with another record; "
                "the lowest id of each key is the one updated (or deleted), the others "
                "are left as they are.",
                self.table.name,
                self.table.id,
                self._duplicates,
            )
        logger.info(
            "Table '%s' (%s): read %d upsert keys (%s) in %d requests.",
            self.table.name,
            self.table.id,
            len(self),
            ", ".join(self.key_field_ids),
            pages + 1,
        )

    def _build(
        self, hashes: array[int], ids: array[int], offsets: array[int], blob: bytearray
    ) -> None:
        """Sort the loaded entries by (hash, id) and pack them; count shared keys."""
        # By hash alone (no tuple per entry: this is the load's memory peak),
        # then each run of equal hashes by id.
        order = sorted(range(len(ids)), key=hashes.__getitem__)
        run_start = 0
        for at in range(1, len(order) + 1):
            if at == len(order) or hashes[order[at]] != hashes[order[run_start]]:
                if at - run_start > 1:
                    order[run_start:at] = sorted(order[run_start:at], key=ids.__getitem__)
                run_start = at
        self._hashes = array("q", (hashes[i] for i in order))
        self._ids = array("q", (ids[i] for i in order))
        packed = bytearray()
        starts = array("q", [0])
        for i in order:
            packed += blob[offsets[i] : offsets[i + 1]]
            starts.append(len(packed))
        self._offsets, self._blob = starts, packed
        del order
        # Entries of one key sit together among equal hashes, lowest id first
        # (`_loaded_id` returns the first): count the others.
        seen: set[bytes] = set()
        for at in range(1, len(self._hashes)):
            if self._hashes[at] != self._hashes[at - 1]:
                seen.clear()
                continue
            if not seen:
                seen.add(self._key_bytes(at - 1))
            key = self._key_bytes(at)
            if key in seen:
                self._duplicates += 1
            seen.add(key)

    def _key_bytes(self, at: int) -> bytes:
        return bytes(self._blob[self._offsets[at] : self._offsets[at + 1]])
