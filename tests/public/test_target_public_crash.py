"""target-ninox killed (SIGKILL) while Ninox 4 applies a create, then rerun from its last STATE.

The emulator kills the target the moment a create POST arrives and then
applies it: the records are in the table, their answer never reached the
target, and no STATE covers them. On a table with history the rerun finds
them through the change feed (the rerun marker's cursor); on a table
without history the marker says the batch was in doubt, and the rerun
stops with one line instead of creating it again (decision 0024).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from target_ninox.rerun_guard import MARKER_KEY, marker_of, without_marker
from tests.public.target_public_support import (
    CONTACTS,
    LEADS,
    MODULE,
    new_rows,
    people,
    people_schema,
    person,
    public_config,
    rows,
)
from tests.target_support import run_target, singer_text, state

TOTAL, EVERY = 50, 10


def messages(stream: str) -> list[dict[str, Any]]:
    """SCHEMA, TOTAL persons, a STATE {"n": k} after every EVERY (one batch each)."""
    out: list[dict[str, Any]] = [people_schema(stream)]
    for n in range(1, TOTAL + 1):
        out.append(person(n, stream=stream))
        if n % EVERY == 0:
            out.append(state({"n": n}))
    return out


def killed_at_create(emu: Any, stream: str, nth: int, tmp: Path) -> list[dict[str, Any]]:
    """Run target-ninox as a command; SIGKILL it as its `nth` create POST arrives.

    The emulator applies that POST after the kill. Returns the STATEs it emitted.
    """
    config_path, input_path = tmp / "config.json", tmp / "input.jsonl"
    config_path.write_text(json.dumps(public_config(emu, batch_size_rows=EVERY)))
    input_path.write_text(singer_text(messages(stream)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_NINOX_")}
    env["TARGET_NINOX_LOGLEVEL"] = "WARNING"
    command = [sys.executable, "-m", "target_ninox.target", "--config", str(config_path)]
    process = subprocess.Popen(  # our own command
        [*command, "--input", str(input_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    seen = [0]

    def kill_on_create(entry: Any) -> None:
        if entry.method == "POST" and entry.path.endswith(f"/tables/{stream}/records"):
            seen[0] += 1
            if seen[0] == nth:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()  # dead before the POST is applied and answered

    emu.on_request(kill_on_create)
    try:
        stdout, _ = process.communicate(timeout=60)
    finally:
        emu.clear_hooks()
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while emu.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def resume_after(stream: str, last: dict[str, Any]) -> list[dict[str, Any]]:
    """The SCHEMA, `last` as the tap's input state, then the input after its STATE."""
    all_messages = messages(stream)
    at = all_messages.index(state(without_marker(last)))
    return [all_messages[0], state(last), *all_messages[at + 1 :]]


def test_killed_mid_create_on_a_history_table_reruns_exact(public_emulator, tmp_path):
    emu = public_emulator
    emu.set_unique(MODULE, CONTACTS, "email", unique=False)  # a duplicate would show
    before = rows(emu, CONTACTS)
    states = killed_at_create(emu, CONTACTS, 3, tmp_path)
    last = states[-1]
    assert without_marker(last) == {"n": 20}
    assert len(rows(emu, CONTACTS)) == len(before) + 30  # the third batch was applied
    rerun = run_target(public_config(emu, batch_size_rows=EVERY), resume_after(CONTACTS, last))
    assert rerun.exit_code == 0
    assert rerun.states[-1] == {"n": TOTAL}
    assert new_rows(before, rows(emu, CONTACTS)) == people(range(1, TOTAL + 1))


def test_killed_mid_create_without_history_stops_the_rerun_with_one_line(
    public_emulator, tmp_path, caplog
):
    emu = public_emulator
    emu.set_unique(MODULE, LEADS, "email", unique=False)  # a duplicate would show
    before = rows(emu, LEADS)
    states = killed_at_create(emu, LEADS, 3, tmp_path)
    last = states[-1]
    assert without_marker(last) == {"n": 20}
    marker = marker_of(last)
    assert marker is not None
    assert marker["tables"][LEADS]["in_doubt"] == [24, 33]  # the third batch's lines
    assert len(rows(emu, LEADS)) == len(before) + 30
    config = public_config(emu, batch_size_rows=EVERY)

    with caplog.at_level(logging.ERROR):
        rerun = run_target(config, resume_after(LEADS, last))
    assert rerun.exit_code == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'leads'" in line and "input lines 24-33" in line and "in_doubt" in line
    assert len(rows(emu, LEADS)) == len(before) + 30  # nothing created twice
    # Its STATE keeps the doubt: rerunning again stops again.
    kept = marker_of(rerun.raw_states[-1])
    assert kept is not None
    assert kept["tables"][LEADS]["in_doubt"] == [24, 33]

    # The user checks the table, deletes the doubtful batch, takes the mark out.
    doubtful = [rid for rid, v in rows(emu, LEADS).items() if v.get("email") in _emails(21, 30)]
    emu.delete_records(MODULE, LEADS, doubtful)
    del marker["tables"][LEADS]["in_doubt"]
    fixed = {**without_marker(last), MARKER_KEY: marker}
    again = run_target(config, resume_after(LEADS, fixed))
    assert again.exit_code == 0
    assert new_rows(before, rows(emu, LEADS)) == people(range(1, TOTAL + 1))


def test_a_run_without_a_kill_leaves_nothing_in_doubt(public_emulator):
    emu = public_emulator
    run = run_target(public_config(emu, batch_size_rows=EVERY), messages(LEADS), emu)
    assert run.exit_code == 0
    for value in run.raw_states[-1:]:
        entry = (marker_of(value) or {}).get("tables", {}).get(LEADS, {})
        assert "in_doubt" not in entry


def _emails(first: int, last: int) -> set[str]:
    return {f"p{n}@x.test" for n in range(first, last + 1)}
