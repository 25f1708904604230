"""The emulator's Ninox 4 Public API: each route's strict behaviour and each variant.

Raw `requests` calls over real HTTP: the fixed readings by default, one
switch per known variant (ninox_emulator/README.md, "Public API (Ninox 4)").
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests

from ninox_emulator import NinoxEmulator
from ninox_emulator.public import DEMO_WORKSPACE_ID, PublicEmulator
from tests.public.conftest import PUBLIC_TEST_KEY

CONTACTS = "/modules/crm/tables/contacts"
LEADS = "/modules/crm/tables/leads"
DEALS = "/modules/crm/tables/deals"
SINCE_LONG_AGO = "2000-01-01T00:00:00Z"


def call(
    emu: PublicEmulator, method: str, path: str, *, key: str | None = PUBLIC_TEST_KEY, **kwargs: Any
) -> requests.Response:
    """One request to `workspace/{id}` + `path` with the test key."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return requests.request(method, emu.workspace_url + path, headers=headers, timeout=10, **kwargs)


def data(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]["message"]


def recent(emu: PublicEmulator) -> str:
    """A `since` one hour before the server's clock."""
    from ninox_emulator.public.clock import iso

    return iso(emu.clock.now_ms() - 3_600_000)


def all_ids(emu: PublicEmulator, path: str = CONTACTS) -> list[str]:
    return [r["id"] for r in data(call(emu, "GET", f"{path}/records"))]


# ---------------------------------------------------------------- metadata


def test_workspace_root_nests_modules_tables_and_fields(public_emulator):
    root = data(call(public_emulator, "GET", ""))
    assert root["name"] == "Demo Workspace"
    assert [m["name"] for m in root["modules"]] == ["crm", "projects"]
    crm = root["modules"][0]
    assert [t["name"] for t in crm["tables"]] == ["contacts", "companies", "deals", "leads"]
    email = next(f for f in crm["tables"][0]["fields"] if f["name"] == "email")
    assert email["type"] == "string"
    assert email["variant"] == "email"
    assert email["unique"] is True


def test_workspace_id_and_base_url_are_those_of_ninox_4(public_emulator):
    assert public_emulator.workspace_id == DEMO_WORKSPACE_ID
    assert public_emulator.base_url.endswith("/api/v1")
    assert public_emulator.workspace_url == (
        f"{public_emulator.base_url}/workspace/{DEMO_WORKSPACE_ID}"
    )


def test_names_are_machine_names_and_nothing_has_an_id(public_emulator):
    root = data(call(public_emulator, "GET", ""))
    for module in root["modules"]:
        assert "id" not in module
        for table in module["tables"]:
            assert "id" not in table
            for spec in table["fields"]:
                assert "id" not in spec
                assert spec["name"].replace("_", "").isalnum()
                assert spec["name"] == spec["name"].lower()


def test_modules_list_is_paged(public_emulator):
    answer = call(public_emulator, "GET", "/modules?limit=1&offset=1").json()
    assert [m["name"] for m in answer["data"]] == ["projects"]
    assert answer["page_info"] == {"has_more": False, "limit": 1, "offset": 1}
    first = call(public_emulator, "GET", "/modules?limit=1").json()
    assert first["page_info"]["has_more"] is True


def test_module_answers_with_its_tables_and_their_fields(public_emulator):
    module = data(call(public_emulator, "GET", "/modules/projects"))
    assert [t["name"] for t in module["tables"]] == ["projects", "contacts", "tasks"]
    assert all("fields" in t for t in module["tables"])


def test_tables_list_and_one_table_with_its_fields(public_emulator):
    tables = data(call(public_emulator, "GET", "/modules/crm/tables?limit=2"))
    assert [t["name"] for t in tables] == ["contacts", "companies"]
    table = data(call(public_emulator, "GET", CONTACTS))
    assert table["hasHistory"] is True
    assert table["fields"][0]["name"] == "kind"


def test_fields_list_and_one_field(public_emulator):
    fields = data(call(public_emulator, "GET", f"{CONTACTS}/fields?limit=3&offset=1"))
    assert [f["name"] for f in fields] == ["title", "job_title", "birthday"]
    status = data(call(public_emulator, "GET", f"{CONTACTS}/fields/kind"))
    assert status["type"] == "choice"
    assert [o["name"] for o in status["options"]] == ["Person", "Company"]
    company = data(call(public_emulator, "GET", f"{CONTACTS}/fields/company"))
    assert company == {**company, "type": "reference", "refTableId": "companies"}


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "offset=-1"])
def test_metadata_lists_refuse_limits_outside_1_to_100(public_emulator, query):
    message = error(call(public_emulator, "GET", f"/modules?{query}"), 400)
    assert query.split("=")[0] in message


@pytest.mark.parametrize(
    ("path", "word"),
    [
        ("/modules/nope", "Module"),
        ("/modules/crm/tables/nope", "Table"),
        ("/modules/crm/tables/contacts/fields/nope", "Field"),
        ("/modules/crm/tables/nope/records", "Table"),
    ],
)
def test_unknown_module_table_or_field_is_404_with_the_error_envelope(public_emulator, path, word):
    assert word in error(call(public_emulator, "GET", path), 404)


def test_unknown_workspace_is_404(public_emulator):
    url = f"{public_emulator.base_url}/workspace/aaaaaaaaaaaa/modules"
    response = requests.get(url, headers={"Authorization": f"Bearer {PUBLIC_TEST_KEY}"}, timeout=5)
    assert "Workspace" in error(response, 404)


def test_leads_has_no_history_and_every_other_table_has(public_emulator):
    root = data(call(public_emulator, "GET", ""))
    history = {
        (m["name"], t["name"]): t["hasHistory"] for m in root["modules"] for t in m["tables"]
    }
    assert [k for k, v in history.items() if not v] == [("crm", "leads")]


