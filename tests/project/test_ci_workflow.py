"""CI runs the unit stages on every supported Python and the heavy stages once.

Reads .github/workflows/ci.yml and pyproject.toml, and runs `.ci/run` with a
stand-in `uv` that records its commands instead of running them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def jobs() -> dict[str, Any]:
    """The workflow's jobs, by id."""
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    found: dict[str, Any] = workflow["jobs"]
    return found


def run_lines(job: dict[str, Any]) -> list[str]:
    """The `run:` commands of a job's steps."""
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def supported_pythons() -> list[str]:
    """The Python versions in pyproject.toml's classifiers, checked against requires-python."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    prefix = "Programming Language :: Python :: "
    versions = [
        c.removeprefix(prefix)
        for c in project["classifiers"]
        if c.startswith(prefix) and c.count(".") == 1
    ]
    floor = re.fullmatch(r">=\s*3\.(\d+)", project["requires-python"])
    assert floor, project["requires-python"]
    assert min(int(v.split(".")[1]) for v in versions) == int(floor.group(1))
    return versions


def test_the_unit_job_runs_on_every_supported_python() -> None:
    unit = jobs()["unit"]
    versions = unit["strategy"]["matrix"]["python-version"]
    assert versions == supported_pythons()
    assert unit["strategy"]["fail-fast"] is False
    assert run_lines(unit) == ["bash .ci/run unit"]


def test_the_heavy_stages_run_once_in_one_job_without_a_matrix() -> None:
    all_jobs = jobs()
    heavy = [name for name, job in all_jobs.items() if "bash .ci/run heavy" in run_lines(job)]
    assert heavy == ["heavy"]
    assert "strategy" not in all_jobs["heavy"]
    assert all_jobs["heavy"]["needs"] == "unit"
    # Nothing in the workflow runs every stage per Python any more.
    everything = [name for name, job in all_jobs.items() if "bash .ci/run" in run_lines(job)]
    assert everything == []


def fake_uv(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `uv` appends its arguments to a log and succeeds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "uv.log"
    uv = bin_dir / "uv"
    uv.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    uv.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, log


def ci_run(tmp_path: Path, *stages: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`bash .ci/run STAGES` with the stand-in uv; the uv commands it ran."""
    env, log = fake_uv(tmp_path)
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "run"), *stages],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    commands = log.read_text().splitlines() if log.exists() else []
    return done, commands


def test_ci_run_unit_runs_install_lint_types_and_tests_only(tmp_path: Path) -> None:
    done, commands = ci_run(tmp_path, "unit")
    assert done.returncode == 0, done.stderr
    assert commands == [
        "--version",
        "sync --frozen",
        "run ruff format --check .",
        "run ruff check .",
        "run mypy",
        "run pytest",
    ]


def test_ci_run_runs_named_stages_in_the_scripts_order(tmp_path: Path) -> None:
    done, commands = ci_run(tmp_path, "airflow", "meltano")
    assert done.returncode == 0, done.stderr
    assert commands[2:] == [
        "run pytest -n 0 tests/orchestration/test_meltano.py",
        "run pytest -n 0 tests/orchestration/test_airflow.py",
    ]
    assert "== meltano" in done.stdout
    assert "== tests" not in done.stdout


def test_ci_run_refuses_an_unknown_stage_before_installing_anything(tmp_path: Path) -> None:
    done, commands = ci_run(tmp_path, "unti")
    assert done.returncode == 2
    assert "no stage 'unti'" in done.stderr
    assert commands == []
