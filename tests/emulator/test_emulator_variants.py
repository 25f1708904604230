"""The emulator's server variants (docs/api.md, server variants) over real HTTP.

One focused test per variant asserts the exact answer shape it changes; the
others prove the switches themselves (constructor, API, control route, CLI,
reset) and that the default server stays strict.
"""

from __future__ import annotations

import calendar
import json
import signal
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
import requests

from ninox_emulator import VARIANTS, NinoxEmulator
from tests.emulator_support import CRM, KEY, TEAM, Http


@pytest.fixture
def api(emulator: NinoxEmulator) -> Any:
    client = Http(emulator)
    yield client
    client.session.close()


def first_with(api: Http, table: str, *names: str, **params: Any) -> dict[str, Any]:
    """The first record (strict shape) whose fields hold every one of `names`."""
    for rec in api.get(f"/tables/{table}/records", perPage=1000, **params):
        if all(n in rec["fields"] for n in names):
            return rec
    raise AssertionError(f"no record of {table} has {names}")


def strict_answers(api: Http) -> list[Any]:
    """Answers of every shape the variants touch, for the default-unchanged test."""
    rec = api.get("/tables/A/records", perPage=1000, style="ids", choiceStyle="ids")
    upsert = api.post("/tables/D/records", [{"_upsert": True, "_id": 3, "E": "Same"}])
    for entry in upsert:
        entry.pop("_md")  # the write time
    return [
        rec,
        api.get("/tables/A/records", sinceId=5, perPage=3),
        api.get("/tables/A/records", sinceSq=1_000_000),
        api.get("/tables/A/changes", sinceSq=0)["updates"],
        api.get("")["schema"]["seq"] - api.get("/tables/A/changes", sinceSq=0)["seq"],
        api.get("/tables"),
        upsert,
        api.session.get(api.url("/tables/ZZ"), timeout=5).text,
    ]


# ------------------------------------------------------------- the switches


def test_default_server_is_strict_and_clearing_restores_it(emulator, api):
    before = strict_answers(api)
    assert set(before[0][0]["fields"]) <= {f["id"] for f in before[5][0]["fields"]}
    assert before[1][0]["id"] == 6 and before[2] == []
    assert json.loads(before[7]) == {"message": "table 'ZZ' not found in database 'gt5k36w957yt'"}
    emulator.variants.enable(*VARIANTS)
    assert emulator.variants.enabled == frozenset(VARIANTS)
    emulator.variants.clear()
    assert strict_answers(api) == before
    assert emulator.variants.enabled == frozenset()


def test_unknown_variant_names_are_refused_with_the_valid_ones(emulator, api):
    with pytest.raises(ValueError, match=r"unknown server variant 'nope'.*names_for_ids"):
        NinoxEmulator(variants=("nope",))
    with pytest.raises(ValueError, match="layout_fields"):
        emulator.variants.enable("no_sequence", "nope")
    assert emulator.variants.enabled == frozenset()  # nothing half-applied
    control = f"{emulator.url}/_emulator/variants"
    answer = requests.post(control, json={"enable": ["no_sequence", "bad"]}, timeout=5)
    assert answer.status_code == 400 and "'bad'" in answer.json()["message"]
    assert emulator.variants.enabled == frozenset()


def test_constructor_enable_disable_and_reset(emulator, api):
    with NinoxEmulator(api_key=KEY, demo=True, variants=("no_sequence",)) as other:
        assert other.variants.enabled == {"no_sequence"}
        rec = requests.get(
            f"{other.base_url}/teams/{TEAM}/databases/{CRM}/tables/A/records/1",
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=5,
        ).json()
        assert "sequence" not in rec and rec["id"] == 1
    emulator.variants.enable("no_sequence", "no_created_at")
    emulator.variants.disable("no_created_at")
    assert emulator.variants.enabled == {"no_sequence"} and "no_sequence" in emulator.variants
    assert "sequence" not in api.get("/tables/A/records/1")
    emulator.reset(demo=True)
    assert emulator.variants.enabled == frozenset()
    assert "sequence" in api.get("/tables/A/records/1")


