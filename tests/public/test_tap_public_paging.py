"""Full reads of Ninox 4 tables in ⌈N/100⌉ pages, still exact (docs/decisions/0023).

Pages do not overlap; a record another user's deletion hides from a full
read is caught: on a table without history by the id comparison in the
same run, on a table with history by the scan's window in the next run
(read again with overlapping pages). Everything here goes over HTTP to the
Public API emulator; V8 (`scan_drift`) is the other user.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.model import Field, Table
from tap_ninox.public_reads import WINDOW_KEY
from tests.public.tap_public_support import (
    Replica,
    full_read,
    public_config,
    quiet,
    record_requests,
    run_public,
    table_ids,
)

MODULE = "paging"
HISTORY, NO_HISTORY = "orders", "notes"


def add_tables(emulator: PublicEmulator, size: int) -> None:
    """Module `paging`: `orders` (history) and `notes` (none), `size` records each."""
    emulator.store.add_module(MODULE, "Paging")
    for name, history in ((HISTORY, True), (NO_HISTORY, False)):
        fields = [Field(name="title", type="string")]
        emulator.store.add_table(MODULE, Table(name, name.title(), fields, has_history=history))
        emulator.store.create(MODULE, name, [{"title": f"row {i}"} for i in range(size)])
    quiet(emulator)


def config_for(emulator: PublicEmulator, *tables: str) -> dict[str, Any]:
    """A tap config reading `tables` of module `paging` (streams named as the tables)."""
    return public_config(emulator, modules=[MODULE], tables=list(tables))


def drift_on_second_page(emulator: PublicEmulator, table: str) -> None:
    """V8 for one page: before the second page of `table`, another user deletes its lowest
    id (already read) and creates a record; then off. The record at offset 100 moves to 99:
    a read without overlap skips it."""
    seen = {"pages": 0}

    def count(request: Any) -> None:
        if request.path.endswith(f"/tables/{table}/records"):
            seen["pages"] += 1
            if seen["pages"] == 2:
                emulator.variants.enable("V8")
            else:
                emulator.variants.disable("V8")

    emulator.on_request(count)


def page_offsets(emulator: PublicEmulator, table: str) -> list[int]:
    """The offsets of the record pages of `table` the log holds."""
    return [
        int(r.query.get("offset", 0))
        for r in emulator.requests
        if r.path.endswith(f"/tables/{table}/records")
    ]


def assert_replica_is_the_table(emulator: PublicEmulator, table: str, *runs: Any) -> None:
    """The runs' records applied in order hold exactly the table's rows now."""
    replica = Replica()
    for run in runs:
        replica = replica.apply(run)
    assert replica.rows(table) == full_read(emulator, modules=[MODULE], tables=[table]).rows(table)


def window_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The warnings that a full read is repeated with overlapping pages."""
    return [
        r.getMessage()
        for r in caplog.records
        if "read again in full with overlapping pages" in r.getMessage()
    ]


# ------------------------------------------------------------ request counts


@pytest.mark.parametrize("size", [250, 300])
def test_a_full_read_costs_a_page_per_100_records_plus_the_probe(public_emulator, size):
    add_tables(public_emulator, size)
    public_emulator.clear_log()
    out = run_public(config_for(public_emulator, HISTORY, NO_HISTORY))
    assert len(out.records[HISTORY]) == len(out.records[NO_HISTORY]) == size
    pages = math.ceil(size / 100)
    # ⌈N/100⌉ pages (a full last page says has_more false: it ends the read)
    # plus, with history, the feed probe for asOf.
    assert record_requests(public_emulator, HISTORY) == {"pages": pages, "feed": 1, "by_id": 0}
    assert record_requests(public_emulator, NO_HISTORY) == {"pages": pages, "feed": 0, "by_id": 0}
    assert page_offsets(public_emulator, HISTORY) == [100 * i for i in range(pages)]


