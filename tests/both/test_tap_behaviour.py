"""tap-ninox, the same promises on both backends (classic API and Ninox 4's Public API).

Black-box: the tap runs in-process against the backend's emulator; what it
emits is compared with what the emulator holds. `ninox` (conftest.py) hides
only what differs: names, where the data is, how the server's time moves.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ninox_core.errors import NinoxError
from tests.both.conftest import Ninox
from tests.tap_support import TapOutput, run_tap

UPDATED, DELETED = 5, 9
WRONG_KEY = "not-the-key-4711"


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
    assert out.schemas[ninox.stream]["key_properties"] == ["_id"]


def test_a_second_run_with_no_change_emits_no_records(ninox):
    config = ninox.tap_config()
    ninox.let_time_pass()
    first = run_tap(config)
    ninox.let_time_pass()
    second = run_tap(config, state=first.state)
    assert second.error is None
    assert second.records == {}
    assert ninox.stream in second.state["bookmarks"]


def test_a_wrong_api_key_fails_with_one_error_that_does_not_show_the_key(ninox):
    with pytest.raises(NinoxError) as failure:
        run_tap(ninox.tap_config(api_key=WRONG_KEY))
    message = str(failure.value)
    assert "HTTP 401" in message and "API key" in message
    assert WRONG_KEY not in message
    assert "\n" not in message


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
    assert rows[DELETED]["_sdc_deleted_at"].endswith("Z")
    assert all(rows[DELETED][name] is None for name in ninox.plain_fields())

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


def replica(ninox: Ninox, *runs: TapOutput) -> dict[int, dict[str, Any]]:
    """What a target keyed by `_id` holds after the runs (plain fields)."""
    rows: dict[int, dict[str, Any]] = {}
    for out in runs:
        for rid, row in emitted(ninox, out).items():
            if row["_sdc_deleted_at"]:
                rows.pop(rid, None)
            else:
                rows[rid] = row
    return plain_values(ninox, rows)


def test_changes_made_while_a_run_reads_reach_the_replica_by_the_next_run(ninox):
    config = ninox.tap_config(page_size=10)
    ninox.let_time_pass()
    pages: list[object] = []
    created: list[int] = []

    def change_after_the_first_page(request: Any) -> None:
        if request.method == "GET" and re.search(ninox.records_path(), request.path):
            pages.append(request)
            if len(pages) == 2:  # ids 1-10 were read, not 25-30
                ninox.update(2, {"nickname": "mid-read"})
                created.append(ninox.create({"last_name": "Mid", "email": "mid@x.test"}))
                ninox.delete(28)

    ninox.emulator.on_request(change_after_the_first_page)
    first = run_tap(config)
    ninox.emulator.clear_hooks()
    assert first.error is None
    assert created
    ninox.let_time_pass()
    second = run_tap(config, state=first.state)
    assert second.error is None
    assert replica(ninox, first, second) == ninox.source_rows()
    assert replica(ninox, first, second)[2][ninox.column("nickname")] == "mid-read"


# -------------------------------------------------------------- interruption


def at_each_state(
    out: TapOutput, start: dict[str, Any] | None
) -> list[tuple[TapOutput, dict[str, Any] | None]]:
    """For the run's start STATE and each STATE it wrote: what it wrote before, and the value."""
    return [(TapOutput([]), start)] + [
        (TapOutput(out.messages[:i]), message["value"])
        for i, message in enumerate(out.messages)
        if message["type"] == "STATE"
    ]


@pytest.mark.parametrize("pages_read", [1, 2])
def test_an_interrupted_read_fails_and_the_next_run_emits_every_record_left(ninox, pages_read):
    config = ninox.tap_config(page_size=10, max_retries=0)
    source = set(ninox.source_rows())
    ninox.let_time_pass()
    # Every page request after the first `pages_read` fails.
    ninox.emulator.faults.add(
        "status", status=500, times=None, method="GET", path=ninox.records_path(), after=pages_read
    )
    broken = run_tap(config, allow_failure=True)
    assert broken.error is not None
    assert set(emitted(ninox, broken)) < source  # it stopped part-way
    assert broken.states  # and said how far it got

    ninox.emulator.faults.clear()
    # A STATE claiming more than was emitted before it would make the run
    # from it skip records: from every STATE the failed run wrote, none is lost.
    for before, state in at_each_state(broken, None):
        resumed = run_tap(config, state=state)
        assert resumed.error is None
        assert set(emitted(ninox, before)) | set(emitted(ninox, resumed)) == source


@pytest.mark.parametrize("reads", [1, 3, 6])
def test_an_interrupted_incremental_run_fails_and_the_next_run_loses_nothing(ninox, reads):
    config = ninox.tap_config(page_size=5, max_retries=0)
    ninox.let_time_pass()
    first = run_tap(config)
    for n in range(20):
        ninox.create({"last_name": f"New{n}", "email": f"new{n}@x.test"})
    ninox.update(UPDATED, {"last_name": "Changed"})
    ninox.delete(DELETED)
    ninox.let_time_pass()
    # Every read of the table's records after the first `reads` fails.
    ninox.emulator.faults.add(
        "status", status=500, times=None, method="GET", path=ninox.reads_path(), after=reads
    )
    broken = run_tap(config, state=first.state, allow_failure=True)
    assert broken.error is not None
    ninox.emulator.faults.clear()
    for before, state in at_each_state(broken, first.state):
        resumed = run_tap(config, state=state)
        assert resumed.error is None
        assert replica(ninox, first, before, resumed) == ninox.source_rows()
