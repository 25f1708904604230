"""The emulator's behaviour over real HTTP (docs/api.md §1-8), faults and control API."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import requests

from ninox_emulator import NinoxEmulator, Store, build_demo, demo
from tests.emulator_support import CRM, KEY, PROJECTS, TEAM, Http


@pytest.fixture
def api(emulator):
    http_client = Http(emulator)
    yield http_client
    http_client.session.close()


def message(api: Http, method: str, path: str, expect: int, **kwargs: Any) -> str:
    body = api.call(method, path, expect, **kwargs)
    assert set(body) == {"message"}
    return str(body["message"])


# ------------------------------------------------------------------ auth, routes


def test_every_v1_call_needs_the_bearer_key(emulator, api):
    url = emulator.base_url + "/teams"
    missing = requests.get(url, timeout=5)
    assert missing.status_code == 401 and "Authorization" in missing.json()["message"]
    wrong = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401 and "nope" not in wrong.text
    plain = requests.get(url, headers={"Authorization": KEY}, timeout=5)
    assert plain.status_code == 401
    assert api.get("/teams")[0] == {"id": TEAM, "name": "Demo Team"}
    emulator.set_api_key("other")
    assert (
        requests.get(url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5).status_code == 401
    )


def test_unknown_routes_and_methods(api):
    assert "no such endpoint" in message(api, "GET", "/teams/x/nope", 404)
    assert "not allowed" in message(api, "PATCH", "/teams", 405)
    assert "not allowed" in message(api, "POST", "/tables/A", 405)
    assert "not allowed" in message(api, "GET", "/tables/A/record", 405)


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/teams/nope", "nope"),
        ("/teams/nope/databases", "nope"),
        (f"/teams/{TEAM}/databases/nope", "nope"),
        ("/tables/ZZ", "ZZ"),
        ("/tables/ZZ/records", "ZZ"),
        ("/tables/A/records/999", "999"),
        ("/tables/A/records/abc", "abc"),
        ("/tables/A/records/5/files/none.png", "none.png"),
        ("/tables/A/records/5/files/none.png/metadata", "none.png"),
        ("/tables/A/records/999/changes", "999"),
    ],
)
def test_404_names_what_is_missing(api, path, named):
    assert named in message(api, "GET", path, 404)


def test_metadata_routes(api):
    assert {"id": CRM, "name": "CRM"} in api.get(f"/teams/{TEAM}/databases")
    database = api.get(f"/teams/{TEAM}/databases/{CRM}")
    assert database["settings"]["name"] == "CRM"
    schema = database["schema"]
    assert {"seq", "version", "nextTypeId", "types"} <= set(schema)
    assert schema["types"]["A"]["caption"] == "Contact"
    tables = api.get("/tables")
    assert [t["name"] for t in tables] == ["Contact", "Company", "Deal", "Lead"]
    contact = api.get("/tables/A")
    assert contact == tables[0]
    fields = {f["name"]: f for f in contact["fields"]}
    assert fields["Kind"] == {
        "id": "A",
        "name": "Kind",
        "type": "choice",
        "choices": [
            {"id": "1", "caption": "Person", "captions": {}},
            {"id": "2", "caption": "Company", "captions": {}},
        ],
    }
    assert fields["Company"]["refTypeId"] == "B"
    assert fields["Deals"]["type"] == "rev" and fields["Deals"]["refTypeId"] == "C"
    assert fields["Last name"]["required"] is True
    types = {f["type"] for t in tables for f in t["fields"]}
    for kind in (
        "string",
        "text",
        "number",
        "boolean",
        "date",
        "datetime",
        "timestamp",
        "time",
        "timeinterval",
        "appointment",
        "choice",
        "multi",
        "ref",
        "rev",
        "file",
        "image",
        "user",
        "email",
        "phone",
        "url",
        "link",
        "html",
        "location",
        "color",
        "icon",
        "formula",
    ):
        assert kind in types, kind


# ---------------------------------------------------------------------- reading


def test_record_shape_and_unknown_creator(api):
    first = api.get("/tables/A/records/1")
    assert list(first) == [
        "id",
        "sequence",
        "createdAt",
        "createdBy",
        "modifiedAt",
        "modifiedBy",
        "fields",
    ]
    assert first["createdAt"] == "" and first["createdBy"] == 0
    assert len(first["modifiedAt"]) == 19 and first["modifiedAt"][10] == "T"
    known = api.get("/tables/A/records/3")
    assert known["createdAt"] < known["modifiedAt"] and isinstance(known["createdBy"], str)
    sparse = api.get("/tables/A/records/2")
    assert "Birthday" not in sparse["fields"]  # empty fields are left out
    assert first["fields"]["Full name"] == "Tim Becker"  # formula
    assert first["fields"]["Deals"] == sorted(first["fields"]["Deals"])  # rev


def test_paging_default_cap_and_empty_page(emulator, api):
    api.post("/tables/D/records", [{"fields": {"First name": f"L{i}"}} for i in range(150)])
    assert len(api.get("/tables/D/records")) == 100  # default perPage
    assert len(api.get("/tables/D/records", perPage=500)) == 158
    emulator.max_page_size = 20
    assert len(api.get("/tables/D/records", perPage=500)) == 20  # capped
    pages = [api.get("/tables/D/records", perPage=50, page=n) for n in range(9)]
    ids = [r["id"] for page in pages for r in page]
    assert ids == sorted(set(ids)) and len(ids) == 158
    assert pages[-1] == []
    assert "perPage" in message(api, "GET", "/tables/D/records?perPage=0", 400)
    assert "page" in message(api, "GET", "/tables/D/records?page=x", 400)


def test_keyset_paging_with_since_id(api):
    seen, last = [], 0
    while page := api.get("/tables/A/records", perPage=7, sinceId=last):
        seen += [r["id"] for r in page]
        last = page[-1]["id"]
    assert seen == list(range(1, 31))


def test_since_sq_reads_changed_records_only(api):
    seq = api.seq()
    api.post(
        "/tables/A/records", [{"id": 20, "fields": {"Nickname": "x"}}, {"id": 4, "fields": {}}]
    )
    created = api.post("/tables/A/records", [{"fields": {"First name": "New"}}])[0]["id"]
    changed = api.get("/tables/A/records", sinceSq=seq)
    assert [r["id"] for r in changed] == [4, 20, created]
    assert all(r["sequence"] > seq for r in changed)
    assert [r["id"] for r in api.get("/tables/A/records", sinceSq=seq, sinceId=4, perPage=1)] == [
        20
    ]
    assert api.get("/tables/A/records", sinceSq=api.seq()) == []
    # The other strategy (a scan from sinceId) gives the same answer.
    old = api.get("/tables/A/records", sinceSq=0, perPage=1000)
    assert len(old) == 31


def test_order_desc_new_updated(api):
    by_name = api.get("/tables/A/records", order="First name", perPage=1000)
    names = [r["fields"]["First name"] for r in by_name]
    assert names == sorted(names)
    desc = api.get("/tables/A/records", order="Score", desc="true", perPage=1000)
    scores = [r["fields"]["Score"] for r in desc if "Score" in r["fields"]]
    assert scores == sorted(scores, reverse=True)
    assert "Score" not in desc[-1]["fields"]  # empty values last
    assert [r["id"] for r in api.get("/tables/A/records", desc="true", perPage=3)] == [30, 29, 28]
    api.post("/tables/A/records", [{"id": 12, "fields": {}}])
    assert api.get("/tables/A/records", updated="true", perPage=1)[0]["id"] == 12
    created = api.post("/tables/A/records", [{"fields": {}}])[0]["id"]
    assert api.get("/tables/A/records", new="true", perPage=1)[0]["id"] == created
    assert "order" in message(api, "GET", "/tables/A/records?order=Nope", 400)


def test_filters_both_forms_by_id_or_name(api):
    def ids(**params: Any) -> list[int]:
        return [r["id"] for r in api.get("/tables/A/records", **params)]

    assert ids(filters=json.dumps({"L": "Stanley"})) == [13]
    assert ids(filters=json.dumps({"fields": {"Nickname": "Jane"}})) == [14]
    assert ids(filters=json.dumps({"Kind": "Company", "A": "2"})) == [7, 14, 21, 28]
    assert ids(filters=json.dumps({"Kind": "Company", "Active": False})) == [28]
    assert ids(filters=json.dumps({"L": "nobody"})) == []
    body = api.call("GET", "/tables/A/records", json={"filters": {"L": "Stanley"}})
    assert [r["id"] for r in body] == [13]
    assert "'Nope'" in message(api, "GET", '/tables/A/records?filters={"Nope":1}', 400)
    assert "filters" in message(api, "GET", "/tables/A/records?filters=[1", 400)


def test_lookup_with_post_record(api):
    found = api.post("/tables/A/record", {"filters": {"L": "Jane"}})
    assert found["id"] == 14 and found["fields"]["Nickname"] == "Jane"
    found = api.post('/tables/A/record?filters={"E":"Sophie"}', None)
    assert found["fields"]["Last name"] == "Baxter"
    assert "matches" in message(api, "POST", "/tables/A/record", 404, json={"filters": {"L": "x"}})


def test_choice_style_and_style(api):
    names = api.get("/tables/A/records/1")["fields"]
    assert names["Kind"] == "Person" and names["Tags"] == ["VIP", "Smith, Jones & Co"]
    ids = api.get("/tables/A/records/1", choiceStyle="ids")["fields"]
    assert ids["Kind"] == "1" and ids["Tags"] == ["1", "4"]
    by_id = api.get("/tables/A/records", style="ids", choiceStyle="ids", perPage=1)[0]["fields"]
    assert by_id["A"] == "1" and by_id["E"] == "Tim" and by_id["M"] == 1
    assert "choiceStyle" in message(api, "GET", "/tables/A/records?choiceStyle=x", 400)


# ---------------------------------------------------------------------- writing

EVERY_TYPE = {
    "Kind": "Company",
    "Title": 3,  # a choice id as an integer
    "Job title": "Zoë 🚀",
    "Birthday": "2000-02-29",
    "Tags": "Partner, VIP",  # comma-separated captions
    "Email": "a@example.com",
    "Company": 2,
    "Active": False,
    "Notes": "multi\nline",
    "Last contact": "2024-05-06T07:08:09.123Z",
    "Score": 12.5,
    "Call time": "23:59:59",
    "Imported": "2024-01-02T03:04:05+00:00",
    "Next meeting": "2024-03-01T09:00:00 - 2024-03-01T10:30:00",
    "Time spent": "123:25:16.123",
    "Address": "Somewhere <52.5,13.4>",
    "Owner": "EPZ2zSxuC7jt6WF2D",
}


def test_every_type_is_written_and_read_back(api):
    created = api.post("/tables/A/records", [{"fields": EVERY_TYPE}])[0]
    fields = created["fields"]
    assert fields["Title"] == "Dr"
    assert fields["Tags"] == ["VIP", "Partner"]  # choice order, like Ninox's bitmask
    assert fields["Last contact"] == "2024-05-06T07:08:09"  # no zone, no ms
    assert fields["Imported"] == "2024-01-02T03:04:05"
    assert fields["Active"] is False and fields["Score"] == 12.5 and fields["Company"] == 2
    assert api.get(f"/tables/A/records/{created['id']}") == created
    company = api.get("/tables/B/records/2")["fields"]
    assert created["id"] in company["Contacts"]  # rev follows the ref
    # null and "" clear a field
    cleared = api.post(
        "/tables/A/records", [{"id": created["id"], "fields": {"Score": None, "Notes": ""}}]
    )[0]["fields"]
    assert "Score" not in cleared and "Notes" not in cleared


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("Nope", 1, "unknown field 'Nope'"),
        ("Score", "12", "expected a number"),
        ("Score", True, "expected a number"),
        ("Active", "true", "true or false"),
        ("Kind", "Robot", "no choice 'Robot'"),
        ("Tags", ["VIP", "Gold"], "no choice 'Gold'"),
        ("Birthday", "2021-02-30", "invalid date"),
        ("Birthday", "23.01.2021", "malformed date"),
        ("Last contact", "2021-01-23 12:30:00", "malformed datetime"),
        ("Last contact", "2021-01-23T12:30:00+02:00", "malformed datetime"),
        ("Call time", "25:00:00", "malformed time"),
        ("First name", 5, "expected a string"),
        ("Company", 99, "does not exist"),
        ("Company", "2", "expected a record id"),
        ("Deals", [1], "computed"),
        ("Full name", "x", "computed"),
    ],
)
def test_400_names_record_index_and_field(api, field, value, reason):
    seq = api.seq()
    text = message(
        api, "POST", "/tables/A/records", 400, json=[{"fields": {}}, {"fields": {field: value}}]
    )
    assert "record 1" in text and repr(field) in text and reason in text
    assert api.seq() == seq  # all or nothing: the valid first element was not applied


def test_update_of_an_absent_record_is_404_and_nothing_is_applied(api):
    seq = api.seq()
    text = message(
        api,
        "POST",
        "/tables/A/records",
        404,
        json=[{"id": 1, "fields": {"Nickname": "x"}}, {"id": 999, "fields": {}}],
    )
    assert "record 1" in text and "999" in text
    assert api.seq() == seq and "Nickname" not in api.get("/tables/A/records/1")["fields"]
    assert "JSON array" in message(api, "POST", "/tables/A/records", 400, json={"fields": {}})
    assert "not valid JSON" in message(api, "POST", "/tables/A/records", 400, data=b"[{")
    assert "unknown keys" in message(api, "POST", "/tables/A/records", 400, json=[{"feld": {}}])


def test_create_and_update_answer_records_in_request_order(api):
    answer = api.post(
        "/tables/A/records",
        [{"fields": {"First name": "Ann"}}, {"id": 2, "fields": {"E": "Bea"}}, {"fields": {}}],
    )
    assert [r["fields"].get("First name") for r in answer] == ["Ann", "Bea", None]
    assert answer[0]["id"] == 33 and answer[2]["id"] == 34  # ids are never reused (31, 32 gone)
    assert answer[0]["createdBy"] == "admin" and answer[0]["modifiedBy"] == "admin"
    seqs = [r["sequence"] for r in answer]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and api.seq() == seqs[-1]


def test_upsert_updates_or_creates_with_that_id_and_answers_raw(api):
    answer = api.post(
        "/tables/A/records",
        [
            {"_upsert": True, "_id": 5, "E": "Sophia"},
            {"_upsert": True, "_id": 500, "E": "Alfred", "G": "Becker", "A": "1"},
        ],
    )
    assert answer[0]["_id"] == 5 and answer[0]["E"] == "Sophia" and answer[0]["G"] == "Baxter"
    assert set(answer[1]) == {"_id", "_cu", "_cd", "_mu", "_md", "E", "G", "A"}
    assert answer[1]["A"] == "Person" and len(answer[1]["_cd"]) == 19
    assert api.get("/tables/A/records/500")["fields"]["Last name"] == "Becker"
    assert api.get("/tables/A/changes", sinceSq=api.seq())["nextRid"] == 501
    assert api.post("/tables/A/records", [{"fields": {}}])[0]["id"] == 501
    assert "_id" in message(api, "POST", "/tables/A/records", 400, json=[{"_upsert": True}])


def test_put_updates_one_record(api):
    answer = api.call("PUT", "/tables/A/records/8", json={"fields": {"First name": "Jane"}})
    assert answer["id"] == 8 and answer["fields"]["First name"] == "Jane"
    assert "999" in message(api, "PUT", "/tables/A/records/999", 404, json={"fields": {}})


def test_deletes_take_sequences_and_leave_tombstones(api):
    seq = api.seq()
    assert api.call("DELETE", "/tables/D/records/1") == {}
    assert api.call("DELETE", "/tables/D/records", json=[2, 3, 999]) == {}
    assert api.call("DELETE", "/tables/D/records/999") == {}  # absent: ignored
    assert api.seq() == seq + 3
    assert [r["id"] for r in api.get("/tables/D/records")] == [4, 5, 6, 7, 8]
    feed = api.get("/tables/D/changes", sinceSq=seq)
    assert feed["removes"] == ["D1", "D2", "D3"] and feed["updates"] == {}
    assert "array" in message(api, "DELETE", "/tables/D/records", 400, json={"ids": [1]})


def test_deleting_a_referenced_record_empties_the_refs(api):
    company_contacts = api.get("/tables/B/records/3")["fields"]["Contacts"]
    seq = api.seq()
    api.call("DELETE", "/tables/B/records/3")
    for rid in company_contacts:
        contact = api.get(f"/tables/A/records/{rid}")
        assert "Company" not in contact["fields"] and contact["sequence"] > seq


# ------------------------------------------------------------------ change feed


def test_change_feeds_in_raw_form(api):
    seq = api.seq()
    api.post(
        "/tables/A/records", [{"id": 1, "fields": {"Kind": "Company", "Birthday": "1980-01-01"}}]
    )
    api.call("DELETE", "/tables/A/records/2")
    table = api.get("/tables/A/changes", sinceSq=seq)
    assert table["seq"] == seq + 2 and table["nextRid"] == 33
    assert table["removes"] == ["A2"] and list(table["updates"]) == ["A1"]
    raw = table["updates"]["A1"]
    assert raw["_id"] == "A1" and raw["_cu"] == 0 and "_cd" not in raw
    assert raw["_mu"] == "admin" and isinstance(raw["_md"], int)
    assert raw["A"] == "2" and raw["D"] == 315532800000  # choice id, date as epoch ms
    assert raw["F"] == ["1", "4"] and raw["M"] == 1 and isinstance(raw["P"], int)
    assert "U" not in raw and "V" not in raw  # computed fields are not in the feed
    assert set(table) == {"nextRid", "updates", "removes", "files", "views", "reports", "seq"}
    assert table["files"] == [] and table["views"] == {} and table["reports"] == {}

    database = api.get("/changes", sinceSq=seq)
    assert database["config"] == {} and database["nextRids"]["A"] == 33
    assert set(database["updates"]) == {"A1"} and database["removes"] == ["A2"]
    assert api.get("/changes", sinceSq=0)["removes"] == ["A31", "A32", "A2"]

    record = api.get("/tables/A/records/1/changes", sinceSq=seq)
    assert list(record["updates"]) == ["A1"] and record["removes"] == []
    assert api.get("/tables/A/records/1/changes", sinceSq=seq + 2)["updates"] == {}
    assert api.get("/tables/A/records/2/changes", sinceSq=seq)["removes"] == ["A2"]
    # An id brought back by _upsert is an update, not a remove.
    api.post("/tables/A/records", [{"_upsert": True, "_id": 2, "E": "Back"}])
    again = api.get("/tables/A/changes", sinceSq=seq)
    assert again["removes"] == [] and "A2" in again["updates"]
    assert "sinceSq" in message(api, "GET", "/changes?sinceSq=x", 400)


def test_every_write_takes_the_next_sequence(api):
    seq = api.seq()
    answer = api.post("/tables/C/records", [{"id": 1, "fields": {}}, {"fields": {"Title": "T"}}])
    assert [r["sequence"] for r in answer] == [seq + 1, seq + 2]
    assert api.get(f"/teams/{TEAM}/databases/{PROJECTS}")["schema"]["seq"] != seq + 2


# ------------------------------------------------------------------------ files


def test_files_upload_list_get_metadata_thumb_delete(api):
    name = "Zoë résumé #1.pdf"
    quoted = urllib.parse.quote(name, safe="")
    seq = api.seq()
    meta = api.call(
        "POST",
        "/tables/C/records/2/files",
        files={"file": (name, b"%PDF-1.4 \x00\xff bytes", "application/pdf")},
    )
    assert meta["name"] == name and meta["size"] == 17 and meta["seq"] == seq + 1
    listed = api.get("/tables/C/records/2/files")
    assert listed == [meta]
    assert set(meta) == {"name", "contentType", "size", "modifiedDate", "modifiedUser", "seq"}
    response = api.session.get(api.url(f"/tables/C/records/2/files/{quoted}"), timeout=5)
    assert response.content == b"%PDF-1.4 \x00\xff bytes"
    assert response.headers["Content-Type"] == "application/pdf"
    assert api.get(f"/tables/C/records/2/files/{quoted}/metadata") == meta
    thumb = api.session.get(api.url(f"/tables/C/records/2/files/{quoted}/thumb.jpg"), timeout=5)
    assert thumb.headers["Content-Type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"
    # The upload changed the record: it is in the change feed.
    assert "C2" in api.get("/tables/C/changes", sinceSq=seq)["updates"]
    assert api.call("DELETE", f"/tables/C/records/2/files/{quoted}") == {}
    assert api.get("/tables/C/records/2/files") == []
    assert api.get("/tables/C/records/2")["sequence"] == seq + 2
    assert "file" in message(api, "POST", "/tables/C/records/2/files", 400, data=b"x")
    assert name in message(api, "DELETE", f"/tables/C/records/2/files/{quoted}", 404)


# ---------------------------------------------------------------------- scripts


def test_script_subset_and_501(api):
    names = api.get("/query", query="(select Contact).'First Name'")
    assert names[:8] == ["Tim", "Chalie", "John", "Caroline", "Sophie", "Hans", "Alfred ", "Nadin"]
    assert api.post("/query", {"query": "(select Contact).Kind"})[0] == "Person"
    assert api.post("/exec", {"query": "users()"}) == [
        "anm2jMxL7kRuatXW9",
        "EPZ2zSxuC7jt6WF2D",
        "whQnZogNQm2XaWWgL",
    ]
    assert "(select TABLE)" in message(
        api, "POST", "/exec", 501, json={"query": "delete (select Contact)"}
    )
    assert "Nope" in message(api, "GET", "/query?query=(select Nope).'x'", 400)


# ----------------------------------------------------------------------- faults


def test_status_faults_with_and_without_retry_after(emulator, api):
    emulator.faults.add("status", status=429, retry_after=7, times=1)
    emulator.faults.add("status", status=503, times=1)
    first = api.session.get(api.url("/teams"), timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    second = api.session.get(api.url("/teams"), timeout=5)
    assert second.status_code == 503 and "Retry-After" not in second.headers
    assert second.json()["message"]
    assert api.get("/teams") and emulator.faults.active() == []
    assert [e.status for e in emulator.requests] == [429, 503, 200]


def test_fault_filters_and_after(emulator, api):
    emulator.faults.add("status", status=500, method="POST", path=r"/records$", after=1, times=2)
    api.get("/tables/A/records")  # GET: not matched
    api.post("/tables/D/records", [{"fields": {}}])  # let through by `after`
    api.post("/tables/D/records", [{"fields": {}}], expect=500)
    api.post("/tables/D/records", [{"fields": {}}], expect=500)
    api.post("/tables/D/records", [{"fields": {}}])
    assert emulator.request_count(status=500) == 2


def test_drop_closes_without_a_response_and_applies_nothing(emulator, api):
    seq = api.seq()
    emulator.faults.add("drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        api.session.post(api.url("/tables/D/records"), json=[{"fields": {}}], timeout=5)
    assert api.seq() == seq
    assert emulator.requests[-2].status is None and emulator.requests[-2].fault == "drop"


def test_lost_response_applies_the_write(emulator, api):
    seq = api.seq()
    emulator.faults.add("lost_response", method="POST")
    with pytest.raises(requests.ConnectionError):
        api.session.post(api.url("/tables/D/records"), json=[{"fields": {}}], timeout=5)
    assert api.seq() == seq + 1


def test_latency_fault_delays_but_answers(emulator, api):
    emulator.faults.add("latency", seconds=0.05, times=1)
    assert api.get("/teams")
    assert emulator.faults.active() == []


def test_bad_fault_specs_are_refused(emulator):
    with pytest.raises(ValueError, match="kind"):
        emulator.faults.add("explode")
    with pytest.raises(ValueError, match="status"):
        emulator.faults.add("status", status=200)


def test_concurrency_limit_answers_429_and_counts(emulator, api):
    emulator.max_concurrent = 1
    emulator.faults.add("latency", seconds=0.5, times=1, path=r"^/teams$")
    slow: list[int] = []
    thread = threading.Thread(
        target=lambda: slow.append(
            requests.get(api.url("/teams"), headers=api.session.headers, timeout=5).status_code
        )
    )
    thread.start()
    while emulator.in_flight == 0:  # wait until the slow request is in flight
        threading.Event().wait(0.005)
    refused = api.session.get(api.url(f"/teams/{TEAM}"), timeout=5)
    thread.join()
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert slow == [200]
    assert emulator.concurrency_violations == 1
    assert emulator.request_count(status=429) == 1
    api.get("/teams")  # one at a time is fine
    assert emulator.concurrency_violations == 1


def test_peak_in_flight_counts_the_most_requests_handled_at_once(emulator, api):
    """The benchmarks read it to check that a connector keeps one call in flight."""
    root = api.url("/teams").split("/v1", 1)[0]
    requests.delete(f"{root}/_emulator/concurrency", timeout=5).raise_for_status()
    api.get("/teams")
    api.get("/teams")
    assert requests.get(f"{root}/_emulator/concurrency", timeout=5).json()["peak"] == 1
    emulator.faults.add("latency", seconds=0.5, times=1, path=r"^/teams$")
    thread = threading.Thread(
        target=lambda: requests.get(api.url("/teams"), headers=api.session.headers, timeout=5)
    )
    thread.start()
    while emulator.in_flight == 0:  # wait until the slow request is in flight
        threading.Event().wait(0.005)
    api.get(f"/teams/{TEAM}")
    thread.join()
    assert emulator.peak_in_flight == 2
    assert requests.get(f"{root}/_emulator/concurrency", timeout=5).json()["peak"] == 2
    requests.delete(f"{root}/_emulator/concurrency", timeout=5).raise_for_status()
    assert emulator.peak_in_flight == 0


# ------------------------------------------------------------------ log, hooks


def test_request_log_counts_and_clear(emulator, api):
    emulator.clear_log()
    api.get("/tables/A/records", perPage=2, sinceId=0)
    api.get("/tables/A/records/1")
    api.post("/tables/D/records", [{"fields": {}}])
    entries = emulator.requests
    assert [e.method for e in entries] == ["GET", "GET", "POST"]
    assert entries[0].path == f"/teams/{TEAM}/databases/{CRM}/tables/A/records"
    assert entries[0].query == {"perPage": "2", "sinceId": "0"}
    assert entries[0].status == 200 and entries[0].duration >= 0
    assert emulator.request_count(method="GET") == 2
    assert emulator.request_count(path_regex=r"/records$") == 2
    assert emulator.request_count(method="post", status=200) == 1
    assert emulator.request_counts()[f"GET /teams/{TEAM}/databases/{CRM}/tables/A/records/1"] == 1
    emulator.clear_log()
    assert emulator.requests == []


def test_on_request_hook_can_change_data_between_pages(emulator, api):
    calls: list[str] = []

    def hook(request) -> None:
        calls.append(request.path)
        if len(calls) == 2:  # before the second page: over HTTP, from the hook
            api.post("/tables/D/records", [{"fields": {"First name": "Mid-read"}}])

    emulator.on_request(hook)
    first = api.get("/tables/D/records", perPage=5, sinceId=0)
    second = api.get("/tables/D/records", perPage=5, sinceId=first[-1]["id"])
    assert [r["id"] for r in second] == [6, 7, 8, 9]
    assert second[-1]["fields"]["First name"] == "Mid-read"
    emulator.reset()
    assert api.get("/teams") and len(calls) == 3  # reset removed the hook


# --------------------------------------------------------------- control API


def test_control_routes(emulator, api):
    root = emulator.url + "/_emulator"
    fault = requests.post(f"{root}/faults", json={"kind": "status", "status": 502}, timeout=5)
    assert fault.json()["status"] == 502
    assert requests.get(f"{root}/faults", timeout=5).json()[0]["kind"] == "status"
    api.get("/teams", expect=502)
    log = requests.get(f"{root}/requests", timeout=5).json()
    assert log["requests"][-1]["status"] == 502 and log["counts"] == {"GET /teams": 1}
    requests.post(f"{root}/concurrency", json={"max": 3}, timeout=5)
    assert emulator.max_concurrent == 3
    api.post("/tables/D/records", [{"fields": {}}])
    assert requests.post(f"{root}/reset", json={"demo": False}, timeout=5).status_code == 200
    assert api.get("/teams") == [] and emulator.max_concurrent is None
    requests.post(f"{root}/reset", json={}, timeout=5)
    assert len(api.get("/teams")) == 5
    assert requests.get(f"{root}/snapshot", timeout=5).json()["teams"][0]["id"] == TEAM
    assert requests.post(f"{root}/save", timeout=5).status_code == 400  # no --data file
    assert requests.get(f"{root}/nope", timeout=5).status_code == 404


# ----------------------------------------------------------------- python API


def test_store_python_api(emulator, api):
    store: Store = emulator.store
    store.create_database(
        TEAM,
        "py0db",
        "Python",
        [
            {
                "id": "A",
                "name": "Person",
                "fields": [
                    {"id": "A", "name": "Name", "type": "string"},
                    {"id": "B", "name": "Boss", "type": "ref", "refTypeId": "A"},
                    {
                        "id": "C",
                        "name": "Staff",
                        "type": "rev",
                        "refTypeId": "A",
                        "refFieldId": "B",
                    },
                    {"id": "D", "name": "Mood", "type": "vibes"},  # unknown: strings
                ],
            },
        ],
    )
    store.save_records(TEAM, "py0db", "A", [{"fields": {"Name": "Ada", "Mood": "calm"}}])
    store.save_records(TEAM, "py0db", "A", [{"fields": {"Name": "Bob", "Boss": 1}}])
    rows = store.all_records(TEAM, "py0db", "A")
    assert [r["fields"] for r in rows] == [
        {"Name": "Ada", "Mood": "calm", "Staff": [2]},
        {"Name": "Bob", "Boss": 1},
    ]
    assert api.get(f"/teams/{TEAM}/databases/py0db/tables/A/records/2")["fields"]["Boss"] == 1
    assert store.delete_records(TEAM, "py0db", "A", [2, 77]) == 1
    assert store.sequence(TEAM, "py0db") == 3
    copy = Store.from_snapshot(json.loads(json.dumps(store.snapshot())))
    assert copy.all_records(TEAM, "py0db", "A") == store.all_records(TEAM, "py0db", "A")
    assert copy.all_records(TEAM, CRM, "A") == store.all_records(TEAM, CRM, "A")
    assert copy.snapshot() == store.snapshot()
    assert build_demo().snapshot() == build_demo().snapshot()  # deterministic


def test_the_demo_is_copied_whole_and_each_copy_is_its_own() -> None:
    # build_demo copies a demo built once (ninox_emulator/demo.py): the copy
    # must be the build, down to the change logs and the formulas.
    built = demo._build(Store())
    copy = build_demo()
    assert copy.snapshot() == built.snapshot()
    for team_id, team in built.teams.items():
        assert copy.teams[team_id].users == team.users
        for db_id, db in team.databases.items():
            for table_id, table in db.tables.items():
                twin = copy.table(team_id, db_id, table_id)
                assert (twin.log_seq, twin.log_id) == (table.log_seq, table.log_id)
                assert (twin.del_seq, twin.del_id, twin.next_rid) == (
                    table.del_seq,
                    table.del_id,
                    table.next_rid,
                )
                for style in ("names", "ids"):
                    assert copy.all_records(team_id, db_id, table_id, style=style) == (
                        built.all_records(team_id, db_id, table_id, style=style)
                    )
    # Formulas of a copy read that copy's records.
    copy.save_records(TEAM, CRM, "A", [{"id": 1, "fields": {"First name": "Zed"}}])
    (first,) = [r for r in copy.all_records(TEAM, CRM, "A") if r["id"] == 1]
    assert first["fields"]["Full name"].startswith("Zed ")
    # A change to one copy is in no other.
    assert build_demo().all_records(TEAM, CRM, "A") == built.all_records(TEAM, CRM, "A")
    # Into a store that has a demo team already: its databases replaced, others kept.
    store = Store()
    store.create_team(TEAM, "Demo Team")
    store.create_database(TEAM, "own0db", "Own", [{"id": "A", "name": "T", "fields": []}])
    build_demo(store)
    assert set(store.team(TEAM).databases) == {"own0db", *built.team(TEAM).databases}


# ------------------------------------------------------------------ HTTP level


def test_keep_alive_content_length_and_chunked_bodies(emulator):
    conn = http.client.HTTPConnection(emulator.host, emulator.port, timeout=5)
    headers = {"Authorization": f"Bearer {KEY}"}
    for _ in range(3):  # one connection, several requests
        conn.request("GET", "/v1/teams", headers=headers)
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Content-Length")
        assert json.loads(response.read())
    conn.request(
        "POST",
        f"/v1/teams/{TEAM}/databases/{CRM}/tables/D/records",
        body=iter([b'[{"fields": ', b'{"First name": "Chunky"}}]']),
        headers={**headers, "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())[0]["fields"]["First name"] == "Chunky"
    conn.close()
    assert requests.get(emulator.url + "/elsewhere", timeout=5).status_code == 404


def test_context_manager_and_empty_start():
    with NinoxEmulator(api_key="k", port=0).start() as emu:
        response = requests.get(
            emu.base_url + "/teams", headers={"Authorization": "Bearer k"}, timeout=5
        )
        assert response.json() == []
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/teams", timeout=2)


def test_cli_saves_on_sigterm_and_loads_again(tmp_path: Path):
    data = tmp_path / "ninox.json"

    def start(*extra: str) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ninox_emulator.cli",
                "--port",
                "0",
                "--api-key",
                "cli-key",
                "--data",
                str(data),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line and "cli-key" in line, line
        return proc, line.split(" on ")[1].split()[0]

    proc, base = start("--demo")
    try:
        headers = {"Authorization": "Bearer cli-key"}
        url = f"{base}/teams/{TEAM}/databases/{CRM}/tables/D/records"
        created = requests.post(
            url, json=[{"fields": {"First name": "Persisted"}}], headers=headers, timeout=5
        )
        rid = created.json()[0]["id"]
        saved = requests.post(base.removesuffix("/v1") + "/_emulator/save", timeout=5)
        assert saved.status_code == 200 and data.exists()
        requests.post(url, json=[{"fields": {"First name": "At exit"}}], headers=headers, timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)  # also closes the pipes
        assert proc.returncode == 0
    snapshot = json.loads(data.read_text(encoding="utf-8"))
    assert snapshot["teams"][0]["id"] == TEAM

    proc, base = start()  # no --demo: the data comes from the file
    try:
        rows = requests.get(
            f"{base}/teams/{TEAM}/databases/{CRM}/tables/D/records", headers=headers, timeout=5
        ).json()
        names = [r["fields"].get("First name") for r in rows]
        assert "Persisted" in names and "At exit" in names and rid in [r["id"] for r in rows]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        assert proc.returncode == 0