def test_unique_fields_are_the_contact_and_lead_emails(public_emulator):
    root = data(call(public_emulator, "GET", ""))
    unique = {
        (m["name"], t["name"], f["name"])
        for m in root["modules"]
        for t in m["tables"]
        for f in t["fields"]
        if f["unique"]
    }
    assert unique == {
        ("crm", "contacts", "email"),
        ("crm", "leads", "email"),
        ("projects", "contacts", "email"),
    }


# ------------------------------------------------------------ record reads


def test_records_default_to_100_in_ascending_id_order_with_page_info(public_emulator):
    answer = call(public_emulator, "GET", f"{CONTACTS}/records").json()
    assert [r["id"] for r in answer["data"]] == [str(i) for i in range(1, 31)]
    assert answer["page_info"] == {"has_more": False, "limit": 100, "offset": 0}


def test_records_page_by_limit_and_offset_until_has_more_is_false(public_emulator):
    seen, offset = [], 0
    while True:
        answer = call(public_emulator, "GET", f"{CONTACTS}/records?limit=7&offset={offset}").json()
        seen += [r["id"] for r in answer["data"]]
        if not answer["page_info"]["has_more"]:
            break
        offset += 7
    assert seen == [str(i) for i in range(1, 31)]
    assert answer["page_info"] == {"has_more": False, "limit": 7, "offset": 28}


def test_has_more_is_false_on_the_last_full_page(public_emulator):
    answer = call(public_emulator, "GET", f"{CONTACTS}/records?limit=10&offset=20").json()
    assert len(answer["data"]) == 10
    assert answer["page_info"]["has_more"] is False


@pytest.mark.parametrize("limit", ["0", "101", "1000", "ten"])
def test_records_limit_outside_1_to_100_is_400(public_emulator, limit):
    assert "limit" in error(call(public_emulator, "GET", f"{CONTACTS}/records?limit={limit}"), 400)


def test_records_fields_projects_the_values(public_emulator):
    rows = data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=2&fields=email,company"))
    assert rows[0] == {
        "id": "1",
        "values": {"email": "tim.becker@example.com", "company": "1"},
    }


def test_records_fields_naming_an_unknown_field_is_400(public_emulator):
    assert "nope" in error(call(public_emulator, "GET", f"{CONTACTS}/records?fields=nope"), 400)


def test_records_sort_by_field_with_minus_for_descending(public_emulator):
    rows = data(call(public_emulator, "GET", f"{LEADS}/records?sort=-email&fields=email"))
    emails = [r["values"]["email"] for r in rows]
    assert emails == sorted(emails, reverse=True)
    rows = data(call(public_emulator, "GET", f"{LEADS}/records?sort=source,-id&fields=source"))
    assert [(r["values"]["source"], r["id"]) for r in rows][:3] == [
        ("Fair", "8"),
        ("Fair", "5"),
        ("Fair", "2"),
    ]


def test_records_filter_is_equality_on_field_names(public_emulator):
    query = {"filter": json.dumps({"email": "sophie.baxter@example.com"})}
    rows = data(call(public_emulator, "GET", f"{CONTACTS}/records", params=query))
    assert [r["id"] for r in rows] == ["5"]
    legacy = {"filters": json.dumps({"kind": "Company"})}
    rows = data(call(public_emulator, "GET", f"{CONTACTS}/records", params=legacy))
    assert [r["id"] for r in rows] == ["7", "14", "21", "28"]


def test_records_filter_on_id_is_404_field_not_found(public_emulator):
    query = {"filter": json.dumps({"id": "3"})}
    message = error(call(public_emulator, "GET", f"{CONTACTS}/records", params=query), 404)
    assert "field-not-found" in message


def test_one_record_by_id(public_emulator):
    record = data(call(public_emulator, "GET", f"{CONTACTS}/record/5"))
    assert record["id"] == "5"
    assert record["values"]["first_name"] == "Sophie"


def test_one_record_that_does_not_exist_is_404(public_emulator):
    assert "99" in error(call(public_emulator, "GET", f"{CONTACTS}/record/99"), 404)
    error(call(public_emulator, "GET", f"{CONTACTS}/record/31"), 404)  # deleted in the demo


def test_values_are_in_the_v4_read_forms(public_emulator):
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["kind"] == "Person"  # choice: the option name
    assert values["tags"] == ["VIP", "Smith, Jones & Co"]  # multi: names, option order
    assert values["company"] == "1"  # reference: an id string
    assert values["last_contact"] == "2024-01-01T08:30:00.000Z"
    assert values["birthday"] == "1960-01-01"
    assert values["call_time"] == "08:15"
    assert values["time_spent"] == "00:25:16.123"
    assert values["next_meeting"] == "[2024-03-01T09:00:00Z,2024-03-01T10:00:00Z)"
    assert values["active"] is True
    assert values["full_name"] == "Tim Becker"  # function: computed
    assert "deals" not in values  # reverse: absent
    assert values["nickname"] is None  # empty: null


# ----------------------------------------------------------------- creates


def test_create_answers_201_with_string_ids_in_request_order(public_emulator):
    body = {"records": [{"last_name": "A"}, {"last_name": "B", "email": "b@example.com"}]}
    assert data(call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 201) == {
        "ids": ["33", "34"]
    }
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/34"))["values"]["last_name"] == "B"


def test_create_is_all_or_nothing(public_emulator):
    body = {"records": [{"last_name": "A"}, {"last_name": "B", "active": 1}]}
    assert "records[1], field 'active'" in error(
        call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 400
    )
    assert len(all_ids(public_emulator)) == 30


