"""tap-ninox trusts no answer: a restored database, a field whose type changed.

docs/design.md "The read algorithm" and "Catalogs and renames"; the emulator
plays both (a backup put back over its control API, a field type changed in
its store).
"""

from __future__ import annotations

import logging

import pytest
import requests

from ninox_core.errors import NinoxConfigError
from tap_ninox.catalog import FIELD_TYPE
from tests.tap_support import CRM_DB, DEMO_TEAM, discover, run_tap, tap_config

TABLE = "D"  # Lead
STREAM = "lead"


def control(emulator, route: str, body: dict) -> dict:
    answer = requests.post(f"{emulator.url}/_emulator/{route}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def live_ids(api, table_id: str = TABLE) -> set[int]:
    return {r["id"] for page in api.iter_record_pages(DEMO_TEAM, CRM_DB, table_id) for r in page}


# ------------------------------------------------------------- restored database


def test_restored_database_below_the_bookmark_is_read_in_full_with_one_warning(
    emulator, api, caplog
):
    config = tap_config(emulator, tables=[TABLE])
    backup = control(emulator, "backup", {"team": DEMO_TEAM, "database": CRM_DB})
    # Work after the backup: the first run's bookmark lies past the backup's sequence.
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {"E": f"lost {i}"}} for i in range(5)])
    first = run_tap(config)
    bookmark = first.bookmark(STREAM)
    assert bookmark > backup["seq"]

    restored = control(emulator, "restore", {"team": DEMO_TEAM, "backup": backup})
    assert restored["seq"] == backup["seq"]
    # Changes after the restore take sequence numbers the bookmark already covers.
    changed_id = min(live_ids(api))
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"id": changed_id, "fields": {"E": "After"}}])
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {"E": "New after restore"}}])
    now = api.read_sequence(DEMO_TEAM, CRM_DB, TABLE)
    assert now < bookmark

    with caplog.at_level(logging.WARNING):
        second = run_tap(config, state=first.state)
    rows = {row["_id"]: row for row in second.records[STREAM]}
    # Read in full: every live record, the changes after the restore included.
    assert set(rows) == live_ids(api)
    assert rows[changed_id]["First name"] == "After"
    assert "New after restore" in {row["First name"] for row in rows.values()}
    assert not any(row["_sdc_deleted_at"] for row in rows.values())
    assert second.bookmark(STREAM) == now
    warnings = [r.getMessage() for r in caplog.records if "lower than" in r.getMessage()]
    assert len(warnings) == 1, warnings
    for part in (STREAM, "Lead", TABLE, str(bookmark), str(now), "in full"):
        assert part in warnings[0], (part, warnings[0])

    # The new bookmark holds: a third run with no change emits nothing.
    third = run_tap(config, state=second.state)
    assert third.records.get(STREAM, []) == []


def test_interrupted_full_read_after_a_restore_resumes_in_full(emulator, api, caplog):
    config = tap_config(emulator, tables=[TABLE], page_size=2, max_retries=0)
    backup = control(emulator, "backup", {"team": DEMO_TEAM, "database": CRM_DB})
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {"E": f"lost {i}"}} for i in range(5)])
    first = run_tap(config)
    control(emulator, "restore", {"team": DEMO_TEAM, "backup": backup})
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {"E": "New after restore"}}])

    # The full read dies after two pages; its STATE says it was a full read.
    emulator.faults.add(kind="status", status=400, times=None, path=r"/records$", after=2)
    interrupted = run_tap(config, state=first.state, allow_failure=True)
    assert interrupted.error is not None
    emulator.faults.clear()
    resume = interrupted.state["bookmarks"][STREAM]["ninox_resume"]
    assert resume["full"] is True

    with caplog.at_level(logging.WARNING):
        resumed = run_tap(config, state=interrupted.state)
    seen = {r["_id"] for r in interrupted.records[STREAM]} | {
        r["_id"] for r in resumed.records[STREAM]
    }
    assert seen == live_ids(api)
    assert min(r["_id"] for r in resumed.records[STREAM]) > resume["after_id"]
    assert resumed.bookmark(STREAM) == api.read_sequence(DEMO_TEAM, CRM_DB, TABLE)


# ------------------------------------------------------------- field type changed


def change_type(emulator, table_id: str, field_id: str, new_type: str) -> None:
    emulator.store.change_field_type(DEMO_TEAM, CRM_DB, table_id, field_id, new_type)


def without_field_types(catalog: dict) -> dict:
    """The same catalog as an older tap-ninox wrote it (no Ninox field types)."""
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            item["metadata"].pop(FIELD_TYPE, None)
    return catalog


def test_discovered_catalog_carries_each_fields_ninox_type(emulator, api):
    catalog = discover(tap_config(emulator, tables=["A"]))
    table = next(t for t in api.list_tables(DEMO_TEAM, CRM_DB) if t.id == "A")
    meta = {tuple(m["breadcrumb"]): m["metadata"] for m in catalog["streams"][0]["metadata"]}
    for field in table.fields:
        assert meta[("properties", field.name)][FIELD_TYPE] == field.type
    assert FIELD_TYPE not in meta[("properties", "_id")]


@pytest.mark.parametrize("old_catalog", [False, True], ids=["with-types", "without-types"])
def test_field_whose_type_changed_fails_the_stream_as_a_stale_catalog(emulator, old_catalog):
    config = tap_config(emulator, tables=["A"])
    catalog = discover(config)
    if old_catalog:
        catalog = without_field_types(catalog)
    change_type(emulator, "A", "Q", "string")  # Score: number → text
    out = run_tap(config, catalog=catalog, allow_failure=True)
    assert isinstance(out.error, NinoxConfigError)
    assert "RECORD" not in {m["type"] for m in out.messages}
    message = str(out.error)
    assert "\n" not in message
    for part in ("stale catalog", "'contact'", "'Score'", "Q", "number", "string", "--discover"):
        assert part in message, (part, message)


def test_type_change_within_the_same_json_type_fails_with_types_and_passes_without(emulator):
    config = tap_config(emulator, tables=["A"])
    catalog = discover(config)
    change_type(emulator, "A", "C", "text")  # Job title: string → text, both JSON strings
    out = run_tap(config, catalog=catalog, allow_failure=True)
    assert isinstance(out.error, NinoxConfigError)
    assert "'Job title'" in str(out.error)
    # An older catalog knows only the JSON schema, which still holds.
    old = run_tap(config, catalog=without_field_types(discover(config)))
    assert old.error is None and old.records["contact"]


def test_deselected_column_whose_type_changed_is_no_reason_to_fail(emulator):
    config = tap_config(emulator, tables=["A"])
    catalog = discover(config)
    for item in catalog["streams"][0]["metadata"]:
        if item["breadcrumb"] == ["properties", "Score"]:
            item["metadata"]["selected"] = False
    change_type(emulator, "A", "Q", "string")
    out = run_tap(config, catalog=catalog)
    assert out.records["contact"]
    assert all("Score" not in row for row in out.records["contact"])
