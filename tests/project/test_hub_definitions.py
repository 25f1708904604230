"""plugins/*/*.yml (Meltano Hub definitions) and meltano.yml match the connectors' --about."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import yaml

from orchestrate import hub_definitions
from tests.cli_support import about

REPO = Path(__file__).resolve().parents[2]


def meltano_plugins() -> dict[str, dict]:
    """meltano.yml's plugins by name."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
    assert "version" not in project
    return {p["name"]: p for kind in project["plugins"].values() for p in kind}


def test_hub_definitions_are_those_about_gives(capsys, monkeypatch) -> None:
    # Regenerates each file from `--about --format=json` and compares. The
    # connectors' commands run in-process; the DuckDB loader's runs as the
    # installed command (what `hub_definitions.about` does for every plugin).
    # Each plugin's answer is asked for once (main asks twice: Hub file, meltano.yml).
    installed = functools.cache(hub_definitions.about)

    def about_of(name: str) -> dict:
        return json.loads(about(name)) if name in IN_PROCESS else copy.deepcopy(installed(name))

    monkeypatch.setattr(hub_definitions, "about", about_of)
    assert hub_definitions.main(["--check"]) == 0, capsys.readouterr().err


#: The plugins whose `--about` runs in-process (tests.cli_support.about).
IN_PROCESS = {"tap-ninox", "target-ninox"}


def test_hub_definition_shape() -> None:
    for name in ("tap-ninox", "target-ninox"):
        hub = yaml.safe_load(hub_definitions.path_of(name).read_text(encoding="utf-8"))
        assert hub["name"] == name and hub["executable"] == name
        assert hub["variant"] == hub_definitions.VARIANT
        settings = {s["name"]: s for s in hub["settings"]}
        assert settings["api_key"]["sensitive"] is True
        assert settings["request_timeout"]["kind"] == "decimal"  # 12.5 s is valid
        for s in hub["settings"]:
            assert s["label"] and s["kind"], s
        for group in hub["settings_group_validation"]:
            assert set(group) <= set(settings)
    tap = yaml.safe_load(hub_definitions.path_of("tap-ninox").read_text(encoding="utf-8"))
    target = yaml.safe_load(hub_definitions.path_of("target-ninox").read_text(encoding="utf-8"))
    assert {"catalog", "discover", "state", "about", "stream-maps"} <= set(tap["capabilities"])
    assert {"about", "stream-maps", "hard-delete", "structured-logging"} <= set(
        target["capabilities"]
    )


def test_meltano_yml_declares_what_the_hub_files_do() -> None:
    plugins = meltano_plugins()
    for name in ("tap-ninox", "target-ninox"):
        hub = yaml.safe_load(hub_definitions.path_of(name).read_text(encoding="utf-8"))
        mine = plugins[name]
        assert mine["settings"] == hub["settings"], name
        assert mine["capabilities"] == hub["capabilities"], name
        assert mine["settings_group_validation"] == hub["settings_group_validation"]
        assert mine["label"] and mine["description"]
        assert mine["pip_url"] == "-e ."


def test_meltano_yml_jobs_and_schedules() -> None:
    project = yaml.safe_load((REPO / "meltano.yml").read_text(encoding="utf-8"))
    names = set(meltano_plugins())
    jobs = {job["name"]: job["tasks"] for job in project["jobs"]}
    assert jobs == {
        "ninox-to-duckdb": ["tap-ninox target-duckdb-sdk"],
        "jsonl-to-ninox": ["tap-jsonl target-ninox"],
    }
    for tasks in jobs.values():
        for task in tasks:
            assert set(task.split()) <= names
    assert {s["job"] for s in project["schedules"]} == set(jobs)
    for plugin in meltano_plugins().values():
        for s in plugin.get("settings", []):
            assert s.get("label") and s.get("description") is not None, (plugin["name"], s)


def test_hub_files_say_where_the_code_is_and_how_to_install_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in hub_definitions.PLUGINS:
        hub = yaml.safe_load(hub_definitions.path_of(name).read_text(encoding="utf-8"))
        assert hub["repo"] == hub_definitions.REPOSITORY
        assert hub["docs"].startswith(hub_definitions.REPOSITORY)
        # An installable form (a git URL), never a name no package index has.
        assert hub["pip_url"].startswith(hub_definitions.PIP_BASE), name
        assert hub["namespace"] == name.replace("-", "_")
        # The README's own-project section adds exactly these files ...
        assert f"$NINOX_CLONE/plugins/{hub_definitions.PLUGINS[name]['folder']}/" in readme
        assert hub_definitions.path_of(name).name in readme
    # ... and swaps exactly this address for the clone.
    assert f'"s|{hub_definitions.PIP_BASE}|git+file://$NINOX_CLONE|"' in readme
    duckdb = yaml.safe_load(
        hub_definitions.path_of("target-duckdb-sdk").read_text(encoding="utf-8")
    )
    assert duckdb["pip_url"].endswith("#subdirectory=target-duckdb-sdk")