def test_record_ids_are_never_reused_after_a_delete(public_emulator):
    call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [30]})
    ids = data(
        call(
            public_emulator, "POST", f"{CONTACTS}/records", json={"records": [{"last_name": "N"}]}
        ),
        201,
    )
    assert ids == {"ids": ["33"]}


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"deals": ["1"]}, "read-only"),
        ({"full_name": "x"}, "read-only"),
        ({"kind": "person"}, "not an option"),
        ({"active": 1}, "true or false"),
        ({"tags": "VIP"}, "array"),
        ({"tags": ["Gold"]}, "not an option"),
        ({"nope": 1}, "Unrecognized key"),
        ({"id": 5}, "Unrecognized key"),
        ({"first_name": {"a": 1}}, "expected a string"),
        ({"address": [1.0, 2.0]}, "expected a string"),
        ({"company": 99}, "not found"),
        ({"company": "x"}, "record id"),
        ({"score": "many"}, "number"),
        ({"last_contact": "2024-01-01T08:30:00"}, "zone"),
        ({"birthday": "2024-02-30"}, "no such date"),
        ({"call_time": "25:00"}, "time"),
        ({"next_meeting": "[2024-01-02T00:00:00Z,2024-01-01T00:00:00Z)"}, "ends before"),
        ({"last_name": None}, "required"),
    ],
)
def test_a_value_the_field_cannot_take_is_400_naming_record_and_field(
    public_emulator, values, words
):
    body = {"records": [{"last_name": "X", **values}]}
    message = error(call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 400)
    assert words in message
    assert "records[0]" in message


def test_writes_accept_the_documented_input_forms(public_emulator):
    record = {
        "last_name": "Forms",
        "score": "42.5",
        "company": 2,
        "kind": ["Company"],
        "last_contact": 1_708_004_730_000,
        "birthday": "2024-02-15",
        "call_time": "09:30:15",
        "time_spent": "123:00:00",
        "next_meeting": "[2024-02-15T09:00:00+01:00,2024-02-15T10:00:00Z)",
        "tags": ["Partner", "VIP"],
    }
    (rid,) = data(
        call(public_emulator, "POST", f"{CONTACTS}/records", json={"records": [record]}), 201
    )["ids"]
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/{rid}"))["values"]
    assert values["score"] == 42.5
    assert values["company"] == "2"
    assert values["kind"] == "Company"
    assert values["last_contact"] == "2024-02-15T13:45:30.000Z"
    assert values["call_time"] == "09:30:15"
    assert values["time_spent"] == "123:00:00"
    assert values["next_meeting"] == "[2024-02-15T08:00:00Z,2024-02-15T10:00:00Z)"
    assert values["tags"] == ["VIP", "Partner"]


def test_a_unique_field_refuses_a_value_another_record_holds(public_emulator):
    body = {"records": [{"last_name": "Dup", "email": "tim.becker@example.com"}]}
    message = error(call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 400)
    assert "unique" in message
    twice = {
        "records": [{"last_name": "A", "email": "x@y.z"}, {"last_name": "B", "email": "x@y.z"}]
    }
    error(call(public_emulator, "POST", f"{CONTACTS}/records", json=twice), 400)


@pytest.mark.parametrize(
    "body",
    [{"records": []}, {"records": {}}, {}, {"records": [{}], "extra": 1}, [1]],
)
def test_a_write_body_without_a_non_empty_records_array_is_400(public_emulator, body):
    error(call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 400)


def test_a_json_body_over_6_mb_is_413(public_emulator):
    big = {"records": [{"last_name": "x" * (6 * 1024 * 1024)}]}
    message = error(call(public_emulator, "POST", f"{CONTACTS}/records", json=big), 413)
    assert "6 MB" in message


# ----------------------------------------------------------------- updates


def test_patch_updates_and_answers_the_updated_ids(public_emulator):
    body = {"records": [{"id": 3, "nickname": "Johnny"}, {"id": "4", "score": 7}]}
    assert data(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body)) == {
        "updatedIds": ["3", "4"]
    }
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/3"))["values"]
    assert values["nickname"] == "Johnny"
    assert values["first_name"] == "John"  # untouched fields stay


def test_patch_with_null_clears_a_field(public_emulator):
    call(
        public_emulator,
        "PATCH",
        f"{CONTACTS}/records",
        json={"records": [{"id": 1, "phone": None}]},
    )
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["phone"] is None


def test_patch_naming_a_missing_id_is_404_and_rolls_back(public_emulator):
    body = {"records": [{"id": 1, "nickname": "Changed"}, {"id": 99, "nickname": "x"}]}
    assert "99" in error(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body), 404)
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["nickname"] is None


def test_patch_with_an_invalid_value_is_400_and_rolls_back(public_emulator):
    body = {"records": [{"id": 1, "nickname": "Changed"}, {"id": 2, "active": "yes"}]}
    error(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body), 400)
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["nickname"] is None


def test_patch_without_an_id_is_400(public_emulator):
    body = {"records": [{"nickname": "x"}]}
    assert "id" in error(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body), 400)


# ----------------------------------------------------------------- deletes


def test_delete_answers_the_deleted_ids(public_emulator):
    answer = call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [1, "2"]})
    assert data(answer) == {"deletedIds": ["1", "2"]}
    assert all_ids(public_emulator)[:2] == ["3", "4"]


def test_delete_with_a_missing_id_is_404_and_rolls_back(public_emulator):
    answer = call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [1, 99]})
    assert "99" in error(answer, 404)
    assert len(all_ids(public_emulator)) == 30


def test_resending_a_delete_that_succeeded_fails(public_emulator):
    call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [5]})
    error(call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [5]}), 404)


def test_delete_empties_the_references_to_the_deleted_record(public_emulator):
    call(public_emulator, "DELETE", "/modules/crm/tables/companies/records", json={"records": [1]})
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["company"] is None


