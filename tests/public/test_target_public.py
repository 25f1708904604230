"""target-ninox writing into a Ninox 4 workspace (Public API emulator), every write mode.

docs/design.md "Writing Ninox 4 tables"; decision 0024. Each test runs the
target in-process against the emulator and checks the table's exact rows,
the STATE emitted and, where the promise is about cost, the requests.
"""

from __future__ import annotations

import logging

import pytest

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
    table_reads,
    writes,
)
from tests.target_support import record, run_target, schema, state


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ------------------------------------------------------------------ creates


def test_creates_cost_one_post_per_batch_and_land_exactly(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    emu.clear_log()
    messages = [people_schema(), *(person(n) for n in range(1, 251)), state({"n": 250})]
    run = run_target(public_config(emu, batch_size_rows=100), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 251))
    assert run.states == [{"n": 250}]
    # ⌈250 / 100⌉ creates; nothing else writes.
    assert emu.request_count("POST", rf"/tables/{CONTACTS}/records$") == 3
    assert writes(emu) == 3


# ----------------------------------------------------------------- upserts


def test_upsert_by_a_unique_key_reads_nothing_of_the_table(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    emu.clear_log()
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 151)), state({"n": 1})]
    run = run_target(public_config(emu, batch_size_rows=100), messages, emu)
    assert run.exit_code == 0
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, 151))
    # The server matches the key: two upsert calls, no read of the table.
    assert emu.request_count("POST", rf"/tables/{CONTACTS}/records/upsert") == 2
    assert table_reads(emu) == 0
    assert writes(emu) == 2
    assert run.states == [{"n": 1}]
    # The same keys again: every record updated, still no read.
    created = rows(emu, CONTACTS)
    emu.clear_log()
    changed = [people_schema(key=["email"])]
    changed += [person(n, last_name=f"New{n}") for n in range(1, 151)]
    assert (
        run_target(public_config(emu, batch_size_rows=100), [*changed, state({"n": 2})]).exit_code
        == 0
    )
    after = rows(emu, CONTACTS)
    assert set(after) == set(created)
    assert sorted(v["last_name"] for k, v in after.items() if k not in before) == sorted(
        f"New{n}" for n in range(1, 151)
    )
    assert table_reads(emu) == 0
    assert emu.request_count("POST", rf"/tables/{CONTACTS}/records/upsert") == 2


def test_upsert_by_a_unique_key_updates_and_creates_in_one_batch(public_emulator):
    emu = public_emulator
    (existing,) = emu.create_records(MODULE, CONTACTS, [{"last_name": "Old", "email": "p2@x.test"}])
    before = rows(emu, CONTACTS)
    emu.clear_log()
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 4)), state({"n": 1})]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert after[existing] == {**before[existing], "first_name": "F2", "last_name": "L2"}
    assert new_rows(before, after) == people([1, 3])
    # A batch that both creates and updates is sent once more (idempotent) to
    # learn which record each record became: two calls, still no read.
    assert emu.request_count("POST", rf"/tables/{CONTACTS}/records/upsert") == 2
    assert table_reads(emu) == 0


def test_a_rerun_of_unique_key_upserts_changes_nothing(public_emulator):
    emu = public_emulator
    config = public_config(emu)
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 21)), state({"n": 1})]
    assert run_target(config, messages).exit_code == 0
    once = rows(emu, CONTACTS)
    assert run_target(config, messages).exit_code == 0
    assert rows(emu, CONTACTS) == once


def test_keyed_upsert_on_a_key_that_is_not_unique_uses_the_key_index(public_emulator):
    emu = public_emulator
    emu.set_unique(MODULE, CONTACTS, "email", unique=False)
    (existing,) = emu.create_records(MODULE, CONTACTS, [{"last_name": "Old", "email": "p3@x.test"}])
    before = rows(emu, CONTACTS)
    emu.clear_log()
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 6)), state({"n": 5})]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert after[existing]["last_name"] == "L3"
    assert new_rows(before, after) == people([1, 2, 4, 5])
    assert emu.request_count("POST", r"/records/upsert") == 0
    assert emu.request_count("GET", rf"/tables/{CONTACTS}/records") >= 1  # the key index
    # One create and one update call.
    assert emu.request_count("POST", rf"/tables/{CONTACTS}/records$") == 1
    assert emu.request_count("PATCH", rf"/tables/{CONTACTS}/records$") == 1


