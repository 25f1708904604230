"""Every command of the README runs: here, or in the test or CI stage named for it.

The README's shell blocks are read from the file itself. The blocks a user
runs against their Ninox are run here against the emulator (placeholders
replaced; a command of connectors alone runs in-process, the shell's part
in bash); the rest must be listed in COVERED with the file that runs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb

from ninox_emulator import NinoxEmulator
from tests.cli_support import about, run
from tests.conftest import TEST_KEY
from tests.target_support import api, make_database, rows

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
TEAM, CRM, COPY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "copy1crm1db"

#: Commands run elsewhere: command → (file that runs it, text that file must contain).
COVERED = {
    "bash demo/run.sh": ("tests/pipeline/test_demo.py", '"bash", "demo/run.sh"'),
    "bash demo/run.sh --incremental": ("tests/pipeline/test_demo.py", '"--incremental"'),
    'uv run python demo/query.py "SELECT first_name, last_name, email FROM contact LIMIT 5"': (
        "tests/pipeline/test_demo.py",
        "SELECT first_name, last_name, email FROM contact LIMIT 5",
    ),
    "UV_COMPILE_BYTECODE=1 uv sync && uv run pytest": (".ci/run", "uv run pytest\n"),
    "UV_COMPILE_BYTECODE=1 uv sync": (".ci/run", "export UV_COMPILE_BYTECODE=1"),
    "uv tool install /path/to/tap-ninox": (
        "tests/orchestration/test_install.py",
        '"uv", "tool", "install", str(REPO)',
    ),
    'uvx --from "meltano==4.4.1" meltano install': (
        "tests/orchestration/conftest.py",
        'meltano(root, "install")',
    ),
    'uvx --from "meltano==4.4.1" meltano run ninox-to-duckdb': (
        "tests/orchestration/test_meltano.py",
        '"run", "ninox-to-duckdb"',
    ),
    'uvx --from "meltano==4.4.1" meltano run jsonl-to-ninox': (
        "tests/orchestration/test_meltano.py",
        '"run", "jsonl-to-ninox"',
    ),
    'uvx --from "meltano==4.4.1" meltano state get dev:tap-ninox-to-target-duckdb-sdk': (
        "tests/orchestration/test_meltano.py",
        '"dev:tap-ninox-to-target-duckdb-sdk"',
    ),
    **{
        f'uvx --from "meltano==4.4.1" meltano config set tap-ninox {name} {value}': (
            "tests/orchestration/test_meltano.py",
            f'"config", "set", "tap-ninox", "{name}"',
        )
        for name, value in [
            ("base_url", "https://api.ninox.com/v1"),
            ("api_key", "YOUR-API-KEY"),
            ("team_id", "YOUR-TEAM-ID"),
            ("database_ids", "'[\"YOUR-DATABASE-ID\"]'"),
        ]
    },
    "uv run bash orchestrate/standalone/sync.sh my-ninox.json state.json -- uvx --from"
    " meltanolabs-target-postgres==0.8.1 target-postgres --config pg.json": (
        "tests/orchestration/test_postgres.py",
        '"uvx", "--from", "meltanolabs-target-postgres==0.8.1", "target-postgres"',
    ),
}


#: README sections whose first bash block a test runs whole, as a user pastes
#: it (its commands share variables and a `cd`): heading → the test file, which
#: names the heading as `HEADING = "..."`.
WHOLE_BLOCKS = {
    "## Use it in your own Meltano project": "tests/orchestration/test_own_project.py",
    "## Airflow": "tests/orchestration/test_airflow.py",
}


def commands(block: str) -> list[str]:
    """One bash block's commands (a heredoc is one command; comments dropped)."""
    found: list[str] = []
    lines = iter(block.splitlines())
    for line in lines:
        heredoc = re.search(r"<<'(\w+)'", line)
        if heredoc:
            body = []
            for more in lines:
                body.append(more)
                if more == heredoc.group(1):
                    break
            found.append("\n".join([line, *body]))
        elif line.strip():
            found.append(re.sub(r"\s+#.*$", "", line))
    return found


