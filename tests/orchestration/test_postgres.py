"""tap-ninox → meltanolabs-target-postgres (PyPI): every record lands, then only changes.

The documented warehouse path besides DuckDB. Needs a PostgreSQL server: the
`.ci/run` stage "postgres" installs and starts one and sets NINOX_TEST_PG_*
(host, port, user, password, database). Run only by that stage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ninox_emulator import NinoxEmulator
from tests.orchestration.conftest import CRM, DEMO_KEY, REPO, TEAM

TARGET = ["uvx", "--from", "meltanolabs-target-postgres==0.8.1", "target-postgres"]
SCHEMA = "ninox_test"


@pytest.fixture(scope="module")
def pg() -> dict[str, str]:
    """The connection the CI stage set up (a missing one is an error, not a skip)."""
    names = ("HOST", "PORT", "USER", "PASSWORD", "DATABASE")
    missing = [f"NINOX_TEST_PG_{n}" for n in names if f"NINOX_TEST_PG_{n}" not in os.environ]
    assert not missing, f"set {', '.join(missing)} (the .ci/run stage 'postgres' does)"
    return {n.lower(): os.environ[f"NINOX_TEST_PG_{n}"] for n in names}


def psql(pg: dict[str, str], sql: str) -> list[list[str]]:
    """Rows of one query through psql (unaligned, `|`-separated)."""
    connection = ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"], "-d", pg["database"]]
    done = subprocess.run(
        ["psql", *connection, "-tAXc", sql],
        env={**os.environ, "PGPASSWORD": pg["password"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.split("|") for line in done.stdout.splitlines() if line]


def sync(tmp: Path, pg: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One run of orchestrate/standalone/sync.sh into target-postgres."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = str(REPO / "orchestrate" / "standalone" / "sync.sh")
    files = [str(tmp / "tap.json"), str(tmp / "state.json")]
    return subprocess.run(
        ["bash", script, *files, "--", *TARGET, "--config", str(tmp / "pg.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_every_record_lands_then_only_changes(
    emulator: NinoxEmulator, pg: dict[str, str], tmp_path: Path
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    psql(pg, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    (tmp_path / "tap.json").write_text(
        json.dumps(
            {
                "api_key": DEMO_KEY,
                "base_url": emulator.base_url,
                "team_id": TEAM,
                "database_ids": [CRM],
            }
        )
    )
    (tmp_path / "pg.json").write_text(
        json.dumps(
            {
                **{k: v for k, v in pg.items() if k != "port"},
                "port": int(pg["port"]),
                "default_target_schema": SCHEMA,
                "add_record_metadata": True,
            }
        )
    )
    first = sync(tmp_path, pg)
    assert first.returncode == 0, first.stderr[-4000:]
    db = emulator.store.database(TEAM, CRM)
    for table in db.tables.values():
        expected = [r["id"] for r in emulator.store.all_records(TEAM, CRM, table.id)]
        got = psql(pg, f'SELECT "_id" FROM {SCHEMA}.{table.name.lower()} ORDER BY "_id"')
        assert [int(row[0]) for row in got] == expected, table.name
    (row,) = psql(
        pg,
        f'SELECT "Email", "Score", "Active", array_to_json("Tags") FROM {SCHEMA}.contact'
        ' WHERE "_id" = 1',
    )
    assert (row[0], float(row[1]), row[2]) == ("tim.becker@example.com", -40.0, "t")
    assert json.loads(row[3]) == ["VIP", "Smith, Jones & Co"]
    (before,) = psql(pg, f"SELECT max(_sdc_batched_at) FROM {SCHEMA}.contact")

    contact = next(t.id for t in db.tables.values() if t.name == "Contact")
    emulator.store.save_records(TEAM, CRM, contact, [{"id": 1, "fields": {"Email": "t@new.ex"}}])
    emulator.store.delete_records(TEAM, CRM, contact, [2])
    second = sync(tmp_path, pg)
    assert second.returncode == 0, second.stderr[-4000:]
    changed = psql(
        pg,
        f'SELECT "_id", "Email", _sdc_deleted_at IS NOT NULL FROM {SCHEMA}.contact'
        f" WHERE _sdc_batched_at > '{before[0]}' ORDER BY \"_id\"",
    )
    assert changed == [["1", "t@new.ex", "f"], ["2", "", "t"]]
    assert psql(pg, f"SELECT count(*) FROM {SCHEMA}.contact") == [["30"]]
