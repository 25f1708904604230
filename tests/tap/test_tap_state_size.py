"""STATE output grows with the tables, not with their square (docs/design.md "State").

Every STATE line carries every stream's bookmark (a Singer STATE replaces
the one before it), so one line per stream makes the output quadratic in the
number of tables: 500 small tables were 17.8 MB of STATE in an 18.5 MB
output. bench/bench_state.py prints the figures.
"""

from __future__ import annotations

import json
from typing import Any

from tap_ninox.state_budget import STATE_ALLOWANCE_BYTES
from tests.tap_support import TEST_KEY, run_tap

TEAM, DB = "stateteam", "statedb"
FIELDS = [{"id": "A", "name": "Name", "type": "string"}]


def table_id(index: int) -> str:
    out, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def small_tables(emulator: Any, count: int) -> dict[str, Any]:
    """A database of `count` tables of two records each; the tap's config for it."""
    emulator.reset(demo=False)
    emulator.set_api_key(TEST_KEY)
    emulator.store.create_team(TEAM, "State")
    specs = [{"id": table_id(i), "name": f"T{i:04d}", "fields": FIELDS} for i in range(count)]
    emulator.store.create_database(TEAM, DB, "State", specs)
    for spec in specs:
        emulator.store.save_records(TEAM, DB, spec["id"], [{"fields": {"A": "x"}}] * 2)
    return {"api_key": TEST_KEY, "base_url": emulator.base_url, "team_id": TEAM}


def sizes(out: Any) -> tuple[int, int]:
    """(bytes of STATE lines, bytes of every other line), as the tap wrote them."""
    state = other = 0
    for message in out.messages:
        size = len(json.dumps(message, separators=(",", ":"))) + 1
        if message["type"] == "STATE":
            state += size
        else:
            other += size
    return state, other


def test_state_bytes_grow_linearly_with_the_number_of_tables(emulator):
    measured = {}
    for count in (30, 150):
        out = run_tap(small_tables(emulator, count))
        bookmarks = out.state["bookmarks"]
        # The last STATE still holds every stream's bookmark.
        assert len(bookmarks) == count
        sequence = emulator.store.sequence(TEAM, DB)
        assert {b["replication_key_value"] for b in bookmarks.values()} == {sequence}
        state, other = sizes(out)
        # The documented bound: STATE bytes within the other output plus an
        # allowance, and the final line.
        final = len(json_line(out.messages[-1]))
        assert state <= other + STATE_ALLOWANCE_BYTES + final, (count, state, other)
        measured[count] = state
    # Five times the tables, less than five times the STATE bytes (it was 25).
    assert measured[150] < 5 * measured[30], measured


def test_a_run_that_fails_midway_ends_with_the_state_of_every_stream_before(emulator):
    config = small_tables(emulator, 80)
    failing = table_id(60)
    emulator.faults.add(kind="status", status=400, times=None, path=rf"/tables/{failing}/records$")
    out = run_tap(dict(config, max_retries=0), allow_failure=True)
    assert out.error is not None
    done = set(out.records)
    assert len(done) == 60
    assert set(out.state["bookmarks"]) >= done
    assert all("replication_key_value" in out.state["bookmarks"][name] for name in done)


def json_line(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + "\n"