def test_control_route_lists_and_switches_variants(emulator, api):
    control = f"{emulator.url}/_emulator/variants"
    listed = requests.get(control, timeout=5).json()
    assert listed["enabled"] == [] and set(listed["available"]) == set(VARIANTS)
    assert all(isinstance(text, str) and text for text in listed["available"].values())
    answer = requests.post(control, json={"enable": ["no_sequence", "page_cap_100"]}, timeout=5)
    assert answer.json() == {"enabled": ["no_sequence", "page_cap_100"]}
    answer = requests.post(control, json={"disable": ["page_cap_100"]}, timeout=5)
    assert answer.json() == {"enabled": ["no_sequence"]}
    assert "sequence" not in api.get("/tables/A/records/1")
    answer = requests.post(control, json={"clear": True, "enable": "no_created_at"}, timeout=5)
    assert answer.json() == {"enabled": ["no_created_at"]}
    requests.post(f"{emulator.url}/_emulator/reset", json={"demo": True}, timeout=5)
    assert requests.get(control, timeout=5).json()["enabled"] == []


def test_cli_variant_option_is_repeatable_and_checked():
    bad = subprocess.run(
        [sys.executable, "-m", "ninox_emulator.cli", "--port", "0", "--variant", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "'nope'" in lines[0] and "names_for_ids" in lines[0]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ninox_emulator.cli",
            "--port",
            "0",
            "--demo",
            "--api-key",
            KEY,
            "--variant",
            "no_sequence",
            "--variant",
            "no_schema_seq",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "variants no_schema_seq, no_sequence" in line, line
        base = line.split(" on ")[1].split()[0]
        root = base.removesuffix("/v1")
        assert requests.get(f"{root}/_emulator/variants", timeout=5).json()["enabled"] == [
            "no_schema_seq",
            "no_sequence",
        ]
        headers = {"Authorization": f"Bearer {KEY}"}
        db = requests.get(f"{base}/teams/{TEAM}/databases/{CRM}", headers=headers, timeout=5)
        assert "seq" not in db.json()["schema"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


# ------------------------------------------------------------ record shapes


def test_names_for_ids(emulator, api):
    strict = api.get("/tables/A/records/5", style="ids")
    assert "E" in strict["fields"]
    emulator.variants.enable("names_for_ids")
    rec = api.get("/tables/A/records/5", style="ids")
    assert rec["fields"]["First name"] == strict["fields"]["E"] and "E" not in rec["fields"]
    page = api.get("/tables/A/records", style="ids", perPage=2)
    assert "Last name" in page[0]["fields"] and "G" not in page[0]["fields"]
    found = api.call(
        "POST", "/tables/A/record", json={"filters": {"E": "Sophie"}}, params={"style": "ids"}
    )
    assert found["id"] == 5 and "First name" in found["fields"]
    # Filters by id are still accepted.
    assert [r["id"] for r in api.get("/tables/A/records", filters='{"E": "Sophie"}')] == [5]
    upsert = api.post("/tables/D/records", [{"_upsert": True, "_id": 2, "E": "Ann"}])
    assert upsert[0]["First name"] == "Ann" and "E" not in upsert[0]


def test_captions_for_ids(emulator, api):
    strict = first_with(api, "A", "A", "F", style="ids", choiceStyle="ids")
    assert strict["fields"]["A"] in ("1", "2")
    emulator.variants.enable("captions_for_ids")
    rec = api.get(f"/tables/A/records/{strict['id']}", style="ids", choiceStyle="ids")
    assert rec["fields"]["A"] == {"1": "Person", "2": "Company"}[strict["fields"]["A"]]
    captions = ["VIP", "Newsletter", "Partner", "Smith, Jones & Co"]
    assert rec["fields"]["F"] == [captions[int(i) - 1] for i in strict["fields"]["F"]]


def test_int_choice_ids(emulator, api):
    strict = first_with(api, "A", "A", "F", style="ids", choiceStyle="ids")
    rid = strict["id"]
    emulator.variants.enable("int_choice_ids")
    rec = api.get(f"/tables/A/records/{rid}", style="ids", choiceStyle="ids")
    assert rec["fields"]["A"] == int(strict["fields"]["A"])
    assert rec["fields"]["F"] == [int(i) for i in strict["fields"]["F"]]
    # Captions stay captions; schema choice ids stay strings.
    assert isinstance(api.get(f"/tables/A/records/{rid}")["fields"]["Kind"], str)
    kind = next(f for f in api.get("/tables/A")["fields"] if f["id"] == "A")
    assert kind["choices"][0]["id"] == "1"
    update = api.get(f"/tables/A/records/{rid}/changes", sinceSq=0)["updates"][f"A{rid}"]
    assert update["A"] == int(strict["fields"]["A"])
    assert update["F"] == [int(i) for i in strict["fields"]["F"]]


def test_ignore_since_id(emulator, api):
    assert api.get("/tables/A/records", sinceId=5, perPage=2)[0]["id"] == 6
    emulator.variants.enable("ignore_since_id")
    assert [r["id"] for r in api.get("/tables/A/records", sinceId=5, perPage=2)] == [1, 2]


def test_ignore_since_sq(emulator, api):
    seq = int(api.get("")["schema"]["seq"])
    assert api.get("/tables/A/records", sinceSq=seq) == []
    emulator.variants.enable("ignore_since_sq")
    page = api.get("/tables/A/records", sinceSq=seq, perPage=1000)
    assert [r["id"] for r in page] == sorted(r["id"] for r in page) and page[0]["id"] == 1
    assert len(page) == api.count("A")
    # The change feed still honours sinceSq.
    assert api.get("/tables/A/changes", sinceSq=seq)["updates"] == {}


def test_page_cap_100(emulator, api):
    api.post("/tables/D/records", [{"fields": {"First name": f"L{i}"}} for i in range(150)])
    total = api.count("D")
    assert total > 150
    emulator.variants.enable("page_cap_100")
    first = api.get("/tables/D/records", perPage=1000)
    second = api.get("/tables/D/records", perPage=1000, page=1)
    assert len(first) == 100 and len(second) == min(100, total - 100)
    assert second[0]["id"] > first[-1]["id"]


def test_epoch_dates(emulator, api):
    strict = first_with(api, "A", "Birthday", "Last contact", "Imported")
    f = strict["fields"]
    emulator.variants.enable("epoch_dates")
    rec = api.get(f"/tables/A/records/{strict['id']}")
    y, m, d = (int(p) for p in f["Birthday"].split("-"))
    assert rec["fields"]["Birthday"] == calendar.timegm((y, m, d, 0, 0, 0)) * 1000
    for name in ("Last contact", "Imported"):
        moment = datetime.strptime(f[name], "%Y-%m-%dT%H:%M:%S")
        assert rec["fields"][name] == calendar.timegm(moment.timetuple()) * 1000
    assert rec["fields"]["Call time"] == f["Call time"]  # a time is not a date
    assert rec["createdAt"] == strict["createdAt"]  # fields only


def test_datetime_ms_z(emulator, api):
    strict = next(
        r
        for r in api.get("/tables/A/records", perPage=1000)
        if r["createdAt"] and {"Last contact", "Imported"} <= set(r["fields"])
    )
    emulator.variants.enable("datetime_ms_z")
    rec = api.get(f"/tables/A/records/{strict['id']}")
    for name in ("Last contact", "Imported"):
        assert rec["fields"][name] == strict["fields"][name] + ".000Z"
    assert rec["createdAt"] == strict["createdAt"] + ".000Z"
    assert rec["modifiedAt"] == strict["modifiedAt"] + ".000Z"
    assert api.get("/tables/A/records/1")["createdAt"] == ""  # unknown stays empty


def test_no_created_at(emulator, api):
    emulator.variants.enable("no_created_at")
    rec = api.get("/tables/A/records/5")
    assert set(rec) == {"id", "sequence", "createdBy", "modifiedBy", "fields"}


def test_created_by_zero(emulator, api):
    emulator.variants.enable("created_by_zero")
    page = api.get("/tables/A/records", perPage=6)
    assert [r["createdBy"] for r in page] == [0, "0", 0, "0", 0, "0"]
    assert [type(r["createdBy"]) for r in page[:2]] == [int, str]


def test_no_sequence(emulator, api):
    emulator.variants.enable("no_sequence")
    assert all("sequence" not in r for r in api.get("/tables/A/records", perPage=5))
    created = api.post("/tables/D/records", [{"fields": {"First name": "X"}}])
    assert "sequence" not in created[0] and created[0]["id"] > 0


def test_no_schema_seq(emulator, api):
    emulator.variants.enable("no_schema_seq")
    schema = api.get("")["schema"]
    assert "seq" not in schema and "types" in schema and "version" in schema


def test_schema_seq_lag(emulator, api):
    seq = int(api.get("")["schema"]["seq"])
    emulator.variants.enable("schema_seq_lag")
    assert api.get("")["schema"]["seq"] == seq - 5
    assert api.get("/tables/A/changes", sinceSq=0)["seq"] == seq  # the feed does not lag
    emulator.store.create_database(TEAM, "tinydb", "Tiny", [{"id": "A", "name": "T", "fields": []}])
    tiny = api.session.get(f"{emulator.base_url}/teams/{TEAM}/databases/tinydb", timeout=5)
    assert tiny.json()["schema"]["seq"] == 0


def test_multi_comma(emulator, api):
    api.call("PUT", "/tables/A/records/3", json={"fields": {"Tags": ["VIP", "Smith, Jones & Co"]}})
    emulator.variants.enable("multi_comma")
    assert api.get("/tables/A/records/3")["fields"]["Tags"] == "VIP, Smith, Jones & Co"
    # Always captions, also with choiceStyle=ids.
    by_ids = api.get("/tables/A/records/3", style="ids", choiceStyle="ids")
    assert by_ids["fields"]["F"] == "VIP, Smith, Jones & Co"


def test_multi_bitmask_feed(emulator, api):
    seq = int(api.get("")["schema"]["seq"])
    api.call(
        "PUT",
        "/tables/A/records/3",
        json={"fields": {"Tags": ["Smith, Jones & Co", "Newsletter"]}},
    )
    emulator.variants.enable("multi_bitmask_feed", "int_choice_ids")
    update = api.get("/tables/A/changes", sinceSq=seq)["updates"]["A3"]
    assert update["F"] == "a"  # choices 2 and 4 in schema order: 0b1010
    api.call("PUT", "/tables/A/records/3", json={"fields": {"Tags": ["VIP", "Partner"]}})
    database_feed = api.get("/changes", sinceSq=seq)["updates"]["A3"]
    assert database_feed["F"] == "5"
    # Record reads are not affected.
    assert api.get("/tables/A/records/3")["fields"]["Tags"] == ["VIP", "Partner"]


# ------------------------------------------------------------------ errors


def test_errors_text(emulator, api):
    emulator.variants.enable("errors_text")
    answer = api.session.get(api.url("/tables/ZZ"), timeout=5)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "table 'ZZ' not found in database 'gt5k36w957yt'"
    unauthorized = requests.get(f"{emulator.base_url}/teams", timeout=5)
    assert unauthorized.status_code == 401 and unauthorized.text.startswith("missing Authorization")


def test_errors_html(emulator, api):
    emulator.variants.enable("errors_html")
    answer = api.session.post(
        api.url("/tables/A/records"), json=[{"fields": {"Nope": 1}}], timeout=5
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.startswith("<!DOCTYPE html>") and answer.text.rstrip().endswith("</html>")
    assert "record 0: unknown field &#x27;Nope&#x27;" in answer.text
    assert "<title>400 Bad Request</title>" in answer.text


def test_errors_echo_headers(emulator, api):
    emulator.variants.enable("errors_echo_headers")
    answer = api.session.get(api.url("/tables/ZZ"), headers={"X-Trace": "t1"}, timeout=5)
    assert answer.status_code == 404
    body = answer.json()
    assert set(body) == {"message", "request"}
    assert body["message"] == "table 'ZZ' not found in database 'gt5k36w957yt'"
    headers = body["request"]["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}" and headers["X-Trace"] == "t1"
    wrong = requests.get(
        f"{emulator.base_url}/teams", headers={"Authorization": "Bearer leaked"}, timeout=5
    )
    assert wrong.status_code == 401
    assert wrong.json()["request"]["headers"]["Authorization"] == "Bearer leaked"


# ------------------------------------------------------------------ writes


def test_partial_batch(emulator, api):
    before = api.count("D")
    emulator.variants.enable("partial_batch")
    batch = [{"fields": {"First name": f"P{i}"}} for i in range(5)]
    answer = api.session.post(api.url("/tables/D/records"), json=batch, timeout=5)
    assert answer.status_code == 503 and "message" in answer.json()
    names = [r["fields"].get("First name") for r in api.get("/tables/D/records", perPage=1000)]
    assert api.count("D") == before + 2 and names[-2:] == ["P0", "P1"]  # 5 // 2 applied
    # Every such POST: the same batch again applies its first half again.
    assert api.session.post(api.url("/tables/D/records"), json=batch, timeout=5).status_code == 503
    assert api.count("D") == before + 4
    # Two elements: the first only; one element: applied normally; bad input: 400, nothing.
    assert (
        api.session.post(api.url("/tables/D/records"), json=batch[:2], timeout=5).status_code == 503
    )
    assert api.count("D") == before + 5
    assert api.post("/tables/D/records", batch[:1])[0]["fields"]["First name"] == "P0"
    bad = [*batch[:3], {"fields": {"Nope": 1}}]
    assert api.session.post(api.url("/tables/D/records"), json=bad, timeout=5).status_code == 400
    assert api.count("D") == before + 6


def test_partial_batch_drop(emulator, api):
    before = api.count("D")
    emulator.variants.enable("partial_batch_drop")
    batch = [{"fields": {"First name": f"P{i}"}} for i in range(4)]
    with pytest.raises(requests.ConnectionError):
        api.session.post(api.url("/tables/D/records"), json=batch, timeout=5)
    assert api.count("D") == before + 2
    dropped = [e for e in emulator.requests if e.method == "POST"]
    assert len(dropped) == 1 and dropped[0].status is None


def test_update_missing_creates(emulator, api):
    assert (
        "500" in api.post("/tables/D/records", [{"id": 500, "fields": {}}], expect=404)["message"]
    )
    emulator.variants.enable("update_missing_creates")
    created = api.post("/tables/D/records", [{"id": 500, "fields": {"First name": "New"}}])
    assert created[0]["id"] == 500 and created[0]["fields"] == {"First name": "New"}
    assert api.get("/tables/D/records/500")["fields"]["First name"] == "New"
    assert api.post("/tables/D/records", [{"fields": {}}])[0]["id"] == 501
    # PUT of a missing id is still a 404.
    api.call("PUT", "/tables/D/records/900", expect=404, json={"fields": {}})


def test_layout_fields(emulator, api):
    emulator.variants.enable("layout_fields")
    contact = api.get("/tables/A")
    layout = [f for f in contact["fields"] if f["type"] in ("tab", "button", "line")]
    assert layout == [
        {"id": "AG", "name": "Tab", "type": "tab"},
        {"id": "AH", "name": "Button", "type": "button"},
        {"id": "AI", "name": "Line", "type": "line"},
    ]
    for table in api.get("/tables"):
        ids = [f["id"] for f in table["fields"]]
        assert len(ids) == len(set(ids))
        assert {f["type"] for f in table["fields"]} >= {"tab", "button", "line"}
    types = api.get("")["schema"]["types"]["A"]["fields"]
    assert types["AH"] == {"base": "button", "caption": "Button"}
    rec = api.get("/tables/A/records/5", style="ids")
    assert not {"AG", "AH", "AI"} & set(rec["fields"])
    for body in (
        [{"fields": {}}, {"fields": {"Tab": None}}],
        [{"fields": {}}, {"fields": {"AH": "x"}}],
        [{"fields": {}}, {"_upsert": True, "_id": 4, "AI": None}],
    ):
        message = api.post("/tables/A/records", body, expect=400)["message"]
        assert message.startswith("record 1, field '") and "layout element" in message
    put = api.call("PUT", "/tables/A/records/5", expect=400, json={"fields": {"Line": None}})
    assert "record 0, field 'Line' (AI)" in put["message"]


# ---------------------------------------------------------- store renames


def test_rename_table_and_field(emulator, api):
    emulator.store.rename_table(TEAM, CRM, "A", "People")
    emulator.store.rename_field(TEAM, CRM, "A", "E", "Given name")
    table = api.get("/tables/A")
    assert table["name"] == "People"
    fields = {f["id"]: f for f in table["fields"]}
    assert fields["E"]["name"] == "Given name"
    assert fields["U"]["fn"] == "'Given name' + \" \" + 'Last name'"
    rec = api.get("/tables/A/records/5")
    assert rec["fields"]["Given name"] == "Sophie" and "First name" not in rec["fields"]
    assert rec["fields"]["Full name"] == "Sophie Baxter"
    assert api.post("/tables/A/records", [{"fields": {"Given name": "Zed", "Last name": "Q"}}])
    assert api.get("")["schema"]["types"]["A"]["caption"] == "People"
    with pytest.raises(ValueError, match="already has a field"):
        emulator.store.rename_field(TEAM, CRM, "A", "E", "Last name")
    with pytest.raises(ValueError, match="already has a table"):
        emulator.store.rename_table(TEAM, CRM, "A", "Company")