# ------------------------------------------------------------------ upsert


def test_upsert_creates_and_updates_by_a_unique_field(public_emulator):
    body = {
        "matchField": "email",
        "records": [
            {"email": "tim.becker@example.com", "nickname": "T"},
            {"email": "new@example.com", "last_name": "New"},
        ],
    }
    answer = data(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body))
    assert answer == {"createdIds": ["33"], "updatedIds": ["1"]}
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["nickname"] == "T"


def test_upsert_on_a_field_not_marked_unique_is_400(public_emulator):
    body = {"matchField": "last_name", "records": [{"last_name": "Becker"}]}
    message = error(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body), 400)
    assert "unique" in message


def test_upsert_needs_the_match_field_in_every_record(public_emulator):
    body = {"matchField": "email", "records": [{"last_name": "NoKey"}]}
    error(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body), 400)


def test_upsert_with_an_ambiguous_match_is_409(public_emulator):
    twice = {"matchField": "email", "records": [{"email": "a@b.c", "last_name": "A"}] * 2}
    error(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=twice), 409)
    public_emulator.set_unique("crm", "contacts", "organization")  # 4 share "Apricote AG"
    body = {"matchField": "organization", "records": [{"organization": "Apricote AG"}]}
    error(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body), 409)


def test_upsert_is_all_or_nothing(public_emulator):
    body = {
        "matchField": "email",
        "records": [
            {"email": "tim.becker@example.com", "nickname": "T"},
            {"email": "bad@example.com", "last_name": "Bad", "active": "no"},
        ],
    }
    error(call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body), 400)
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["nickname"] is None
    assert len(all_ids(public_emulator)) == 30


# ------------------------------------------------------------- change feed


def feed(emu: PublicEmulator, path: str = CONTACTS, **params: Any) -> requests.Response:
    params.setdefault("since", recent(emu))
    return call(emu, "GET", f"{path}/records/changes", params=params)


def test_the_demo_feed_lists_its_later_history_oldest_first(public_emulator):
    answer = feed(public_emulator).json()
    assert [(c["id"], c["changeType"]) for c in answer["data"]] == [
        ("31", "create"),
        ("32", "create"),
        ("31", "delete"),
        ("32", "delete"),
        ("3", "update"),
        ("7", "update"),
    ]
    assert answer["page_info"] == {"has_more": False, "limit": 100, "offset": 0}
    assert answer["meta"]["asOf"].endswith("Z")
    assert answer["meta"]["retentionCutoff"].endswith("Z")


def test_every_write_is_one_feed_entry_per_change(public_emulator):
    as_of = feed(public_emulator).json()["meta"]["asOf"]
    (new,) = data(
        call(
            public_emulator, "POST", f"{CONTACTS}/records", json={"records": [{"last_name": "N"}]}
        ),
        201,
    )["ids"]
    call(
        public_emulator,
        "PATCH",
        f"{CONTACTS}/records",
        json={"records": [{"id": int(new), "score": 1}]},
    )
    call(
        public_emulator,
        "PATCH",
        f"{CONTACTS}/records",
        json={"records": [{"id": int(new), "score": 2}]},
    )
    call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [int(new)]})
    entries = feed(public_emulator, since=as_of).json()["data"]
    assert [(c["id"], c["changeType"]) for c in entries] == [
        (new, "create"),
        (new, "update"),
        (new, "update"),
        (new, "delete"),
    ]
    stamps = [c["changedAt"] for c in entries]
    assert stamps == sorted(stamps)


def test_since_is_exclusive(public_emulator):
    entries = feed(public_emulator).json()["data"]
    later = feed(public_emulator, since=entries[3]["changedAt"]).json()["data"]
    assert [(c["id"], c["changeType"]) for c in later] == [("3", "update"), ("7", "update")]


def test_as_of_is_the_server_clock_and_a_change_after_it_comes_next_time(public_emulator):
    first = feed(public_emulator).json()
    call(public_emulator, "PATCH", f"{CONTACTS}/records", json={"records": [{"id": 9, "score": 1}]})
    again = feed(public_emulator, since=first["meta"]["asOf"]).json()["data"]
    assert [(c["id"], c["changeType"]) for c in again] == [("9", "update")]
    assert again[0]["changedAt"] > first["meta"]["asOf"]


def test_as_of_pins_the_window_of_pages_two_and_later(public_emulator):
    first = feed(public_emulator, limit=4).json()
    assert first["page_info"]["has_more"] is True
    call(public_emulator, "PATCH", f"{CONTACTS}/records", json={"records": [{"id": 9, "score": 1}]})
    second = feed(public_emulator, limit=4, offset=4, asOf=first["meta"]["asOf"]).json()
    assert [c["id"] for c in second["data"]] == ["3", "7"]  # not 9: after asOf
    assert second["meta"]["asOf"] == first["meta"]["asOf"]


def test_the_feed_on_a_table_without_history_is_400(public_emulator):
    assert "History tracking is disabled" in error(feed(public_emulator, LEADS), 400)


def test_since_is_required_and_must_end_in_z(public_emulator):
    error(call(public_emulator, "GET", f"{CONTACTS}/records/changes"), 400)
    error(feed(public_emulator, since="2026-12-07T10:00:00"), 400)
    error(feed(public_emulator, since="yesterday"), 400)


def test_a_since_older_than_the_retention_cutoff_is_400(public_emulator):
    message = error(feed(public_emulator, since=SINCE_LONG_AGO), 400)
    assert "retention" in message


def test_changes_are_forgotten_after_the_retention_window(public_emulator):
    as_of = feed(public_emulator).json()["meta"]["asOf"]
    public_emulator.clock.advance(days=29)
    assert feed(public_emulator, since=as_of).status_code == 200
    public_emulator.clock.advance(days=2)
    assert "retention" in error(feed(public_emulator, since=as_of), 400)
    fresh = feed(public_emulator).json()
    assert fresh["data"] == []