def blocks() -> list[list[str]]:
    """The README's bash blocks, each a list of commands."""
    text = README.read_text(encoding="utf-8")
    return [commands(block) for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def whole_block(heading: str) -> list[str]:
    """The commands of the first bash block under `heading`."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n") :]
    return commands(section.split("```bash\n", 1)[1].split("```", 1)[0])


def runs_here(block: list[str]) -> bool:
    """Blocks about the user's own config: run by this test."""
    return any(
        "config.json" in command or "tap.json" in command or "--about" in command
        for command in block
    )


def test_every_readme_command_is_run_somewhere() -> None:
    whole = [whole_block(heading) for heading in WHOLE_BLOCKS]
    for heading, path in WHOLE_BLOCKS.items():
        assert f'HEADING = "{heading}"' in (REPO / path).read_text(encoding="utf-8"), path
    for block in blocks():
        if runs_here(block) or block in whole:
            continue
        for command in block:
            assert command in COVERED, f"README command not run by any test: {command}"
            path, signature = COVERED[command]
            assert signature in (REPO / path).read_text(encoding="utf-8"), (command, path)


#: The README's commands that run in this test's process (tests.cli_support.run):
#: a connector or the ids tool, its output maybe sent to a file or piped into
#: the next. A real process adds only start-up, which tests/cli runs; shell
#: scripts, heredocs and anything else run in bash.
IN_PROCESS_COMMANDS = {
    ("tap-ninox",): "tap",
    ("target-ninox",): "target",
    ("python", "-m", "tap_ninox.ids"): "ids",
}


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """`cd path` for the block (contextlib.chdir is Python 3.11+)."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def in_process(command: str, cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """Run `command` in this process if it is only connectors, `|` and `> FILE`; else None."""
    if re.search(r"[\n;&<$`()'\"\\]", command):
        return None  # more shell than words, `|` and `>`
    stages: list[tuple[str, list[str], str | None]] = []
    for part in command.split("|"):
        words, output = part.split(), None
        if len(words) > 2 and words[-2] == ">":
            words, output = words[:-2], words[-1]
        name = next((n for n in IN_PROCESS_COMMANDS if tuple(words[: len(n)]) == n), None)
        if name is None or ">" in words:
            return None
        stages.append((IN_PROCESS_COMMANDS[name], words[len(name) :], output))
    piped, errors, code = "", "", 0
    with working_directory(cwd):
        for which, args, output in stages:
            done = run(which, *args, input=piped)
            errors += done.stderr
            code = done.returncode or code  # pipefail: the last stage that failed
            piped = done.stdout
            if output is not None:
                Path(output).write_text(done.stdout, encoding="utf-8")
                piped = ""
    return subprocess.CompletedProcess(command, code, piped, errors)


def shell(command: str, cwd: Path, emulator: NinoxEmulator) -> subprocess.CompletedProcess[str]:
    """Run one README command as a user would, against the emulator.

    A command of connectors alone runs in this process (`in_process`), the
    rest in bash.
    """
    for placeholder, value in {
        "YOUR-API-KEY": TEST_KEY,
        "https://api.ninox.com/v1": emulator.base_url,
        "YOUR-TEAM-ID": TEAM,
        "YOUR-DATABASE-ID": CRM,
        "orchestrate/": f"{REPO}/orchestrate/",
    }.items():
        command = command.replace(placeholder, value)
    # `uv run X` in the clone is X from this environment.
    command = re.sub(r"(^|\| )uv run ", r"\1", command, flags=re.MULTILINE)
    done = in_process(command, cwd)
    if done is not None:
        return done
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_readme_user_blocks_work_against_a_ninox(emulator: NinoxEmulator, tmp_path: Path) -> None:
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{TEAM}/databases/{CRM}/tables")
    make_database(emulator, COPY, "CRM copy", tables)
    # The copy section's two config files: this CRM into the empty copy.
    (tmp_path / "tap.json").write_text(
        json.dumps(
            {
                "api_key": TEST_KEY,
                "base_url": emulator.base_url,
                "team_id": TEAM,
                "database_ids": [CRM],
            }
        )
    )
    (tmp_path / "target.json").write_text(
        json.dumps(
            {
                "api_key": TEST_KEY,
                "base_url": emulator.base_url,
                "team_id": TEAM,
                "database_id": COPY,
            }
        )
    )
    ran = 0
    for block in blocks():
        if not runs_here(block):
            continue
        for command in block:
            if command.startswith("UV_COMPILE_BYTECODE=1 uv sync"):
                continue  # the environment this test runs in
            done = shell(command, tmp_path, emulator)
            assert done.returncode == 0, (command, done.stderr[-3000:])
            ran += 1
            if "tap_ninox.ids" in command:
                assert f"team_id {TEAM}  Demo Team" in done.stdout
            if "--about" in command:
                assert "Settings" in done.stdout or "settings" in done.stdout
    assert ran >= 9
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    assert {s["stream"] for s in catalog["streams"]} == {"company", "contact", "deal", "lead"}
    out = (tmp_path / "out.jsonl").read_text().splitlines()
    assert sum('"type":"RECORD"' in line for line in out) == 61
    state = json.loads((tmp_path / "state.json").read_text())
    assert set(state["bookmarks"]) == {"company", "contact", "deal", "lead"}
    with duckdb.connect(str(tmp_path / "ninox.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM contact").fetchone() == (30,)
    for table in tables:
        assert rows(emulator, table["id"], COPY) == rows(emulator, table["id"], CRM), table["name"]


#: The SDK's standard settings: the README names them in prose, not in the tables.
SDK_SETTINGS = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "batch_config",
    "add_record_metadata",
    "load_method",
    "validate_records",
}


def settings_table(heading: str) -> dict[str, str]:
    """The README table under `heading`: setting → its whole row."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(heading) :].split("\n\n", 2)[1]
    return table_rows(section.splitlines()[2:])


def table_rows(lines: list[str]) -> dict[str, str]:
    """Markdown table rows by their first cell (the setting)."""
    return {line.strip("|").split("|")[0].strip(): line.strip() for line in lines}


def about_markdown(executable: str) -> dict[str, str]:
    """The settings rows of ``<connector> --about --format=markdown`` (run in-process).

    The README's own `--about` commands run as real commands in
    `test_readme_user_blocks_work_against_a_ninox`.
    """
    out = about(executable, "markdown")
    section = out[out.index("| Setting |") :].split("\n\n", 1)[0]
    return table_rows(section.splitlines()[2:])


def test_settings_tables_match_about() -> None:
    for name, heading in (
        ("tap-ninox", "### tap-ninox settings"),
        ("target-ninox", "### target-ninox settings"),
    ):
        properties = json.loads(about(name))["settings"]["properties"]
        own = [key for key in properties if key not in SDK_SETTINGS]
        table = settings_table(heading)
        assert list(table) == own, name
        # Required, default and description, word for word as --about says them.
        rows = about_markdown(name)
        for key in own:
            assert table[key] == rows[key], (name, key)


def files_the_readme_has_users_make() -> set[str]:
    """Every file a README command writes or a user is told to create in the clone.

    Redirections (`cat > X`, `> X`), the config and state files the commands
    name (`--config X`, `--state X`, sync.sh's two files), and the files the
    README's prose has users fill with secrets or outputs.
    """
    names = set()
    for block in blocks():
        for command in block:
            first = command.splitlines()[0]
            names.update(re.findall(r"(?<![0-9&])>\s*([\w./-]+)", first))
            names.update(re.findall(r"--(?:config|state)\s+([\w./-]+)", first))
            sync = re.search(r"sync\.sh\s+(\S+)\s+(\S+)\s+--", first)
            if sync:
                names.update(sync.groups())
    names.discard("ENV")  # `--config ENV` reads the environment, not a file
    text = README.read_text(encoding="utf-8")
    for name in ("tap.json", "target.json", "pg.json", ".env", "ninox.duckdb", "ninox-files"):
        assert name in text, name
        names.add(name)
    return names


def test_git_ignores_every_file_the_readme_has_users_create() -> None:
    # A user who follows the README, then `git add .`, must not commit an API key.
    names = files_the_readme_has_users_make()
    assert {"config.json", "catalog.json", "out.jsonl", "state.json", "duckdb.json"} <= names
    tracked = set(
        subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    )
    made = sorted(name for name in names if name not in tracked)
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=REPO,
        input="\n".join(made) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = set(done.stdout.splitlines())
    assert not set(made) - ignored, f"not in .gitignore: {sorted(set(made) - ignored)}"
