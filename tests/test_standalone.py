"""orchestrate/standalone/sync.sh: tap-ninox | target with a state file, run several times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from ninox_emulator import NinoxEmulator
from tests.conftest import TEST_KEY

REPO = Path(__file__).resolve().parent.parent
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
    (tmp_path / "duckdb.json").write_text(json.dumps({"path": "out.duckdb"}))
    target = ("target-duckdb-sdk", "--config", "duckdb.json")

    first = sync(tmp_path, *target)
    assert first.returncode == 0, first.stderr[-3000:]
    state = json.loads((tmp_path / "state.json").read_text())
    bookmark = state["bookmarks"]["contact"]["replication_key_value"]
    assert bookmark == emulator.store.sequence(TEAM, CRM)

    # No change: the state file keeps its bookmark (the old recipe truncated it).
    again = sync(tmp_path, *target)
    assert again.returncode == 0, again.stderr[-3000:]
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bookmarks"]["contact"]["replication_key_value"] == bookmark

    # One change: only it is read, and the bookmark moves on.
    emulator.store.save_records(
        TEAM, CRM, contact_table(emulator), [{"id": 5, "fields": {"Email": "five@new.example"}}]
    )
    third = sync(tmp_path, *target)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "contact: read 1 records" in third.stderr
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["bookmarks"]["contact"]["replication_key_value"] > bookmark
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
        assert con.execute("SELECT email FROM contact WHERE _id = 5").fetchone() == (
            "five@new.example",
        )


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
