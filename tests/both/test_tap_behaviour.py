"""tap-ninox, the same promises on both backends (classic API and Ninox 4's Public API).

Black-box: the tap runs in-process against the backend's emulator; what it
emits is compared with what the emulator holds. `ninox` (conftest.py) hides
only what differs: names, where the data is, how the server's time moves.
"""

from __future__ import annotations

from typing import Any

from tests.both.conftest import Ninox
from tests.tap_support import TapOutput, run_tap

UPDATED, DELETED = 5, 9


def emitted(ninox: Ninox, out: TapOutput) -> dict[int, dict[str, Any]]:
    """The contacts a run emitted, by id (each id at most once)."""
    records = out.records.get(ninox.stream, [])
    ids = [r["_id"] for r in records]
    assert len(ids) == len(set(ids)), "a record was emitted twice"
    return {r["_id"]: r for r in records}


def plain_values(ninox: Ninox, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Of each row, the fields whose emitted value is the stored one."""
    plain = ninox.plain_fields()
    return {rid: {name: row[name] for name in plain} for rid, row in rows.items()}


def live(rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {rid: row for rid, row in rows.items() if not row["_sdc_deleted_at"]}


def deleted(rows: dict[int, dict[str, Any]]) -> list[int]:
    return sorted(rid for rid, row in rows.items() if row["_sdc_deleted_at"])


# ------------------------------------------------------------------ full read


def test_a_full_read_emits_every_record_of_the_table_once_with_its_values(ninox):
    ninox.let_time_pass()
    out = run_tap(ninox.tap_config())
    assert out.error is None
    rows = emitted(ninox, out)
    source = ninox.source_rows()
    assert len(ninox.plain_fields()) >= 10  # the comparison covers most fields
    assert plain_values(ninox, rows) == source
    assert deleted(rows) == []
    assert ninox.stream in out.state["bookmarks"]


def test_a_second_run_with_no_change_emits_no_records(ninox):
    config = ninox.tap_config()
    ninox.let_time_pass()
    first = run_tap(config)
    ninox.let_time_pass()
    second = run_tap(config, state=first.state)
    assert second.error is None
    assert second.records == {}
    assert ninox.stream in second.state["bookmarks"]


# ---------------------------------------------------------------- incremental


def test_the_next_run_emits_exactly_the_created_updated_and_deleted_records(ninox):
    config = ninox.tap_config()
    ninox.let_time_pass()
    first = run_tap(config)
    new = ninox.create({"first_name": "Nina", "last_name": "New", "email": "nina@x.test"})
    ninox.update(UPDATED, {"last_name": "Changed"})
    ninox.delete(DELETED)
    ninox.let_time_pass()
    second = run_tap(config, state=first.state)
    assert second.error is None
    rows = emitted(ninox, second)
    assert sorted(live(rows)) == sorted([new, UPDATED])
    assert deleted(rows) == [DELETED]
    source = ninox.source_rows()
    assert plain_values(ninox, live(rows)) == {rid: source[rid] for rid in (new, UPDATED)}
    assert rows[UPDATED][ninox.column("last_name")] == "Changed"
    assert rows[new][ninox.column("first_name")] == "Nina"
    assert rows[DELETED][ninox.column("last_name")] is None  # a deletion carries no values

    ninox.let_time_pass()
    third = run_tap(config, state=second.state)
    assert third.records == {}


def test_include_deletes_false_emits_no_deletion_rows(ninox):
    config = ninox.tap_config(include_deletes=False)
    ninox.let_time_pass()
    first = run_tap(config)
    ninox.delete(DELETED)
    ninox.let_time_pass()
    second = run_tap(config, state=first.state)
    assert second.error is None
    rows = emitted(ninox, second)
    assert deleted(rows) == []
    assert DELETED not in rows


# -------------------------------------------------------------- interruption


def test_an_interrupted_read_fails_and_the_next_run_emits_every_record_left(ninox):
    config = ninox.tap_config(page_size=10, max_retries=0)
    source = set(ninox.source_rows())
    ninox.let_time_pass()
    # The third page request, and every one after it, fails.
    ninox.emulator.faults.add(
        "status", status=500, times=None, method="GET", path=ninox.records_path(), after=2
    )
    broken = run_tap(config, allow_failure=True)
    assert broken.error is not None
    before = set(emitted(ninox, broken))
    assert before and before < source  # it stopped part-way

    ninox.emulator.faults.clear()
    # A STATE claiming more than was emitted would make this run skip records.
    resumed = run_tap(config, state=broken.state if broken.states else None)
    assert resumed.error is None
    assert before | set(emitted(ninox, resumed)) == source