def test_retention_is_configurable(public_emulator):
    as_of = feed(public_emulator).json()["meta"]["asOf"]
    public_emulator.retention_days = 1
    public_emulator.clock.advance(hours=25)
    error(feed(public_emulator, since=as_of), 400)


def test_turning_history_off_makes_the_feed_400_and_on_again_starts_afresh(public_emulator):
    public_emulator.set_history("crm", "contacts", enabled=False)
    assert "History tracking is disabled" in error(feed(public_emulator), 400)
    public_emulator.set_history("crm", "contacts", enabled=True)
    assert feed(public_emulator).json()["data"] == []
    assert data(call(public_emulator, "GET", CONTACTS))["hasHistory"] is True


def test_a_table_without_history_logs_nothing_until_turned_on(public_emulator):
    call(
        public_emulator, "PATCH", f"{LEADS}/records", json={"records": [{"id": 1, "nickname": "x"}]}
    )
    public_emulator.set_history("crm", "leads", enabled=True)
    assert feed(public_emulator, LEADS).json()["data"] == []
    call(
        public_emulator, "PATCH", f"{LEADS}/records", json={"records": [{"id": 2, "nickname": "y"}]}
    )
    assert [c["id"] for c in feed(public_emulator, LEADS).json()["data"]] == ["2"]


def test_feed_pages_are_1_to_100(public_emulator):
    error(feed(public_emulator, limit=101), 400)
    error(feed(public_emulator, limit=0), 400)


def test_schema_changes_list_renames_oldest_first(public_emulator):
    since = recent(public_emulator)
    public_emulator.rename_table("crm", "contacts", "people")
    public_emulator.rename_field("crm", "people", "email", "mail")
    answer = call(public_emulator, "GET", "/schema/changes", params={"since": since}).json()
    assert [(e["kind"], e["name"], e["previousName"]) for e in answer["data"]] == [
        ("table", "people", "contacts"),
        ("field", "mail", "email"),
    ]
    assert set(answer["meta"]) == {"asOf", "retentionCutoff"}
    error(call(public_emulator, "GET", "/schema/changes"), 400)


# --------------------------------------------------- renames and helpers


def test_a_renamed_table_is_found_only_by_its_new_name(public_emulator):
    public_emulator.rename_table("crm", "companies", "firms")
    error(call(public_emulator, "GET", "/modules/crm/tables/companies/records"), 404)
    assert len(data(call(public_emulator, "GET", "/modules/crm/tables/firms/records"))) == 8
    company = data(call(public_emulator, "GET", f"{CONTACTS}/fields/company"))
    assert company["refTableId"] == "firms"


def test_a_renamed_field_keeps_its_values_under_the_new_name(public_emulator):
    public_emulator.rename_field("crm", "contacts", "first_name", "given_name")
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["given_name"] == "Tim"
    assert "first_name" not in values
    assert values["full_name"] == "Tim Becker"  # the function follows the rename


def test_records_created_by_another_user_mid_scan_shift_the_offsets(public_emulator):
    first = data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=10"))
    public_emulator.delete_records("crm", "contacts", [1])
    public_emulator.create_records("crm", "contacts", [{"last_name": "Other user"}])
    second = data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=10&offset=10"))
    assert first[-1]["id"] == "10"
    assert second[0]["id"] == "12"  # record 11 was skipped by the shift
    assert public_emulator.request_count() == 2  # the helpers are not API calls


def test_backup_and_restore_put_the_whole_workspace_back(public_emulator):
    saved = public_emulator.backup()
    call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [1, 2, 3]})
    public_emulator.restore(saved)
    assert len(all_ids(public_emulator)) == 30


# --------------------------------------------------------- auth and gateway


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_missing_or_wrong_key_is_401_text_plain_orchestrator_error(public_emulator, key):
    response = call(public_emulator, "GET", "/modules", key=key)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Workspace orchestrator error"


def test_an_unknown_path_is_200_with_the_web_apps_html_shell(public_emulator):
    response = call(public_emulator, "GET", "/no/such/route")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    assert call(public_emulator, "PUT", f"{CONTACTS}/records", json={}).status_code == 200


def test_with_v1_and_v2_off_the_gateway_answers_json_envelopes(public_emulator):
    public_emulator.variants.disable("V1", "V2")
    assert "Unauthorized" in error(call(public_emulator, "GET", "/modules", key="bad"), 401)
    assert "Cannot GET" in error(call(public_emulator, "GET", "/no/such/route"), 404)


def test_a_key_expired_mid_run_answers_401(public_emulator):
    public_emulator.expire_key(after=2)
    assert call(public_emulator, "GET", "/modules").status_code == 200
    assert call(public_emulator, "GET", "/modules").status_code == 200
    assert call(public_emulator, "GET", "/modules").status_code == 401


def test_an_exhausted_monthly_quota_is_429_without_retry_after(public_emulator):
    public_emulator.quota = 2
    for _ in range(2):
        assert call(public_emulator, "GET", "/modules").status_code == 200
    response = call(public_emulator, "GET", "/modules")
    assert "quota" in error(response, 429)
    assert "Retry-After" not in response.headers
    assert public_emulator.quota_used == 2


def test_the_quota_counts_afresh_when_the_server_clock_enters_a_new_month(public_emulator):
    public_emulator.clock.set("2026-12-31T23:00:00Z")
    public_emulator.quota = 1
    assert call(public_emulator, "GET", "/modules").status_code == 200
    error(call(public_emulator, "GET", "/modules"), 429)
    public_emulator.clock.advance(hours=2)
    assert call(public_emulator, "GET", "/modules").status_code == 200


