"""target-ninox into a Ninox 4 workspace when answers are lost, runs crash, servers differ.

Lost create answers are read back through the change feed on tables with
history; on a table without history a keyed create is re-matched by its
key and an unkeyed one fails the run with one line (decision 0024). Reruns
from the last STATE create nothing twice. CONTRACT-v4 §14 variants V17-V22,
V28, V29 end with exactly the right rows or one clear line.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from target_ninox.rerun_guard import marker_of, without_marker
from tests.public.target_public_support import (
    COMPANIES,
    CONTACTS,
    LEADS,
    MODULE,
    OPTIONAL,
    new_rows,
    people,
    people_schema,
    person,
    public_config,
    rows,
)
from tests.target_support import record, run_target, schema, state

CREATES = rf"/tables/{CONTACTS}/records$"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def load(stream: str, numbers: range, every: int = 10) -> list[dict[str, Any]]:
    """RECORDs of persons `numbers`, a STATE `{"n": n}` after every `every`-th."""
    out: list[dict[str, Any]] = []
    for n in numbers:
        out.append(person(n, stream=stream))
        if n % every == 0:
            out.append(state({"n": n}))
    return out


# ------------------------------------------------- lost answers, history on


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "lost_response"},
        {"kind": "drop"},
        {"kind": "empty", "body": "{}"},
        {"kind": "empty", "body": ""},
    ],
    ids=["lost_response", "drop", "empty-object", "empty-body"],
)
def test_a_lost_create_answer_on_a_history_table_creates_each_record_once(public_emulator, fault):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    emu.faults.add(method="POST", path=CREATES, after=1, **fault)
    messages = [people_schema(), *load(CONTACTS, range(1, 31))]
    run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 31))
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 30}]


def test_a_lost_keyed_create_answer_on_a_history_table_is_read_back_by_key(public_emulator):
    emu = public_emulator
    emu.set_unique(MODULE, CONTACTS, "email", unique=False)
    before = rows(emu, CONTACTS)
    emu.faults.add("lost_response", method="POST", path=CREATES, after=2)
    messages = [people_schema(key=["email"]), *load(CONTACTS, range(1, 41))]
    emu.clear_log()
    run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 41))
    assert run.states[-1] == {"n": 40}
    # The read-back reads the lost batch's 10 records (and the demo's two
    # recent changes, inside the cursor's look-back), not the run's 20 earlier ones.
    assert emu.request_count("GET", rf"/tables/{CONTACTS}/record/") <= 12


def test_identical_records_whose_answer_was_lost_are_created_as_often_as_sent(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    emu.faults.add("lost_response", method="POST", path=CREATES)
    same = [record(CONTACTS, {"last_name": "Same"}) for _ in range(4)]
    run = run_target(public_config(emu), [people_schema(), *same, state({"n": 4})], emu)
    assert run.exit_code == 0
    added = [v["last_name"] for k, v in rows(emu, CONTACTS).items() if k not in before]
    assert added == ["Same"] * 4


@pytest.mark.parametrize("kind", ["lost_response", "drop"])
@pytest.mark.parametrize("route", ["upsert", "patch"])
def test_lost_answers_to_updates_and_upserts_are_sent_again(public_emulator, kind, route):
    emu = public_emulator
    if route == "patch":
        emu.set_unique(MODULE, CONTACTS, "email", unique=False)
    first = [people_schema(key=["email"]), *load(CONTACTS, range(1, 11))]
    assert run_target(public_config(emu), first).exit_code == 0
    before = rows(emu, CONTACTS)
    path = r"/records/upsert$" if route == "upsert" else rf"/tables/{CONTACTS}/records$"
    emu.faults.add(kind, method="POST" if route == "upsert" else "PATCH", path=path)
    changed = [people_schema(key=["email"])]
    changed += [person(n, last_name=f"New{n}") for n in range(1, 11)]
    run = run_target(public_config(emu), [*changed, state({"n": 10})], emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert set(after) == set(before)
    mine = sorted(v["last_name"] for k, v in after.items() if v.get("email", "").endswith(".test"))
    assert mine == sorted(f"New{n}" for n in range(1, 11))


# ----------------------------------------------- lost answers, history off


@pytest.mark.parametrize(
    ("fault", "applied"),
    [
        ({"kind": "lost_response"}, True),
        ({"kind": "drop"}, False),
        ({"kind": "empty", "body": "null"}, True),
    ],
    ids=["lost_response", "drop", "empty"],
)
def test_a_lost_unkeyed_create_answer_without_history_fails_with_one_line(
    public_emulator, caplog, fault, applied
):
    emu = public_emulator
    before = rows(emu, LEADS)
    emu.faults.add(method="POST", path=rf"/tables/{LEADS}/records$", after=1, **fault)
    messages = [people_schema(LEADS), *load(LEADS, range(1, 21))]
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "stream 'leads'" in line and "input lines 13-22" in line
    assert "no history" in line and "upsert_keys" in line
    # The first batch and its STATE; the lost one (if applied) once, never twice.
    assert run.states == [{"n": 10}]
    assert new_rows(before, rows(emu, LEADS)) == people(range(1, 21 if applied else 11))


def test_a_lost_keyed_create_answer_without_history_is_matched_by_its_key(public_emulator):
    emu = public_emulator
    emu.set_unique(MODULE, LEADS, "email", unique=False)
    before = rows(emu, LEADS)
    emu.faults.add("lost_response", method="POST", path=rf"/tables/{LEADS}/records$")
    messages = [people_schema(LEADS, key=["email"]), *load(LEADS, range(1, 11))]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, LEADS)) == people(range(1, 11))
    assert run.states == [{"n": 10}]


# ------------------------------------------------------------------ reruns


def test_a_rerun_from_the_last_state_creates_nothing_twice(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    config = public_config(emu, batch_size_rows=50)
    head = [people_schema(), *(person(n) for n in range(1, 101)), state({"n": 100})]
    tail = [person(n) for n in range(101, 131)]
    run = run_target(config, [*head, *tail, "not json"])
    assert run.exit_code == 1
    assert len(rows(emu, CONTACTS)) == len(before) + 130
    last = run.raw_states[-1]
    assert without_marker(last) == {"n": 100}
    marker = marker_of(last)
    assert marker is not None
    assert isinstance(marker["tables"][CONTACTS]["cursor"], str)

    rerun = run_target(config, [people_schema(), state(last), *tail, state({"n": 130})])
    assert rerun.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 131))
    assert rerun.states[-1] == {"n": 130}


def test_a_table_first_written_after_the_last_state_is_found_on_rerun(public_emulator):
    emu = public_emulator
    config = public_config(emu)
    companies = schema(COMPANIES, {"name": OPTIONAL})
    before = rows(emu, COMPANIES)
    head = [people_schema(), companies, person(1), state({"n": 1})]
    tail = [record(COMPANIES, {"name": f"C{n}"}) for n in range(5)]
    run = run_target(config, [*head, *tail, "not json"])
    assert run.exit_code == 1
    assert len(rows(emu, COMPANIES)) == len(before) + 5
    last = run.raw_states[-1]
    assert without_marker(last) == {"n": 1}
    rerun = run_target(config, [people_schema(), companies, state(last), *tail, state({"n": 2})])
    assert rerun.exit_code == 0
    added = sorted(v["name"] for k, v in rows(emu, COMPANIES).items() if k not in before)
    assert added == [f"C{n}" for n in range(5)]


def test_a_rerun_into_a_table_without_history_creates_nothing_twice(public_emulator):
    emu = public_emulator
    before = rows(emu, LEADS)
    config = public_config(emu, batch_size_rows=50)
    head = [people_schema(LEADS), *(person(n, LEADS) for n in range(1, 51)), state({"n": 50})]
    tail = [person(n, LEADS) for n in range(51, 61)]
    run = run_target(config, [*head, *tail, "not json"])
    assert run.exit_code == 1
    marker = marker_of(run.raw_states[-1])
    assert marker is not None
    assert len(marker["tables"][LEADS]["ids"]) == 10  # no cursor: the ids are listed
    assert "cursor" not in marker["tables"][LEADS]
    rerun = run_target(
        config, [people_schema(LEADS), state(run.raw_states[-1]), *tail, state({"n": 60})]
    )
    assert rerun.exit_code == 0
    assert new_rows(before, rows(emu, LEADS)) == people(range(1, 61))


def test_a_rerun_past_the_feeds_retention_fails_with_one_line(public_emulator, caplog):
    emu = public_emulator
    config = public_config(emu)
    tail = [person(n) for n in range(1, 6)]
    run = run_target(config, [people_schema(), state({"n": 0}), *tail, "not json"])
    assert run.exit_code == 1
    count = len(rows(emu, CONTACTS))
    emu.clock.advance(days=40)  # past the feed's 30 days
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        rerun = run_target(config, [people_schema(), state(run.raw_states[-1]), *tail])
    assert rerun.exit_code == 1
    (line,) = errors(caplog)
    assert "stream 'contacts'" in line and "no longer keeps" in line and "_target_ninox" in line
    assert len(rows(emu, CONTACTS)) == count  # nothing created twice


def test_an_ordinary_run_after_a_clean_one_creates_everything(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    config = public_config(emu)
    same = [record(CONTACTS, {"last_name": "Twin"}) for _ in range(3)]
    first = run_target(config, [people_schema(), *same, state({"n": 1})])
    assert first.exit_code == 0
    second = run_target(config, [people_schema(), state(first.raw_states[-1]), *same])
    assert second.exit_code == 0
    added = [v["last_name"] for k, v in rows(emu, CONTACTS).items() if k not in before]
    assert added == ["Twin"] * 6


# ---------------------------------------------------------------- variants


@pytest.mark.parametrize("variant", ["V17", "V17b"])
def test_v17_a_partly_applied_create_batch_ends_exact(public_emulator, variant):
    emu = public_emulator
    emu.variants.enable(variant)
    before = rows(emu, CONTACTS)
    messages = [people_schema(), *load(CONTACTS, range(1, 31))]
    run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 31))
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 30}]


def test_v17_a_partly_applied_batch_without_history_fails_with_one_line(public_emulator, caplog):
    emu = public_emulator
    emu.variants.enable("V17")
    messages = [people_schema(LEADS), *load(LEADS, range(1, 11))]
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "no history" in line
    assert run.states == []


def test_v18_short_updated_ids_still_update_every_record(public_emulator):
    emu = public_emulator
    emu.variants.enable("V18")
    ids = sorted(rows(emu, CONTACTS))[:5]
    messages = [schema(CONTACTS, {"_id": {"type": "integer"}, "nickname": OPTIONAL})]
    messages += [record(CONTACTS, {"_id": rid, "nickname": f"N{rid}"}) for rid in ids]
    run = run_target(public_config(emu), [*messages, state({"n": 5})], emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert [after[rid]["nickname"] for rid in ids] == [f"N{rid}" for rid in ids]


@pytest.mark.parametrize("variant", [None, "V19"])
def test_v19_deletions_of_absent_records_are_ignored_either_way(public_emulator, variant):
    emu = public_emulator
    if variant:
        emu.variants.enable(variant)
    before = rows(emu, CONTACTS)
    gone = sorted(before)[:2]
    deleted = {"_sdc_deleted_at": "2026-12-01T00:00:00Z"}
    messages = [schema(CONTACTS, {"_id": {"type": "integer"}, "_sdc_deleted_at": OPTIONAL})]
    messages += [record(CONTACTS, {"_id": rid, **deleted}) for rid in [*gone, 99999]]
    run = run_target(public_config(emu, hard_delete=True), [*messages, state({"n": 3})], emu)
    assert run.exit_code == 0
    assert set(rows(emu, CONTACTS)) == set(before) - set(gone)


def test_v20_without_a_server_upsert_the_key_index_matches(public_emulator):
    emu = public_emulator
    emu.variants.enable("V20")
    (existing,) = emu.create_records(MODULE, CONTACTS, [{"last_name": "Old", "email": "p2@x.test"}])
    before = rows(emu, CONTACTS)
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 4)), state({"n": 3})]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert after[existing]["last_name"] == "L2"
    assert new_rows(before, after) == people([1, 3])


def test_v21_an_exhausted_quota_ends_with_one_line_and_the_committed_state(public_emulator, caplog):
    emu = public_emulator
    emu.variants.enable("V21")
    before = rows(emu, CONTACTS)
    messages = [people_schema(), *load(CONTACTS, range(1, 31))]
    # Metadata, the marker's cursor, the first POST, the next cursor; then no more.
    emu.quota = emu.request_count() + 4
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "403" in line and "quota" in line and "input lines 13-22" in line
    assert run.states == [{"n": 10}]
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 11))


def test_v22_rate_limits_with_and_without_retry_after_end_exact(public_emulator, sleeps):
    emu = public_emulator
    emu.variants.enable("V22")
    before = rows(emu, CONTACTS)
    messages = [people_schema(), *load(CONTACTS, range(1, 31))]
    run = run_target(public_config(emu, batch_size_rows=10, max_retries=4), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 31))
    assert run.states[-1] == {"n": 30}
    assert sleeps  # the 429s were waited for (recorded by `sleeps`, not slept)


def test_v28_a_key_expiring_mid_run_ends_with_one_line_and_only_committed_state(
    public_emulator, caplog
):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    messages = [people_schema(key=["email"]), *load(CONTACTS, range(1, 31))]
    emu.expire_key(after=3)  # metadata, two batches; then 401
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu, batch_size_rows=10), messages, emu)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "401" in line and "API key" in line
    assert "\n" not in line
    assert run.states == [{"n": 10}, {"n": 20}]
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 21))


def test_v29_a_reused_id_is_a_new_record_to_the_key_index(public_emulator):
    emu = public_emulator
    emu.variants.enable("V29")
    emu.set_unique(MODULE, CONTACTS, "email", unique=False)
    (old,) = emu.create_records(MODULE, CONTACTS, [{"last_name": "Old", "email": "old@x.test"}])
    before = rows(emu, CONTACTS)
    deleted = {"_sdc_deleted_at": "2026-12-01T00:00:00Z"}
    messages = [
        schema(
            CONTACTS,
            {"email": OPTIONAL, "last_name": OPTIONAL, "_sdc_deleted_at": OPTIONAL},
            ["email"],
        ),
        record(CONTACTS, {"email": "old@x.test", **deleted}),
        record(CONTACTS, {"email": "new@x.test", "last_name": "New"}),
        record(CONTACTS, {"email": "old@x.test", "last_name": "Again"}),
        record(CONTACTS, {"email": "new@x.test", "last_name": "Newer"}),
        state({"n": 4}),
    ]
    run = run_target(public_config(emu, hard_delete=True), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    mine = {v["email"]: v["last_name"] for k, v in after.items() if k not in before or k == old}
    assert mine == {"new@x.test": "Newer", "old@x.test": "Again"}
    assert len(after) == len(before) + 1  # old deleted, two created
