"""The commands' start-up: imports without the garbage collector, then frozen.

`ninox_core/cli/startup.py`.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ninox_core.cli.startup import run_command

PLUGIN = """
import gc

SEEN = {"collector on while imported": gc.isenabled()}


class Plugin:
    @staticmethod
    def cli():
        SEEN["collector on in the run"] = gc.isenabled()
        SEEN["frozen objects"] = gc.get_freeze_count()
"""


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    (tmp_path / "startup_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "startup_plugin"
    sys.modules.pop("startup_plugin", None)
    gc.unfreeze()


def test_the_plugin_is_imported_without_the_collector_and_run_with_it(plugin_module):
    assert gc.isenabled()
    run_command(plugin_module, "Plugin")
    seen = sys.modules[plugin_module].SEEN
    assert seen["collector on while imported"] is False
    assert seen["collector on in the run"] is True
    assert seen["frozen objects"] > 0
    assert gc.isenabled()


def test_a_failed_import_leaves_the_collector_on(plugin_module):
    with pytest.raises(AttributeError):
        run_command(plugin_module, "NoSuchPlugin")
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("command", "package"), [("tap-ninox", "tap_ninox"), ("target-ninox", "target_ninox")]
)
def test_the_installed_commands_start_through_it(command, package):
    (script,) = entry_points(group="console_scripts", name=command)
    assert script.value == f"{package}:main"


@pytest.mark.parametrize("command", ["tap-ninox", "target-ninox"])
def test_the_installed_command_runs_the_connector(command):
    """The console script as installed (a process: the command freezes its own objects)."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / command), "--about"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Name: {command}" in done.stdout