# ------------------------------------------------------------ control surface


def test_ninox_emulator_with_api_public_builds_the_public_server():
    emu = NinoxEmulator(api="public", api_key="k", demo=True, port=0)
    assert isinstance(emu, PublicEmulator)
    with emu:
        response = requests.get(emu.workspace_url, headers={"Authorization": "Bearer k"}, timeout=5)
        assert response.json()["data"]["name"] == "Demo Workspace"


def test_ninox_emulator_refuses_an_unknown_api():
    with pytest.raises(ValueError, match="'classic' or 'public'"):
        NinoxEmulator(api="v3")


def test_an_unknown_control_route_is_404(public_emulator):
    response = requests.post(public_emulator.url + "/_emulator/nope", json={}, timeout=5)
    assert response.status_code == 404


def test_a_path_outside_api_v1_is_a_json_404(public_emulator):
    response = requests.get(public_emulator.url + "/v1/teams", timeout=5)
    assert "/api/v1" in error(response, 404)


def test_requests_are_logged_relative_to_api_v1(public_emulator):
    call(public_emulator, "GET", f"{CONTACTS}/records?limit=5")
    (entry,) = public_emulator.requests
    assert entry.path == f"/workspace/{DEMO_WORKSPACE_ID}{CONTACTS}/records"
    assert entry.query == {"limit": "5"}
    assert entry.status == 200
    assert public_emulator.request_count("GET", r"/records$", 200) == 1
    public_emulator.clear_log()
    assert public_emulator.requests == []


def test_faults_fire_on_the_public_api(public_emulator):
    public_emulator.faults.add("status", status=503, retry_after=2, path=r"/records$")
    response = call(public_emulator, "GET", f"{CONTACTS}/records")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "error" in response.json()
    public_emulator.faults.add("lost_response", method="POST")
    with pytest.raises(requests.ConnectionError):
        call(public_emulator, "POST", f"{CONTACTS}/records", json={"records": [{"last_name": "L"}]})
    assert "33" in all_ids(public_emulator)  # applied, answer lost


def test_hooks_run_before_each_request_and_the_concurrency_limit_holds(public_emulator):
    seen = []
    public_emulator.on_request(lambda entry: seen.append(entry.path))
    call(public_emulator, "GET", "/modules")
    assert seen == [f"/workspace/{DEMO_WORKSPACE_ID}/modules"]
    public_emulator.max_concurrent = 0
    response = call(public_emulator, "GET", "/modules")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert public_emulator.peak_in_flight >= 1
    assert public_emulator.in_flight == 0


def test_control_routes_move_the_clock_set_history_and_quota(public_emulator):
    control = public_emulator.url + "/_emulator/"
    before = public_emulator.clock.now_ms()
    answer = requests.post(control + "clock", json={"advance": 86400}, timeout=5).json()
    assert answer["offsetMs"] == 86_400_000
    assert public_emulator.clock.now_ms() - before >= 86_400_000
    requests.post(
        control + "history",
        json={"module": "crm", "table": "contacts", "enabled": False},
        timeout=5,
    )
    error(feed(public_emulator), 400)
    requests.post(control + "quota", json={"limit": 0}, timeout=5)
    error(call(public_emulator, "GET", "/modules"), 429)
    requests.post(control + "reset", json={}, timeout=5)
    assert call(public_emulator, "GET", "/modules").status_code == 200


def test_control_routes_rename_and_write_as_another_user(public_emulator):
    control = public_emulator.url + "/_emulator/"
    requests.post(
        control + "rename-field",
        json={"module": "crm", "table": "contacts", "field": "email", "name": "mail"},
        timeout=5,
    )
    requests.post(
        control + "records",
        json={"module": "crm", "table": "contacts", "records": [{"last_name": "Z"}]},
        timeout=5,
    )
    requests.post(control + "backup", json={"name": "b"}, timeout=5)
    requests.delete(
        control + "records", json={"module": "crm", "table": "contacts", "ids": [33]}, timeout=5
    )
    requests.post(control + "restore", json={"name": "b"}, timeout=5)
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/33"))["values"]
    assert values["last_name"] == "Z"
    assert "mail" in values


def test_control_route_variants_takes_names_and_v_aliases(public_emulator):
    control = public_emulator.url + "/_emulator/variants"
    answer = requests.post(control, json={"enable": ["V5", "numeric_ids"]}, timeout=5).json()
    assert answer["enabled"] == ["html_shell", "limit_clamped", "numeric_ids", "orchestrator_401"]
    answer = requests.post(control, json={"strict": True}, timeout=5).json()
    assert answer["enabled"] == []
    assert requests.post(control, json={"enable": ["V99"]}, timeout=5).status_code == 400


