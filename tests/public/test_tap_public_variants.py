"""tap-ninox under the read-side variants of the Public API (CONTRACT-v4 §14, docs/api.md).

Each variant ends with exactly the right data or one clear line: a full
run and an incremental run after creates, updates and deletes, under the
variant, give the replica a fresh strict full read gives.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from ninox_core.errors import NinoxError
from ninox_emulator.public import PublicEmulator
from tests.public.tap_public_support import (
    DEMO_STREAMS,
    Replica,
    full_read,
    public_config,
    quiet,
    run_public,
    table_ids,
)


def change_things(emulator: PublicEmulator) -> None:
    """Creates, updates and deletes in a history table and in one without history."""
    emulator.create_records("crm", "contacts", [{"first_name": "Nina", "last_name": "N"}])
    emulator.store.update("crm", "contacts", [{"id": 5, "last_name": "Changed"}])
    emulator.delete_records("crm", "contacts", [9])
    emulator.store.update("crm", "deals", [{"id": 1, "notes": "changed"}])
    emulator.delete_records("crm", "leads", [2])
    emulator.create_records("crm", "leads", [{"first_name": "Neu", "email": "neu@x.org"}])


def assert_same(
    replica: Replica, expected: Replica, streams: Any = DEMO_STREAMS, *, but: Any = ()
) -> None:
    """The same rows in every stream, apart from the columns `but` names."""
    for stream in streams:
        got, want = replica.rows(stream), expected.rows(stream)
        for rows in (got, want):
            for row in rows.values():
                for column in but:
                    row.pop(column, None)
        assert got == want, stream


def full_then_incremental(emulator: PublicEmulator, *variants: str, **settings: Any) -> None:
    """The scenario every variant must pass (module docstring)."""
    config = public_config(emulator, **settings)
    quiet(emulator)
    emulator.variants.enable(*variants)
    first = run_public(config)
    emulator.variants.clear()
    replica = Replica().apply(first)
    assert_same(replica, full_read(emulator))
    quiet(emulator)
    change_things(emulator)
    emulator.variants.enable(*variants)
    second = run_public(config, state=first.state)
    emulator.variants.clear()
    assert_same(replica.apply(second), full_read(emulator))
    # Only what changed came again (history tables).
    assert {r["_id"] for r in second.records["crm__contacts"]} == (
        {5, 9, max(table_ids(emulator, "crm", "contacts"))}
    )


@pytest.mark.parametrize(
    "variant",
    [
        "V5",  # limit clamped; omitted → 10
        "V7",  # has_more on the last full page
        "V9",  # ids and references as numbers
        "V10",  # choice as option id; multi as a comma-separated string
        "V11",  # empty fields left out
        "V12",  # timestamps as epoch ms, appointment "A - B", timeinterval as ms
        "V12b",  # timestamps without ms and Z
        "V15",  # feed: since inclusive, newest first, insert/remove
        "V16",  # feed: retention silently truncated, no retentionCutoff
        "V26",  # workspace root without nested fields
        "V29",  # a new record takes the most recently deleted id
    ],
)
def test_a_full_and_an_incremental_run_give_the_strict_replica(public_emulator, variant):
    full_then_incremental(public_emulator, variant)


def test_reverse_values_and_lazy_function_values_give_the_strict_replica_and_more(
    public_emulator,
):
    """V13: function values come only when asked for; reverse values come too.

    The strict server leaves reverse fields out (null); under V13 they hold
    the ids of the records that refer to a record, which the tap emits.
    """
    reverse = {
        f.name
        for _, table in public_emulator.store.all_tables()
        for f in table.fields.values()
        if f.type == "reverse"
    }
    public_emulator.variants.enable("V13")
    out = run_public(public_config(public_emulator))
    public_emulator.variants.clear()
    replica = Replica().apply(out)
    assert_same(replica, full_read(public_emulator), but=reverse)
    company = replica.rows("crm__companies")[1]
    assert company["contacts"] == [1, 9, 17, 25]
    assert replica.rows("crm__deals")[1]["label"] == "Deal 1 (Lead)"  # a function value


def test_full_pages_with_has_more_true_cost_one_empty_page_more(public_emulator):
    public_emulator.create_records("crm", "deals", [{"title": "x"} for _ in range(85)])
    assert len(table_ids(public_emulator, "crm", "deals")) == 100
    full_then_incremental(public_emulator, "V7", page_size=50)


def test_an_unstable_order_gives_the_exact_data_or_one_line(public_emulator):
    public_emulator.create_records("crm", "deals", [{"title": "x"} for _ in range(250)])
    public_emulator.variants.enable("V6")
    out = run_public(public_config(public_emulator, modules=["crm"]), allow_failure=True)
    public_emulator.variants.clear()
    if out.error is None:
        assert_same(Replica().apply(out), full_read(public_emulator, modules=["crm"]), ["deals"])
    else:
        assert isinstance(out.error, NinoxError)
        assert "\n" not in str(out.error)
        assert "deals" in str(out.error)


# ------------------------------------------------------------ V8: scan drift


def drift_for(emulator: PublicEmulator, table: str, pages: int) -> None:
    """V8 on for the next `pages` record pages of `table`, then off."""
    seen = {"pages": 0}

    def count(request: Any) -> None:
        if request.path.endswith(f"/tables/{table}/records"):
            seen["pages"] += 1
            if seen["pages"] > pages:
                emulator.variants.disable("V8")

    emulator.variants.enable("V8")
    emulator.on_request(count)


def test_deletions_during_a_scan_of_a_history_table_lose_no_record(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"], page_size=10)
    drift_for(public_emulator, "contacts", pages=3)
    out = run_public(config)
    assert out.error is None
    replica = Replica().apply(out)
    # Pages without overlap: the records V8's deletions moved behind the
    # cursor are skipped, and the next run reads the table again with
    # overlap (the deletions fall inside the scan's window).
    quiet(public_emulator)
    second = run_public(config, state=out.state)
    assert_same(
        replica.apply(second),
        full_read(public_emulator, modules=["crm"], tables=["contacts"]),
        ["contacts"],
    )


def test_deletions_during_every_page_give_the_exact_data_or_one_line(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"], page_size=10)
    public_emulator.variants.enable("V8")
    out = run_public(config)
    # The first run's pages do not overlap (records are skipped); the next,
    # with V8 still on, reads again with overlap: exact, or one line.
    again = run_public(config, state=out.state, allow_failure=True)
    public_emulator.variants.clear()
    if again.error is not None:
        assert isinstance(again.error, NinoxError)
        assert "stream 'contacts'" in str(again.error)
        assert "\n" not in str(again.error)
        return
    assert table_ids(public_emulator, "crm", "contacts") <= {
        r["_id"] for r in again.records["contacts"]
    }


def test_a_record_a_shifting_page_skipped_in_a_table_without_history_is_not_reported_deleted(
    public_emulator,
):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"], page_size=3)
    first = run_public(config)
    drift_for(public_emulator, "leads", pages=3)
    second = run_public(config, state=first.state)
    public_emulator.variants.clear()
    replica = Replica().apply(first).apply(second)
    deleted = {r["_id"] for r in second.records["leads"] if r["_sdc_deleted_at"]}
    assert not deleted & table_ids(public_emulator, "crm", "leads")
    third = run_public(config, state=second.state)
    assert_same(
        replica.apply(third),
        full_read(public_emulator, modules=["crm"], tables=["leads"]),
        ["leads"],
    )


# ----------------------------------------------- V16, V23, V27: between runs


def test_silent_retention_still_re_reads_an_expired_bookmark_in_full(public_emulator, caplog):
    public_emulator.variants.enable("V16")
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    first = run_public(config)
    state = copy.deepcopy(first.state)
    bookmark = datetime.fromisoformat(first.bookmark("contacts").replace("Z", "+00:00"))
    older = (bookmark - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    state["bookmarks"]["contacts"]["replication_key_value"] = older
    second = run_public(config, state=state)
    assert {r["_id"] for r in second.records["contacts"]} == table_ids(
        public_emulator, "crm", "contacts"
    )
    assert any("no longer covers" in r.getMessage() for r in caplog.records)


def test_a_renamed_table_is_a_new_stream_read_in_full(public_emulator):
    config = public_config(public_emulator, modules=["crm"])
    first = run_public(config)
    public_emulator.rename_table("crm", "deals", "opportunities")
    second = run_public(config, state=first.state)
    assert "deals" not in second.records
    assert {r["_id"] for r in second.records["opportunities"]} == table_ids(
        public_emulator, "crm", "opportunities"
    )


def test_a_renamed_field_is_emitted_under_its_new_name(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"])
    first = run_public(config)
    public_emulator.rename_field("crm", "leads", "nickname", "alias")
    second = run_public(config, state=first.state)
    properties = second.schemas["leads"]["schema"]["properties"]
    assert "alias" in properties
    assert "nickname" not in properties


def test_history_turned_off_reads_in_full_and_finds_deletions_from_the_next_run(
    public_emulator, caplog
):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    first = run_public(config)
    public_emulator.set_history("crm", "contacts", enabled=False)
    public_emulator.delete_records("crm", "contacts", [3])
    second = run_public(config, state=first.state)
    assert any("has no history any more" in r.getMessage() for r in caplog.records)
    assert {r["_id"] for r in second.records["contacts"]} == table_ids(
        public_emulator, "crm", "contacts"
    )
    assert "replication_key_value" not in second.state["bookmarks"]["contacts"]
    public_emulator.delete_records("crm", "contacts", [4])
    third = run_public(config, state=second.state)
    assert [r["_id"] for r in third.records["contacts"] if r["_sdc_deleted_at"]] == [4]


def test_history_turned_on_compares_ids_once_then_follows_the_feed(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"])
    first = run_public(config)
    public_emulator.set_history("crm", "leads", enabled=True)
    public_emulator.delete_records("crm", "leads", [6])
    quiet(public_emulator)
    second = run_public(config, state=first.state)
    assert [r["_id"] for r in second.records["leads"] if r["_sdc_deleted_at"]] == [6]
    assert second.bookmark("leads")
    assert "ninox_ids" not in second.state["bookmarks"]["leads"]
    quiet(public_emulator)
    public_emulator.delete_records("crm", "leads", [7])
    third = run_public(config, state=second.state)
    assert [r["_id"] for r in third.records["leads"]] == [7]
    assert third.records["leads"][0]["_sdc_deleted_at"]


def test_a_history_table_whose_feed_refuses_is_read_in_full_by_comparing_ids(
    public_emulator, caplog
):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    public_emulator.faults.add("status", status=400, times=None, path=r"/records/changes$")
    first = run_public(config)
    assert {r["_id"] for r in first.records["contacts"]} == table_ids(
        public_emulator, "crm", "contacts"
    )
    assert any("gives no cursor" in r.getMessage() for r in caplog.records)
    bookmark = first.state["bookmarks"]["contacts"]
    assert "replication_key_value" not in bookmark
    assert bookmark["ninox_ids"]
    public_emulator.delete_records("crm", "contacts", [12])
    second = run_public(config, state=first.state)
    assert [r["_id"] for r in second.records["contacts"] if r["_sdc_deleted_at"]] == [12]
