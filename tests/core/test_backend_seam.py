"""The backend seam (docs/decisions/0020-backend-seam.md): the classic API behind it.

What the connectors' algorithms rely on: records keyed by field id whatever
the server sent, a change set of the table's own deletions, a write plan
that is one POST with a checked result in order, and no classic call made
past the seam.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ninox_core.backend import Backend, Cursor, WriteOp
from ninox_core.classic.backend import ClassicBackend
from ninox_core.model.schema import NinoxTable
from tests.target_support import DEMO_TEAM, TEST_DB, api, make_database

ROOT = Path(__file__).resolve().parents[2]


def _people(backend: Backend) -> NinoxTable:
    return next(t for t in backend.list_tables(DEMO_TEAM, TEST_DB) if t.name == "People")


def test_records_reach_the_connectors_keyed_by_field_id_when_the_server_keys_them_by_name(
    emulator,
):
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM, TEST_DB, "A", [{"fields": {"Email": "a@x", "Name": "Ada"}}]
    )
    emulator.variants.enable("names_for_ids")
    with api(emulator) as client:
        backend = ClassicBackend(client)
        table = _people(backend)
        address = backend.address(DEMO_TEAM, TEST_DB, table)
        (page,) = list(backend.scan(address, table, page_size=100))
        (record,) = page
        assert record.values == {"A": "a@x", "B": "Ada"}
        assert isinstance(record.sequence, int)
        assert backend.read_records(address, table, [record.id, 999])[record.id].values == {
            "A": "a@x",
            "B": "Ada",
        }


def test_a_change_set_lists_only_the_tables_own_deletions_after_the_cursor(emulator):
    make_database(emulator)
    store = emulator.store
    people = store.save_records(DEMO_TEAM, TEST_DB, "A", [{"fields": {}} for _ in range(3)])
    companies = store.save_records(DEMO_TEAM, TEST_DB, "B", [{"fields": {}} for _ in range(2)])
    with api(emulator) as client:
        backend = ClassicBackend(client)
        table = _people(backend)
        address = backend.address(DEMO_TEAM, TEST_DB, table)
        before = backend.cursor_now(address)
        client.delete_records(DEMO_TEAM, TEST_DB, "A", [_id(people[0]), _id(people[2])])
        client.delete_records(DEMO_TEAM, TEST_DB, "B", [_id(companies[0])])
        changes = backend.changes(address, before)
    assert changes.removed == (_id(people[0]), _id(people[2]))
    assert changes.cursor is not None
    assert not backend.is_behind(changes.cursor, before)
    assert backend.is_behind(Cursor(int(before.value) - 1), before)


def test_a_write_plan_is_one_post_whose_checked_result_names_each_record_in_order(emulator):
    make_database(emulator)
    with api(emulator) as client:
        backend = ClassicBackend(client)
        table = _people(backend)
        address = backend.address(DEMO_TEAM, TEST_DB, table)
        (first,) = backend.write(address, table, [WriteOp("create", {"A": "a@x"})])
        posts_before = emulator.request_count(method="POST")
        saved = backend.write(
            address,
            table,
            [
                WriteOp("create", {"A": "b@x"}),
                WriteOp("update", {"B": "Ada"}, first.id),
                WriteOp("upsert", {"A": "c@x"}, 77),
            ],
        )
        assert emulator.request_count(method="POST") == posts_before + 1
        assert [s.id for s in saved][1:] == [first.id, 77]
        # The classic `_upsert` answer names its record by `_id`, without a sequence.
        assert [isinstance(s.sequence, int) for s in saved] == [True, True, False]
        by_id = {
            r.id: r.values for page in backend.scan(address, table, page_size=100) for r in page
        }
    assert by_id == {
        first.id: {"A": "a@x", "B": "Ada"},
        saved[0].id: {"A": "b@x"},
        77: {"A": "c@x"},
    }


#: What past the seam must not appear in the connectors' algorithms:
#: classic client calls, the classic record dict, the POST wire format.
_CLASSIC = [
    re.compile(
        r"\bclient\.(iter_record_pages|save_records|delete_records|table_changes|"
        r"read_sequence|database_sequence|get_record|list_tables|list_databases|list_teams)\b"
    ),
    re.compile(r"""\[["'](fields|sequence)["']\]|\.get\(["'](fields|sequence)["']"""),
    re.compile(r"""["']_upsert["']"""),
]
_ON_THE_SEAM = [
    "tap_ninox/streams.py",
    "tap_ninox/tap.py",
    "tap_ninox/records.py",
    "tap_ninox/ids.py",
    "target_ninox/writer.py",
    "target_ninox/batches.py",
    "target_ninox/key_index.py",
    "target_ninox/lost_answers.py",
    "target_ninox/rerun_guard.py",
    "target_ninox/deletes.py",
    "target_ninox/target.py",
]


def classic_assumptions(source: str) -> list[str]:
    """The lines of `source` that speak the classic API instead of the seam."""
    return [
        line.strip()
        for line in source.splitlines()
        if any(pattern.search(line) for pattern in _CLASSIC)
    ]


def test_the_tap_streams_and_the_target_writer_speak_only_the_seam():
    found: dict[str, Any] = {}
    for name in _ON_THE_SEAM:
        lines = classic_assumptions((ROOT / name).read_text(encoding="utf-8"))
        if lines:
            found[name] = lines
    assert found == {}


def test_the_seam_check_sees_a_classic_call_and_the_classic_wire_format():
    # The check above would pass on anything if its patterns matched nothing.
    assert classic_assumptions('pages = self.client.iter_record_pages(team, db, "A")')
    assert classic_assumptions('seq = record.get("sequence")')
    assert classic_assumptions('element = {"_upsert": True, "_id": 4}')
    assert not classic_assumptions("for page in self.backend.scan(address, table):")


def _id(saved: dict[str, Any]) -> int:
    return int(saved["id"])
