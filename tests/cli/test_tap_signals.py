"""SIGTERM / SIGINT mid-read: the last honest STATE, then exit 143 / 130.

The SDK's own handler exits 0 (an orchestrator would record success). The
tap runs as a subprocess reading a big table from an emulator with latency;
the signal arrives while it pages. The STATE it ends with must resume to
every record: run 1 + run 2 together hold each id of the table.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from ninox_core.transport.client import NinoxClient
from tests.cli_support import run, wait_until_blocked
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, tap_config

TOTAL = 3000


@pytest.fixture
def big_table(emulator):
    with NinoxClient(TEST_KEY, emulator.base_url) as client:
        table = next(t for t in client.list_tables(DEMO_TEAM, CRM_DB) if t.name == "Contact")
        for start in range(0, TOTAL, 1000):
            batch = [
                {"fields": {"First name": f"Name {i}", "Last name": "Signal"}}
                for i in range(start, start + 1000)
            ]
            client.save_records(DEMO_TEAM, CRM_DB, table.id, batch)
        pages = list(client.iter_record_pages(DEMO_TEAM, CRM_DB, table.id, page_size=1000))
    ids = {int(r["id"]) for page in pages for r in page}
    assert len(ids) >= TOTAL
    return table, ids


def run_until_records(config_path, min_records, sig, state_path=None):
    """Start the tap, send `sig` once `min_records` RECORD lines are out; all lines + code."""
    args = [sys.executable, "-m", "tap_ninox.tap", "--config", str(config_path)]
    if state_path:
        args += ["--state", str(state_path)]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stdout is not None and proc.stderr is not None
    lines: list[str] = []
    stderr: list[str] = []
    err_pipe = proc.stderr
    drain = threading.Thread(target=lambda: stderr.extend(err_pipe), daemon=True)
    drain.start()
    records = 0
    sent = False
    for line in proc.stdout:
        lines.append(line)
        if '"type":"RECORD"' in line.replace(" ", ""):
            records += 1
        if not sent and records >= min_records:
            proc.send_signal(sig)
            sent = True
    code = proc.wait(timeout=60)
    drain.join(5)
    proc.stdout.close()
    proc.stderr.close()
    assert sent, "the tap finished before the signal could be sent"
    return [json.loads(x) for x in lines], code, "".join(stderr)


def ids_of(messages, stream):
    return {
        m["record"]["_id"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == stream and m["record"].get("_id")
    }


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_read_writes_the_last_state_and_exits_non_zero(
    emulator, big_table, tmp_path, sig, code
):
    _table, all_ids = big_table
    emulator.faults.add(kind="latency", seconds=0.05, times=None, path=r"/records$")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(emulator, tables=["Contact"], page_size=50)))

    messages, returncode, stderr = run_until_records(config, 500, sig)
    assert returncode == code, stderr[-3000:]
    assert messages[-1]["type"] == "STATE"
    assert f"stopped by {signal.Signals(sig).name}" in stderr
    assert "Traceback" not in stderr
    first = ids_of(messages, "contact")
    assert 500 <= len(first) < len(all_ids)  # stopped mid-read

    # Resuming from that STATE reads the rest: nothing is lost.
    emulator.faults.clear()
    state = tmp_path / "state.json"
    state.write_text(json.dumps(messages[-1]["value"]))
    resumed = run("tap", "--config", str(config), "--state", str(state))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    second = ids_of([json.loads(x) for x in resumed.stdout.splitlines()], "contact")
    assert first | second == all_ids
    assert "resuming an interrupted read" in resumed.stderr
    assert len(second) < len(all_ids)  # it did resume, not start over


def test_a_signal_while_a_message_is_written_waits_for_the_whole_line(
    emulator, big_table, tmp_path
):
    # A reader that does not read: the tap blocks writing to a full pipe, the
    # signal arrives mid-write; every line that comes out must still be whole.
    emulator.faults.clear()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(emulator, tables=["Contact"], page_size=500)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_ninox.tap", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1000)  # let it start, then stop reading
    wait_until_blocked(proc, "write", 1)  # its output pipe is full
    proc.send_signal(signal.SIGTERM)
    rest = proc.stdout.read()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 143
    lines = (first + rest).decode().splitlines()
    parsed = [json.loads(line) for line in lines]  # no half line anywhere
    assert parsed[-1]["type"] == "STATE"
