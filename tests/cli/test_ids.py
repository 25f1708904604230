"""`python -m tap_ninox.ids`: the ids a newcomer needs, without curl."""

from __future__ import annotations

import json
from pathlib import Path

from ninox_emulator import NinoxEmulator
from tests.cli_support import Run, run, run_process
from tests.conftest import TEST_KEY


def ids(*args: str, env: dict[str, str] | None = None) -> Run:
    """The ids tool, in-process, with `env` and no other TAP_NINOX_* variable."""
    return run("ids", *args, env=env)


def test_lists_teams_databases_and_tables(emulator: NinoxEmulator, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": TEST_KEY, "base_url": emulator.base_url}))
    done = ids("--config", str(config))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    team = lines.index("team_id mnPLY6DMsvq9wz4id  Demo Team")
    assert lines[team + 1] == "  database_id gt5k36w957yt  CRM"
    crm_tables = lines[team + 2 : team + 6]
    assert sorted(crm_tables) == [
        "    table A  Contact",
        "    table B  Company",
        "    table C  Deal",
        "    table D  Lead",
    ]
    assert "  database_id pt53j1tburs8  Projects" in lines
    assert sum(line.startswith("team_id ") for line in lines) == len(emulator.store.teams)


def test_reads_the_environment_without_config(emulator: NinoxEmulator) -> None:
    done = ids(env={"TAP_NINOX_API_KEY": TEST_KEY, "TAP_NINOX_BASE_URL": emulator.base_url})
    assert done.returncode == 0, done.stderr
    assert "team_id mnPLY6DMsvq9wz4id  Demo Team" in done.stdout


def test_a_wrong_key_ends_with_one_line_and_no_key(emulator: NinoxEmulator) -> None:
    done = ids(env={"TAP_NINOX_API_KEY": "wrong-secret", "TAP_NINOX_BASE_URL": emulator.base_url})
    assert done.returncode == 1
    assert "HTTP 401" in done.stderr and "api_key" in done.stderr
    assert "wrong-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_no_key_says_where_to_put_it() -> None:
    # The real command: `python -m tap_ninox.ids` exits with main's code.
    done = run_process("ids")
    assert done.returncode == 1
    assert "TAP_NINOX_API_KEY" in done.stderr
