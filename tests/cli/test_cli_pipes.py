"""Commands a user runs end in one line, never a traceback: closed pipes, taken ports.

When the reader of a pipe stops (a target that failed, `| head`), the tap
used to end with "An unhandled error occurred while syncing 'contact'",
which reads as a tap bug; the ids tool and the emulator ended in tracebacks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TEST_KEY
from tests.tap_support import tap_config


def reader_gone(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `args` with a stdout pipe whose reader closed before the first line."""
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def test_the_tap_says_its_output_pipe_closed_when_the_reader_stops(emulator, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(emulator)))
    code, stderr = reader_gone([sys.executable, "-m", "tap_ninox.tap", "--config", str(config)])
    assert code == 1, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, stderr[-2000:]
    assert "closed the pipe" in errors[0] and "the program reading its output" in errors[0]
    assert "An unhandled error occurred" not in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_the_ids_tool_stops_quietly_when_its_reader_stops(emulator):
    code, stderr = reader_gone(
        [sys.executable, "-m", "tap_ninox.ids"]
        if not os.environ.get("OLD_IDS")
        else [sys.executable, os.environ["OLD_IDS"]],
        env={"TAP_NINOX_API_KEY": TEST_KEY, "TAP_NINOX_BASE_URL": emulator.base_url},
    )
    assert code == 1
    assert stderr == ""


def test_the_emulator_on_a_taken_port_says_which_and_what_to_do(emulator):
    done = subprocess.run(
        [sys.executable, "-m", "ninox_emulator.cli", "--port", str(emulator.port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"ninox-emulator: port {emulator.port} on 127.0.0.1 is already in use (another "
        "ninox-emulator still running?); stop that program, or choose another port with "
        "--port N (--port 0 takes a free one)"
    ]


def test_the_emulator_with_a_data_file_that_is_no_snapshot_says_so(tmp_path):
    data = tmp_path / "data.json"
    data.write_text("not json")
    done = subprocess.run(
        [sys.executable, "-m", "ninox_emulator.cli", "--port", "0", "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"ninox-emulator: --data file '{data}' is not a snapshot")
