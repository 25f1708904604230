"""target-ninox, the same promises on both backends (classic API and Ninox 4's Public API).

Black-box: the target runs in-process against the backend's emulator and
the people table is compared row by row with the input. The people go
into a table named `contacts` with fields `first_name`, `last_name` and
`email` on both backends (conftest.py); only the rows a run adds, changes
or removes are the test's, whatever the table held before.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.both.conftest import Ninox
from tests.public.target_public_support import OPTIONAL, new_rows, people, person
from tests.tap_support import run_tap
from tests.target_support import (
    BOOLEAN,
    DATE,
    DATETIME,
    NUMBER,
    STRINGS,
    record,
    run_target,
    schema,
    state,
)

DELETED_AT = "2026-12-01T00:00:00Z"
WRONG_KEY = "not-the-key-4711"


def people_schema(ninox: Ninox, key: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """SCHEMA of the people stream (`first_name`, `last_name`, `email`, and `extra`)."""
    properties = {"first_name": OPTIONAL, "last_name": OPTIONAL, "email": OPTIONAL, **extra}
    return schema(ninox.target_stream, properties, key or [])


def load(ninox: Ninox, numbers: range | list[int], every: int = 10, **extra: Any) -> list[Any]:
    """RECORDs of persons `numbers` (plus `extra`), a STATE `{"n": n}` after every `every`-th."""
    out: list[Any] = []
    for n in numbers:
        out.append(person(n, stream=ninox.target_stream, **extra))
        if n % every == 0:
            out.append(state({"n": n}))
    return out


def by_email(rows: dict[int, dict[str, Any]]) -> dict[str, tuple[int, dict[str, Any]]]:
    """Rows of the test's people (`…@x.test`), by email: (id, values); each email once."""
    mine = [(rid, v) for rid, v in rows.items() if str(v["email"]).endswith("@x.test")]
    out = {v["email"]: (rid, v) for rid, v in mine}
    assert len(out) == len(mine), "an email is in the table twice"
    return out


def seeded(ninox: Ninox, numbers: range) -> dict[int, dict[str, Any]]:
    """Write persons `numbers` keyed by email; the table afterwards."""
    messages = [people_schema(ninox, ["email"]), *load(ninox, numbers), state({"seeded": 1})]
    assert run_target(ninox.target_config(), messages).exit_code == 0
    return ninox.people()


def writes(ninox: Ninox) -> int:
    """Write requests (POST, PATCH, DELETE) the emulator answered so far."""
    return sum(ninox.emulator.request_count(m) for m in ("POST", "PATCH", "DELETE"))


# ------------------------------------------------------------------ creates


def test_creates_land_exactly(ninox):
    before = ninox.people()
    messages = [people_schema(ninox), *load(ninox, range(1, 26)), state({"n": 25})]
    run = run_target(ninox.target_config(batch_size_rows=10), messages, ninox.emulator)
    assert run.exit_code == 0
    after = ninox.people()
    assert new_rows(before, after) == people(range(1, 26))
    assert {rid: after[rid] for rid in before} == before
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 25}]


def test_every_state_comes_out_right_after_the_write_that_committed_its_records(ninox):
    messages = [people_schema(ninox), *load(ninox, range(1, 301), every=100)]
    run = run_target(ninox.target_config(batch_size_rows=50), messages, ninox.emulator)
    assert run.exit_code == 0
    assert run.states == [{"n": 100}, {"n": 200}, {"n": 300}]
    assert run.posts_at_state == [2, 4, 6]  # creates of 50: STATE n after record n's


# ----------------------------------------------------------------- upserts


def test_upserts_by_a_key_update_the_matching_records_and_create_the_others(ninox):
    before = by_email(seeded(ninox, range(1, 6)))
    messages = [people_schema(ninox, ["email"])]
    messages += load(ninox, [2, 3], last_name="Changed")
    messages += [*load(ninox, [6, 7]), state({"n": 7})]
    run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 0
    after = by_email(ninox.people())
    assert set(after) == {f"p{n}@x.test" for n in range(1, 8)}
    for n in (1, 4, 5):
        assert after[f"p{n}@x.test"] == before[f"p{n}@x.test"]
    for n in (2, 3):  # the same record, changed
        rid, values = after[f"p{n}@x.test"]
        assert rid == before[f"p{n}@x.test"][0]
        assert values == {"first_name": f"F{n}", "last_name": "Changed", "email": f"p{n}@x.test"}
    assert {after[f"p{n}@x.test"][0] for n in (6, 7)}.isdisjoint(r for r, _ in before.values())
    assert run.states == [{"n": 7}]