def test_the_command_line_prints_the_base_url_and_workspace_id():
    command = [
        sys.executable,
        "-m",
        "ninox_emulator.cli",
        "--api",
        "public",
        "--demo",
        "--port",
        "0",
        "--api-key",
        "cli-key",
        "--workspace-id",
        "abcdefghijkl",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "/api/v1" in line
            assert "workspace abcdefghijkl" in line
            base = line.split("listening on ")[1].split()[0]
            response = requests.get(
                f"{base}/workspace/abcdefghijkl/modules",
                headers={"Authorization": "Bearer cli-key"},
                timeout=5,
            )
            assert [m["name"] for m in response.json()["data"]] == ["crm", "projects"]
        finally:
            process.terminate()
            process.communicate(timeout=10)


# ---------------------------------------------------------------- variants


def test_variants_have_v_number_aliases_and_v1_v2_are_on_by_default(public_emulator):
    assert public_emulator.variants.enabled == {"orchestrator_401", "html_shell"}
    public_emulator.variants.enable("V5")
    assert "limit_clamped" in public_emulator.variants
    assert "v5" in public_emulator.variants
    with pytest.raises(ValueError, match="valid variants"):
        public_emulator.variants.enable("V99")
    with pytest.raises(ValueError, match="rename_table"):
        public_emulator.variants.enable("V23")


def test_v3_400_bodies_in_nestjs_form(public_emulator):
    public_emulator.variants.enable("V3")
    response = call(public_emulator, "GET", f"{CONTACTS}/records?limit=0")
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert "limit" in body["message"][0]
    assert "error" in call(public_emulator, "GET", f"{CONTACTS}/record/99").json()  # 404 unchanged


def test_v4_no_write_scope_is_403_on_writes_only(public_emulator):
    public_emulator.variants.enable("V4")
    body = {"records": [{"last_name": "X"}]}
    assert "scope" in error(call(public_emulator, "POST", f"{CONTACTS}/records", json=body), 403)
    assert call(public_emulator, "GET", f"{CONTACTS}/records").status_code == 200
    assert len(all_ids(public_emulator)) == 30


def test_v4b_no_read_scope_is_403_on_reads(public_emulator):
    public_emulator.variants.enable("no_read_scope")
    assert "Insufficient API key scope" in error(call(public_emulator, "GET", "/modules"), 403)


def test_v5_limit_over_100_is_clamped_and_omitted_limit_is_10(public_emulator):
    public_emulator.create_records("crm", "leads", [{"last_name": f"L{i}"} for i in range(120)])
    public_emulator.variants.enable("limit_clamped")
    answer = call(public_emulator, "GET", f"{LEADS}/records?limit=500").json()
    assert len(answer["data"]) == 100
    assert answer["page_info"]["limit"] == 100
    assert len(data(call(public_emulator, "GET", f"{LEADS}/records"))) == 10


def test_v6_pages_without_sort_come_in_a_reshuffled_order(public_emulator):
    public_emulator.variants.enable("V6")
    first = [r["id"] for r in data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=30"))]
    second = [r["id"] for r in data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=30"))]
    assert sorted(first, key=int) == [str(i) for i in range(1, 31)]
    assert first != second
    by_id = data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=30&sort=id"))
    assert [r["id"] for r in by_id] == [str(i) for i in range(1, 31)]


def test_v7_has_more_on_the_last_full_page_then_an_empty_page(public_emulator):
    public_emulator.variants.enable("V7")
    full = call(public_emulator, "GET", f"{CONTACTS}/records?limit=10&offset=20").json()
    assert full["page_info"]["has_more"] is True
    empty = call(public_emulator, "GET", f"{CONTACTS}/records?limit=10&offset=30").json()
    assert empty["data"] == []
    assert empty["page_info"]["has_more"] is False


def test_v8_another_user_deletes_and_creates_during_an_offset_scan(public_emulator):
    public_emulator.variants.enable("scan_drift")
    first = [r["id"] for r in data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=10"))]
    second = [
        r["id"]
        for r in data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=10&offset=10"))
    ]
    assert first[-1] == "10"
    assert second[0] == "12"  # 1 was deleted: 11 slid before the cursor
    changes = feed(public_emulator).json()["data"][-2:]
    assert [(c["id"], c["changeType"]) for c in changes] == [("1", "delete"), ("33", "create")]


def test_v9_ids_and_references_as_numbers(public_emulator):
    public_emulator.variants.enable("V9")
    record = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))
    assert record["id"] == 1
    assert record["values"]["company"] == 1
    created = data(
        call(
            public_emulator, "POST", f"{CONTACTS}/records", json={"records": [{"last_name": "N"}]}
        ),
        201,
    )
    assert created == {"ids": [33]}
    assert feed(public_emulator).json()["data"][-1]["id"] == 33


def test_v10_choice_as_option_id_and_multi_as_a_comma_separated_string(public_emulator):
    public_emulator.variants.enable("V10")
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["kind"] == "1"
    assert values["tags"] == "VIP, Smith, Jones & Co"


def test_v11_empty_fields_are_left_out(public_emulator):
    public_emulator.variants.enable("omit_empty")
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/2"))["values"]
    assert "phone" not in values
    assert values["first_name"] == "Chalie"


def test_v12_timestamps_as_epoch_ms_appointments_classic_intervals_ms(public_emulator):
    public_emulator.variants.enable("V12")
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["last_contact"] == 1_704_097_800_000
    assert values["next_meeting"] == "2024-03-01T09:00:00 - 2024-03-01T10:00:00"
    assert values["time_spent"] == 1_516_123


def test_v12b_timestamps_without_z(public_emulator):
    public_emulator.variants.enable("V12b")
    values = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert values["last_contact"] == "2024-01-01T08:30:00"


def test_v13_reverse_as_id_arrays_and_functions_only_when_asked(public_emulator):
    public_emulator.variants.enable("V13")
    values = data(call(public_emulator, "GET", "/modules/crm/tables/companies/record/1"))["values"]
    assert values["contacts"] == ["1", "9", "17", "25"]
    contact = data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]
    assert "full_name" not in contact
    asked = data(call(public_emulator, "GET", f"{CONTACTS}/record/1?fields=full_name"))["values"]
    assert asked == {"full_name": "Tim Becker"}


def test_v14_projected_reads_give_null_references(public_emulator):
    public_emulator.variants.enable("V14")
    rows = data(call(public_emulator, "GET", f"{CONTACTS}/records?limit=1&fields=company"))
    assert rows[0]["values"] == {"company": None}
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/1"))["values"]["company"] == "1"


def test_v15_loose_feed_inclusive_newest_first_other_words(public_emulator):
    entries = feed(public_emulator).json()["data"]
    public_emulator.variants.enable("V15")
    loose = feed(public_emulator, since=entries[4]["changedAt"]).json()["data"]
    assert [(c["id"], c["changeType"]) for c in loose] == [("7", "update"), ("3", "update")]
    words = {c["changeType"] for c in feed(public_emulator).json()["data"]}
    assert words == {"insert", "remove", "update"}


def test_v16_since_past_retention_is_silently_truncated(public_emulator):
    public_emulator.variants.enable("V16")
    answer = feed(public_emulator, since=SINCE_LONG_AGO).json()
    assert len(answer["data"]) == 6
    assert "retentionCutoff" not in answer["meta"]


@pytest.mark.parametrize("variant", ["V17", "V17b"])
def test_v17_a_batch_create_applies_half_then_fails(public_emulator, variant):
    public_emulator.variants.enable(variant)
    body = {"records": [{"last_name": f"P{i}"} for i in range(4)]}
    if variant == "V17":
        assert call(public_emulator, "POST", f"{CONTACTS}/records", json=body).status_code == 503
    else:
        with pytest.raises(requests.ConnectionError):
            call(public_emulator, "POST", f"{CONTACTS}/records", json=body)
    assert all_ids(public_emulator)[-2:] == ["33", "34"]
    single = {"records": [{"last_name": "One"}]}
    assert call(public_emulator, "POST", f"{CONTACTS}/records", json=single).status_code == 201


def test_v18_updated_ids_shorter_than_the_rows_patched(public_emulator):
    public_emulator.variants.enable("V18")
    body = {"records": [{"id": 1, "score": 1}, {"id": 2, "score": 2}]}
    assert data(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body)) == {
        "updatedIds": ["1"]
    }
    assert data(call(public_emulator, "GET", f"{CONTACTS}/record/2"))["values"]["score"] == 2


