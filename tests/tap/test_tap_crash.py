"""SIGKILL the `tap-ninox` process anywhere; resuming from its last STATE stays exact.

Each killed run is the real command in a subprocess. An emulator hook counts
the requests it sends and kills it (SIGKILL) while it waits for the answer
to the k-th, so the kill lands at every kind of point: discovery, between
pages, before the change feed, between streams. A replica is built, as a
target would, from every complete line the dead process wrote; the next run
starts from the last STATE among them. Random creates, updates and deletes
happen between runs, and records deleted earlier are created again under
their id while the change feed keeps listing them as removed (as real
servers may). After two last runs with nothing changing, the
replica must equal the table. A few seeds by default; `--run-slow` sweeps many.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ninox_core.transport.client import NinoxClient
from tests.replica_support import (
    Replica,
    apply,
    apply_rows,
    computed_columns,
    keep_recreated_ids_in_feed,
    random_changes,
    recreate_deleted,
)
from tests.tap_support import TEST_KEY, run_tap, tap_config

STREAMS = ("deal", "lead")
#: About what a run of the two tables at page size 2 sends: some runs end unkilled.
MAX_KILL_AT = 18


def tap_command() -> list[str]:
    script = Path(sys.executable).with_name("tap-ninox")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tap_ninox.tap"]


class Killer:
    """An emulator hook that SIGKILLs the armed process at its k-th request."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.kill_at = 0
        self.seen = 0
        self.killed = False

    def __call__(self, request) -> None:
        process = self.process
        if process is None or self.killed:
            return
        self.seen += 1
        if self.seen >= self.kill_at:
            self.killed = True
            os.kill(process.pid, signal.SIGKILL)


def killed_run(
    tmp_path: Path, killer: Killer, config: dict, state: dict | None, kill_at: int
) -> tuple[list[dict[str, Any]], bool]:
    """Run the command until the hook kills it; the messages it wrote, and whether it died."""
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    args = [*tap_command(), "--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    out_path = tmp_path / "out.jsonl"
    with out_path.open("wb") as out:
        killer.kill_at, killer.seen, killer.killed = kill_at, 0, False
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        killer.process = process
        try:
            code = process.wait(timeout=120)
        finally:
            killer.process = None
    lines = out_path.read_bytes().split(b"\n")
    # A line cut by the kill is not a message; complete lines are.
    messages = [json.loads(line) for line in lines[:-1] if line.strip()]
    assert code == -signal.SIGKILL if killer.killed else code == 0
    return messages, killer.killed


def apply_messages(replica: Replica, messages: list[dict[str, Any]]) -> dict | None:
    """Apply the RECORDs; the last STATE, if any."""
    state = None
    for message in messages:
        if message["type"] == "RECORD":
            apply_rows(replica, message["stream"], [message["record"]])
        elif message["type"] == "STATE":
            state = message["value"]
    return state


def check_seed(emulator, tmp_path: Path, seed: int, runs: int, monkeypatch) -> None:
    rng = random.Random(seed)
    api = NinoxClient(TEST_KEY, emulator.base_url)
    config = tap_config(emulator, tables=["C", "D"], page_size=2, max_retries=0)
    keep_recreated_ids_in_feed(monkeypatch)
    killer = Killer()
    emulator.on_request(killer)
    replica: Replica = {}
    state: dict | None = None
    kills = 0
    for _ in range(runs):
        messages, died = killed_run(tmp_path, killer, config, state, rng.randint(1, MAX_KILL_AT))
        kills += died
        state = apply_messages(replica, messages) or state
        random_changes(api, rng, rng.randint(0, 4))
        if rng.random() < 0.5:
            recreate_deleted(emulator, api, rng, rng.choice(["C", "D"]))
    emulator.clear_hooks()
    # A run that finishes a resumed read keeps the bookmark taken before that
    # read began: changes made since are read by the run after it. Two runs
    # with nothing changing leave the replica exact.
    finishing = run_tap(config, state=state)
    apply(replica, finishing)
    apply(replica, run_tap(config, state=finishing.state))
    assert kills, f"seed {seed}: no run was killed"

    strict = run_tap(dict(config, page_size=500))
    skipped = computed_columns(api)
    for stream in STREAMS:
        expected = {r["_id"]: r for r in strict.records[stream]}
        got = replica.get(stream, {})
        assert set(got) == set(expected), (seed, stream)
        for record_id, row in expected.items():
            assert {c: v for c, v in got[record_id].items() if c not in skipped} == {
                c: v for c, v in row.items() if c not in skipped
            }, (seed, stream, record_id)
    api.close()


@pytest.mark.parametrize("seed", range(3))
def test_killed_runs_resume_to_an_exact_replica(emulator, tmp_path, seed, monkeypatch):
    check_seed(emulator, tmp_path, seed, 3, monkeypatch)


@pytest.mark.slow
def test_killed_runs_resume_to_an_exact_replica_sweep(emulator, tmp_path, monkeypatch):
    for seed in range(3, 40):
        emulator.reset(demo=True)
        emulator.set_api_key(TEST_KEY)
        check_seed(emulator, tmp_path, seed, 6, monkeypatch)
