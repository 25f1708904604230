"""The README's first command on a machine with only Debian's python3, git and bash.

Debian/Ubuntu's python3 is "externally managed" (PEP 668): `python3 -m pip
install uv` is refused. `bash demo/run.sh` must still work there: it gets uv
from scripts/ensure-uv.sh, which installs a private copy without touching the
system Python. These tests hide every uv (PATH is /usr/bin:/bin, HOME is new)
and download uv from the package index, so they run in their own CI stage
(`.ci/run`, stage "install").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.orchestration.conftest import REPO

SYSTEM_PYTHON = Path("/usr/bin/python3")
BARE_PATH = "/usr/bin:/bin"


@pytest.fixture(scope="module")
def system_python() -> Path:
    """Debian's /usr/bin/python3, externally managed, and no uv anywhere on the bare PATH."""
    assert SYSTEM_PYTHON.exists(), "this stage needs Debian's python3 (/usr/bin/python3)"
    assert list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")), (
        "expected a PEP 668 system Python"
    )
    for folder in BARE_PATH.split(":"):
        assert not (Path(folder) / "uv").exists(), f"{folder}/uv would hide the install path"
    return SYSTEM_PYTHON


def uv_cache() -> str:
    """This machine's uv cache: the fresh HOME reuses it, so packages are not downloaded again."""
    return subprocess.run(
        ["uv", "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()


def system_has_uv() -> bool:
    """Whether the system Python can import uv (it must never get it from us)."""
    return (
        subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import uv"], capture_output=True, check=False
        ).returncode
        == 0
    )


def test_demo_runs_with_only_the_system_python(system_python: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    had_uv = system_has_uv()
    env = {
        "PATH": BARE_PATH,
        "HOME": str(home),
        "UV_CACHE_DIR": uv_cache(),
        # A new environment for the clone, as on a fresh machine (the clone's
        # own .venv is the one running these tests).
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"),
        "NINOX_DEMO_OUTPUT": str(tmp_path / "output"),
    }
    done = subprocess.run(
        ["bash", "demo/run.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "uv not found: installing it into" in done.stderr
    assert f"  {'contact':<12}{30:>6}" in done.stdout
    private = home / ".cache" / "ninox-connectors" / "uv" / "venv" / "bin" / "uv"
    assert private.exists()
    # The system Python is as it was: no uv installed into it.
    assert system_has_uv() == had_uv
    # A second run finds the private uv: nothing is installed again.
    again = subprocess.run(
        ["bash", "scripts/ensure-uv.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0 and again.stdout.strip() == str(private.parent)
    assert again.stderr == ""


def test_without_the_venv_module_pip_installs_uv_into_a_folder_of_its_own(
    system_python: Path, tmp_path: Path
) -> None:
    # Debian without python3-venv: `python3 -m venv` fails for want of ensurepip.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  echo "ensurepip is not available" >&2; exit 1\n'
        "fi\n"
        f'exec {system_python} "$@"\n'
    )
    (fake / "python3").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        ["bash", "scripts/ensure-uv.sh"],
        cwd=REPO,
        env={"PATH": f"{fake}:{BARE_PATH}", "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    folder = Path(done.stdout.strip())
    assert folder == home / ".cache" / "ninox-connectors" / "uv" / "target" / "bin"
    version = subprocess.run(
        [str(folder / "uv"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("uv ")
    assert not system_has_uv()


def test_uv_tool_install_of_the_clone_puts_the_three_commands_on_path(tmp_path: Path) -> None:
    # The README's Install section, outside the clone: a tool environment of
    # its own; the system Python is not involved.
    env = {
        **os.environ,
        "UV_TOOL_DIR": str(tmp_path / "tools"),
        "UV_TOOL_BIN_DIR": str(tmp_path / "bin"),
    }
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        ["uv", "tool", "install", str(REPO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    for command in ("tap-ninox", "target-ninox", "ninox-emulator"):
        assert (tmp_path / "bin" / command).exists(), command
    about = subprocess.run(
        [str(tmp_path / "bin" / "tap-ninox"), "--about"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "api_key" in about.stdout
