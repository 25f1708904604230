"""A defect inside a connector is reported as one, in both connectors alike.

docs/design.md, "Errors and logs": a failure the user can fix is one ERROR
line; a bug of the connector's own (any other exception) is one ERROR line
that says so and asks for a report, and its traceback is logged at DEBUG.
The bug is planted from outside (tests/bug_injection.py) in the command,
run in-process (tests/cli_support.py), so exit code and stderr are the ones
a user sees. The SDK's
`batch_processing_time` metric tells the real outcome of a batch whose
write (on the write queue's worker) failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from target_ninox.rerun_guard import without_marker
from tests.bug_injection import PLANTED, planted
from tests.cli_support import Run, run
from tests.tap_support import tap_config
from tests.target_support import (
    PEOPLE,
    STRING,
    kept_states,
    make_database,
    record,
    rows,
    schema,
    singer_text,
    state,
    target_config,
)

#: The command of each connector module (tests.cli_support.run).
COMMANDS = {"tap_ninox.tap": "tap", "target_ninox.target": "target"}


def run_with_bug(
    spec: str,
    call_number: int,
    connector: str,
    config: dict[str, Any],
    tmp_path: Path,
    *,
    log_level: str = "INFO",
    input_text: str | None = None,
) -> Run:
    """Run the connector's command in-process with the bug planted (and removed after)."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    which = COMMANDS[connector]
    env = {f"{which.upper()}_NINOX_LOGLEVEL": log_level}
    with planted(spec, call_number):
        return run(which, "--config", str(config_path), env=env, input=input_text)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line]


def metric_statuses(stderr: str, metric: str) -> list[str]:
    found = []
    for line in stderr.splitlines():
        if f'"metric":"{metric}"' in line:
            point = json.loads(line[line.index("METRIC: ") + len("METRIC: ") :])
            found.append(point["tags"]["status"])
    return found


# The second batch's write fails (batch_size_rows 1): the first is committed.
TARGET_BUG = "target_ninox.writer:TableWriter.write"
TARGET_INPUT = singer_text(
    [
        schema("people", {"Email": STRING, "Name": STRING}),
        record("people", {"Name": "First"}),
        state({"s": 1}),
        record("people", {"Name": "Second"}),
        state({"s": 2}),
    ]
)


@pytest.fixture
def emu(emulator):
    make_database(emulator)
    return emulator


def test_a_bug_in_the_targets_write_is_one_line_that_says_so(emu, tmp_path):
    config = target_config(emu, batch_size_rows=1)
    done = run_with_bug(
        TARGET_BUG, 2, "target_ninox.target", config, tmp_path, input_text=TARGET_INPUT
    )
    assert done.returncode == 1, done.stderr[-3000:]
    (line,) = error_lines(done.stderr)
    for part in ("internal error", PLANTED, "stream 'people'", "report", "DEBUG"):
        assert part in line, (part, line)
    assert "Traceback" not in done.stderr
    # What was committed before the bug stays, with its STATE.
    assert [r["Name"] for r in rows(emu, PEOPLE).values()] == ["First"]
    emitted = [json.loads(line) for line in done.stdout.splitlines()]
    assert [without_marker(emitted[i]) for i in kept_states(emitted)] == [{"s": 1}]


def test_a_bug_in_the_targets_write_shows_its_traceback_at_debug(emu, tmp_path):
    config = target_config(emu, batch_size_rows=1)
    done = run_with_bug(
        TARGET_BUG,
        2,
        "target_ninox.target",
        config,
        tmp_path,
        log_level="DEBUG",
        input_text=TARGET_INPUT,
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert f"RuntimeError: {PLANTED}" in done.stderr
    assert "in planted" in done.stderr  # the frame where the bug was raised


def test_batch_processing_time_tells_a_failed_write_as_failed(emu, tmp_path):
    config = target_config(emu, batch_size_rows=1)
    done = run_with_bug(
        TARGET_BUG, 2, "target_ninox.target", config, tmp_path, input_text=TARGET_INPUT
    )
    assert done.returncode == 1
    assert metric_statuses(done.stderr, "batch_processing_time") == ["succeeded", "failed"]


def test_a_user_error_is_not_called_a_bug(emu, tmp_path):
    # The same command and input, no bug planted: a bad line is the user's.
    config = target_config(emu)
    bad_input = TARGET_INPUT + "not json\n"
    done = run_with_bug(
        "target_ninox.writer:TableWriter.write",
        99,
        "target_ninox.target",
        config,
        tmp_path,
        input_text=bad_input,
    )
    assert done.returncode == 1
    (line,) = error_lines(done.stderr)
    assert "input line 6" in line and "internal error" not in line


TAP_BUG = "tap_ninox.streams:TableStream.get_record_pages"


def test_a_bug_in_the_tap_is_one_line_that_says_so(emulator, tmp_path):
    done = run_with_bug(TAP_BUG, 1, "tap_ninox.tap", tap_config(emulator), tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    lines = error_lines(done.stderr)
    assert len(lines) == 1, lines
    for part in ("internal error", PLANTED, "report", "DEBUG"):
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in done.stderr


def test_a_bug_in_the_tap_shows_its_traceback_at_debug(emulator, tmp_path):
    done = run_with_bug(
        TAP_BUG, 1, "tap_ninox.tap", tap_config(emulator), tmp_path, log_level="DEBUG"
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert f"RuntimeError: {PLANTED}" in done.stderr
    assert "in planted" in done.stderr
