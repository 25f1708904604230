"""Loads against servers that behave as Ninox's documented variants allow.

Each test switches the emulator to one server variant (docs/api.md) and
checks that the target's loads still end exact.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.target_support import (
    DEMO_TEAM,
    PEOPLE,
    PEOPLE_PROPS,
    TEST_DB,
    make_database,
    record,
    rows,
    run_target,
    schema,
    target_config,
)

DELETED = {"_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"}}


def _seed(emulator: Any, emails: list[str]) -> None:
    emulator.store.save_records(
        DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"Email": e, "Name": "old"}} for e in emails]
    )


def _keyed_load(n: int, name: str = "new") -> list[dict[str, Any]]:
    return [schema("people", PEOPLE_PROPS, ["Email"])] + [
        record("people", {"Email": f"p{i}@x", "Name": f"{name}{i}"}) for i in range(n)
    ]


# ------------------------------------------------------------ names_for_ids


def test_name_keyed_answers_keyed_load_is_exact_and_rerun_changes_nothing(emulator):
    make_database(emulator)
    _seed(emulator, ["p0@x", "p1@x", "p2@x"])
    emulator.variants.enable("names_for_ids")
    config = target_config(emulator, batch_size_rows=100)
    assert run_target(config, _keyed_load(1000)).exit_code == 0
    first = rows(emulator, PEOPLE)
    assert sorted(r["Email"] for r in first.values()) == sorted(f"p{i}@x" for i in range(1000))
    assert first[1]["Name"] == "new0"  # the existing key was updated, not duplicated
    assert run_target(config, _keyed_load(1000)).exit_code == 0
    assert rows(emulator, PEOPLE) == first


def test_name_keyed_answers_hard_delete_by_key(emulator):
    make_database(emulator)
    _seed(emulator, ["a@x", "b@x", "c@x"])
    emulator.variants.enable("names_for_ids")
    config = target_config(emulator, hard_delete=True)
    messages = [
        schema("people", {**PEOPLE_PROPS, **DELETED}, ["Email"]),
        record("people", {"Email": "b@x", "_sdc_deleted_at": "2024-01-01T00:00:00Z"}),
    ]
    assert run_target(config, messages).exit_code == 0
    assert sorted(r["Email"] for r in rows(emulator, PEOPLE).values()) == ["a@x", "c@x"]


@pytest.mark.parametrize("keyed", [True, False])
def test_name_keyed_answers_lost_answers_make_no_duplicate(emulator, keyed):
    make_database(emulator)
    _seed(emulator, ["p0@x"])
    emulator.variants.enable("names_for_ids")
    config = target_config(
        emulator,
        batch_size_rows=50,
        max_retries=8,
        upsert_keys={"people": ["Email"]} if keyed else {},
    )
    messages = [schema("people", PEOPLE_PROPS)] + [
        record("people", {"Email": f"p{i}@x", "Name": f"n{i}"}) for i in range(1, 301)
    ]
    for after in (0, 2, 4):
        emulator.faults.add("lost_response", method="POST", after=after)
    assert run_target(config, messages).exit_code == 0
    emails = sorted(r["Email"] for r in rows(emulator, PEOPLE).values())
    assert emails == sorted(f"p{i}@x" for i in range(301))


# ------------------------------------------------------------ partial batches


@pytest.mark.parametrize("variant", ["partial_batch", "partial_batch_drop"])
@pytest.mark.parametrize("mode", ["keyed", "_id", "unkeyed"])
def test_partial_batches_end_exact(emulator, variant, mode):
    make_database(emulator)
    if mode == "keyed":
        _seed(emulator, ["p3@x"])
    emulator.variants.enable(variant)
    config = target_config(
        emulator,
        batch_size_rows=8,
        max_retries=10,
        upsert_keys={"people": ["Email"]} if mode == "keyed" else {},
    )
    props = {**PEOPLE_PROPS, "_id": {"type": ["integer", "null"]}}
    messages = [schema("people", props)]
    for i in range(1, 41):
        values: dict[str, Any] = {"Email": f"p{i}@x", "Name": f"n{i}"}
        if mode == "_id":
            values["_id"] = i
        messages.append(record("people", values))
    run = run_target(config, messages)
    assert run.exit_code == 0
    table = rows(emulator, PEOPLE)
    got = sorted((r["Email"], r["Name"]) for r in table.values())
    assert got == sorted((f"p{i}@x", f"n{i}") for i in range(1, 41))
    if mode == "_id":
        assert sorted(table) == list(range(1, 41))


# ------------------------------------------------------------ layout fields


def test_tap_to_target_copy_under_layout_fields_is_exact(emulator, caplog):
    from tests.tap_support import CRM_DB, tap_config
    from tests.target_support import api, tap_messages

    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    make_database(emulator, "copy0crm0db", "CRM copy", tables)
    emulator.variants.enable("layout_fields")
    messages = tap_messages(tap_config(emulator, database_ids=[CRM_DB]))
    streams = {m["stream"] for m in messages if m["type"] == "SCHEMA"}
    with caplog.at_level(logging.WARNING):
        run = run_target(target_config(emulator, database_id="copy0crm0db"), messages)
    assert run.exit_code == 0
    for table in tables:
        assert rows(emulator, table["id"], "copy0crm0db") == rows(emulator, table["id"], CRM_DB)
    warned = [
        r.getMessage() for r in caplog.records if "target-ninox does not know" in r.getMessage()
    ]
    # One warning per stream, naming the layout types.
    assert len(warned) == len(streams), warned
    assert all("tab" in w and "button" in w for w in warned)


def test_unknown_field_type_is_never_written(emulator, caplog):
    make_database(emulator)
    messages = [
        schema("people", {**PEOPLE_PROPS, "Gadget": {}}),
        record("people", {"Name": "a", "Gadget": [1, 2]}),
        record("people", {"Name": "b", "Gadget": None}),
    ]
    with caplog.at_level(logging.WARNING):
        run = run_target(target_config(emulator), messages)
    assert run.exit_code == 0
    assert sorted(r["Name"] for r in rows(emulator, PEOPLE).values()) == ["a", "b"]
    assert all("Gadget" not in r for r in rows(emulator, PEOPLE).values())
    warned = [
        r.getMessage() for r in caplog.records if "target-ninox does not know" in r.getMessage()
    ]
    assert len(warned) == 1 and "'Gadget'" in warned[0] and "gizmo" in warned[0]
