"""target-ninox stopped by SIGTERM/SIGINT: what it read is written, then exit 143/130.

The SDK drains the sinks on a signal (so the records read so far reach
Ninox and their STATE is emitted) but exits 0; an orchestrator would record
success.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from target_ninox.rerun_guard import without_marker
from tests.cli_support import wait_until_reading_stdin
from tests.target_support import (
    TEST_DB,
    make_database,
    record,
    rows,
    schema,
    singer_text,
    target_config,
)

PEOPLE = {"Email": {"type": ["string", "null"]}, "Name": {"type": ["string", "null"]}}


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_drains_then_exits_non_zero(emulator, tmp_path, sig, code):
    make_database(emulator)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(target_config(emulator)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "target_ninox.target", "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    messages = [schema("people", PEOPLE, key_properties=["Email"])]
    messages += [record("people", {"Email": f"p{i}@x.org", "Name": "P"}) for i in range(3)]
    messages.append({"type": "STATE", "value": {"bookmarks": {"people": {"n": 3}}}})
    proc.stdin.write(singer_text(messages))
    proc.stdin.flush()
    wait_until_reading_stdin(proc)  # the input stays open: the target waits for more
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-3000:]
    assert len(rows(emulator, "A", TEST_DB)) == 3
    # a target emits bare state values (plus its rerun marker)
    states = [without_marker(json.loads(x)) for x in out.splitlines()]
    assert states, err[-3000:]
    assert states[-1] == {"bookmarks": {"people": {"n": 3}}}
