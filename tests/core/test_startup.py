"""The commands' start-up: imports without the garbage collector, then frozen.

`ninox_core/cli/startup.py`.
"""

from __future__ import annotations

import gc
import sys
from importlib.metadata import entry_points

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


@pytest.mark.parametrize("package", ["tap_ninox", "target_ninox"])
def test_main_runs_the_connectors_command_line(package, monkeypatch, capsys):
    command = package.replace("_", "-")
    monkeypatch.setattr(sys, "argv", [command, "--about"])
    try:
        with pytest.raises(SystemExit) as ended:
            __import__(package).main()
    finally:
        gc.unfreeze()
    assert ended.value.code in (0, None)
    assert f"Name: {command}" in capsys.readouterr().out
