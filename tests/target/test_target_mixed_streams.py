"""Several streams into two tables in one run, STATEs between them.

Keyed upserts, `_id` updates, unkeyed creates and deletions, in batches
smaller than the streams, leave the expected tables and the last STATE;
a stream map applies to its stream only.
"""

from __future__ import annotations

from typing import Any

from tests.target_support import (
    NUMBER,
    STRING,
    TargetRun,
    make_database,
    record,
    rows,
    run_target,
    schema,
    state,
    target_config,
)

DB = "tgt0mixd0db"
INTEGER_ID = {"type": ["integer", "null"]}
DELETED = {"type": ["string", "null"], "format": "date-time"}


def _input() -> list[dict[str, Any]]:
    """Keyed, `_id`, unkeyed and deleting records, STATEs between them."""
    people = {"Email": STRING, "Name": STRING, "Age": NUMBER, "_sdc_deleted_at": DELETED}
    messages: list[dict[str, Any]] = [schema("people", people, ["Email"])]
    for n in range(1, 31):
        messages.append(record("people", {"Email": f"p{n}@x.org", "Name": f"P{n}", "Age": n}))
        if n % 10 == 0:
            messages.append(state({"people": n}))
    messages.append(schema("companies", {"Name": STRING}))
    for n in range(1, 26):
        messages.append(record("companies", {"Name": f"C{n}"}))
        if n % 8 == 0:
            messages.append(state({"companies": n}))
    messages.append(
        schema("by_id", {"_id": INTEGER_ID, "Name": STRING, "_sdc_deleted_at": DELETED})
    )
    for n in range(1, 6):
        messages.append(record("by_id", {"_id": n, "Name": f"renamed {n}"}))
    messages.append(record("by_id", {"_id": 6, "_sdc_deleted_at": "2024-01-01T00:00:00Z"}))
    messages.append(state({"by_id": 6}))
    # Updates of existing keys, a new key, and deletions by key.
    for n in (3, 31):
        messages.append(record("people", {"Email": f"p{n}@x.org", "Name": f"again {n}"}))
    for n in (7, 8):
        messages.append(
            record("people", {"Email": f"p{n}@x.org", "_sdc_deleted_at": "2024-01-01T00:00:00Z"})
        )
    messages.append(state({"people": "done"}))
    messages.append(record("companies", {"Name": "tail"}))
    messages.append(state({"companies": "done"}))
    return messages


def _run(emulator: Any, database_id: str, **settings: Any) -> tuple[TargetRun, dict[str, Any]]:
    make_database(emulator, database_id)
    emulator.clear_log()  # POSTs counted from this run's start
    config = target_config(
        emulator,
        database_id=database_id,
        batch_size_rows=7,
        hard_delete=True,
        table_mapping={"people": "People", "by_id": "People", "companies": "Companies"},
        **settings,
    )
    run = run_target(config, _input(), emulator)
    tables = {name: rows(emulator, table, database_id) for name, table in (("A", "A"), ("B", "B"))}
    return run, tables


def test_keyed_id_and_unkeyed_streams_leave_the_expected_tables(emulator: Any) -> None:
    run, tables = _run(emulator, DB)
    assert run.exit_code == 0
    people = tables["A"]
    # 30 keyed creates + 1 new key - 2 deleted by key - 1 deleted by _id.
    assert len(people) == 28
    assert people[1]["Name"] == "renamed 1" and 6 not in people
    assert people[3]["Name"] == "again 3"
    assert len(tables["B"]) == 26
    assert run.states[-1] == {"companies": "done"}


def test_a_stream_map_applies_to_its_stream_only(emulator: Any) -> None:
    run, tables = _run(emulator, DB, stream_maps={"companies": {"Name": "Name.lower()"}})
    assert run.exit_code == 0
    assert sorted(r["Name"] for r in tables["B"].values())[:2] == ["c1", "c10"]
    assert {r["Name"] for r in tables["A"].values()} >= {"P9", "again 3"}