def test_id_updates_that_record(ninox):
    before = by_email(seeded(ninox, range(1, 4)))
    rid = before["p2@x.test"][0]
    messages = [people_schema(ninox, _id={"type": "integer"})]
    messages += [record(ninox.target_stream, {"_id": rid, "last_name": "ById"}), state({"n": 1})]
    run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 0
    after = by_email(ninox.people())
    assert after["p2@x.test"] == (
        rid,
        {"first_name": "F2", "last_name": "ById", "email": "p2@x.test"},
    )
    assert set(after) == set(before)
    assert {email: after[email] for email in ("p1@x.test", "p3@x.test")} == {
        email: before[email] for email in ("p1@x.test", "p3@x.test")
    }


def test_a_rerun_of_the_same_input_changes_nothing(ninox):
    messages = [people_schema(ninox, ["email"]), *load(ninox, range(1, 21))]
    config = ninox.target_config(batch_size_rows=7)
    assert run_target(config, messages).exit_code == 0
    once = ninox.people()
    rerun = run_target(config, messages)
    assert rerun.exit_code == 0
    assert ninox.people() == once
    assert rerun.states == [{"n": 10}, {"n": 20}]


@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
def test_a_rerun_from_the_last_state_of_a_failed_run_creates_nothing_twice(ninox, typed):
    before = ninox.people()
    values, properties = (TYPED_VALUES, TYPED_PROPERTIES) if typed else ({}, {})
    config = ninox.target_config(batch_size_rows=50)
    head = [people_schema(ninox, **properties), *load(ninox, range(1, 101), every=100, **values)]
    tail = load(ninox, range(101, 131), every=1000, **values)
    # Bad input after 30 more unkeyed creates: they are in Ninox, no STATE covers them.
    failed = run_target(config, [*head, *tail, "not json"])
    assert failed.exit_code == 1
    assert failed.states == [{"n": 100}]
    assert new_rows(before, ninox.people()) == people(range(1, 131))

    last = failed.raw_states[-1]  # as the orchestrator keeps it
    messages = [people_schema(ninox, **properties), state(last), *tail, state({"n": 130})]
    rerun = run_target(config, messages)
    assert rerun.exit_code == 0
    assert new_rows(before, ninox.people()) == people(range(1, 131))
    assert rerun.states[-1] == {"n": 130}


def test_a_null_value_clears_its_field_and_a_missing_property_leaves_it(ninox):
    before = by_email(seeded(ninox, range(1, 4)))
    stream = ninox.target_stream
    messages = [people_schema(ninox, ["email"]), person(1, stream, first_name=None)]
    messages += [record(stream, {"email": "p2@x.test", "last_name": "Only"}), state({"n": 2})]
    run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 0
    after = by_email(ninox.people())
    assert after["p1@x.test"][1] == {"first_name": None, "last_name": "L1", "email": "p1@x.test"}
    assert after["p2@x.test"][1] == {"first_name": "F2", "last_name": "Only", "email": "p2@x.test"}
    assert after["p3@x.test"] == before["p3@x.test"]


def test_a_property_without_a_field_fails_the_run_with_one_line_naming_it(ninox, caplog):
    before = ninox.people()
    stream = ninox.target_stream
    messages = [people_schema(ninox, ["email"], shoe_size=OPTIONAL)]
    messages += [record(stream, {"email": "p1@x.test", "shoe_size": "42"}), state({"n": 1})]
    with caplog.at_level(logging.ERROR):
        run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'contacts'" in line and "'shoe_size'" in line and "unknown_fields" in line
    assert ninox.people() == before
    assert run.states == []


def test_a_wrong_api_key_fails_with_one_line_that_does_not_show_the_key(ninox, caplog):
    before = ninox.people()
    messages = [people_schema(ninox), *load(ninox, [1]), state({"n": 1})]
    with caplog.at_level(logging.ERROR):
        run = run_target(ninox.target_config(api_key=WRONG_KEY), messages, ninox.emulator)
    assert run.exit_code == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "HTTP 401" in line and "API key" in line
    assert WRONG_KEY not in line
    assert ninox.people() == before


