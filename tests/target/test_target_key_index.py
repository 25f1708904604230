"""The compact key index: exact under hash collisions, current after writes."""

from __future__ import annotations

import pytest

from ninox_core.classic.backend import ClassicBackend
from target_ninox import key_index
from target_ninox.key_index import KeyIndex
from tests.target_support import DEMO_TEAM, PEOPLE, TEST_DB, api, make_database


def _loaded(emulator, emails: list[str]) -> KeyIndex:
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"Email": e}} for e in emails]
    )
    with api(emulator) as client:
        table = next(t for t in client.list_tables(DEMO_TEAM, TEST_DB) if t.id == PEOPLE)
        email = table.field_by_name("Email")
        assert email is not None
        index = KeyIndex(table, [email])
        index.load(ClassicBackend(client), DEMO_TEAM, TEST_DB)
    return index


@pytest.mark.parametrize("colliding", [False, True])
def test_lookups_are_exact_even_when_every_hash_collides(emulator, monkeypatch, colliding):
    if colliding:
        monkeypatch.setattr(key_index, "key_hash", lambda encoded: 7)
    emails = [f"p{i}@x" for i in range(300)] + ["p5@x", "p9@x"]  # two keys shared
    index = _loaded(emulator, emails)
    for i in range(300):
        assert index.get((f"p{i}@x",)) == i + 1
    assert index.get(("nobody@x",)) is None
    assert index._duplicates == 2
    # Written after the load: a new key, a record moved to another key, a deletion.
    index.set(("new@x",), 500)
    index.set(("moved@x",), 3)
    index.discard_ids([4])
    assert index.get(("new@x",)) == 500
    assert index.get(("moved@x",)) == 3
    assert index.get(("p2@x",)) is None  # record 3 no longer holds it
    assert index.get(("p3@x",)) is None  # record 4 was deleted
    # Record 6 held p5@x with the lowest id; deleted, the next holder (301) has it.
    index.discard_ids([6])
    assert index.get(("p5@x",)) == 301


def test_index_stays_compact(emulator):
    index = _loaded(emulator, [f"person{i}@example.com" for i in range(1000)])
    size = (
        index._hashes.itemsize * len(index._hashes)
        + index._ids.itemsize * len(index._ids)
        + index._offsets.itemsize * len(index._offsets)
        + len(index._blob)
    )
    assert size < 60 * 1000  # 24 bytes of arrays and the key's ~28 bytes per key
