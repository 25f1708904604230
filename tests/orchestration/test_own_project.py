"""The README's "Use it in your own Meltano project", run as written.

A new Meltano project outside the clone (`meltano init`), the connectors
added from the clone's Hub files (`meltano add --from-ref`) and installed
from the clone (`git+file://`), then `meltano run tap-ninox
target-duckdb-sdk` against the local Ninox, twice.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import duckdb

from ninox_emulator import NinoxEmulator
from orchestrate import hub_definitions
from tests.orchestration.conftest import CRM, DEMO_KEY, REPO, TEAM, run_readme_block

HEADING = "## Use it in your own Meltano project"


def test_a_new_meltano_project_installs_and_runs_the_connectors_from_the_clone(
    emulator: NinoxEmulator, tmp_path: Path
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    tools = tmp_path / "tools"
    env = {
        **os.environ,
        # `uv tool install` puts meltano here instead of ~/.local/bin.
        "UV_TOOL_DIR": str(tools / "envs"),
        "UV_TOOL_BIN_DIR": str(tools / "bin"),
        "PATH": f"{tools / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("VIRTUAL_ENV", None)
    done = run_readme_block(
        HEADING,
        tmp_path,
        {
            "/path/to/tap-ninox": str(REPO),
            "https://api.ninox.com/v1": emulator.base_url,
            "YOUR-API-KEY": DEMO_KEY,
            "YOUR-TEAM-ID": TEAM,
            "YOUR-DATABASE-ID": CRM,
        },
        env,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    project = tmp_path / "my-project"
    meltano_yml = (project / "meltano.yml").read_text(encoding="utf-8")
    # Installed from the clone, not from the Hub files' placeholder address.
    assert hub_definitions.PIP_BASE not in meltano_yml
    assert f"pip_url: git+file://{REPO}\n" in meltano_yml
    assert f"pip_url: git+file://{REPO}#subdirectory=target-duckdb-sdk\n" in meltano_yml
    # The key went to the project's .env, never into meltano.yml.
    assert DEMO_KEY not in meltano_yml
    assert "TAP_NINOX_API_KEY='demo-key'" in (project / ".env").read_text() or (
        "TAP_NINOX_API_KEY=demo-key" in (project / ".env").read_text()
    )
    with duckdb.connect(str(project / "output" / "ninox.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
        assert con.execute("SELECT count(*) FROM company").fetchone() == (8,)
    assert "DeprecationWarning" not in output

    # The next run reads only changes: none.
    again = subprocess.run(
        ["meltano", "run", "tap-ninox", "target-duckdb-sdk"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    reads = [int(n) for n in re.findall(r"contact: read (\d+) records", again.stderr)]
    assert reads == [0], again.stderr[-3000:]
