"""target-ninox's failures: bad input, refused batches, one clear line, no secrets."""

from __future__ import annotations

import logging

import pytest

from tests.target_support import (
    COMPANIES,
    NUMBER,
    PEOPLE,
    PEOPLE_PROPS,
    make_database,
    record,
    rows,
    run_target,
    run_target_cli,
    schema,
    singer_lines,
    state,
    target_config,
)


@pytest.fixture
def emu(emulator):
    make_database(emulator)
    emulator.clear_log()
    return emulator


PEOPLE_SCHEMA = schema("people", PEOPLE_PROPS)
GOOD = record("people", {"Name": "Before", "Email": "before@x"})

# Each file is SCHEMA, RECORD, STATE, <bad line>, RECORD, STATE: the bad line is line 4.
BAD_INPUT = {
    "not_json_line": ["input line 4", "not valid JSON"],
    "record_before_schema": ["stream 'companies'", "input line 4", "before the stream's SCHEMA"],
    "record_fails_its_schema": ["stream 'people'", "input line 4", "'Age'", "'very'"],
    "unknown_stream": ["stream 'nowhere'", "input line 4", "'People' (A)"],
    "unknown_field": ["stream 'people'", "input line 4", "'Hat size'", "unknown_fields"],
    "value_not_convertible": ["stream 'people'", "input line 4", "'Kind'", "'Martian'", "'Person'"],
    "line_without_type_after_records": ["input line 4", "type"],
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_commits_earlier_records_then_fails_with_one_line(emu, caplog, case):
    expected = BAD_INPUT[case]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), singer_lines(case), emu)
    assert run.exit_code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    for part in expected:
        assert part in errors[0], (part, errors[0])
    # Everything before the bad line is in Ninox, then its STATE was emitted.
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["Before"]
    assert run.states == [{"s": 1}]
    assert run.posts_at_state == [1]


def test_missing_key_property_names_it(emu, caplog):
    keyed = schema("people", PEOPLE_PROPS, ["Email"])
    with caplog.at_level(logging.ERROR):
        run = run_target(target_config(emu), [keyed, GOOD, record("people", {"Name": "No mail"})])
    assert run.exit_code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'people'" in error and "input line 3" in error and "'Email'" in error
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["Before"]


def test_cli_exit_code_and_one_error_line_without_traceback(emu, tmp_path):
    messages = [PEOPLE_SCHEMA, GOOD, state({"s": 1}), record("people", {"Age": "x"})]
    run = run_target_cli(target_config(emu), messages, tmp_path)
    assert run.exit_code == 1
    assert len(run.error_lines) == 1, run.stderr
    assert "stream 'people'" in run.error_lines[0] and "input line 4" in run.error_lines[0]
    assert "Traceback" not in run.stderr
    assert run.states == [{"s": 1}]
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["Before"]


def test_ninox_refusal_names_the_record_and_keeps_earlier_batches(emu, caplog):
    # A reference to a record that does not exist: only Ninox can tell.
    config = target_config(emu, batch_size_rows=2)
    messages = [
        schema("people", PEOPLE_PROPS),
        record("people", {"Name": "ok 1"}),
        record("people", {"Name": "ok 2"}),
        state({"s": 1}),
        record("people", {"Name": "ok 3"}),
        record("people", {"Name": "bad ref", "Company": 99999}),
        record("people", {"Name": "never"}),
        state({"s": 2}),
    ]
    with caplog.at_level(logging.ERROR):
        run = run_target(config, messages, emu)
    assert run.exit_code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'people'" in error and "input line 6" in error and "refused" in error
    assert sorted(r["Name"] for r in rows(emu, PEOPLE).values()) == ["ok 1", "ok 2"]
    # The batch before the refused one is in Ninox: its STATE, and no later one.
    assert run.states == [{"s": 1}]


def test_api_key_never_appears_in_output_at_debug(emu, tmp_path, sleeps):
    # `sleeps`: the retries happen (and log), their waits are recorded.
    secret = "sk-target-secret-31337"
    emu.set_api_key(secret)
    emu.faults.add(kind="status", status=429, times=1)
    emu.faults.add(kind="lost_response", times=1, method="POST")
    config = target_config(emu, api_key=secret, upsert_keys={"people": ["Email"]})
    messages = [PEOPLE_SCHEMA, GOOD, state({"s": 1}), record("people", {"Age": "x"})]
    run = run_target_cli(config, messages, tmp_path, log_level="DEBUG")
    assert run.exit_code == 1
    assert "DEBUG" in run.stderr
    assert secret not in run.stdout and secret not in run.stderr
    # A wrong key fails clearly, and does not print either key.
    run = run_target_cli(
        {**config, "api_key": "wrong-key-4242"}, messages, tmp_path, log_level="DEBUG"
    )
    assert run.exit_code == 1
    assert "api_key" in run.error_lines[0]
    assert "wrong-key-4242" not in run.stderr and secret not in run.stderr


def test_schema_with_number_for_text_is_written_as_text(emu):
    run = run_target(
        target_config(emu),
        [schema("companies", {"Name": NUMBER}), record("companies", {"Name": 12.5})],
    )
    assert run.exit_code == 0
    assert list(rows(emu, COMPANIES).values()) == [{"Name": "12.5"}]
