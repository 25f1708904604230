"""SIGTERM/SIGINT cut short every wait: retry back-off, `Retry-After`, lost-answer rounds.

Each connector runs as a real command against the emulator, whose faults
keep it waiting (a 503 storm: minutes of back-off; `Retry-After: 3600`).
The signal is sent once the connector logs that it waits; it must end
within 5 seconds with 143/130, its last STATE the honest one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from target_ninox.rerun_guard import without_marker
from tests.tap_support import tap_config
from tests.target_support import (
    PEOPLE,
    PEOPLE_PROPS,
    TEST_KEY,
    make_database,
    record,
    rows,
    schema,
    singer_text,
    state,
    target_config,
)

MODULES = {"tap": "tap_ninox.tap", "target": "target_ninox.target"}
#: The SPEC's bound, from the signal to the end of the process.
STOP_WITHIN = 5.0


def signal_when_waiting(
    which: str,
    config: dict[str, Any],
    tmp_path: Path,
    sig: signal.Signals,
    waiting: str,
    stdin: str | None = None,
) -> tuple[int, float, list[str], str]:
    """Run a connector; send `sig` once stderr shows `waiting`.

    Returns the exit code, the seconds from the signal to the exit, stdout's
    lines and stderr. Stdin (for the target) stays open: it waits for more.
    """
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_NINOX", "TARGET_NINOX"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", MODULES[which], "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    if stdin:
        proc.stdin.write(stdin)
        proc.stdin.flush()
    seen = threading.Event()
    err_lines: list[str] = []
    out_lines: list[str] = []
    err_pipe, out_pipe = proc.stderr, proc.stdout

    def read_err() -> None:
        for line in err_pipe:
            err_lines.append(line)
            if waiting in line:
                seen.set()

    readers = [
        threading.Thread(target=read_err, daemon=True),
        threading.Thread(target=lambda: out_lines.extend(out_pipe), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        assert seen.wait(60), "".join(err_lines)[-3000:]
        proc.send_signal(sig)
        sent = time.monotonic()
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        for reader in readers:
            reader.join(5)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()
    return code, elapsed, out_lines, "".join(err_lines)


@pytest.mark.parametrize(
    ("fault", "sig", "code"),
    [
        ({"status": 503}, signal.SIGTERM, 143),
        ({"status": 429, "retry_after": 3600}, signal.SIGTERM, 143),
        ({"status": 503}, signal.SIGINT, 130),
    ],
    ids=["503-storm", "retry-after-3600", "503-storm-sigint"],
)
def test_a_signal_during_a_retry_wait_ends_the_tap_within_5_seconds(
    emulator, tmp_path, fault, sig, code
):
    # The first page is read (and its STATE written); every later one fails.
    emulator.faults.add(kind="status", times=None, path=r"/records$", after=1, **fault)
    config = tap_config(emulator, tables=["Contact"], page_size=2, max_retries=8)
    returncode, elapsed, out, err = signal_when_waiting("tap", config, tmp_path, sig, "retrying in")
    assert returncode == code, err[-3000:]
    assert elapsed < STOP_WITHIN, err[-3000:]
    assert "Traceback" not in err
    messages = [json.loads(line) for line in out]
    assert [m["type"] for m in messages].count("RECORD") == 2
    assert messages[-1]["type"] == "STATE"


def people(first: int, last: int) -> list[dict[str, Any]]:
    return [
        record("people", {"Name": f"P{i}", "Email": f"p{i}@x.org"}) for i in range(first, last + 1)
    ]


@pytest.mark.parametrize(
    ("fault", "waiting", "sig", "code"),
    [
        # A create's 503 is a lost answer: the table is read back, then the
        # POST is sent again after a growing pause (minutes in all).
        ({"status": 503}, "Reading back", signal.SIGTERM, 143),
        ({"status": 429, "retry_after": 3600}, "retrying in", signal.SIGTERM, 143),
        ({"status": 429, "retry_after": 3600}, "retrying in", signal.SIGINT, 130),
    ],
    ids=["lost-answer-rounds", "retry-after-3600", "retry-after-3600-sigint"],
)
def test_a_signal_during_a_retry_wait_ends_the_target_within_5_seconds(
    emulator, tmp_path, fault, waiting, sig, code
):
    make_database(emulator)
    # The first batch is written; every later POST fails.
    emulator.faults.add(kind="status", times=None, method="POST", after=1, **fault)
    config = target_config(
        emulator, max_retries=8, batch_size_rows=3, upsert_keys={"people": ["Email"]}
    )
    messages = [schema("people", PEOPLE_PROPS), *people(1, 3), state({"n": 3}), *people(4, 6)]
    returncode, elapsed, out, err = signal_when_waiting(
        "target", config, tmp_path, sig, waiting, singer_text(messages)
    )
    assert returncode == code, err[-3000:]
    assert elapsed < STOP_WITHIN, err[-3000:]
    assert "Traceback" not in err
    assert f"stopped by {sig.name}" in err
    states = [without_marker(json.loads(line)) for line in out]
    assert states and states[-1] == {"n": 3}
    emulator.set_api_key(TEST_KEY)
    assert {"P1", "P2", "P3"} <= {r["Name"] for r in rows(emulator, PEOPLE).values()}
