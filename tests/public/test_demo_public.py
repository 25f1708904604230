"""`bash demo/run.sh --api public`: the demo from a local Ninox 4 workspace lands exactly.

Runs the real script (`ninox-emulator --api public --demo`, tap-ninox with
`workspace_id` and `modules: [crm]`, target-duckdb-sdk) into a temporary
folder, then compares every table with the Public API demo's records.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.model import Table

REPO = Path(__file__).resolve().parents[2]
#: Computed fields: the emulator stores no value for them.
COMPUTED = {"function", "reverse"}


def run_demo(out: Path, *args: str) -> str:
    """Run demo/run.sh with its output in `out`; its stdout (fails on non-zero exit)."""
    done = subprocess.run(
        ["bash", "demo/run.sh", *args],
        cwd=REPO,
        env={**os.environ, "NINOX_DEMO_OUTPUT": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo-public")
    return out, run_demo(out, "--api", "public")


def demo_tables() -> dict[str, Table]:
    """Module `crm` of the Public API demo workspace (what the script's emulator serves)."""
    return dict(PublicEmulator(api_key="k", demo=True, port=0).store.module("crm").tables)


def as_landed(kind: str, value: Any) -> Any:
    """A Public API value in the form the DuckDB column gives it back."""
    if kind == "reference":
        return int(value)
    if kind == "multi":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def test_the_public_demo_lands_every_record_exactly(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    tables = demo_tables()
    assert "Local Ninox 4:" in stdout
    with duckdb.connect(str(out / "demo.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        landed = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        assert landed == set(tables)
        for name, table in tables.items():
            assert f"  {name:<12}{len(table.records):>6}" in stdout
            described = con.execute(f"DESCRIBE {name}").fetchall()
            names = [d[0] for d in described]
            select = ", ".join(
                f"CAST({column} AS VARCHAR)" if kind.startswith("TIMESTAMP") else column
                for column, kind, *_ in described
            )
            cursor = con.execute(f"SELECT {select} FROM {name} ORDER BY _id")
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            assert [row["_id"] for row in rows] == sorted(table.records), name
            for row in rows:
                stored = table.records[row["_id"]]
                assert row["_sdc_deleted_at"] is None
                for field in table.fields.values():
                    if field.type in COMPUTED:
                        continue
                    got, value = row[field.name], stored.get(field.name)
                    where = (name, row["_id"], field.name)
                    if value is None:
                        assert got is None, where
                    elif isinstance(got, (date, time)):
                        assert got.isoformat()[: len(value)] == value, where
                    elif field.type == "timestamp":
                        # `2024-01-01 08:30:00+00` for the API's `2024-01-01T08:30:00.000Z`.
                        assert got.replace(" ", "T")[:19] == value[:19], where
                    elif isinstance(value, float) or isinstance(got, float):
                        assert got == pytest.approx(value), where
                    else:
                        assert got == as_landed(field.type, value), where


def test_the_public_demo_prints_the_example_query_on_module_tables(
    demo: tuple[Path, str],
) -> None:
    _, stdout = demo
    assert "FROM companies c JOIN deals d" in stdout
    assert "Smith, Jones & Co             2 deals     7,010.00" in stdout
    assert 'FROM contacts LIMIT 5"' in stdout


def test_incremental_is_refused_with_one_line_for_the_public_demo(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "demo/run.sh", "--incremental", "--api", "public"],
        cwd=REPO,
        env={**os.environ, "NINOX_DEMO_OUTPUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "--incremental needs the classic demo" in done.stderr