def test_has_more_on_the_last_full_page_costs_one_empty_page_more(public_emulator):
    add_tables(public_emulator, 300)
    public_emulator.variants.enable("V7")
    public_emulator.clear_log()
    out = run_public(config_for(public_emulator, HISTORY, NO_HISTORY))
    assert len(out.records[HISTORY]) == len(out.records[NO_HISTORY]) == 300
    assert record_requests(public_emulator, HISTORY) == {"pages": 4, "feed": 1, "by_id": 0}
    assert record_requests(public_emulator, NO_HISTORY) == {"pages": 4, "feed": 0, "by_id": 0}


# ------------------------------------------------- a table without history


def test_a_record_a_deletion_hid_from_a_table_without_history_is_emitted_in_the_same_run(
    public_emulator, caplog
):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, NO_HISTORY)
    first = run_public(config)
    drift_on_second_page(public_emulator, NO_HISTORY)
    second = run_public(config, state=first.state)
    public_emulator.variants.clear()
    rows = {r["_id"]: r for r in second.records[NO_HISTORY]}
    # V8 deleted id 1 before the second page, so id 101 moved to offset 99:
    # the page at offset 100 skipped it; the id comparison found it alive.
    assert 101 in rows and rows[101]["_sdc_deleted_at"] is None
    assert not [r for r in second.records[NO_HISTORY] if r["_sdc_deleted_at"]]
    assert record_requests(public_emulator, NO_HISTORY)["by_id"] >= 1
    assert any("did not see exist" in r.getMessage() for r in caplog.records)
    # It is among the ids of this complete read: its deletion is reported
    # next, with id 1's (read on the first page before V8 deleted it).
    public_emulator.delete_records(MODULE, NO_HISTORY, [101])
    third = run_public(config, state=second.state)
    assert [r["_id"] for r in third.records[NO_HISTORY] if r["_sdc_deleted_at"]] == [1, 101]
    assert_replica_is_the_table(public_emulator, NO_HISTORY, first, second, third)


# ------------------------------------------------------ a table with history


def test_a_record_a_deletion_hid_from_a_history_table_is_read_by_the_next_run_with_overlap(
    public_emulator, caplog
):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    drift_on_second_page(public_emulator, HISTORY)
    first = run_public(config)
    public_emulator.variants.clear()
    assert 101 not in {r["_id"] for r in first.records[HISTORY]}  # the skip happened
    assert WINDOW_KEY in first.state["bookmarks"][HISTORY]
    quiet(public_emulator)
    public_emulator.clear_log()
    second = run_public(config, state=first.state)
    # The feed's deletion of id 1 falls inside the first read's window:
    # the table is read again with pages overlapping by one record.
    assert 101 in {r["_id"] for r in second.records[HISTORY] if not r["_sdc_deleted_at"]}
    assert page_offsets(public_emulator, HISTORY) == [0, 99, 198]
    assert [r["_id"] for r in second.records[HISTORY] if r["_sdc_deleted_at"]] == [1]
    warnings = window_warnings(caplog)
    assert len(warnings) == 1 and f"stream '{HISTORY}'" in warnings[0]
    assert "\n" not in warnings[0]
    assert WINDOW_KEY not in second.state["bookmarks"][HISTORY]
    # The run after is incremental again.
    quiet(public_emulator)
    public_emulator.store.update(MODULE, HISTORY, [{"id": 5, "title": "changed"}])
    public_emulator.clear_log()
    third = run_public(config, state=second.state)
    assert [r["_id"] for r in third.records[HISTORY]] == [5]
    assert record_requests(public_emulator, HISTORY) == {"pages": 0, "feed": 1, "by_id": 1}
    assert len(window_warnings(caplog)) == 1
    assert_replica_is_the_table(public_emulator, HISTORY, first, second, third)


