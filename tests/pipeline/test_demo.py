"""The README's first command: `bash demo/run.sh` lands every demo record in DuckDB.

Runs the real script (its own emulator, tap-ninox, target-duckdb-sdk) into a
temporary folder, then compares every table with the emulator's saved data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ninox_emulator.store import Store

REPO = Path(__file__).resolve().parents[2]
TEAM, DATABASE = "mnPLY6DMsvq9wz4id", "gt5k36w957yt"


def run_demo(out: Path, *args: str) -> str:
    """Run demo/run.sh with its output in `out`; its stdout (fails on non-zero exit)."""
    env = {**os.environ, "NINOX_DEMO_OUTPUT": str(out)}
    done = subprocess.run(
        ["bash", "demo/run.sh", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def column(name: str) -> str:
    """The loader's column name for a Ninox field name (`Job title` → `job_title`)."""
    return name.lower().replace(" ", "_")


def as_landed(value: Any) -> Any:
    """A Ninox API value in the form the DuckDB column gives it back."""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out)


def test_demo_lands_every_record_exactly(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    store = Store.from_snapshot(json.loads((out / "ninox-data.json").read_text()))
    tables = store.database(TEAM, DATABASE).tables.values()
    assert {t.name.lower() for t in tables} == {"company", "contact", "deal", "lead"}
    with duckdb.connect(str(out / "demo.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        for table in tables:
            expected = store.all_records(TEAM, DATABASE, table.id)
            stream = table.name.lower()
            # A row count per table, as printed.
            assert f"  {stream:<12}{len(expected):>6}" in stdout
            described = con.execute(f"DESCRIBE {stream}").fetchall()
            names = [d[0] for d in described]
            # Timestamps as UTC text (fetching them as Python objects needs pytz).
            select = ", ".join(
                f"CAST({name} AS VARCHAR)" if kind.startswith("TIMESTAMP") else name
                for name, kind, *_ in described
            )
            cursor = con.execute(f"SELECT {select} FROM {stream} ORDER BY _id")
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            assert [row["_id"] for row in rows] == [rec["id"] for rec in expected]
            for rec, row in zip(expected, rows, strict=True):
                assert row["_sequence"] == rec["sequence"]
                assert row["_sdc_deleted_at"] is None
                for field, value in rec["fields"].items():
                    got = row[column(field)]
                    if isinstance(got, (date, time)):
                        assert got.isoformat() == value, (stream, field)
                    elif table.by_name[field].type in ("datetime", "timestamp"):
                        # `2024-01-01 08:30:00+00` for the API's `2024-01-01T08:30:00`.
                        assert got.replace(" ", "T")[:19] == str(value)[:19], (stream, field)
                    elif isinstance(value, float) or isinstance(got, float):
                        assert got == pytest.approx(value), (stream, field)
                    else:
                        assert got == as_landed(value), (stream, rec["id"], field)


def test_demo_values_and_output(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    with duckdb.connect(str(out / "demo.duckdb"), read_only=True) as con:
        first = con.execute(
            "SELECT email, tags, score, active, CAST(last_contact AS VARCHAR), birthday"
            " FROM contact WHERE _id = 1"
        ).fetchone()
    assert first is not None
    assert first[:4] == ("tim.becker@example.com", '["VIP","Smith, Jones & Co"]', -40.0, True)
    assert first[4].startswith("2024-01-01 08:30:00")
    assert first[5] == date(1960, 1, 1)
    # The example query and a next step that works.
    assert "Example query:" in stdout
    assert "Smith, Jones & Co             2 deals     7,010.00" in stdout
    assert "bash demo/run.sh --incremental" in stdout
    state = json.loads((out / "state.json").read_text())
    assert set(state["bookmarks"]) == {"company", "contact", "deal", "lead"}


def test_demo_incremental_loads_only_the_changes(demo: tuple[Path, str]) -> None:
    out, _ = demo
    before = json.loads((out / "state.json").read_text())["bookmarks"]["contact"]
    stdout = run_demo(out, "--incremental")
    # Two updates and one deletion arrive; nothing else.
    assert f"  {'contact':<12}{30:>6}{1:>9}{3:>17}" in stdout
    for other in ("company", "deal", "lead"):
        assert f"{0:>17}\n" in stdout.split(f"  {other:<12}")[1].split("\n")[0] + "\n"
    with duckdb.connect(str(out / "demo.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT _id, job_title, _sdc_deleted_at IS NOT NULL FROM contact"
            " WHERE _id <= 3 ORDER BY _id"
        ).fetchall()
    assert rows == [
        (1, "Chief Demo Officer", False),
        (2, "Head of Incremental Loads", False),
        (3, None, True),
    ]
    after = json.loads((out / "state.json").read_text())["bookmarks"]["contact"]
    assert after["replication_key_value"] > before["replication_key_value"]


def test_demo_incremental_needs_a_first_run(tmp_path: Path) -> None:
    env = {**os.environ, "NINOX_DEMO_OUTPUT": str(tmp_path)}
    done = subprocess.run(
        ["bash", "demo/run.sh", "--incremental"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "run 'bash demo/run.sh' first" in done.stderr


def test_demo_query_prints_rows(demo: tuple[Path, str]) -> None:
    out, _ = demo
    done = subprocess.run(
        [
            sys.executable,
            "demo/query.py",
            "SELECT first_name, last_name, email FROM contact LIMIT 5",
            str(out / "demo.duckdb"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "first_name" in done.stdout
    assert done.stdout.count("@example.com") == 5


ENSURE_UV = REPO / "scripts" / "ensure-uv.sh"


def test_the_first_command_and_ci_never_pip_install_into_the_system_python() -> None:
    # Debian/Ubuntu's python3 refuses `python3 -m pip install uv` (PEP 668):
    # both scripts get uv from scripts/ensure-uv.sh instead.
    for script in ("demo/run.sh", ".ci/run"):
        text = (REPO / script).read_text(encoding="utf-8")
        assert "bash scripts/ensure-uv.sh" in text, script
        assert "pip install" not in text, script


def fake_python(bin_dir: Path, *, venv: bool, pip: bool) -> None:
    """A python3 in `bin_dir` without the venv module and/or pip (as Debian without them)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    python = bin_dir / "python3"
    python.write_text(
        "#!/bin/sh\n"
        + ("" if venv else 'if [ "$1 $2" = "-m venv" ]; then echo "no ensurepip" >&2; exit 1; fi\n')
        + (
            ""
            if pip
            else 'if [ "$1 $2" = "-m pip" ]; then echo "No module named pip" >&2; exit 1; fi\n'
        )
        + f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)


def ensure_uv(home: Path, path: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/ensure-uv.sh with only `path` and a HOME of its own."""
    return subprocess.run(
        ["bash", str(ENSURE_UV)],
        env={"PATH": path, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ensure_uv_finds_uv_in_local_bin_without_installing(tmp_path: Path) -> None:
    local_bin = tmp_path / "home" / ".local" / "bin"
    local_bin.mkdir(parents=True)
    (local_bin / "uv").write_text("#!/bin/sh\necho uv 0.0.0\n")
    (local_bin / "uv").chmod(0o755)
    fake_python(tmp_path / "bin", venv=False, pip=False)  # installing would fail
    done = ensure_uv(tmp_path / "home", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{local_bin}\n"
    assert done.stderr == ""


def test_ensure_uv_without_venv_or_pip_says_in_one_line_what_to_install(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin", venv=False, pip=False)
    done = ensure_uv(tmp_path / "home", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    assert done.returncode == 1
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert "neither the venv module nor pip" in last
    assert "python3-venv" in last and "install uv" in last
