"""Airflow 3 DAGs that run this project's Meltano jobs: one DAG per Meltano schedule.

Each schedule of ``meltano.yml`` becomes a DAG with the schedule's interval,
``max_active_runs=1`` (never two runs of one DAG at a time) and no catch-up.
Inside it, one ``meltano run <job>`` task per *source* listed for that job in
``pipelines.json`` (beside ``dags/``, or the file named by
``NINOX_AIRFLOW_PIPELINES``): several databases or Ninox servers fan out as
parallel tasks. Each task runs in the Airflow pool of its Ninox server
(``ninox_<host>``, create it with 1 slot: ``airflow pools set ninox_api_ninox_com
1 "Ninox public cloud"``), so calls to one server never overlap, while
pipelines for different servers run side by side on Airflow's executors.

Ninox settings come from Meltano's config and the environment
(``TAP_NINOX_API_KEY``, ``TAP_NINOX_TEAM_ID``, ``TARGET_NINOX_DATABASE_ID``, ...):
a source's ``server`` sets ``TAP_NINOX_BASE_URL`` and ``TARGET_NINOX_BASE_URL``,
its ``env`` adds any other variable; the worker's own environment (secrets)
is passed through. Each source keeps its own Meltano state
(``--state-id-suffix <source>``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

HERE = Path(__file__).resolve().parent
DEFAULT_PIPELINES = HERE.parent / "pipelines.json"


def load_pipelines() -> dict[str, Any]:
    """The pipelines file: Meltano project, meltano command, sources per job."""
    path = Path(os.environ.get("NINOX_AIRFLOW_PIPELINES", DEFAULT_PIPELINES))
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    project = Path(config.get("project", "../.."))
    config["project"] = project if project.is_absolute() else (path.parent / project).resolve()
    return config


def pool_name(server: str) -> str:
    """The Airflow pool of one Ninox server: ``ninox_`` and its host (and port)."""
    host = re.sub(r"^[a-z]+://", "", server).split("/", 1)[0]
    return "ninox_" + re.sub(r"[^A-Za-z0-9]+", "_", host).strip("_").lower()


def source_env(source: dict[str, Any]) -> dict[str, str]:
    """The environment one source adds for its task."""
    env = {str(k): str(v) for k, v in source.get("env", {}).items()}
    if source.get("server"):
        env.setdefault("TAP_NINOX_BASE_URL", source["server"])
        env.setdefault("TARGET_NINOX_BASE_URL", source["server"])
    return env


def build_dags() -> dict[str, DAG]:
    """One DAG per schedule of meltano.yml, one task per source of its job."""
    config = load_pipelines()
    project: Path = config["project"]
    meltano = config.get("meltano", "meltano")
    meltano_yml = yaml.safe_load((project / "meltano.yml").read_text(encoding="utf-8"))
    dags: dict[str, DAG] = {}
    for schedule in meltano_yml.get("schedules", []):
        job = schedule["job"]
        dag_id = "meltano_" + re.sub(r"[^A-Za-z0-9_]+", "_", schedule["name"])
        with DAG(
            dag_id=dag_id,
            description=f"meltano run {job} ({schedule['name']} of meltano.yml)",
            schedule=schedule["interval"],
            start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
            catchup=False,
            max_active_runs=1,
            tags=["ninox", "meltano"],
        ) as dag:
            sources = config.get("sources", {}).get(job) or [{"name": "default"}]
            for source in sources:
                name = source["name"]
                command = (
                    f"cd {shlex.quote(str(project))} && {meltano} run {shlex.quote(job)}"
                    f" --state-id-suffix {shlex.quote(name)}"
                )
                BashOperator(
                    task_id=f"meltano_run_{re.sub(r'[^A-Za-z0-9_]+', '_', name)}",
                    bash_command=command,
                    env=source_env(source),
                    append_env=True,
                    pool=pool_name(source.get("server", "default")),
                )
        dags[dag_id] = dag
    return dags


globals().update(build_dags())
