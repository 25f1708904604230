"""An upsert key whose value is empty never matches an existing record.

SPEC "Trust no answer": `""`, null and a value of only spaces are no key.
Ninox leaves empty fields out of its answers, so an empty input key would
otherwise match every record whose key field is empty — an unrelated one.
Such a record is refused with one line (stream, input line, field, what
to do); the key index never offers an empty key of a Ninox record as a match.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ninox_core.classic.backend import ClassicBackend
from ninox_core.model.schema import NinoxTable
from target_ninox.key_index import KeyIndex
from tests.tap_support import DEMO_TEAM
from tests.target_support import (
    PEOPLE,
    STRING,
    TEST_DB,
    TEST_TABLES,
    api,
    make_database,
    record,
    rows,
    run_target,
    run_target_cli,
    schema,
    state,
    target_config,
)

PEOPLE_SCHEMA = schema(
    "people", {"Email": STRING, "Name": STRING, "_sdc_deleted_at": STRING}, ["Email"]
)


@pytest.fixture
def emu(emulator):
    """The test database with one record whose key field (Email) is empty."""
    make_database(emulator)
    with api(emulator) as client:
        client.save_records(DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"B": "Unrelated"}}])
        client.save_records(DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"A": "a@x", "B": "A"}}])
    emulator.clear_log()
    return emulator


def names(emulator: Any) -> list[str]:
    return sorted(r.get("Name", "") for r in rows(emulator, PEOPLE).values())


def errors_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("empty", ["", "   "], ids=["empty string", "only spaces"])
def test_an_empty_upsert_key_is_refused_and_never_overwrites_a_record(emu, caplog, empty):
    messages = [
        PEOPLE_SCHEMA,
        record("people", {"Email": "b@x", "Name": "B"}),
        state({"s": 1}),
        record("people", {"Email": empty, "Name": "Overwriter"}),
    ]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), messages, emu)
    assert run.exit_code == 1
    (error,) = errors_of(caplog)
    for part in ("stream 'people'", "input line 4", "'Email'", "empty"):
        assert part in error, (part, error)
    # The record whose Email is empty keeps its values; nothing was created for it.
    assert names(emu) == ["A", "B", "Unrelated"]
    assert run.states == [{"s": 1}]


def test_a_null_upsert_key_is_refused_too(emu, caplog):
    messages = [PEOPLE_SCHEMA, record("people", {"Email": None, "Name": "Overwriter"})]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), messages, emu)
    assert run.exit_code == 1
    (error,) = errors_of(caplog)
    assert "'Email'" in error and "input line 2" in error
    assert names(emu) == ["A", "Unrelated"]


def test_several_empty_keys_do_not_collapse_into_one_record(emu):
    messages = [
        PEOPLE_SCHEMA,
        record("people", {"Email": "", "Name": "One"}),
        record("people", {"Email": "", "Name": "Two"}),
    ]
    run = run_target(target_config(emu), messages, emu)
    assert run.exit_code == 1
    assert names(emu) == ["A", "Unrelated"]


@pytest.mark.parametrize("empty", ["", "  "], ids=["empty string", "only spaces"])
def test_a_hard_delete_by_an_empty_key_is_refused_and_deletes_nothing(emu, caplog, empty):
    deleted = record("people", {"Email": empty, "_sdc_deleted_at": "2024-01-01T00:00:00Z"})
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu, hard_delete=True), [PEOPLE_SCHEMA, deleted], emu)
    assert run.exit_code == 1
    (error,) = errors_of(caplog)
    assert "'Email'" in error and "input line 2" in error
    assert names(emu) == ["A", "Unrelated"]
    assert emu.request_count(method="DELETE") == 0


def test_the_key_index_offers_no_empty_key_of_a_ninox_record(emu):
    table = NinoxTable.from_api(TEST_TABLES[0])
    index = KeyIndex(table, [table.fields[0]])
    with api(emu) as client:
        index.load(ClassicBackend(client), DEMO_TEAM, TEST_DB)
    assert index.get(KeyIndex.key_of([""])) is None
    assert index.get(KeyIndex.key_of([None])) is None
    assert index.get(KeyIndex.key_of(["a@x"])) is not None


def test_the_command_refuses_an_empty_key_with_exit_code_1_and_one_line(emu, tmp_path):
    messages = [PEOPLE_SCHEMA, record("people", {"Email": "", "Name": "Overwriter"})]
    run = run_target_cli(target_config(emu), messages, tmp_path)
    assert run.exit_code == 1
    assert len(run.error_lines) == 1, run.stderr
    assert "'Email'" in run.error_lines[0] and "input line 2" in run.error_lines[0]
    assert "Traceback" not in run.stderr
    assert names(emu) == ["A", "Unrelated"]
