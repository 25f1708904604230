"""Input the target must read right: bytes that are not UTF-8, blank lines,
odd `_id` values, and how messages show values."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from target_ninox.rerun_guard import without_marker
from tests.cli_support import Run, run, run_process
from tests.target_support import (
    DEMO_TEAM,
    PEOPLE,
    PEOPLE_PROPS,
    TEST_DB,
    make_database,
    record,
    rows,
    run_target,
    schema,
    singer_file,
    singer_lines,
    state,
    target_config,
)


def _run_cli(config: dict, data: bytes, tmp: Path, *, stdin: bool) -> Run:
    """The command with `data` on its real stdin (a process), or in an --input file (in-process)."""
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    if stdin:
        return run_process("target", "--config", str(config_path), input=data)
    input_path = tmp / "input.jsonl"
    input_path.write_bytes(data)
    return run("target", "--config", str(config_path), "--input", str(input_path))


def _line(message: dict) -> bytes:
    return json.dumps(message).encode() + b"\n"


@pytest.mark.parametrize("stdin", [False, True])
@pytest.mark.parametrize("names_stream", [True, False])
def test_invalid_utf8_is_reported_at_its_line_after_committing_what_came_before(
    emulator, tmp_path, stdin, names_stream
):
    make_database(emulator)
    # Far enough in that a text decoder's read-ahead would miscount lines.
    data = _line(schema("people", PEOPLE_PROPS))
    for n in range(1, 6001):
        data += _line(record("people", {"Name": f"n{n}", "Notes": "é" * 20}))
        if n % 1000 == 0:
            data += _line(state({"n": n}))
    bad_line = data.count(b"\n") + 1
    # The file's first line is the bad one, then a RECORD that must never be written.
    tail = "invalid_utf8_line" if names_stream else "invalid_utf8_line_without_stream"
    data += singer_file(tail).read_bytes()
    done = _run_cli(target_config(emulator), data, tmp_path, stdin=stdin)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, done.stderr[-2000:]
    assert f"input line {bad_line}:" in errors[0] and "UTF-8" in errors[0]
    if names_stream:
        assert "stream 'people'" in errors[0]
    else:
        assert "does not say which stream" in errors[0]
    assert len(rows(emulator, PEOPLE)) == 6000
    states = [without_marker(json.loads(s)) for s in done.stdout.splitlines()]
    assert states[-1] == {"n": 6000}


def test_blank_lines_between_messages_are_skipped(emulator):
    make_database(emulator)
    run = run_target(target_config(emulator), singer_lines("blank_lines_between_messages"))
    assert run.exit_code == 0
    assert sorted(r["Name"] for r in rows(emulator, PEOPLE).values()) == ["a", "b"]
    assert run.states == [{"n": 2}]


def _error(caplog, messages, emulator) -> str:
    with caplog.at_level(logging.ERROR):
        run = run_target(target_config(emulator), messages)
    assert run.exit_code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return error


# Each file is a SCHEMA with an `_id` property, then a RECORD with that `_id` (line 2).
@pytest.mark.parametrize(
    ("case", "shown"),
    [
        ("id_out_of_range_too_big", str(2**70)),
        ("id_out_of_range_negative", "-1"),
        ("id_out_of_range_fraction", "2.5"),
        ("id_out_of_range_text", "'7a'"),
    ],
)
def test_id_out_of_range_is_one_clear_line(emulator, caplog, case, shown):
    make_database(emulator)
    error = _error(caplog, singer_lines(case), emulator)
    assert "stream 'people', input line 2" in error and "_id" in error
    assert f"not {shown}" in error and "9007199254740991" in error
    assert rows(emulator, PEOPLE) == {}


def test_a_line_without_type_says_so(emulator, caplog):
    make_database(emulator)
    error = _error(caplog, singer_lines("line_without_type"), emulator)
    assert 'input line 2: the line has no "type"' in error
    assert "message message" not in error


def test_decimal_values_show_as_numbers(emulator, caplog):
    make_database(emulator)
    # Parsed as a Decimal by the SDK; the message must still show 3.5.
    error = _error(caplog, singer_lines("decimal_value_refused"), emulator)
    assert "3.5 is not of type" in error and "Decimal" not in error


def test_rows_already_sharing_a_key_update_the_lowest_id(emulator, caplog):
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM,
        TEST_DB,
        PEOPLE,
        [{"fields": {"Email": "a@x", "Name": f"old{i}"}} for i in range(3)],
    )
    config = target_config(emulator, upsert_keys={"people": ["Email"]})
    with caplog.at_level(logging.WARNING):
        run = run_target(
            config,
            [schema("people", PEOPLE_PROPS), record("people", {"Email": "a@x", "Name": "new"})],
        )
    assert run.exit_code == 0
    assert {i: r["Name"] for i, r in rows(emulator, PEOPLE).items()} == {
        1: "new",
        2: "old1",
        3: "old2",
    }
    assert any("2 records share an upsert key" in r.getMessage() for r in caplog.records)
