"""One page size: every read of both connectors asks for the same number of
records per page, the most the API answers (decision 0015,
docs/design.md "The key index")."""

from __future__ import annotations

from typing import Any

from ninox_core.classic.calls import PAGE_SIZE
from tests.tap_support import run_tap, tap_config
from tests.target_support import (
    DEMO_TEAM,
    PEOPLE,
    PEOPLE_PROPS,
    TEST_DB,
    make_database,
    record,
    run_target,
    schema,
    target_config,
)


def record_reads(emulator: Any) -> list[Any]:
    return [r for r in emulator.requests if r.method == "GET" and r.path.endswith("/records")]


def test_the_page_size_is_the_most_a_classic_page_holds():
    assert PAGE_SIZE == 1000  # docs/api.md §4: perPage is capped at 1000


def test_every_read_of_the_tap_asks_for_the_one_page_size(emulator):
    config = tap_config(emulator, tables=["A", "D"])
    emulator.clear_log()
    full = run_tap(config)
    run_tap(config, state=full.state)  # incremental: changes since the bookmark
    pages = {r.query.get("perPage") for r in record_reads(emulator)}
    assert pages == {str(PAGE_SIZE)}


def test_every_read_of_the_target_asks_for_the_one_page_size(emulator):
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"Email": f"old{i}@x"}} for i in range(3)]
    )
    props = {**PEOPLE_PROPS, "_id": {"type": ["integer", "null"]}}
    messages = [
        schema("people", props, ["Email"]),
        record("people", {"Email": "old1@x", "Name": "changed"}),
        record("people", {"Email": "new@x", "Name": "new"}),
    ]
    emulator.clear_log()
    # Upserts by key read the key index; overwrite then reads the ids to delete.
    assert run_target(target_config(emulator, load_method="overwrite"), messages).exit_code == 0
    reads = record_reads(emulator)
    assert len(reads) >= 2
    assert {r.query.get("perPage") for r in reads} == {str(PAGE_SIZE)}
