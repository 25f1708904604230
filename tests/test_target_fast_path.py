"""The per-record fast path (target_ninox/_sdk_compat.py `CompatTarget.fast_record`).

The same input, once through the fast path and once through the SDK's
generic per-record path, must leave the same tables and emit the same
STATE lines: keyed upserts, `_id` updates, unkeyed creates and deletions.
"""

from __future__ import annotations

from typing import Any

import pytest

from target_ninox.sinks import NinoxSink
from target_ninox.target import TargetNinox
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

FAST_DB, SDK_DB = "tgt0fast0db", "tgt0sdkp0db"
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


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The streams of the records that took the fast path."""
    calls: list[str] = []
    original = TargetNinox.fast_record

    def spy(self: TargetNinox, sink: Any, record: dict[str, Any]) -> None:
        calls.append(sink.stream_name)
        original(self, sink, record)

    monkeypatch.setattr(TargetNinox, "fast_record", spy)
    return calls


def test_the_fast_path_and_the_sdk_path_leave_the_same_tables_and_states(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, fast_calls: list[str]
) -> None:
    fast, fast_tables = _run(emulator, FAST_DB)
    assert len(fast_calls) == len([m for m in _input() if m["type"] == "RECORD"])

    fast_calls.clear()
    monkeypatch.setattr(NinoxSink, "fast_records", False)
    sdk, sdk_tables = _run(emulator, SDK_DB)
    assert fast_calls == []

    assert fast.exit_code == sdk.exit_code == 0
    assert fast.stdout == sdk.stdout  # the same STATE lines, rerun markers included
    assert fast.raw_posts_at_state == sdk.raw_posts_at_state
    assert fast_tables == sdk_tables
    people = fast_tables["A"]
    # 30 keyed creates + 1 new key - 2 deleted by key - 1 deleted by _id.
    assert len(people) == 28
    assert people[1]["Name"] == "renamed 1" and 6 not in people
    assert len(fast_tables["B"]) == 26
    assert fast.states[-1] == {"companies": "done"}


def test_a_stream_map_takes_the_sdk_path(emulator: Any, fast_calls: list[str]) -> None:
    run, tables = _run(emulator, FAST_DB, stream_maps={"companies": {"Name": "Name.lower()"}})
    assert run.exit_code == 0
    assert "companies" not in fast_calls and "people" in fast_calls
    assert sorted(r["Name"] for r in tables["B"].values())[:2] == ["c1", "c10"]