def test_upsert_keys_setting_on_several_fields_uses_the_key_index(public_emulator):
    emu = public_emulator
    config = public_config(emu, upsert_keys={CONTACTS: ["first_name", "last_name"]})
    messages = [people_schema(), person(1), person(2), state({"n": 1})]
    assert run_target(config, messages).exit_code == 0
    before = rows(emu, CONTACTS)
    again = [people_schema(), person(1, email="new@x.test"), person(3), state({"n": 2})]
    assert run_target(config, again).exit_code == 0
    after = rows(emu, CONTACTS)
    assert new_rows(before, after) == people([3])
    assert sorted(v["email"] for v in after.values() if v.get("first_name") == "F1") == [
        "new@x.test"
    ]


# --------------------------------------------------------------------- _id


def test_id_updates_that_record(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    first = min(before)
    messages = [
        schema(CONTACTS, {"_id": {"type": "integer"}, "nickname": OPTIONAL}),
        record(CONTACTS, {"_id": first, "nickname": "Changed"}),
        state({"n": 1}),
    ]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert after[first] == {**before[first], "nickname": "Changed"}
    assert set(after) == set(before)


def test_id_of_a_missing_record_fails_with_one_line_naming_it(public_emulator, caplog):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    first = min(before)
    messages = [
        schema(CONTACTS, {"_id": {"type": "integer"}, "nickname": OPTIONAL}),
        state({"n": 0}),
        record(CONTACTS, {"_id": first, "nickname": "Kept"}),
        record(CONTACTS, {"_id": 9999, "nickname": "Nowhere"}),
        state({"n": 2}),
    ]
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "stream 'contacts'" in line and "input line 4" in line
    assert "_id 9999" in line and "upsert_keys" in line
    assert run.states == [{"n": 0}]
    after = rows(emu, CONTACTS)
    assert after[first]["nickname"] == "Kept"  # the batch's other record was written
    assert set(after) == set(before)  # and nothing was created


def test_id_of_a_missing_record_with_an_upsert_key_is_written_by_its_key(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    messages = [
        schema(
            CONTACTS,
            {"_id": {"type": "integer"}, "email": OPTIONAL, "last_name": OPTIONAL},
            ["email"],
        ),
        record(CONTACTS, {"_id": 9999, "email": "copy@x.test", "last_name": "Copied"}),
        state({"n": 1}),
    ]
    config = public_config(emu)
    assert run_target(config, messages).exit_code == 0
    created = {rid: v for rid, v in rows(emu, CONTACTS).items() if rid not in before}
    assert [(v["email"], v["last_name"]) for v in created.values()] == [("copy@x.test", "Copied")]
    # A rerun finds it by its key: still one.
    assert run_target(config, messages).exit_code == 0
    assert len(rows(emu, CONTACTS)) == len(before) + 1


# ----------------------------------------------------------------- deletes


def test_hard_delete_by_id_and_by_unique_key(public_emulator):
    emu = public_emulator
    a, b = emu.create_records(
        MODULE,
        CONTACTS,
        [{"last_name": "A", "email": "a@x.test"}, {"last_name": "B", "email": "b@x.test"}],
    )
    before = rows(emu, CONTACTS)
    deleted = {"_sdc_deleted_at": "2026-12-01T00:00:00Z"}
    messages = [
        schema(
            CONTACTS,
            {
                "_id": {"type": ["integer", "null"]},
                "email": OPTIONAL,
                "_sdc_deleted_at": OPTIONAL,
            },
            ["email"],
        ),
        record(CONTACTS, {"_id": a, "email": "a@x.test", **deleted}),
        record(CONTACTS, {"_id": None, "email": "b@x.test", **deleted}),
        record(CONTACTS, {"_id": None, "email": "nobody@x.test", **deleted}),
        state({"n": 3}),
    ]
    run = run_target(public_config(emu, hard_delete=True), messages, emu)
    assert run.exit_code == 0
    assert set(rows(emu, CONTACTS)) == set(before) - {a, b}
    assert run.states == [{"n": 3}]


def test_deletions_without_hard_delete_are_skipped(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    first = min(before)
    messages = [
        schema(CONTACTS, {"_id": {"type": "integer"}, "_sdc_deleted_at": OPTIONAL}),
        record(CONTACTS, {"_id": first, "_sdc_deleted_at": "2026-12-01T00:00:00Z"}),
        state({"n": 1}),
    ]
    run = run_target(public_config(emu), messages, emu)
    assert run.exit_code == 0
    assert rows(emu, CONTACTS) == before


# ------------------------------------------------------------ load methods


def test_append_only_creates_every_record_ignoring_id_and_key(public_emulator):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    first = min(before)
    messages = [
        schema(
            CONTACTS,
            {"_id": {"type": "integer"}, "first_name": OPTIONAL, "last_name": OPTIONAL},
            ["first_name"],
        ),
        record(CONTACTS, {"_id": first, "first_name": "X", "last_name": "One"}),
        record(CONTACTS, {"_id": first, "first_name": "X", "last_name": "Two"}),
        state({"n": 2}),
    ]
    run = run_target(public_config(emu, load_method="append-only"), messages, emu)
    assert run.exit_code == 0
    after = rows(emu, CONTACTS)
    assert after[first] == before[first]
    assert new_rows(before, after) == [("X", "One", None), ("X", "Two", None)]


def test_overwrite_deletes_what_the_run_did_not_write(public_emulator):
    emu = public_emulator
    messages = [
        schema(COMPANIES, {"name": OPTIONAL}, ["name"]),
        record(COMPANIES, {"name": "Only One"}),
        state({"n": 1}),
    ]
    run = run_target(public_config(emu, load_method="overwrite"), messages, emu)
    assert run.exit_code == 0
    assert [v["name"] for v in rows(emu, COMPANIES).values()] == ["Only One"]


def test_dry_run_writes_nothing_and_reports(public_emulator, caplog):
    emu = public_emulator
    before = rows(emu, CONTACTS)
    emu.clear_log()
    messages = [people_schema(key=["email"]), *(person(n) for n in range(1, 4)), state({"n": 3})]
    with caplog.at_level(logging.INFO):
        run = run_target(public_config(emu, dry_run=True), messages, emu)
    assert run.exit_code == 0
    assert rows(emu, CONTACTS) == before
    assert writes(emu) == 0
    assert run.stdout == ""  # no STATE: nothing was written
    summary = [r.getMessage() for r in caplog.records if "would create" in r.getMessage()]
    assert summary and "would create 3" in summary[0]


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"module": "nope"}, ["module 'nope'", "'crm'", "'projects'"]),
        ({"module": None}, ["module is required"]),
        ({"database_id": "abc"}, ["database_id", "module"]),
        ({"upload_files": True}, ["upload_files"]),
    ],
)
def test_destination_settings_fail_with_one_line(public_emulator, caplog, overrides, words):
    emu = public_emulator
    config = {k: v for k, v in {**public_config(emu), **overrides}.items() if v is not None}
    with caplog.at_level(logging.ERROR):
        run = run_target(config, [people_schema(), person(1), state({"n": 1})])
    assert run.exit_code == 1
    (line,) = errors(caplog)
    for word in words:
        assert word in line, line


def test_a_stream_matches_its_table_by_name_or_mapping(public_emulator):
    emu = public_emulator
    before = rows(emu, LEADS)
    messages = [people_schema(stream="people"), person(1, stream="people"), state({"n": 1})]
    config = public_config(emu, table_mapping={"people": LEADS})
    assert run_target(config, messages).exit_code == 0
    assert new_rows(before, rows(emu, LEADS)) == people([1])


def test_a_stream_without_a_table_fails_with_one_line_naming_the_tables(public_emulator, caplog):
    emu = public_emulator
    messages = [people_schema(stream="nothing"), person(1, stream="nothing"), state({"n": 1})]
    with caplog.at_level(logging.ERROR):
        run = run_target(public_config(emu), messages)
    assert run.exit_code == 1
    (line,) = errors(caplog)
    assert "stream 'nothing'" in line and "module crm" in line
    assert "'contacts'" in line and "table_mapping" in line
