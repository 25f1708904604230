"""Every Singer message the SDK defines is handled, or refused with one line.

SPEC "Errors and logs": SCHEMA, RECORD, STATE, BATCH and ACTIVATE_VERSION
are handled as the SDK's own targets do, or refused with one line naming
the input line (and stream); never a traceback. target-ninox does not take
BATCH messages (docs/design.md, "Singer messages"): the line says so and
what to do. ACTIVATE_VERSION after its SCHEMA is ignored with one warning,
as the SDK's targets without versioning do.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from tests.cli_support import run
from tests.target_support import (
    PEOPLE,
    STRING,
    make_database,
    record,
    rows,
    run_target,
    run_target_cli,
    schema,
    state,
    target_config,
)

PEOPLE_SCHEMA = schema("people", {"Email": STRING, "Name": STRING})
FIRST = record("people", {"Email": "a@x", "Name": "A"})
BATCH = {
    "type": "BATCH",
    "stream": "people",
    "encoding": {"format": "jsonl", "compression": "gzip"},
    "manifest": ["file:///tmp/tap-ninox-batch-1.json.gz"],
}


@pytest.fixture
def emu(emulator):
    make_database(emulator)
    emulator.clear_log()
    return emulator


def errors_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# Each bad message comes at input line 4, after a committed record and its STATE.
BAD_MESSAGES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "activate_version_before_schema": (
        {"type": "ACTIVATE_VERSION", "stream": "nowhere", "version": 1},
        ["stream 'nowhere'", "ACTIVATE_VERSION", "SCHEMA"],
    ),
    "activate_version_without_version": (
        {"type": "ACTIVATE_VERSION", "stream": "people"},
        ["version"],
    ),
    "activate_version_without_stream": ({"type": "ACTIVATE_VERSION", "version": 1}, ["stream"]),
    "batch_after_schema": (BATCH, ["stream 'people'", "BATCH", "batch_config"]),
    "batch_before_schema": ({**BATCH, "stream": "nowhere"}, ["stream 'nowhere'", "BATCH"]),
    "batch_without_manifest": ({"type": "BATCH", "stream": "people"}, ["BATCH"]),
    "schema_without_schema": ({"type": "SCHEMA", "stream": "other"}, ["schema"]),
    "record_without_record": ({"type": "RECORD", "stream": "people"}, ["record"]),
    "record_without_stream": ({"type": "RECORD", "record": {}}, ["stream"]),
    "state_without_value": ({"type": "STATE"}, ["value"]),
    "schema_not_an_object": (
        {"type": "SCHEMA", "stream": "other", "schema": "abc"},
        ["stream 'other'", "schema must be a JSON object", "'abc'"],
    ),
    "schema_stream_not_a_string": (
        {"type": "SCHEMA", "stream": 5, "schema": {"properties": {}}},
        ["stream must be a string"],
    ),
    "key_properties_not_a_list": (
        {**PEOPLE_SCHEMA, "key_properties": "Email"},
        ["stream 'people'", "key_properties", "'Email'"],
    ),
    "schema_not_a_json_schema": (
        {**PEOPLE_SCHEMA, "schema": {"properties": {"Email": {"type": "strin"}}}},
        ["stream 'people'", "not a valid JSON schema", "'strin'"],
    ),
    "record_stream_not_a_string": (
        {"type": "RECORD", "stream": ["people"], "record": {}},
        ["stream must be a string"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MESSAGES))
def test_a_message_the_target_cannot_take_is_refused_with_one_line(emu, caplog, case):
    message, expected = BAD_MESSAGES[case]
    messages = [PEOPLE_SCHEMA, FIRST, state({"s": 1}), message, record("people", {"Name": "B"})]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), messages, emu)
    assert run.exit_code == 1
    errors = errors_of(caplog)
    assert len(errors) == 1, errors
    for part in ["input line 4", *expected]:
        assert part in errors[0], (part, errors[0])
    assert "internal error" not in errors[0]
    assert not re.search(r"\b[A-Z]\w*(Error|Exception):", errors[0]), errors[0]
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["A"]
    assert run.states == [{"s": 1}]


def test_activate_version_after_the_schema_is_ignored_with_one_warning(emu, caplog):
    version = {"type": "ACTIVATE_VERSION", "stream": "people", "version": 7}
    messages = [PEOPLE_SCHEMA, version, FIRST, version, state({"s": 1})]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), messages, emu)
    assert run.exit_code == 0
    warnings = [r.getMessage() for r in caplog.records if "ACTIVATE_VERSION" in r.getMessage()]
    assert [r.levelno for r in caplog.records if "ACTIVATE_VERSION" in r.getMessage()] == [
        logging.WARNING
    ]
    assert "stream 'people'" in warnings[0].lower() or "'people'" in warnings[0]
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["A"]
    assert run.states == [{"s": 1}]


def test_the_command_refuses_a_batch_message_with_exit_code_1_and_no_traceback(emu, tmp_path):
    run = run_target_cli(target_config(emu), [PEOPLE_SCHEMA, FIRST, BATCH], tmp_path)
    assert run.exit_code == 1
    assert len(run.error_lines) == 1, run.stderr
    assert "BATCH" in run.error_lines[0] and "input line 3" in run.error_lines[0]
    assert "Traceback" not in run.stderr
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["A"]


def test_about_lists_neither_batch_nor_activate_version():
    done = run("target", "--about", "--format", "json")
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert "batch" not in about["capabilities"]
    assert "activate-version" not in about["capabilities"]
    assert "batch_config" not in about["settings"]["properties"]
