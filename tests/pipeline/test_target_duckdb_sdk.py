"""target-duckdb-sdk: keyed upserts, unkeyed appends, lossless numbers, new columns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb


def load(db: Path, messages: list[dict]) -> subprocess.CompletedProcess[str]:
    """Run the loader's command on `messages` (a process: it holds the file until it exits)."""
    config = db.with_suffix(".json")
    config.write_text(json.dumps({"path": str(db)}))
    return subprocess.run(
        [str(Path(sys.executable).parent / "target-duckdb-sdk"), "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def schema(stream: str, properties: dict, keys: list[str]) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"properties": properties},
        "key_properties": keys,
    }


def record(stream: str, **values: object) -> dict:
    return {"type": "RECORD", "stream": stream, "record": values}


PROPS = {
    "_id": {"type": ["integer"]},
    "Amount": {"type": ["number", "null"]},
    "Big": {"type": ["integer", "null"]},
    "Tags": {"type": ["array", "null"], "items": {"type": "string"}},
}


def test_upserts_by_key_last_record_wins_and_numbers_are_exact(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    done = load(
        db,
        [
            schema("deal", PROPS, ["_id"]),
            record("deal", _id=1, Amount=12.3456789, Big=2**40, Tags=["a", "b"]),
            record("deal", _id=2, Amount=1.5, Big=None, Tags=None),
            record("deal", _id=1, Amount=99.125, Big=2**40 + 1, Tags=["c"]),
            {"type": "STATE", "value": {"bookmarks": {"deal": {"replication_key_value": 3}}}},
        ],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "bookmarks": {"deal": {"replication_key_value": 3}}
    }
    # A second run updates a stored key and adds a column the first run lacked.
    done = load(
        db,
        [
            schema("deal", {**PROPS, "Stage": {"type": ["string", "null"]}}, ["_id"]),
            record("deal", _id=2, Amount=0.0001234, Big=7, Tags=[], Stage="won"),
        ],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT _id, amount, big, tags, stage FROM deal ORDER BY _id").fetchall()
    assert rows == [(1, 99.125, 2**40 + 1, '["c"]', None), (2, 0.0001234, 7, "[]", "won")]


def test_streams_without_keys_are_appended(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    messages = [
        schema("log", {"line": {"type": ["string", "null"]}}, []),
        record("log", line="x"),
        record("log", line="x"),
    ]
    assert load(db, messages).returncode == 0
    assert load(db, messages).returncode == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM log").fetchone() == (4,)


def test_a_run_prints_no_deprecation_warning(tmp_path: Path) -> None:
    # Meltano runs plugins with Python's warnings shown: an import the SDK has
    # deprecated printed a SingerSDKDeprecationWarning in every Meltano run.
    db = tmp_path / "w.duckdb"
    config = db.with_suffix(".json")
    config.write_text(json.dumps({"path": str(db)}))
    command = [sys.executable, "-W", "error::DeprecationWarning", "-m", "target_duckdb_sdk.target"]
    done = subprocess.run(
        [*command, "--config", str(config)],
        input=json.dumps(schema("s", PROPS, ["_id"])) + "\n" + json.dumps(record("s", _id=1)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Deprecat" not in done.stderr