def test_v19_delete_ignores_missing_ids(public_emulator):
    public_emulator.variants.enable("V19")
    answer = call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [1, 99]})
    assert data(answer) == {"deletedIds": ["1"]}


def test_v20_no_upsert_endpoint_answers_the_html_shell(public_emulator):
    public_emulator.variants.enable("V20")
    body = {"matchField": "email", "records": [{"email": "new@example.com", "last_name": "N"}]}
    response = call(public_emulator, "POST", f"{CONTACTS}/records/upsert", json=body)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert len(all_ids(public_emulator)) == 30


def test_v2b_no_change_feed_answers_the_html_shell(public_emulator):
    public_emulator.variants.enable("no_change_feed")
    response = feed(public_emulator)
    assert response.status_code == 200
    assert response.text.startswith("<!DOCTYPE html>")


def test_v21_an_exhausted_quota_is_403(public_emulator):
    public_emulator.variants.enable("V21")
    public_emulator.quota = 0
    assert "quota" in error(call(public_emulator, "GET", "/modules"), 403)


def test_v22_every_fourth_call_is_429_with_and_without_retry_after(public_emulator):
    public_emulator.variants.enable("rate_limited")
    answers = [call(public_emulator, "GET", "/modules") for _ in range(8)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 200, 200, 200, 429]
    assert answers[3].headers["Retry-After"] == "1"
    assert "Retry-After" not in answers[7].headers


def test_v24_ref_table_id_is_an_opaque_id(public_emulator):
    public_emulator.variants.enable("V24")
    company = data(call(public_emulator, "GET", f"{CONTACTS}/fields/company"))
    assert company["refTableId"] not in ("companies", "")
    root = json.dumps(data(call(public_emulator, "GET", "")))
    assert root.count(company["refTableId"]) == 2  # contacts.company and deals.company


def test_v25_metadata_answers_carry_ids_that_survive_renames(public_emulator):
    public_emulator.variants.enable("V25")
    table = data(call(public_emulator, "GET", CONTACTS))
    public_emulator.rename_table("crm", "contacts", "people")
    renamed = data(call(public_emulator, "GET", "/modules/crm/tables/people"))
    assert renamed["id"] == table["id"]
    assert renamed["fields"][0]["id"] == table["fields"][0]["id"]
    assert data(call(public_emulator, "GET", "/modules/crm"))["id"]


def test_v26_workspace_root_without_nested_fields(public_emulator):
    public_emulator.variants.enable("V26")
    root = data(call(public_emulator, "GET", ""))
    assert all("fields" not in t for m in root["modules"] for t in m["tables"])
    assert data(call(public_emulator, "GET", CONTACTS))["fields"]


def test_v29_a_new_record_takes_a_deleted_id(public_emulator):
    public_emulator.variants.enable("V29")
    call(public_emulator, "DELETE", f"{CONTACTS}/records", json={"records": [5]})
    created = data(
        call(
            public_emulator,
            "POST",
            f"{CONTACTS}/records",
            json={"records": [{"last_name": "Reused"}]},
        ),
        201,
    )
    assert created == {"ids": ["5"]}


def test_a_record_may_keep_its_own_unique_value(public_emulator):
    body = {"records": [{"id": 1, "email": "tim.becker@example.com", "nickname": "T"}]}
    assert data(call(public_emulator, "PATCH", f"{CONTACTS}/records", json=body)) == {
        "updatedIds": ["1"]
    }


def test_duplicates_that_predate_a_unique_flag_do_not_block_other_writes(public_emulator):
    public_emulator.set_unique("crm", "contacts", "organization")
    body = {"records": [{"last_name": "X", "organization": "Brand new"}]}
    assert call(public_emulator, "POST", f"{CONTACTS}/records", json=body).status_code == 201
    taken = {"records": [{"last_name": "Y", "organization": "Acme Corp"}]}
    assert "unique" in error(call(public_emulator, "POST", f"{CONTACTS}/records", json=taken), 400)
