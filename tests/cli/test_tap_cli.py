"""tap-ninox as a command: user errors end with one clear line and exit code 1."""

from __future__ import annotations

import json

import pytest

from tests.cli_support import Run, run, run_process
from tests.tap_support import tap_config


def run_cli(tmp_path, config, *args, process: bool = False) -> Run:
    """The command with `config` as its file: in this process, or as a real one."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return (run_process if process else run)("tap", "--config", str(path), *args)


@pytest.mark.parametrize(
    ("overrides", "args", "expected"),
    [
        ({"api_key": "wrong-key-77"}, [], "HTTP 401"),
        ({"database_ids": ["nope"]}, ["--discover"], "database_ids: no database nope"),
        ({"tables": ["Nope"]}, [], "'Nope' matches no table"),
        ({"base_url": "http://127.0.0.1:9/v1", "max_retries": 0}, [], "check base_url"),
    ],
)
def test_user_errors_end_with_one_clear_line(emulator, tmp_path, overrides, args, expected):
    result = run_cli(tmp_path, tap_config(emulator, **overrides), *args)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert expected in errors[0]
    assert "Traceback" not in result.stderr
    assert "wrong-key-77" not in result.stderr + result.stdout


def test_a_run_writes_singer_messages_to_stdout(emulator, tmp_path):
    # The real entry point (`python -m tap_ninox.tap`), start-up included.
    result = run_cli(tmp_path, tap_config(emulator, tables=["Lead"]), process=True)
    assert result.returncode == 0, result.stderr
    kinds = [json.loads(line)["type"] for line in result.stdout.splitlines()]
    assert kinds[0] == "SCHEMA"
    assert "RECORD" in kinds
    assert kinds[-1] == "STATE"


def test_a_failure_mid_stream_names_the_stream_and_table(emulator, tmp_path, sleeps):
    # `sleeps`: the retry happens, its wait is recorded.
    emulator.faults.add(kind="status", status=500, times=None, path=r"/tables/D/records$")
    result = run_cli(tmp_path, tap_config(emulator, tables=["Lead"], max_retries=1))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "stream 'lead' (table 'Lead', id D" in last
    assert "HTTP 500" in last
    assert "Traceback" not in result.stderr
