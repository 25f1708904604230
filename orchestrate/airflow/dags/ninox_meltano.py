"""Airflow 3 DAGs that run this project's Meltano jobs: one DAG per Meltano schedule.

Each schedule of ``meltano.yml`` becomes a DAG with the schedule's interval,
``max_active_runs=1`` (never two runs of one DAG at a time) and no catch-up.
Inside it, one ``meltano run <job>`` task per *source* listed for that job in
``pipelines.json`` (beside ``dags/``, or the file named by
``NINOX_AIRFLOW_PIPELINES``). The shipped ``pipelines.json`` lists none: each
job is then one task, and which Ninox it talks to comes from the environment
(``TAP_NINOX_BASE_URL``, ``TARGET_NINOX_BASE_URL``) or Meltano's config, as for
any ``meltano run``, so the same DAGs run against any Ninox.
``pipelines.example.json`` shows a fan-out: several databases or Ninox servers
as parallel tasks, each source with its own ``server`` and ``env``.

Each task runs in the Airflow pool of its Ninox server (``ninox_<host>``,
created with 1 slot: ``airflow pools set ninox_api_ninox_com 1 "Ninox public
cloud"``), so calls to one server never overlap, while pipelines for
different servers run side by side on Airflow's executors. The server of a
task is its source's ``server``, else the job's base URL variable from the
environment of the DAG processor, else the plugin's ``base_url`` in
``meltano.yml``, else the public cloud.

Ninox settings come from Meltano's config and the environment
(``TAP_NINOX_API_KEY``, ``TAP_NINOX_TEAM_ID``, ``TARGET_NINOX_DATABASE_ID``, ...):
a source's ``server`` sets ``TAP_NINOX_BASE_URL`` and ``TARGET_NINOX_BASE_URL``,
its ``env`` adds any other variable, its ``env_from`` copies a variable of the
worker's environment under another name at run time (another server's key);
the worker's own environment (secrets) is passed through. Each source keeps its own Meltano state
(``--state-id-suffix <source>``); a job without sources keeps Meltano's
plain state id.
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
#: The connectors' own default (``base_url`` of tap-ninox and target-ninox).
PUBLIC_CLOUD = "https://api.ninox.com/v1"
#: The Ninox plugins of meltano.yml and the variable that sets each one's server.
NINOX_PLUGINS = {"tap-ninox": "TAP_NINOX_BASE_URL", "target-ninox": "TARGET_NINOX_BASE_URL"}


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


def secrets_from_env(source: dict[str, Any]) -> str:
    """Shell exports that copy the worker's variables named by ``env_from`` at run time.

    ``"env_from": {"TAP_NINOX_API_KEY": "PRIVATE_CLOUD_API_KEY"}`` gives a
    source another server's key without the key entering the DAG's definition.
    """
    exports = []
    for target, name in source.get("env_from", {}).items():
        if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) for v in (target, name)):
            raise ValueError(
                f"pipelines file: env_from of source {source['name']!r} maps {target!r} to"
                f" {name!r}; both must be environment variable names"
            )
        exports.append(f'export {target}="${{{name}:?{name} is not set for {source["name"]}}}"')
    return "".join(f"{line} && " for line in exports)


def job_server(meltano_yml: dict[str, Any], job: str) -> str:
    """The Ninox server a job talks to when its source names none (see the module doc)."""
    tasks = next((j["tasks"] for j in meltano_yml.get("jobs", []) if j["name"] == job), [])
    names = {name for task in tasks for name in str(task).split()}
    plugins = {p["name"]: p for kind in meltano_yml.get("plugins", {}).values() for p in kind or []}
    for plugin, variable in NINOX_PLUGINS.items():
        if plugin in names:
            configured = plugins.get(plugin, {}).get("config", {}).get("base_url")
            return os.environ.get(variable) or configured or PUBLIC_CLOUD
    return PUBLIC_CLOUD


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
            sources = config.get("sources", {}).get(job) or [{"name": None}]
            for source in sources:
                name = source["name"]
                command = f"cd {shlex.quote(str(project))} && {meltano} run {shlex.quote(job)}"
                command = secrets_from_env(source) + command
                if name:
                    command += f" --state-id-suffix {shlex.quote(name)}"
                BashOperator(
                    task_id=f"meltano_run_{re.sub(r'[^A-Za-z0-9_]+', '_', name or job)}",
                    bash_command=command,
                    env=source_env(source),
                    append_env=True,
                    pool=pool_name(source.get("server") or job_server(meltano_yml, job)),
                )
        dags[dag_id] = dag
    return dags


globals().update(build_dags())