# ----------------------------------------------------------------- deletes


def test_hard_delete_deletes_the_records_by_their_key(ninox):
    before = seeded(ninox, range(1, 5))
    gone = {rid for rid, v in before.items() if v["email"] in ("p2@x.test", "p3@x.test")}
    messages = [people_schema(ninox, ["email"], _sdc_deleted_at=OPTIONAL)]
    messages += load(ninox, [2, 3], _sdc_deleted_at=DELETED_AT)
    messages += [*load(ninox, [9], _sdc_deleted_at=DELETED_AT), state({"n": 3})]
    run = run_target(ninox.target_config(hard_delete=True), messages, ninox.emulator)
    assert run.exit_code == 0
    assert len(gone) == 2
    assert ninox.people() == {rid: v for rid, v in before.items() if rid not in gone}
    assert run.states == [{"n": 3}]


# ------------------------------------------------------------ load methods


def test_append_only_creates_every_record_even_when_its_key_exists(ninox):
    before = seeded(ninox, range(1, 3))
    # Keyed by first name (emails stay distinct: Ninox 4 may hold them unique).
    again = [
        person(n, ninox.target_stream, email=f"again{i}@x.test") for i, n in enumerate([1, 2, 1])
    ]
    messages = [people_schema(ninox, ["first_name"]), *again, state({"n": 3})]
    run = run_target(ninox.target_config(load_method="append-only"), messages, ninox.emulator)
    assert run.exit_code == 0
    after = ninox.people()
    assert {rid: after[rid] for rid in before} == before
    assert new_rows(before, after) == [
        ("F1", "L1", "again0@x.test"),
        ("F1", "L1", "again2@x.test"),
        ("F2", "L2", "again1@x.test"),
    ]


def test_overwrite_leaves_exactly_what_the_run_wrote(ninox):
    seeded(ninox, range(1, 4))
    messages = [people_schema(ninox, ["email"]), *load(ninox, [3, 4, 5]), state({"n": 5})]
    run = run_target(ninox.target_config(load_method="overwrite"), messages, ninox.emulator)
    assert run.exit_code == 0
    assert new_rows({}, ninox.people()) == people([3, 4, 5])


def test_dry_run_writes_nothing(ninox):
    before = ninox.people()
    ninox.emulator.clear_log()
    messages = [people_schema(ninox, ["email"]), *load(ninox, range(1, 4)), state({"n": 3})]
    run = run_target(ninox.target_config(dry_run=True), messages, ninox.emulator)
    assert run.exit_code == 0
    assert ninox.people() == before
    assert writes(ninox) == 0


# ------------------------------------------------------------ lost answers


@pytest.mark.parametrize("kind", ["lost_response", "drop"])
def test_a_lost_answer_to_a_create_ends_with_each_record_once(ninox, kind):
    before = ninox.people()
    # The second create's answer never comes (`drop`: nor was it applied).
    lost = ninox.emulator.faults.add(kind, method="POST", path=ninox.create_path(), after=1)
    messages = [people_schema(ninox), *load(ninox, range(1, 31))]
    run = run_target(ninox.target_config(batch_size_rows=10), messages, ninox.emulator)
    assert run.exit_code == 0
    assert new_rows(before, ninox.people()) == people(range(1, 31))
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 30}]
    assert lost.fired == 1


@pytest.mark.parametrize("kind", ["lost_response", "drop"])
def test_a_lost_answer_to_an_upsert_ends_with_each_key_once_with_its_new_values(ninox, kind):
    before = by_email(seeded(ninox, range(1, 11)))
    lost = ninox.emulator.faults.add(kind, method="POST", path=ninox.upsert_path())
    messages = [people_schema(ninox, ["email"])]
    messages += [*load(ninox, range(1, 21), last_name="New"), state({"n": 20})]
    run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 0
    assert lost.fired == 1
    after = by_email(ninox.people())
    assert sorted(values["last_name"] for _, values in after.values()) == ["New"] * 20
    assert {after[email][0] for email in before} == {rid for rid, _ in before.values()}


# ------------------------------------------------------------- round trip

