"""Fixtures for the orchestration stages (install, Meltano, Airflow): heavy installs.

Not collected by the default `uv run pytest` (pyproject's `norecursedirs`);
`.ci/run` runs each file of this folder in a stage of its own, e.g.
    uv run pytest -n 0 tests/orchestration/test_meltano.py
    uv run pytest -n 0 tests/orchestration/test_airflow.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ninox_emulator import NinoxEmulator

REPO = Path(__file__).resolve().parents[2]
DEMO_KEY = "demo-key"
TEAM, CRM = "mnPLY6DMsvq9wz4id", "gt5k36w957yt"
#: Meltano, run by uvx from PyPI (the version the README documents).
MELTANO = ["uvx", "--from", "meltano==4.4.1", "meltano"]
#: What a project copy leaves out: environments, caches and outputs of this checkout.
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".meltano", "output", "__pycache__", ".*_cache", "*.egg-info"
)


def copy_project(dest: Path) -> Path:
    """A copy of the repository's Meltano project (and sources) in `dest`."""
    shutil.copytree(REPO, dest, ignore=IGNORED, symlinks=True)
    return dest


def meltano(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one meltano command in `project`; its combined output (fails on non-zero exit)."""
    done = subprocess.run(
        [*MELTANO, *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"meltano {' '.join(args)} failed:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="session")
def emulator() -> Iterator[NinoxEmulator]:
    """The demo Ninox on a free port, with the demo key of meltano.yml."""
    emu = NinoxEmulator(api_key=DEMO_KEY, demo=True, port=0).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project with every plugin installed (`meltano install`)."""
    root = copy_project(tmp_path_factory.mktemp("meltano") / "project")
    meltano(root, "install")
    return root


@pytest.fixture
def ninox_env(emulator: NinoxEmulator) -> dict[str, str]:
    """Point both connectors at the emulator, as a deployment points them at Ninox."""
    return {
        "TAP_NINOX_BASE_URL": emulator.base_url,
        "TARGET_NINOX_BASE_URL": emulator.base_url,
    }


def readme_block(heading: str) -> str:
    """The first ```bash block of the README section `heading`, as written there."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n") :]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def run_readme_block(
    heading: str, cwd: Path, replace: dict[str, str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run that block as one bash script (placeholders replaced), as a user pastes it."""
    script = readme_block(heading)
    for placeholder, value in replace.items():
        assert placeholder in script, placeholder
        script = script.replace(placeholder, value)
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
