"""The README's Airflow section, run as written, then the fan-out of pipelines.example.json.

The README's block makes Airflow's venv (apache-airflow 3.x from PyPI), installs
Meltano with `uv tool install`, migrates Airflow's database, creates the pool
and runs a DAG with `airflow dags test`, in a copy of the project and a HOME
of its own (so `~/airflow-venv`, `~/airflow` and `~/.local/bin` are new).
Which Ninox the DAG reads comes from the environment only: the emulator
listens on a free port, never the 8080 of meltano.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from ninox_emulator import NinoxEmulator
from ninox_emulator.public import PublicEmulator
from tests.orchestration.conftest import CRM, DEMO_KEY, REPO, TEAM, meltano, run_readme_block

HEADING = "## Airflow"
PROJECTS_DB = "pt53j1tburs8"
#: The Ninox 4 source of pipelines.example.json and the key of the test's workspace.
NINOX4, PUBLIC_KEY = "ninox4-crm", "ninox4-test-key"


@pytest.fixture(scope="module")
def public_emulator() -> Iterator[PublicEmulator]:
    """A Ninox 4 workspace (the Public API emulator's demo) on a free port."""
    emu = PublicEmulator(api_key=PUBLIC_KEY, demo=True, port=0).start()
    yield emu
    emu.stop()


def pool_of(base_url: str) -> str:
    """The pool the DAG file gives a server: `ninox_` and its host and port."""
    host = base_url.split("//", 1)[1].split("/", 1)[0]
    return "ninox_" + host.replace(".", "_").replace(":", "_").lower()


def fresh_home_env(home: Path) -> dict[str, str]:
    """This environment with a new HOME and without the clone's own venv on PATH."""
    venv_bin = str(REPO / ".venv" / "bin")
    env = {
        **os.environ,
        "HOME": str(home),
        # The machine's package cache, so that Airflow is not downloaded again.
        "UV_CACHE_DIR": subprocess.run(
            ["uv", "cache", "dir"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "PATH": os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if pyenv.exists():
        env["PYENV_ROOT"] = str(pyenv)  # pyenv's shims find their Pythons under the old HOME
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.fixture(scope="module")
def readme_airflow(
    project: Path, emulator: NinoxEmulator, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], str]:
    """The README's block, run in the project copy: (HOME, its environment, output)."""
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    home = tmp_path_factory.mktemp("home")
    env = fresh_home_env(home)
    done = run_readme_block(
        HEADING,
        project,
        {
            "https://api.ninox.com/v1": emulator.base_url,
            "ninox_api_ninox_com": pool_of(emulator.base_url),
            "YOUR-API-KEY": DEMO_KEY,
            "YOUR-TEAM-ID": TEAM,
            "YOUR-DATABASE-ID": CRM,
        },
        env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    return home, env, output


def test_the_readme_block_runs_the_dag_against_the_ninox_of_the_environment(
    readme_airflow: tuple[Path, dict[str, str], str], project: Path, emulator: NinoxEmulator
) -> None:
    home, _, output = readme_airflow
    assert (home / ".local" / "bin" / "meltano").exists()
    # The emulator's port is not meltano.yml's 8080: the environment decided.
    assert ":8080" not in emulator.base_url
    with duckdb.connect(str(project / "output" / "ninox.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
    states = meltano(project, "state", "list")
    assert "dev:tap-ninox-to-target-duckdb-sdk" in states
    assert "Traceback" not in output


def airflow_env(
    readme_airflow: tuple[Path, dict[str, str], str], project: Path, **extra: str
) -> dict[str, str]:
    """The environment the README sets up for the airflow commands, plus `extra`."""
    home, env, _ = readme_airflow
    return {
        **env,
        "PATH": f"{home / '.local' / 'bin'}:{home / 'airflow-venv' / 'bin'}:{env['PATH']}",
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(project / "orchestrate" / "airflow" / "dags"),
        **extra,
    }


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


def dagbag(env: dict[str, str], project: Path) -> dict:
    """What Airflow's DagBag makes of the project's DAG folder in `env`."""
    done = subprocess.run(
        ["python", "-c", DAGBAG_REPORT, str(project / "orchestrate" / "airflow" / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    return report["dags"]


def test_shipped_pipelines_give_one_task_per_job_pooled_by_the_environment(
    readme_airflow: tuple[Path, dict[str, str], str], project: Path
) -> None:
    server = "https://team.ninoxdb.de/v1"
    env = airflow_env(
        readme_airflow, project, TAP_NINOX_BASE_URL=server, TARGET_NINOX_BASE_URL=server
    )
    dags = dagbag(env, project)
    assert set(dags) == {"meltano_ninox_to_duckdb_hourly", "meltano_jsonl_to_ninox_daily"}
    for dag in dags.values():
        assert dag["max_active_runs"] == 1 and dag["catchup"] is False
    assert dags["meltano_ninox_to_duckdb_hourly"]["schedule"] == "@hourly"
    tasks = dags["meltano_ninox_to_duckdb_hourly"]["tasks"]
    assert list(tasks) == ["meltano_run_ninox_to_duckdb"]
    assert tasks["meltano_run_ninox_to_duckdb"]["pool"] == "ninox_team_ninoxdb_de"
    assert tasks["meltano_run_ninox_to_duckdb"]["command"].endswith("run ninox-to-duckdb")
    # Without the variable, the pool is that of meltano.yml's base_url.
    env.pop("TAP_NINOX_BASE_URL")
    tasks = dagbag(env, project)["meltano_ninox_to_duckdb_hourly"]["tasks"]
    assert tasks["meltano_run_ninox_to_duckdb"]["pool"] == "ninox_127_0_0_1_8080"


def test_the_example_fans_out_one_task_per_source_and_runs_them(
    readme_airflow: tuple[Path, dict[str, str], str],
    project: Path,
    emulator: NinoxEmulator,
    public_emulator: PublicEmulator,
    tmp_path: Path,
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    example = json.loads((REPO / "orchestrate" / "airflow" / "pipelines.example.json").read_text())
    other = emulator.base_url.replace("127.0.0.1", "localhost")  # another server: another pool
    for sources in example["sources"].values():
        for source in sources:
            source["server"] = other if source["name"] == "private-cloud" else emulator.base_url
            if source["name"] == NINOX4:
                # A Ninox 4 workspace: the Public API, chosen by TAP_NINOX_WORKSPACE_ID.
                source["server"] = public_emulator.base_url
                source["env"]["TAP_NINOX_WORKSPACE_ID"] = public_emulator.workspace_id
    example["project"] = str(project)
    pipelines = tmp_path / "pipelines.json"
    pipelines.write_text(json.dumps(example))
    env = airflow_env(
        readme_airflow,
        project,
        NINOX_AIRFLOW_PIPELINES=str(pipelines),
        PRIVATE_CLOUD_API_KEY=DEMO_KEY,
        PRIVATE_CLOUD_TEAM_ID=TEAM,
        NINOX4_WORKSPACE_KEY=PUBLIC_KEY,
    )
    for name in ("TAP_NINOX_BASE_URL", "TAP_NINOX_DATABASE_IDS"):
        env.pop(name, None)

    fanned = dagbag(env, project)["meltano_ninox_to_duckdb_hourly"]["tasks"]
    assert set(fanned) == {
        "meltano_run_crm",
        "meltano_run_projects",
        "meltano_run_private_cloud",
        "meltano_run_ninox4_crm",
    }
    assert fanned["meltano_run_ninox4_crm"]["pool"] == pool_of(public_emulator.base_url)
    assert f"--state-id-suffix {NINOX4}" in fanned["meltano_run_ninox4_crm"]["command"]
    assert PUBLIC_KEY not in fanned["meltano_run_ninox4_crm"]["command"]
    assert fanned["meltano_run_crm"]["pool"] == fanned["meltano_run_projects"]["pool"]
    assert fanned["meltano_run_crm"]["pool"] == pool_of(emulator.base_url)
    assert fanned["meltano_run_private_cloud"]["pool"] == pool_of(other)
    assert "run ninox-to-duckdb --state-id-suffix crm" in fanned["meltano_run_crm"]["command"]
    assert DEMO_KEY not in fanned["meltano_run_private_cloud"]["command"]

    airflow(env, "pools", "set", pool_of(other), "1", "the test's second server")
    airflow(env, "pools", "set", pool_of(public_emulator.base_url), "1", "a Ninox 4 workspace")
    airflow(env, "dags", "test", "meltano_ninox_to_duckdb_hourly")
    with duckdb.connect(str(project / "output" / "crm.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
    projects = emulator.store.database(TEAM, PROJECTS_DB)
    with duckdb.connect(str(project / "output" / "projects.duckdb"), read_only=True) as con:
        for table in projects.tables.values():
            stream = table.name.lower().replace(" ", "_")
            count = con.execute(f"SELECT count(*) FROM {stream}").fetchone()
            assert count == (len(table.ids),), stream
    # The private-cloud source read with the key it copied from PRIVATE_CLOUD_API_KEY.
    with duckdb.connect(str(project / "output" / "private-cloud.duckdb"), read_only=True) as con:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    assert tables

    # The Ninox 4 source read module crm of the workspace, every record of every table.
    with duckdb.connect(str(project / "output" / f"{NINOX4}.duckdb"), read_only=True) as con:
        for name, v4_table in public_emulator.store.module("crm").tables.items():
            count = con.execute(f"SELECT count(*) FROM {name}").fetchone()
            assert count == (len(v4_table.records),), name

    airflow(env, "dags", "test", "meltano_jsonl_to_ninox_daily")
    contact = next(
        t for t in emulator.store.database(TEAM, CRM).tables.values() if t.name == "Contact"
    )
    emails = [r["fields"].get("Email") for r in emulator.store.all_records(TEAM, CRM, contact.id)]
    assert emails.count("ada.lovelace@example.com") == 1

    states = meltano(project, "state", "list")
    assert "dev:tap-ninox-to-target-duckdb-sdk:crm" in states
    assert "dev:tap-ninox-to-target-duckdb-sdk:projects" in states
    assert f"dev:tap-ninox-to-target-duckdb-sdk:{NINOX4}" in states
    assert "dev:tap-jsonl-to-target-ninox:crm" in states