TYPED_PROPERTIES: dict[str, Any] = {
    "score": NUMBER,
    "active": BOOLEAN,
    "birthday": DATE,
    "last_contact": DATETIME,
    "call_time": {"type": ["string", "null"], "format": "time"},
    "kind": OPTIONAL,
    "tags": STRINGS,
    "next_meeting": OPTIONAL,
    "time_spent": OPTIONAL,
}
TYPED_VALUES: dict[str, Any] = {
    "score": 12.5,
    "active": True,
    "birthday": "1990-02-03",
    "last_contact": "2024-05-06T07:08:09Z",
    "call_time": "08:15:00",
    "kind": "Company",
    "tags": ["VIP", "Smith, Jones & Co"],
}


def test_what_the_target_writes_the_tap_reads_back_as_it_was(ninox):
    stream = ninox.target_stream
    messages = [people_schema(ninox, ["email"], **TYPED_PROPERTIES)]
    messages += [person(1, stream, **TYPED_VALUES)]
    messages += [person(2, stream, **dict.fromkeys(TYPED_VALUES)), state({"n": 2})]
    assert run_target(ninox.target_config(), messages, ninox.emulator).exit_code == 0
    out = run_tap(ninox.people_tap_config())
    assert out.error is None
    read = {r["email"]: r for r in out.records[stream] if str(r["email"]).endswith("@x.test")}
    assert set(read) == {"p1@x.test", "p2@x.test"}
    for n, values in ((1, TYPED_VALUES), (2, dict.fromkeys(TYPED_VALUES))):
        written = {"first_name": f"F{n}", "last_name": f"L{n}", **values}
        assert {name: read[f"p{n}@x.test"][name] for name in written} == written


def test_a_record_the_tap_read_is_written_back_unchanged(ninox):
    # The backend's own forms (appointments, time intervals) make the round trip.
    [contact] = [r for r in run_tap(ninox.tap_config()).records[ninox.stream] if r["_id"] == 1]
    names = ["first_name", "last_name", *TYPED_PROPERTIES]
    copied = {name: contact[ninox.column(name)] for name in names}
    assert all(copied[name] is not None for name in names)  # every field holds a value
    stream = ninox.target_stream
    messages = [people_schema(ninox, ["email"], **TYPED_PROPERTIES)]
    messages += [record(stream, {**copied, "email": "copy@x.test"}), state({"n": 1})]
    assert run_target(ninox.target_config(), messages, ninox.emulator).exit_code == 0
    out = run_tap(ninox.people_tap_config())
    [read] = [r for r in out.records[stream] if r["email"] == "copy@x.test"]
    assert {name: read[name] for name in names} == copied


def test_a_lost_answer_to_creates_of_typed_values_ends_with_each_record_once(ninox):
    before = ninox.people()
    stream = ninox.target_stream
    lost = ninox.emulator.faults.add(
        "lost_response", method="POST", path=ninox.create_path(), after=1
    )
    messages = [people_schema(ninox, **TYPED_PROPERTIES)]
    messages += load(ninox, range(1, 31), **TYPED_VALUES)
    run = run_target(ninox.target_config(batch_size_rows=10), messages, ninox.emulator)
    assert run.exit_code == 0
    assert lost.fired == 1
    assert new_rows(before, ninox.people()) == people(range(1, 31))
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 30}]
    out = run_tap(ninox.people_tap_config())
    read = [r for r in out.records[stream] if str(r["email"]).endswith("@x.test")]
    assert all({name: r[name] for name in TYPED_VALUES} == TYPED_VALUES for r in read)


def test_upserts_by_a_key_holding_a_date_time_update_the_matching_records(ninox):
    config = ninox.target_config(upsert_keys={ninox.target_stream: ["first_name", "last_contact"]})
    at: dict[str, Any] = {"last_contact": "2024-05-06T07:08:09Z"}
    schema_message = people_schema(ninox, last_contact=DATETIME)
    first = [schema_message, *load(ninox, range(1, 4), **at), state({"n": 3})]
    assert run_target(config, first, ninox.emulator).exit_code == 0
    before = by_email(ninox.people())
    again = [schema_message, *load(ninox, range(1, 4), **at, last_name="Again"), state({"n": 6})]
    assert run_target(config, again, ninox.emulator).exit_code == 0
    after = by_email(ninox.people())
    assert {email: rid for email, (rid, _) in after.items()} == {
        email: rid for email, (rid, _) in before.items()
    }
    assert sorted(v["last_name"] for _, v in after.values()) == ["Again"] * 3
