"""Emulator support for copies with attachments: file bytes over HTTP, empty database copies."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

import pytest
import requests

from ninox_emulator import NinoxEmulator
from ninox_emulator.multipart import parse_multipart

TEAM, CRM = "mnPLY6DMsvq9wz4id", "gt5k36w957yt"
OTHER_TEAM = "Cf8fqfNeCaAvBrjkS"
KEY = "test-key"


@pytest.fixture
def session() -> Any:
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {KEY}"
        yield s


def db_url(emulator: NinoxEmulator, db: str = CRM, team: str = TEAM) -> str:
    return f"{emulator.base_url}/teams/{team}/databases/{db}"


# ------------------------------------------------------------------ file bytes


def test_file_bytes_round_trip_over_http(emulator, session):
    rng = random.Random(12)
    # Bytes that look like multipart delimiters and line ends must survive.
    data = b"\r\n--boundary\r\n\r\n" + rng.randbytes(3 * 1024 * 1024) + b"\r\n--\r\n"
    name = "Vertrag Nr. 7 (März) & co.pdf"
    files_url = f"{db_url(emulator)}/tables/C/records/3/files"
    seq_before = emulator.store.sequence(TEAM, CRM)
    answer = session.post(files_url, files={"file": (name, data, "application/pdf")}, timeout=30)
    assert answer.status_code == 200, answer.text
    meta = answer.json()
    assert meta["name"] == name and meta["size"] == len(data)
    assert meta["contentType"] == "application/pdf" and meta["seq"] == seq_before + 1
    download = session.get(f"{files_url}/{quote(name)}", timeout=30)
    assert download.status_code == 200 and download.content == data
    assert download.headers["Content-Type"] == "application/pdf"
    assert emulator.store.file(TEAM, CRM, "C", 3, name).data == data
    # The same name again replaces the file (one entry, new bytes, new seq).
    smaller = b"v2"
    again = session.post(files_url, files={"file": (name, smaller)}, timeout=10).json()
    assert again["size"] == 2 and again["seq"] > meta["seq"]
    assert [f["name"] for f in session.get(files_url, timeout=10).json()] == [name]
    assert session.get(f"{files_url}/{quote(name)}", timeout=10).content == smaller


# ----------------------------------------------------------------- empty copy


def test_empty_copy_has_the_tables_and_fields_and_no_records(emulator, session):
    source_before = emulator.store.snapshot()
    db = emulator.store.empty_copy(TEAM, CRM, "crmcopy")
    assert db.name == "CRM" and db.seq == 0
    source_tables = session.get(f"{db_url(emulator)}/tables", timeout=10).json()
    copy_tables = session.get(f"{db_url(emulator, 'crmcopy')}/tables", timeout=10).json()
    assert copy_tables == source_tables
    for table in copy_tables:
        records = session.get(f"{db_url(emulator, 'crmcopy')}/tables/{table['id']}/records")
        assert records.json() == []
    schema = session.get(db_url(emulator, "crmcopy"), timeout=10).json()
    assert schema["settings"]["name"] == "CRM" and schema["schema"]["seq"] == 0
    # A copy keeps record ids with _upsert; refs and rev fields work in it.
    write = session.post(
        f"{db_url(emulator, 'crmcopy')}/tables/B/records",
        json=[{"_upsert": True, "_id": 7, "A": "Acme"}],
        timeout=10,
    )
    assert write.status_code == 200 and write.json()[0]["_id"] == 7
    contact = session.post(
        f"{db_url(emulator, 'crmcopy')}/tables/A/records",
        json=[{"_upsert": True, "_id": 12, "G": "Doe", "M": 7}],
        timeout=10,
    )
    assert contact.status_code == 200, contact.text
    company = session.get(f"{db_url(emulator, 'crmcopy')}/tables/B/records/7", timeout=10).json()
    assert company["fields"]["Contacts"] == [12]
    # The source did not change.
    assert (
        emulator.store.snapshot()["teams"][0]["databases"][0]
        == (source_before["teams"][0]["databases"][0])
    )


def test_empty_copy_into_another_team_and_refusals(emulator, session):
    db = emulator.store.empty_copy(TEAM, CRM, "x1", "CRM backup", to_team=OTHER_TEAM)
    assert db.name == "CRM backup"
    listed = session.get(f"{emulator.base_url}/teams/{OTHER_TEAM}/databases", timeout=10).json()
    assert {"id": "x1", "name": "CRM backup"} in listed
    with pytest.raises(ValueError, match="'x1' already exists"):
        emulator.store.empty_copy(TEAM, CRM, "x1", to_team=OTHER_TEAM)


def test_empty_copy_control_route(emulator, session):
    route = f"{emulator.url}/_emulator/empty-copy"
    made = requests.post(route, json={"team": TEAM, "database": CRM, "id": "c2"}, timeout=10)
    assert made.status_code == 200 and made.json() == {"team": TEAM, "id": "c2", "name": "CRM"}
    tables = session.get(f"{db_url(emulator, 'c2')}/tables", timeout=10).json()
    assert [t["id"] for t in tables] == ["A", "B", "C", "D"]
    again = requests.post(route, json={"team": TEAM, "database": CRM, "id": "c2"}, timeout=10)
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    missing = requests.post(route, json={"team": TEAM, "database": "nope", "id": "c3"}, timeout=10)
    assert missing.status_code == 404 and "'nope'" in missing.json()["message"]
    bad = requests.post(route, json={"team": TEAM}, timeout=10)
    assert bad.status_code == 400 and '"database"' in bad.json()["message"]


# ------------------------------------------------------------------- multipart


def test_multipart_parts_preamble_and_malformed_bodies():
    kind = "multipart/form-data; boundary=XyZ"
    body = (
        b"preamble\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"line1\r\n--XyZnot-a-delimiter\r\n"
        b"\r\n--XyZ\r\n\r\nno headers\r\n--XyZ--\r\n"
    )
    parts = parse_multipart(kind, body)
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("file", "a.txt", "text/plain"),
        (None, None, None),
    ]
    assert parts[0].data == b"line1\r\n--XyZnot-a-delimiter\r\n"
    assert parts[1].data == b"no headers"
    for broken, reason in (
        (b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nno closing", "closing delimiter"),
        (b"--XyZ\r\nno header block\r\n--XyZ--", "header block"),
        (b"--XyZ--\r\n", "no parts"),
        (b"nothing here", "no parts"),
    ):
        with pytest.raises(ValueError, match=reason):
            parse_multipart(kind, broken)
    with pytest.raises(ValueError, match="boundary"):
        parse_multipart("multipart/form-data", body)


def test_malformed_upload_is_a_400_naming_the_problem(emulator, session):
    answer = session.post(
        f"{db_url(emulator)}/tables/C/records/3/files",
        data=b"--XyZ\r\nContent-Disposition: form-data; name=file\r\n\r\nno closing",
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
        timeout=10,
    )
    assert answer.status_code == 400 and "closing delimiter" in answer.json()["message"]
    assert session.get(f"{db_url(emulator)}/tables/C/records/3/files", timeout=10).json() == []
