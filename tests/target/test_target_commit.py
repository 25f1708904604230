"""The commit-and-state policy, seen from the target's output, in-process."""

from __future__ import annotations

from typing import Any

import singer_sdk.target_base

from target_ninox import commit_policy
from target_ninox.commit_policy import CommitPolicy
from tests.target_support import (
    STRING,
    make_database,
    posts,
    record,
    records_with_states,
    run_target,
    schema,
    state,
    target_config,
)


def test_every_state_is_emitted_as_soon_as_its_records_are_in_ninox(emulator):
    make_database(emulator)
    emulator.clear_log()
    messages = [schema("people", {"Name": STRING})]
    messages += records_with_states("people", 2000, 100, lambda n: {"Name": f"n{n}"})
    run = run_target(target_config(emulator, batch_size_rows=50), messages, emulator)
    assert run.exit_code == 0
    assert run.states == [{"n": n} for n in range(100, 2001, 100)]
    # STATE n right after the POST that committed record n.
    assert run.posts_at_state == [n // 50 for n in range(100, 2001, 100)]


def test_a_finished_stream_does_not_hold_back_later_states(emulator):
    make_database(emulator)
    emulator.clear_log()
    messages: list[dict[str, Any]] = [schema("people", {"Name": STRING})]
    messages += [record("people", {"Name": f"p{n}"}) for n in range(30)]
    messages += [state({"people": 30}), schema("companies", {"Name": STRING})]
    messages += records_with_states(
        "companies", 300, 100, lambda n: {"Name": f"c{n}"}, key="companies"
    )
    run = run_target(target_config(emulator, batch_size_rows=100), messages, emulator)
    assert run.exit_code == 0
    # The first companies STATE commits the 30 people (idle since the
    # previous STATE): their STATE, then that one, come out right away.
    assert run.states == [
        {"people": 30},
        {"companies": 100},
        {"companies": 200},
        {"companies": 300},
    ]
    assert run.posts_at_state == [1, 2, 3, 4]


def test_full_unkeyed_batches_wait_for_their_state(emulator):
    # Creates without key or _id would be duplicated by a rerun: a full
    # batch waits for the next STATE, which commits it and comes out at once.
    make_database(emulator)
    emulator.clear_log()
    messages = [schema("people", {"Name": STRING})]
    messages += records_with_states("people", 250, 125, lambda n: {"Name": f"n{n}"})
    run = run_target(target_config(emulator, batch_size_rows=50), messages, emulator)
    assert run.exit_code == 0
    # 125 records: POSTs of 50, 50 and 25 at each STATE.
    assert run.states == [{"n": 125}, {"n": 250}]
    assert run.posts_at_state == [3, 6]


def test_policy_holds_a_state_until_every_earlier_record_is_committed():
    emitted: list[dict] = []
    policy = CommitPolicy(lambda batch: None, lambda: None, emitted.append)
    a, b = object(), object()
    policy.record_read(a, 2)
    policy.record_read(b, 3)
    policy.state_read(4, {"s": 1})
    policy.record_read(a, 5)
    policy.batch_committed(a)  # b still holds line 3
    assert emitted == []
    policy.batch_committed(b)
    assert emitted == [{"s": 1}]
    policy.state_read(6, {"s": 2})
    assert emitted == [{"s": 1}, {"s": 2}]
    end = policy.end_run(None)
    assert end.exit_code == 0 and emitted == [{"s": 1}, {"s": 2}]


def test_records_waiting_for_their_state_are_not_committed_by_age(emulator, monkeypatch):
    # The SDK would commit every sink once records are 5 minutes old; here
    # every clock reading is 10 minutes later than the one before.
    clock = iter(range(0, 10**9, 600))
    monkeypatch.setattr(singer_sdk.target_base.time, "time", lambda: float(next(clock)))
    seen: list[int] = []
    original = CommitPolicy.state_read

    def spy(self: CommitPolicy, line: int, value: dict) -> None:
        seen.append(posts(emulator))
        original(self, line, value)

    monkeypatch.setattr(CommitPolicy, "state_read", spy)
    make_database(emulator)
    emulator.clear_log()
    messages: list[dict[str, Any]] = [schema("people", {"Name": STRING})]
    messages += [record("people", {"Name": f"n{n}"}) for n in range(1, 121)]
    messages.append(state({"n": 120}))
    run = run_target(target_config(emulator, batch_size_rows=100), messages)
    assert run.exit_code == 0
    assert seen == [0]  # nothing was written before the STATE came
    assert run.states == [{"n": 120}]


def test_a_state_commits_batches_that_waited_too_long(emulator, monkeypatch):
    # A slow tap: its batches never fill, but its STATEs must come out.
    clock = iter(range(0, 10**9, 200))
    monkeypatch.setattr(commit_policy, "clock", lambda: float(next(clock)))
    make_database(emulator)
    emulator.clear_log()
    messages: list[dict[str, Any]] = [schema("people", {"Name": STRING}, ["Name"])]
    for n in range(1, 4):
        messages += [record("people", {"Name": f"n{n}"}), state({"n": n})]
    run = run_target(target_config(emulator, batch_size_rows=100), messages, emulator)
    assert run.exit_code == 0
    # Record 1 is read at t=0; STATE 1 at 200 s waits, STATE 2 at 400 s does not.
    assert run.states == [{"n": 2}, {"n": 3}]
    assert run.posts_at_state == [1, 2]
