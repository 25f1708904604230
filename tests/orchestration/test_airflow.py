"""orchestrate/airflow/dags: DagBag loads them, and each DAG runs once with `airflow dags test`.

Airflow runs from its own venv (apache-airflow 3.x from PyPI), made here on
first use in `.airflow-venv/` (or `$NINOX_AIRFLOW_VENV`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from ninox_emulator import NinoxEmulator
from tests.orchestration.conftest import CRM, DEMO_KEY, MELTANO, REPO, TEAM, meltano

AIRFLOW_VERSION = "3.3.2"
PROJECTS_DB = "pt53j1tburs8"


@pytest.fixture(scope="session")
def airflow_venv() -> Path:
    """A venv with Apache Airflow (made once, reused while it exists)."""
    venv = Path(os.environ.get("NINOX_AIRFLOW_VENV", REPO / ".airflow-venv"))
    if not (venv / "bin" / "airflow").exists():
        subprocess.run(["uv", "venv", "-q", "--python", "3.11", str(venv)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "-q", f"apache-airflow=={AIRFLOW_VERSION}"],
            env={**os.environ, "VIRTUAL_ENV": str(venv)},
            check=True,
            timeout=900,
        )
    return venv


@pytest.fixture(scope="session")
def airflow_env(
    airflow_venv: Path, project: Path, emulator: NinoxEmulator, tmp_path_factory
) -> dict[str, str]:
    """Environment of the airflow commands: a fresh AIRFLOW_HOME, the project's DAGs."""
    home = tmp_path_factory.mktemp("airflow")
    pipelines = home / "pipelines.json"
    server = emulator.base_url
    pipelines.write_text(
        json.dumps(
            {
                "project": str(project),
                "meltano": " ".join(MELTANO),
                "sources": {
                    "ninox-to-duckdb": [
                        {
                            "name": "crm",
                            "server": server,
                            "env": {
                                "TAP_NINOX_DATABASE_IDS": json.dumps([CRM]),
                                "TARGET_DUCKDB_SDK_PATH": "output/crm.duckdb",
                            },
                        },
                        {
                            "name": "projects",
                            "server": server,
                            "env": {
                                "TAP_NINOX_DATABASE_IDS": json.dumps([PROJECTS_DB]),
                                "TARGET_DUCKDB_SDK_PATH": "output/projects.duckdb",
                            },
                        },
                    ],
                    "jsonl-to-ninox": [
                        {"name": "crm", "server": server, "env": {"TARGET_NINOX_DATABASE_ID": CRM}}
                    ],
                },
            }
        )
    )
    env = {
        **os.environ,
        "PATH": f"{airflow_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "orchestrate" / "airflow" / "dags"),
        "NINOX_AIRFLOW_PIPELINES": str(pipelines),
    }
    env.pop("VIRTUAL_ENV", None)
    airflow(env, "db", "migrate")
    return env


def airflow(env: dict[str, str], *args: str) -> str:
    """Run one airflow command; its output (fails on non-zero exit)."""
    done = subprocess.run(
        ["airflow", *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"airflow {' '.join(args)} failed:\n{output[-6000:]}"
    return output


DAGBAG_REPORT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(sys.argv[1])
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "schedule": str(dag.schedule),
            "tasks": {t.task_id: {"pool": t.pool, "command": t.bash_command} for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"""


def test_dagbag_loads_one_dag_per_schedule(airflow_env: dict[str, str], project: Path) -> None:
    done = subprocess.run(
        ["python", "-c", DAGBAG_REPORT, airflow_env["AIRFLOW__CORE__DAGS_FOLDER"]],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    dags = report["dags"]
    assert set(dags) == {"meltano_ninox_to_duckdb_hourly", "meltano_jsonl_to_ninox_daily"}
    for dag in dags.values():
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False
    assert dags["meltano_ninox_to_duckdb_hourly"]["schedule"] == "@hourly"
    fanned = dags["meltano_ninox_to_duckdb_hourly"]["tasks"]
    assert set(fanned) == {"meltano_run_crm", "meltano_run_projects"}
    # Both sources are on one server: one pool, so their calls never overlap.
    pools = {task["pool"] for task in fanned.values()}
    assert len(pools) == 1 and pools.pop().startswith("ninox_127_0_0_1_")
    assert "run ninox-to-duckdb --state-id-suffix crm" in fanned["meltano_run_crm"]["command"]


def test_each_dag_runs_its_meltano_job(
    airflow_env: dict[str, str], project: Path, emulator: NinoxEmulator
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    pool = "ninox_" + emulator.base_url.split("//")[1].split("/")[0].replace(".", "_").replace(
        ":", "_"
    )
    airflow(airflow_env, "pools", "set", pool, "1", "the test's Ninox")

    airflow(airflow_env, "dags", "test", "meltano_ninox_to_duckdb_hourly")
    with duckdb.connect(str(project / "output" / "crm.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
    projects = emulator.store.database(TEAM, PROJECTS_DB)
    with duckdb.connect(str(project / "output" / "projects.duckdb"), read_only=True) as con:
        for table in projects.tables.values():
            stream = table.name.lower().replace(" ", "_")
            count = con.execute(f"SELECT count(*) FROM {stream}").fetchone()
            assert count == (len(table.ids),), stream

    airflow(airflow_env, "dags", "test", "meltano_jsonl_to_ninox_daily")
    contact = next(
        t for t in emulator.store.database(TEAM, CRM).tables.values() if t.name == "Contact"
    )
    emails = [r["fields"].get("Email") for r in emulator.store.all_records(TEAM, CRM, contact.id)]
    assert emails.count("ada.lovelace@example.com") == 1

    states = meltano(project, "state", "list")
    assert "dev:tap-ninox-to-target-duckdb-sdk:crm" in states
    assert "dev:tap-ninox-to-target-duckdb-sdk:projects" in states
    assert "dev:tap-jsonl-to-target-ninox:crm" in states
