"""Killed at any point and rerun from its last STATE, a load ends exact.

The target runs as a command (`target-ninox --input FILE`) and is killed
with SIGKILL after a random delay; the test then does what a pipeline does:
it feeds the SCHEMA and the input after the STATE message the target last
emitted, that STATE first (as a tap hands its input state back). Keyed,
`_id` and unkeyed loads end with every record exactly once: the rerun
finds the creates the killed run made after its last STATE through the
STATE's rerun marker (target_ninox/rerun_guard.py, docs/design.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from target_ninox.rerun_guard import marker_of, without_marker
from tests.cli_support import wait_for_requests, wait_until_reading_stdin
from tests.target_support import (
    PEOPLE,
    START_STATE,
    STRING,
    make_database,
    record,
    records_with_states,
    rows,
    run_target,
    schema,
    singer_text,
    state,
    target_config,
)

#: Records in a default test's load: four STATE intervals, twenty batches,
#: enough for a kill between and within intervals (the sweeps load more).
TOTAL = 2_000
#: Records in a sweep's load (`--run-slow`): a hundred batches to kill among.
SWEEP_TOTAL = 10_000
EVERY = 500  # a STATE every EVERY records
BATCH = 100
PROPS = {"_id": {"type": ["integer", "null"]}, "Email": STRING, "Name": STRING}


def load_messages(mode: str, total: int = TOTAL) -> list[dict[str, Any]]:
    """SCHEMA, `total` records, a STATE {"n": k} after every EVERY records."""
    keys = ["Email"] if mode == "keyed" else []
    messages: list[dict[str, Any]] = [schema("people", PROPS, keys)]
    for n in range(1, total + 1):
        values: dict[str, Any] = {"Email": f"p{n}@x", "Name": f"n{n}"}
        if mode == "_id":
            values["_id"] = n
        messages.append(record("people", values))
        if n % EVERY == 0:
            messages.append(state({"n": n}))
    return messages


def resume_after(messages: list[dict[str, Any]], last: dict | None) -> list[dict[str, Any]]:
    """What a pipeline sends after the target emitted `last`.

    The SCHEMA, `last` as the tap's input state (rerun marker included),
    then the input after it.
    """
    if last is None:
        return messages
    if without_marker(last) == START_STATE:
        return [state(last), *messages]
    at = messages.index(state(without_marker(last)))
    return [messages[0], state(last), *messages[at + 1 :]]


def command(config_path: Path, input_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "target_ninox.target",
        "--config",
        str(config_path),
        "--input",
        str(input_path),
    ]


def start(config: dict[str, Any], messages: list[dict[str, Any]], tmp: Path) -> subprocess.Popen:
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    input_path = tmp / "input.jsonl"
    input_path.write_text(singer_text(messages))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_NINOX_")}
    env["TARGET_NINOX_LOGLEVEL"] = "WARNING"
    return subprocess.Popen(
        command(config_path, input_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def wait_for_posts(
    emulator, at_least: int, process: subprocess.Popen | None = None, timeout: float = 60
) -> None:
    """Return once the emulator received its `at_least`-th POST (an event, not a guess)."""
    wait_for_requests(emulator, at_least, process, method="POST", timeout=timeout)


def states_of(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def crash_and_rerun(
    emulator, tmp: Path, mode: str, seed: int, variant: str = "", total: int = TOTAL
) -> None:
    rng = random.Random(seed)
    make_database(emulator)
    emulator.clear_log()
    if variant:
        emulator.variants.enable(variant)
    config = target_config(emulator, batch_size_rows=BATCH)
    messages = load_messages(mode, total)
    process = start(config, messages, tmp)
    try:
        # Kill somewhere among the load's POSTs, plus a random fraction of one.
        wait_for_posts(emulator, rng.randint(1, total // BATCH - 5), process)
        time.sleep(rng.random() * 0.01)
        process.send_signal(signal.SIGKILL)
        stdout, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    emitted = states_of(stdout)
    last = emitted[-1] if emitted else None
    covered = last.get("n", 0) if last else 0
    if last is not None:
        assert marker_of(last) is not None  # what lets the rerun find the creates
    at_kill = len(rows(emulator, PEOPLE))
    # Every STATE is emitted as soon as its records are in Ninox: the table
    # holds at most one STATE interval plus one batch beyond the last STATE.
    assert covered <= at_kill < covered + EVERY + BATCH, (seed, covered, at_kill)

    rerun = run_target(config, resume_after(messages, last))
    assert rerun.exit_code == 0, seed
    assert rerun.states[-1] == {"n": total}
    table = rows(emulator, PEOPLE)
    emails = sorted(r["Email"] for r in table.values())
    expected = sorted(f"p{n}@x" for n in range(1, total + 1))
    assert emails == expected, (seed, covered, at_kill)
    if mode == "_id":
        assert sorted(table) == list(range(1, total + 1))


@pytest.mark.parametrize(("mode", "seed"), [("keyed", 1), ("_id", 2), ("unkeyed", 3)])
def test_killed_load_rerun_from_last_state_ends_exact(emulator, tmp_path, mode, seed):
    crash_and_rerun(emulator, tmp_path, mode, seed)


@pytest.mark.parametrize(
    ("mode", "variant", "seed"),
    [("keyed", "names_for_ids", 4), ("unkeyed", "names_for_ids", 5)],
)
def test_killed_load_under_server_variant_ends_exact(emulator, tmp_path, mode, variant, seed):
    crash_and_rerun(emulator, tmp_path, mode, seed, variant)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 120))
@pytest.mark.parametrize("variant", ["", "names_for_ids"])
@pytest.mark.parametrize("mode", ["keyed", "_id", "unkeyed"])
def test_killed_load_sweep(emulator, tmp_path, mode, variant, seed):
    crash_and_rerun(emulator, tmp_path, mode, seed, variant, SWEEP_TOTAL)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 203))
@pytest.mark.parametrize("variant", ["partial_batch", "partial_batch_drop"])
@pytest.mark.parametrize("mode", ["keyed", "_id", "unkeyed"])
def test_killed_load_sweep_partial_batches(emulator, tmp_path, mode, variant, seed):
    crash_and_rerun(emulator, tmp_path, mode, seed, variant, SWEEP_TOTAL)


def test_retries_exhausted_after_three_batches_emits_their_states(emulator, sleeps):
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=20, max_retries=2)
    messages = [schema("people", PROPS)]
    messages += records_with_states("people", 100, 20, lambda n: {"Email": f"p{n}@x"})
    emulator.faults.add("status", status=503, times=None, method="POST", after=3)
    try:
        run = run_target(config, messages)
    finally:
        emulator.faults.clear()
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 60
    assert run.states == [{"n": 20}, {"n": 40}, {"n": 60}]


def next_state(process: subprocess.Popen) -> dict[str, Any]:
    """The next STATE the target emits, without marker; its start STATE skipped."""
    assert process.stdout is not None
    while True:
        value = without_marker(json.loads(process.stdout.readline()))
        if value != START_STATE:
            return value


def _stdin_target(config: dict[str, Any], tmp: Path) -> subprocess.Popen:
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_NINOX_")}
    env["TARGET_NINOX_LOGLEVEL"] = "WARNING"
    return subprocess.Popen(
        [sys.executable, "-m", "target_ninox.target", "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


@pytest.mark.parametrize(
    ("signum", "keyed"), [(signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGTERM, False)]
)
def test_signal_while_waiting_for_input_commits_and_exits_128_plus_signal(
    emulator, tmp_path, signum, keyed
):
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=50)
    process = _stdin_target(config, tmp_path)
    assert process.stdin is not None and process.stdout is not None
    messages = [schema("people", PROPS, ["Email"] if keyed else [])]
    messages += records_with_states("people", 120, 50, lambda n: {"Email": f"p{n}@x"})
    process.stdin.write(singer_text(messages).encode())
    process.stdin.flush()
    try:
        # STATE 100 comes out once records 1-100 are in Ninox; 101-120 wait.
        assert next_state(process) == {"n": 50}
        assert next_state(process) == {"n": 100}
        wait_until_reading_stdin(process)  # records 101-120 read; it waits for more input
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signum, stderr.decode()
    assert stdout == b""  # no STATE covers records 101-120
    # Keyed records read are committed; creates no STATE covers are not,
    # since a rerun from STATE 100 sends them again.
    assert len(rows(emulator, PEOPLE)) == (120 if keyed else 100)
    assert signal.Signals(signum).name in stderr.decode()
    rerun = run_target(config, resume_after(messages, {"n": 100}))
    assert rerun.exit_code == 0
    emails = sorted(r["Email"] for r in rows(emulator, PEOPLE).values())
    assert emails == sorted(f"p{n}@x" for n in range(1, 121))


@pytest.mark.parametrize("mode", ["keyed", "unkeyed"])
def test_sigterm_mid_load_emits_the_last_honest_state_and_exits_143(emulator, tmp_path, mode):
    make_database(emulator)
    emulator.clear_log()
    config = target_config(emulator, batch_size_rows=BATCH)
    messages = load_messages(mode)
    process = start(config, messages, tmp_path)
    try:
        wait_for_posts(emulator, 12, process)  # past two STATEs, eight batches before the end
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr.decode()
    last = states_of(stdout)[-1]
    table = rows(emulator, PEOPLE)
    # Every record the last STATE covers is in Ninox, and it is the latest
    # STATE whose records all are.
    assert last["n"] <= len(table) <= last["n"] + EVERY
    assert {f"p{n}@x" for n in range(1, last["n"] + 1)} <= {r["Email"] for r in table.values()}
    if mode == "unkeyed":
        # A signal never cuts a commit, and creates after the last STATE
        # are left for the rerun: nothing beyond that STATE is in Ninox.
        assert len(table) == last["n"]
    rerun = run_target(config, resume_after(messages, last))
    assert rerun.exit_code == 0
    emails = sorted(r["Email"] for r in rows(emulator, PEOPLE).values())
    assert emails == sorted(f"p{n}@x" for n in range(1, TOTAL + 1))


def test_unkeyed_load_killed_while_waiting_for_input_reruns_exact(emulator, tmp_path):
    make_database(emulator)
    config = target_config(emulator, batch_size_rows=100)
    messages = load_messages("unkeyed")[: 1 + 1000 + 2 + 150]  # 1,150 records, STATE 1000 read
    assert messages[-151] == state({"n": 1000})
    process = _stdin_target(config, tmp_path)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(singer_text(messages).encode())
    process.stdin.flush()
    try:
        last: dict[str, Any] = {}
        while without_marker(last) != {"n": 1000}:
            last = json.loads(process.stdout.readline())  # the start STATE too
        wait_until_reading_stdin(process)  # records 1001-1150 read; it waits for more
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # A full batch of creates waits for its STATE: nothing past STATE 1000.
    assert len(rows(emulator, PEOPLE)) == 1000
    rerun = run_target(config, resume_after(load_messages("unkeyed"), last))
    assert rerun.exit_code == 0
    emails = sorted(r["Email"] for r in rows(emulator, PEOPLE).values())
    assert emails == sorted(f"p{n}@x" for n in range(1, TOTAL + 1))