def test_a_deletion_after_the_full_read_reads_no_table_again(public_emulator, caplog):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    first = run_public(config)
    # Outside the window in time (id 5 was read on the first page) …
    quiet(public_emulator)
    public_emulator.delete_records(MODULE, HISTORY, [5])
    public_emulator.clear_log()
    second = run_public(config, state=first.state)
    assert [(r["_id"], bool(r["_sdc_deleted_at"])) for r in second.records[HISTORY]] == [(5, True)]
    assert record_requests(public_emulator, HISTORY) == {"pages": 0, "feed": 1, "by_id": 0}
    assert not window_warnings(caplog)
    assert WINDOW_KEY not in second.state["bookmarks"][HISTORY]


def test_deleting_a_record_of_the_last_page_right_after_the_read_reads_no_table_again(
    public_emulator, caplog
):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    first = run_public(config)
    # Maybe inside the window in time, but read on the last page: its
    # deletion came after every page, so it shifted nothing unread.
    public_emulator.delete_records(MODULE, HISTORY, [240])
    quiet(public_emulator)
    public_emulator.clear_log()
    second = run_public(config, state=first.state)
    assert [r["_id"] for r in second.records[HISTORY]] == [240]
    assert record_requests(public_emulator, HISTORY)["pages"] == 0
    assert not window_warnings(caplog)


def test_an_interrupted_read_again_with_overlap_is_read_again_by_the_next_run(
    public_emulator, caplog
):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    drift_on_second_page(public_emulator, HISTORY)
    first = run_public(config)
    public_emulator.variants.clear()
    quiet(public_emulator)
    public_emulator.faults.add(
        "status", status=500, times=None, path=rf"/tables/{HISTORY}/records$", after=1
    )
    broken = run_public(config, state=first.state, allow_failure=True)
    assert broken.error is not None
    # The failed run leaves the bookmark and the window as they were.
    assert broken.bookmark(HISTORY) == first.bookmark(HISTORY)
    window = first.state["bookmarks"][HISTORY][WINDOW_KEY]
    assert broken.state["bookmarks"][HISTORY][WINDOW_KEY] == window
    public_emulator.faults.clear()
    resumed = run_public(config, state=broken.state)
    assert 101 in {r["_id"] for r in resumed.records[HISTORY] if not r["_sdc_deleted_at"]}
    assert WINDOW_KEY not in resumed.state["bookmarks"][HISTORY]
    assert len(window_warnings(caplog)) == 2  # once per run that reads again
    assert_replica_is_the_table(public_emulator, HISTORY, first, broken, resumed)


def test_an_expired_bookmark_reads_in_full_and_keeps_the_new_reads_window(public_emulator, caplog):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    drift_on_second_page(public_emulator, HISTORY)
    first = run_public(config)
    public_emulator.variants.clear()
    quiet(public_emulator)
    # A bookmark (and window) older than the feed's retention.
    state = copy.deepcopy(first.state)
    bookmark = datetime.fromisoformat(first.bookmark(HISTORY).replace("Z", "+00:00"))
    older = (bookmark - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    state["bookmarks"][HISTORY]["replication_key_value"] = older
    second = run_public(config, state=state)
    assert {r["_id"] for r in second.records[HISTORY]} == table_ids(
        public_emulator, MODULE, HISTORY
    )
    assert any("no longer covers" in r.getMessage() for r in caplog.records)
    # A clean full read: no deletion fell inside its window.
    window = second.state["bookmarks"][HISTORY][WINDOW_KEY]
    assert window != first.state["bookmarks"][HISTORY][WINDOW_KEY]
    quiet(public_emulator)
    third = run_public(config, state=second.state)
    assert third.records.get(HISTORY, []) == []
    assert not window_warnings(caplog)


def test_a_window_tap_ninox_did_not_write_reads_the_table_again_with_overlap(
    public_emulator, caplog
):
    add_tables(public_emulator, 250)
    config = config_for(public_emulator, HISTORY)
    first = run_public(config)
    state = first.state
    state["bookmarks"][HISTORY][WINDOW_KEY] = "yesterday"
    quiet(public_emulator)
    second = run_public(config, state=state)
    assert len(second.records[HISTORY]) == 250
    warnings = window_warnings(caplog)
    assert len(warnings) == 1 and "not what tap-ninox wrote" in warnings[0]
