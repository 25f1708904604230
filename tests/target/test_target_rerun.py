"""Reruns of unkeyed creates from the target's last STATE end exact (rerun markers).

target_ninox/rerun_guard.py: every STATE emitted carries the database
sequence it was emitted at and the unkeyed creates in Ninox it does not
cover; a rerun from it matches incoming creates against those records
instead of creating them again. An ordinary run after a clean one matches
nothing.
"""

from __future__ import annotations

import random
from typing import Any

from target_ninox import writer as writer_module
from target_ninox.key_index import normalize
from target_ninox.rerun_guard import (
    MARKER_KEY,
    CandidateMatcher,
    marker_of,
    read_candidates,
    without_marker,
)
from tests.target_support import (
    COMPANIES,
    PEOPLE,
    STRING,
    count,
    make_database,
    record,
    rows,
    run_target,
    schema,
    state,
    target_config,
)

PEOPLE_SCHEMA = schema("people", {"Email": STRING, "Name": STRING})


def person(n: int, name: str = "") -> dict[str, Any]:
    return record("people", {"Email": f"p{n}@x", "Name": name or f"n{n}"})


def emails(emulator: Any) -> list[str]:
    return sorted(r["Email"] for r in rows(emulator, PEOPLE).values())


def test_creates_committed_after_the_last_state_are_not_created_again(emulator):
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=50)
    before = [PEOPLE_SCHEMA, *(person(n) for n in range(1, 101)), state({"n": 100})]
    tail = [person(n) for n in range(101, 131)]
    # Bad input after 30 more creates: they are committed, no STATE covers them.
    run = run_target(config, [*before, *tail, "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 130
    last = run.raw_states[-1]
    assert without_marker(last) == {"n": 100}
    last_marker = marker_of(last)
    assert last_marker is not None
    assert last_marker["sq"] > 0

    rerun = run_target(config, [PEOPLE_SCHEMA, state(last), *tail, state({"n": 130})])
    assert rerun.exit_code == 0
    assert emails(emulator) == sorted(f"p{n}@x" for n in range(1, 131))
    assert rerun.states[-1] == {"n": 130}


def test_creates_committed_before_their_state_came_out_are_listed_and_matched(emulator):
    # People's batch (records 1-100) is committed by STATE 2, but a keyed
    # company read after STATE 1 still waits, so STATE 1 comes out: records
    # 61-100 are in Ninox and not covered by it. Then the company's POST fails.
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=100)
    companies = schema("companies", {"Name": STRING}, ["Name"])
    head = [PEOPLE_SCHEMA, companies, *(person(n) for n in range(1, 61)), state({"n": 1})]
    after = [
        *(person(n) for n in range(61, 101)),
        record("companies", {"Name": "Acme"}),
        state({"n": 2}),
    ]
    emulator.faults.add("status", status=400, method="POST", path=rf"/tables/{COMPANIES}/records")
    try:
        run = run_target(config, [*head, *after])
    finally:
        emulator.faults.clear()
    assert run.exit_code == 1
    assert run.states == [{"n": 1}]
    assert len(rows(emulator, PEOPLE)) == 100
    marker = marker_of(run.raw_states[-1])
    assert marker is not None
    listed = marker["tables"][PEOPLE]["ids"]
    assert len(listed) == 40

    rerun = run_target(config, [PEOPLE_SCHEMA, companies, state(run.raw_states[-1]), *after])
    assert rerun.exit_code == 0
    assert emails(emulator) == sorted(f"p{n}@x" for n in range(1, 101))
    assert [r["Name"] for r in rows(emulator, COMPANIES).values()] == ["Acme"]


def test_identical_rows_are_matched_one_to_one(emulator):
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=10)
    same = [record("people", {"Email": "same@x"}) for _ in range(5)]
    run = run_target(config, [PEOPLE_SCHEMA, state({"n": 0}), *same[:3], "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 3
    rerun = run_target(config, [PEOPLE_SCHEMA, state(run.raw_states[-1]), *same, state({"n": 5})])
    assert rerun.exit_code == 0
    assert emails(emulator) == ["same@x"] * 5  # 3 found, 2 created


def test_an_ordinary_run_after_a_clean_one_matches_nothing(emulator):
    make_database(emulator)
    config = target_config(emulator)
    same = [record("people", {"Email": "same@x"}) for _ in range(3)]
    first = run_target(config, [PEOPLE_SCHEMA, *same, state({"n": 1})])
    assert first.exit_code == 0
    final = first.raw_states[-1]
    assert marker_of(final) == {}  # a clean end: nothing for a next run to find
    # Someone else creates the same row meanwhile; the next run's rows are new.
    run_target(config, [PEOPLE_SCHEMA, record("people", {"Email": "same@x"})])
    emulator.clear_log()
    second = run_target(config, [PEOPLE_SCHEMA, state(final), *same, state({"n": 2})])
    assert second.exit_code == 0
    assert emails(emulator) == ["same@x"] * 7
    assert count(emulator, method="GET", path_regex=r"/records/\d+$") == 0


def test_a_rerun_whose_state_has_no_marker_creates_every_record(emulator):
    # A tap that does not hand its state back: behaviour as without markers.
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=50)
    run = run_target(config, [PEOPLE_SCHEMA, state({"n": 0}), person(1), "not json"])
    assert run.exit_code == 1
    assert MARKER_KEY in run.raw_states[-1]
    rerun = run_target(config, [PEOPLE_SCHEMA, state({"n": 0}), person(1), state({"n": 1})])
    assert rerun.exit_code == 0
    assert emails(emulator) == ["p1@x", "p1@x"]


def test_the_marker_rides_in_the_bookmarks_of_a_singer_state(emulator):
    make_database(emulator)
    config = target_config(emulator)
    value = {"bookmarks": {"people": {"replication_key_value": 3}}}
    run = run_target(config, [PEOPLE_SCHEMA, person(1), state(value)])
    assert run.exit_code == 0
    assert run.states == [value]
    for raw in run.raw_states:
        assert set(raw) == {"bookmarks"}
        assert MARKER_KEY in raw["bookmarks"]


def test_a_server_that_ignores_since_sq_still_matches_only_the_stopped_runs_creates(emulator):
    make_database(emulator)
    emulator.variants.enable("ignore_since_sq")
    config = target_config(emulator, batch_size_rows=10)
    same = record("people", {"Email": "same@x"})
    run = run_target(config, [PEOPLE_SCHEMA, same, same, state({"n": 2}), same, "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 3  # two covered by STATE 2, one not
    # The rerun sends the uncovered one again and a new one.
    rerun = run_target(config, [PEOPLE_SCHEMA, state(run.raw_states[-1]), same, same])
    assert rerun.exit_code == 0
    assert emails(emulator) == ["same@x"] * 4


def test_a_first_run_stopped_before_any_state_is_rerun_exact(emulator):
    # No STATE in the input yet: the target emits one covering nothing,
    # with its marker, before its first unkeyed create.
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=10)
    people = [person(n) for n in range(1, 31)]
    run = run_target(config, [PEOPLE_SCHEMA, *people, "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 30
    [start] = run.raw_states
    assert without_marker(start) == {"bookmarks": {}}
    assert MARKER_KEY in start["bookmarks"]
    rerun = run_target(config, [PEOPLE_SCHEMA, state(start), *people, state({"n": 30})])
    assert rerun.exit_code == 0
    assert emails(emulator) == sorted(f"p{n}@x" for n in range(1, 31))


def test_a_state_value_that_is_not_an_object_passes_through_unchanged(emulator):
    make_database(emulator)
    run = run_target(target_config(emulator), [PEOPLE_SCHEMA, person(1), state([1, 2])])
    assert run.exit_code == 0
    assert run.raw_states[-1] == [1, 2]


def test_a_rerun_matches_creates_whose_empty_fields_differ_each_to_its_own_record(emulator):
    # Creates leave their null fields out, so one stream's creates write
    # different sets of fields; each must find the record with its values.
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=7)
    mixed = [
        record("people", {"Email": f"m{n % 4}@x", "Name": None if n % 3 else f"n{n % 5}"})
        for n in range(40)
    ]
    run = run_target(config, [PEOPLE_SCHEMA, state({"n": 0}), *mixed[:25], "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 25
    rerun = run_target(config, [PEOPLE_SCHEMA, state(run.raw_states[-1]), *mixed, state({"n": 1})])
    assert rerun.exit_code == 0
    written = sorted((r["Email"], r.get("Name", "")) for r in rows(emulator, PEOPLE).values())
    assert written == sorted((m["record"]["Email"], m["record"]["Name"] or "") for m in mixed)


def test_candidate_matching_by_lookup_gives_what_a_scan_in_order_gives():
    # target_ninox/rerun_guard.py, CandidateMatcher: same answer as the scan
    # (target_ninox/reconcile.py `first_match`), found by lookup.
    rng = random.Random(16)
    fields = ["A", "B", "C"]
    candidates: list[dict[str, Any]] = [
        {"id": i, "fields": {f: rng.choice([None, "x", "y", 1, 1.0]) for f in fields}}
        for i in range(1, 400)
    ]
    matcher = CandidateMatcher(candidates, lambda r: r["fields"], normalize)
    claimed: set[int] = set()
    skip = {5, 17, 200}
    for _ in range(600):
        wanted = {
            f: normalize(rng.choice(["x", "y", 1])) for f in rng.sample(fields, rng.randint(0, 3))
        }
        scan = next(
            (
                c["id"]
                for c in candidates
                if c["id"] not in claimed
                and c["id"] not in skip
                and all(normalize(c["fields"].get(f)) == v for f, v in wanted.items())
            ),
            None,
        )
        assert matcher.take(wanted, claimed, skip) == scan
        if scan is not None:
            claimed.add(scan)


def test_a_rerun_goes_through_the_candidates_a_bounded_number_of_times(emulator, monkeypatch):
    # Matching is linear in the records matched (docs/design.md, reruns): the
    # candidates are gone through a few times, not once per incoming create
    # (a 43k-row rerun took 60 s that way; bench/bench_rerun.py times it).
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=100)
    people = [person(n) for n in range(1500)]
    run = run_target(config, [PEOPLE_SCHEMA, state({"n": 0}), *people, "not json"])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 1500
    steps = 0

    class Counted(list[Any]):
        def __iter__(self) -> Any:
            nonlocal steps
            for item in super().__iter__():
                steps += 1
                yield item

    def reading(*args: Any) -> Any:
        read = read_candidates(*args)
        return lambda since_sq, ids: Counted(read(since_sq, ids))

    monkeypatch.setattr(writer_module, "read_candidates", reading)
    rerun = run_target(config, [PEOPLE_SCHEMA, state(run.raw_states[-1]), *people, state({"n": 1})])
    assert rerun.exit_code == 0
    assert len(rows(emulator, PEOPLE)) == 1500
    assert steps <= 4 * 1500, steps
