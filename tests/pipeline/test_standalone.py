"""orchestrate/standalone/sync.sh: tap-ninox | target with a state file, run several times."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from ninox_emulator import NinoxEmulator
from tests.conftest import TEST_KEY

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "orchestrate" / "standalone" / "sync.sh"
TEAM, CRM, CONTACT = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "Contact"


def sync(tmp: Path, *target: str) -> subprocess.CompletedProcess[str]:
    """Run sync.sh with the test's tap config and state file, and `target`."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(SCRIPT), str(tmp / "tap.json"), str(tmp / "state.json"), "--", *target],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def contact_table(emulator: NinoxEmulator) -> str:
    db = emulator.store.database(TEAM, CRM)
    return next(t.id for t in db.tables.values() if t.name == CONTACT)


def test_state_file_carries_runs_and_survives_a_run_without_changes(
    emulator: NinoxEmulator, tmp_path: Path
) -> None:
    (tmp_path / "tap.json").write_text(
        json.dumps(
            {
                "api_key": TEST_KEY,
                "base_url": emulator.base_url,
                "team_id": TEAM,
                "database_ids": [CRM],
                "tables": [CONTACT],
            }
        )
    )
    # The stand-in target (no SDK start-up): what sync.sh does is the point;
    # the README's own sync.sh runs (tests/project/test_readme.py) load DuckDB.
    (tmp_path / "fake_target.py").write_text(FAKE_TARGET)
    target = (sys.executable, "fake_target.py", "0", "pass")

    first = sync(tmp_path, *target)
    assert first.returncode == 0, first.stderr[-3000:]
    state = json.loads((tmp_path / "state.json").read_text())
    bookmark = state["bookmarks"]["contact"]["replication_key_value"]
    assert bookmark == emulator.store.sequence(TEAM, CRM)
    assert len(received(tmp_path)) == 30

    # No change: the state file keeps its bookmark (the old recipe truncated it).
    again = sync(tmp_path, *target)
    assert again.returncode == 0, again.stderr[-3000:]
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bookmarks"]["contact"]["replication_key_value"] == bookmark
    assert len(received(tmp_path)) == 30  # nothing read again

    # One change: only it is read, and the bookmark moves on.
    emulator.store.save_records(
        TEAM, CRM, contact_table(emulator), [{"id": 5, "fields": {"Email": "five@new.example"}}]
    )
    third = sync(tmp_path, *target)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "contact: read 1 records" in third.stderr
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bookmarks"]["contact"]["replication_key_value"] > bookmark
    latest = {r["_id"]: r for r in received(tmp_path)}
    assert len(latest) == 30
    assert [(r["_id"], r["Email"]) for r in received(tmp_path)[30:]] == [(5, "five@new.example")]


def test_a_failed_run_leaves_the_state_file_alone(emulator: NinoxEmulator, tmp_path: Path) -> None:
    (tmp_path / "tap.json").write_text(
        json.dumps({"api_key": TEST_KEY, "base_url": emulator.base_url, "team_id": TEAM})
    )
    (tmp_path / "state.json").write_text(
        '{"bookmarks": {"contact": {"replication_key_value": 7}}}\n'
    )
    before = (tmp_path / "state.json").read_text()
    # The target fails (its config lacks the database): non-zero exit, state unchanged.
    (tmp_path / "target.json").write_text(json.dumps({"api_key": TEST_KEY, "team_id": TEAM}))
    done = sync(tmp_path, "target-ninox", "--config", "target.json")
    assert done.returncode != 0
    assert (tmp_path / "state.json").read_text() == before


#: A Singer target stand-in: keeps each RECORD in records.jsonl, passes each
#: STATE through as committed, and after the STATE numbered argv[1] (0: none)
#: either fails (exit 1) or, with argv[2] == "wait", writes the file argv[3]
#: and waits for Ctrl-C (then exits 130, as the connectors do after their
#: last STATE).
FAKE_TARGET = """
import json, signal, sys
stop_after, mode = int(sys.argv[1]), sys.argv[2]
def interrupted(*_):
    sys.exit(130)
signal.signal(signal.SIGINT, interrupted)
states = 0
for line in sys.stdin:
    message = json.loads(line)
    if message["type"] == "RECORD":
        with open("records.jsonl", "a") as records:
            records.write(json.dumps(message["record"]) + "\\n")
    if message["type"] == "STATE":
        print(json.dumps(message["value"]), flush=True)
        with open("printed.jsonl", "a") as printed:
            printed.write(json.dumps(message["value"]) + "\\n")
        states += 1
        if states == stop_after:
            if mode == "fail":
                print("fake target: failed after state", states, file=sys.stderr)
                sys.exit(1)
            open(sys.argv[3], "w").close()
            while True:
                signal.pause()  # until Ctrl-C
"""


def received(tmp: Path) -> list[dict]:
    """The records the stand-in target received, in order."""
    return [json.loads(line) for line in (tmp / "records.jsonl").read_text().splitlines()]


def crm_tap_config(tmp_path: Path, emulator: NinoxEmulator) -> None:
    """tap.json for the demo CRM, 5 records a page (a STATE after every page)."""
    (tmp_path / "tap.json").write_text(
        json.dumps(
            {
                "api_key": TEST_KEY,
                "base_url": emulator.base_url,
                "team_id": TEAM,
                "database_ids": [CRM],
                "page_size": 5,
            }
        )
    )
    (tmp_path / "fake_target.py").write_text(FAKE_TARGET)


def test_a_target_that_fails_mid_run_keeps_its_committed_state(
    emulator: NinoxEmulator, tmp_path: Path
) -> None:
    crm_tap_config(tmp_path, emulator)
    done = sync(tmp_path, sys.executable, "fake_target.py", "3", "fail")
    assert done.returncode != 0
    # The target's third state line covers what it committed: it is kept, alone.
    printed = (tmp_path / "printed.jsonl").read_text().splitlines()
    assert len(printed) == 3
    assert (tmp_path / "state.json").read_text().splitlines() == [printed[-1]]
    assert "sync.sh: the run failed (exit 1" in done.stderr
    assert "the next run continues from it" in done.stderr

    # The next run starts from that state, not from zero.
    again = sync(tmp_path, sys.executable, "fake_target.py", "0", "pass")
    assert again.returncode == 0, again.stderr[-3000:]
    read = sum(int(n) for n in re.findall(r": read (\d+) records", again.stderr))
    assert 0 < read < 61, again.stderr[-3000:]


def test_ctrl_c_keeps_the_state_the_target_printed_and_exits_130(
    emulator: NinoxEmulator, tmp_path: Path
) -> None:
    crm_tap_config(tmp_path, emulator)
    ready = tmp_path / "ready"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "fake_target.py", "2", "wait", str(ready)]
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "tap.json", "state.json", "--", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the target never reached its second state"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    printed = (tmp_path / "printed.jsonl").read_text().splitlines()
    assert len(printed) == 2
    assert (tmp_path / "state.json").read_text().splitlines() == [printed[-1]]
    assert "interrupted" in stderr and "state.json" in stderr
