"""meltano.yml's jobs run end to end: install, run twice, only changes arrive, state kept."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import requests

from ninox_emulator import NinoxEmulator
from tests.orchestration.conftest import CRM, DEMO_KEY, TEAM, meltano

HEADERS = {"Authorization": f"Bearer {DEMO_KEY}"}


def table_id(emulator: NinoxEmulator, name: str) -> str:
    """The id of the demo CRM's table called `name`."""
    tables = requests.get(
        f"{emulator.base_url}/teams/{TEAM}/databases/{CRM}/tables", headers=HEADERS, timeout=10
    ).json()
    return next(t["id"] for t in tables if t["name"] == name)


def records(emulator: NinoxEmulator, table: str) -> list[dict]:
    """Every record of a demo CRM table, as the API lists them."""
    return emulator.store.all_records(TEAM, CRM, table_id(emulator, table))


def state(project: Path, state_id: str, env: dict[str, str]) -> dict:
    """`meltano state get` of one job, parsed."""
    out = meltano(project, "state", "get", state_id, env=env)
    return json.loads(out[out.index("{") : out.rindex("}") + 1])


def test_ninox_to_duckdb_lands_everything_then_only_changes(
    project: Path, emulator: NinoxEmulator, ninox_env: dict[str, str]
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    meltano(project, "run", "ninox-to-duckdb", env=ninox_env)
    db = str(project / "output" / "ninox.duckdb")
    with duckdb.connect(db, read_only=True) as con:
        for table in ("Company", "Contact", "Deal", "Lead"):
            expected = [r["id"] for r in records(emulator, table)]
            got = [
                r[0]
                for r in con.execute(f"SELECT _id FROM {table.lower()} ORDER BY _id").fetchall()
            ]
            assert got == expected, table
        first_batch = con.execute("SELECT epoch_ms(max(_sdc_batched_at)) FROM contact").fetchone()
        email = con.execute("SELECT email FROM contact WHERE _id = 1").fetchone()
    assert email == ("tim.becker@example.com",)
    first = state(project, "dev:tap-ninox-to-target-duckdb-sdk", ninox_env)
    bookmark = first["singer_state"]["bookmarks"]["contact"]["replication_key_value"]
    assert bookmark == emulator.store.sequence(TEAM, CRM)

    # Two changes in Ninox: the second run brings exactly these two.
    contact = table_id(emulator, "Contact")
    base = f"{emulator.base_url}/teams/{TEAM}/databases/{CRM}/tables/{contact}/records"
    requests.post(
        base, json=[{"id": 1, "fields": {"Email": "tim@new.example"}}], headers=HEADERS, timeout=10
    ).raise_for_status()
    requests.delete(f"{base}/2", headers=HEADERS, timeout=10).raise_for_status()
    meltano(project, "run", "ninox-to-duckdb", env=ninox_env)
    with duckdb.connect(db, read_only=True) as con:
        assert first_batch is not None
        changed = con.execute(
            "SELECT _id, email, _sdc_deleted_at IS NOT NULL FROM contact"
            " WHERE epoch_ms(_sdc_batched_at) > ? ORDER BY _id",
            [first_batch[0]],
        ).fetchall()
        others = con.execute(
            "SELECT count(*) FROM company WHERE epoch_ms(_sdc_batched_at) > ?", [first_batch[0]]
        ).fetchone()
        total = con.execute("SELECT count(*) FROM contact").fetchone()
    assert changed == [(1, "tim@new.example", False), (2, None, True)]
    assert others == (0,)
    assert total == (30,)
    second = state(project, "dev:tap-ninox-to-target-duckdb-sdk", ninox_env)
    assert second["singer_state"]["bookmarks"]["contact"]["replication_key_value"] > bookmark


def test_jsonl_to_ninox_upserts_then_sends_only_new_lines(
    project: Path, emulator: NinoxEmulator, ninox_env: dict[str, str]
) -> None:
    emulator.reset(demo=True)
    emulator.set_api_key(DEMO_KEY)
    before = len(records(emulator, "Contact"))
    out = meltano(project, "run", "jsonl-to-ninox", env=ninox_env)
    assert "did create 3, update 0" in out
    by_email = {r["fields"].get("Email"): r["fields"] for r in records(emulator, "Contact")}
    assert len(by_email) == before + 3
    assert by_email["ada.lovelace@example.com"]["Job title"] == "Analyst"
    assert by_email["grace.hopper@example.com"]["Score"] == 88

    # Files unchanged: tap-jsonl re-reads a file whose modification time equals
    # its bookmark, and the upsert by Email makes that a no-op: no duplicates.
    out = meltano(project, "run", "jsonl-to-ninox", env=ninox_env)
    assert "did create 0, update 3" in out
    assert len(records(emulator, "Contact")) == before + 3

    # One line added: it is created; the others stay single.
    with (project / "demo" / "data" / "contacts.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"First name": "Edsger", "Last name": "Dijkstra",')
        f.write(' "Email": "edsger@example.com", "Job title": "Professor"}\n')
    out = meltano(project, "run", "jsonl-to-ninox", env=ninox_env)
    assert "did create 1, update 3" in out
    emails = [r["fields"].get("Email") for r in records(emulator, "Contact")]
    assert len(emails) == before + 4
    assert emails.count("ada.lovelace@example.com") == 1
    saved = state(project, "dev:tap-jsonl-to-target-ninox", ninox_env)
    assert "contact" in saved["singer_state"]["bookmarks"]


def test_a_failing_loader_logs_its_cause_at_error(
    project: Path, emulator: NinoxEmulator, ninox_env: dict[str, str]
) -> None:
    # meltano.yml declares `structured-logging`: Meltano reads the SDK's JSON
    # logs, so the connector's own error line shows at ERROR, not INFO.
    import os
    import subprocess

    from tests.orchestration.conftest import MELTANO

    done = subprocess.run(
        [*MELTANO, "run", "tap-ninox", "target-ninox"],
        cwd=project,
        env={**os.environ, **ninox_env, "TARGET_NINOX_DATABASE_ID": "nosuchdb"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    errors = [line for line in output.splitlines() if "[error" in line]
    assert any("target-ninox" in line and "database_id 'nosuchdb'" in line for line in errors), (
        output
    )
    assert len(output.splitlines()) < 80


def test_readme_config_set_commands(tmp_path: Path) -> None:
    # The README's `meltano config set` lines (Meltano 4 syntax): the key goes
    # to .env, never into meltano.yml; a decimal timeout is accepted.
    (tmp_path / "meltano.yml").write_text(
        (Path(__file__).resolve().parents[2] / "meltano.yml").read_text(encoding="utf-8")
    )
    meltano(tmp_path, "config", "set", "tap-ninox", "base_url", "https://api.ninox.com/v1")
    meltano(tmp_path, "config", "set", "tap-ninox", "api_key", "YOUR-API-KEY")
    meltano(tmp_path, "config", "set", "tap-ninox", "team_id", "YOUR-TEAM-ID")
    meltano(tmp_path, "config", "set", "tap-ninox", "database_ids", '["YOUR-DATABASE-ID"]')
    meltano(tmp_path, "config", "set", "tap-ninox", "request_timeout", "12.5")
    assert "TAP_NINOX_API_KEY='YOUR-API-KEY'" in (tmp_path / ".env").read_text()
    project_yml = (tmp_path / "meltano.yml").read_text()
    assert "YOUR-API-KEY" not in project_yml
    out = meltano(tmp_path, "config", "print", "tap-ninox")
    printed = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert printed["team_id"] == "YOUR-TEAM-ID"
    assert printed["database_ids"] == ["YOUR-DATABASE-ID"]
    assert printed["request_timeout"] == 12.5
