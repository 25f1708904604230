"""Trust no answer: every answer is checked against what was asked (docs/design.md).

Each test plays one misbehaving answer through real HTTP (an emulator fault
or variant, or a local server for what the emulator cannot play) and checks
that nothing is counted, committed or bookmarked on it: the run either ends
exact or fails with one line saying what the server did.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests

from ninox_core.errors import NinoxError, NinoxWriteOutcomeUnknown
from ninox_core.transport.client import NinoxClient
from tests.local_server import http_answer, scripted_server
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, run_tap, tap_config
from tests.target_support import (
    PEOPLE,
    PEOPLE_PROPS,
    make_database,
    record,
    rows,
    run_target,
    schema,
    tap_messages,
    target_config,
)

DELETED = {"_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"}}
ID_PROPS = {**PEOPLE_PROPS, "_id": {"type": ["integer", "null"]}}


@pytest.fixture
def emu(emulator):
    make_database(emulator)
    return emulator


def people(n: int, *, with_id: bool = False) -> list[dict[str, Any]]:
    """A SCHEMA and `n` people records (ids 1..n when `with_id`)."""
    messages = [schema("people", ID_PROPS if with_id else PEOPLE_PROPS)]
    for i in range(1, n + 1):
        values: dict[str, Any] = {"Email": f"p{i}@x", "Name": f"n{i}"}
        if with_id:
            values["_id"] = i
        messages.append(record("people", values))
    return messages


def emails(emulator) -> list[str]:
    return sorted(r["Email"] for r in rows(emulator, PEOPLE).values())


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def client(emulator, **options: Any) -> NinoxClient:
    options.setdefault("max_retries", 0)
    return NinoxClient(TEST_KEY, emulator.base_url, backoff_base=0.0, **options)


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_create_answered_with_a_redirect_fails_naming_the_new_location(emu, caplog, status):
    moved = "https://moved.example/v1"
    emu.faults.add(
        "redirect",
        status=status,
        method="POST",
        location=f"{moved}/teams/x/databases/y/tables/A/records",
        times=None,
    )
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), [*people(3), {"type": "STATE", "value": {"s": 1}}])
    assert run.exit_code == 1
    assert run.states == []
    assert emails(emu) == []
    [line] = errors(caplog)
    assert f"HTTP {status}" in line and moved in line and "base_url" in line


@pytest.mark.parametrize(
    ("mode", "method"),
    [("keyed", "POST"), ("_id", "POST"), ("hard_delete", "DELETE")],
)
def test_keyed_upserts_and_deletes_answered_with_a_redirect_fail(emu, caplog, mode, method):
    emu.store.save_records(DEMO_TEAM, "tgt0test0db", PEOPLE, [{"fields": {"Email": "p1@x"}}])
    config = target_config(emu)
    messages = people(2, with_id=mode == "_id")
    if mode == "keyed":
        config["upsert_keys"] = {"people": ["Email"]}
    if mode == "hard_delete":
        config["hard_delete"] = True
        messages = [
            schema("people", {**PEOPLE_PROPS, **DELETED}, ["Email"]),
            record("people", {"Email": "p1@x", "_sdc_deleted_at": "2024-01-01T00:00:00Z"}),
        ]
    emu.faults.add("redirect", status=301, method=method, times=None)
    with caplog.at_level(logging.INFO):
        run = run_target(config, [*messages, {"type": "STATE", "value": {"s": 1}}])
    assert run.exit_code == 1 and run.states == []
    assert emails(emu) == ["p1@x"]  # nothing written, nothing deleted
    [line] = errors(caplog)
    assert "HTTP 301" in line and "redirect" in line


def test_the_api_key_never_follows_a_redirect_to_another_server(emulator):
    with scripted_server([http_answer(200, "[]")]) as (other, seen):
        emulator.faults.add("redirect", status=307, location=f"{other}/teams", times=None)
        with client(emulator, max_retries=2) as api, pytest.raises(NinoxError) as info:
            api.list_teams()
    assert seen == []  # not followed at all: no request, no key
    message = str(info.value)
    assert other in message and "base_url" in message and "\n" not in message


def test_a_read_answered_with_a_redirect_fails_the_tap_with_one_line(emulator):
    emulator.faults.add("redirect", status=302, method="GET", path=r"/records$", times=None)
    out = run_tap(tap_config(emulator, tables=["D"]), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    assert "HTTP 302" in str(out.error) and "/records" in str(out.error)
    assert out.records == {}


# ------------------------------------------------------- write confirmations

EMPTY_ANSWERS = [(200, ""), (200, "{}"), (200, "[]"), (200, "null"), (202, ""), (204, "")]


@pytest.mark.parametrize(("status", "body"), EMPTY_ANSWERS)
@pytest.mark.parametrize("applied", [True, False])
def test_a_post_answered_without_its_records_is_reconciled_as_a_lost_answer(
    emu, status, body, applied
):
    emu.faults.add("empty", status=status, body=body, apply=applied, method="POST", times=1)
    run = run_target(
        target_config(emu, batch_size_rows=5), [*people(12), {"type": "STATE", "value": {"s": 1}}]
    )
    assert run.exit_code == 0
    assert emails(emu) == sorted(f"p{i}@x" for i in range(1, 13))
    assert run.states[-1] == {"s": 1}


@pytest.mark.parametrize("mode", ["keyed", "_id"])
def test_keyed_and_id_writes_answered_without_records_end_exact(emu, mode):
    emu.faults.add("empty", status=204, apply=False, method="POST", times=1)
    config = target_config(emu, batch_size_rows=4)
    if mode == "keyed":
        config["upsert_keys"] = {"people": ["Email"]}
    messages = people(9, with_id=mode == "_id")
    assert run_target(config, messages).exit_code == 0
    assert emails(emu) == sorted(f"p{i}@x" for i in range(1, 10))


def test_a_server_that_never_confirms_a_write_fails_the_run_without_state(emu, caplog, sleeps):
    emu.faults.add("empty", status=202, apply=False, method="POST", times=None)
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), [*people(3), {"type": "STATE", "value": {"s": 1}}])
    assert run.exit_code == 1
    assert run.states == []
    assert len(errors(caplog)) == 1


def test_an_answer_naming_another_record_is_not_a_confirmation():
    # An update of record 2 answered with record 1 (say, a stale cache in between).
    answer = http_answer(200, '[{"id": 1, "sequence": 5, "fields": {}}]')
    with scripted_server([answer]) as (base_url, _):
        with NinoxClient(TEST_KEY, base_url, max_retries=0) as api:
            with pytest.raises(NinoxWriteOutcomeUnknown, match="names record 1 where record 2"):
                api.save_records("t", "d", "A", [{"id": 2, "fields": {}}])


def test_overwrite_keeps_the_records_whose_answer_was_empty(emu):
    emu.store.save_records(DEMO_TEAM, "tgt0test0db", PEOPLE, [{"fields": {"Email": "old@x"}}])
    emu.faults.add("empty", status=200, body="", method="POST", times=1)
    config = target_config(emu, load_method="overwrite", batch_size_rows=5)
    assert run_target(config, people(7)).exit_code == 0
    assert emails(emu) == sorted(f"p{i}@x" for i in range(1, 8))


@pytest.mark.parametrize(("status", "body"), [(202, ""), (204, ""), (200, "[]"), (200, "null")])
def test_a_delete_not_confirmed_fails_with_one_line(emu, caplog, status, body):
    emu.store.save_records(DEMO_TEAM, "tgt0test0db", PEOPLE, [{"fields": {"Email": "p1@x"}}])
    emu.faults.add("empty", status=status, body=body, apply=False, method="DELETE", times=None)
    messages = [
        schema("people", {**PEOPLE_PROPS, **DELETED}, ["Email"]),
        record("people", {"Email": "p1@x", "_sdc_deleted_at": "2024-01-01T00:00:00Z"}),
        {"type": "STATE", "value": {"s": 1}},
    ]
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu, hard_delete=True), messages)
    assert run.exit_code == 1 and run.states == []
    [line] = errors(caplog)
    assert "delet" in line and f"HTTP {status}" in line


# -------------------------------------------------------------- record pages


@pytest.mark.parametrize("body", ["", "null", "{}"])
def test_an_empty_or_null_page_is_retried_never_the_end_of_the_table(emulator, body):
    emulator.faults.add("empty", body=body, method="GET", path=r"/records$", after=1, times=1)
    out = run_tap(tap_config(emulator, tables=["D"], page_size=3))
    assert out.error is None
    assert len(out.records["lead"]) == 8


@pytest.mark.parametrize("body", ["", "null", "{}"])
def test_a_table_always_answered_empty_fails_the_tap_without_bookmark(emulator, body):
    emulator.faults.add("empty", body=body, method="GET", path=r"/records$", after=1, times=None)
    out = run_tap(tap_config(emulator, tables=["D"], page_size=3), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    assert "not a page of records" in str(out.error)
    assert all("replication_key_value" not in s["bookmarks"].get("lead", {}) for s in out.states)


def test_an_empty_page_in_the_key_index_read_creates_no_duplicates(emu):
    emu.store.save_records(
        DEMO_TEAM, "tgt0test0db", PEOPLE, [{"fields": {"Email": f"p{i}@x"}} for i in range(1, 9)]
    )
    emu.faults.add("empty", body="", method="GET", path=r"/records$", after=1, times=1)
    config = target_config(emu, upsert_keys={"people": ["Email"]})
    # The key index reads 1000 records per page: make it page.
    emu.max_page_size = 3
    assert run_target(config, people(8)).exit_code == 0
    assert emails(emu) == sorted(f"p{i}@x" for i in range(1, 9))


@pytest.mark.parametrize("variant", ["pages_reversed", "pages_by_sequence"])
def test_pages_out_of_order_fail_the_read_with_one_line(emulator, variant):
    with client(emulator) as api:
        # Record 1 changed last: by sequence it comes after the others.
        api.save_records(DEMO_TEAM, CRM_DB, "D", [{"id": 1, "fields": {}}])
    emulator.variants.enable(variant)
    out = run_tap(tap_config(emulator, tables=["D"]), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    message = str(out.error)
    assert "do not rise" in message and "\n" not in message
    assert out.records == {}


def test_a_server_ignoring_since_id_still_reads_by_page_number(emulator):
    emulator.variants.enable("ignore_since_id")
    out = run_tap(tap_config(emulator, tables=["D"], page_size=3))
    assert sorted(r["_id"] for r in out.records["lead"]) == list(range(1, 9))


PAGES = {
    "object": b'{"id": 1, "fields": {}}',
    "record without id": b'[{"fields": {}}]',
    "record not an object": b"[1, 2]",
    "repeated id": b'[{"id": 1, "fields": {}}, {"id": 1, "fields": {}}]',
    "falling ids": b'[{"id": 2, "fields": {}}, {"id": 1, "fields": {}}]',
    # Each refused by the check's fast path as well as by its loop.
    "boolean id": b'[{"id": 1, "fields": {}}, {"id": true, "fields": {}}]',
    "fractional id": b'[{"id": 1, "fields": {}}, {"id": 2.5, "fields": {}}]',
    "text id": b'[{"id": 1, "fields": {}}, {"id": "2", "fields": {}}]',
    "record a list": b'[{"id": 1, "fields": {}}, ["id"]]',
    "record a string": b'[{"id": 1, "fields": {}}, "id"]',
    "falling ids late": b'[{"id": 1}, {"id": 2}, {"id": 3}, {"id": 2}]',
}


@pytest.mark.parametrize("case", sorted(PAGES))
def test_a_malformed_page_fails_with_one_line_not_a_traceback(case):
    with scripted_server([http_answer(200, PAGES[case])]) as (base_url, _):
        with NinoxClient(TEST_KEY, base_url, max_retries=0) as api:
            with pytest.raises(NinoxError) as info:
                list(api.iter_record_pages("t", "d", "A"))
    message = str(info.value)
    assert "/tables/A/records" in message and "\n" not in message


# ---------------------------------------------------------- lone surrogates


def test_the_emulator_stores_answers_and_saves_a_lone_surrogate(emulator, tmp_path):
    url = f"{emulator.base_url}/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables/D/records"
    body = b'[{"fields": {"First name": "half \\ud83d"}}]'
    headers = {"Authorization": f"Bearer {TEST_KEY}", "Content-Type": "application/json"}
    saved = requests.post(url, data=body, headers=headers, timeout=10)
    assert saved.status_code == 200
    got = requests.get(f"{url}/{saved.json()[0]['id']}", headers=headers, timeout=10)
    assert got.status_code == 200
    assert json.loads(got.content)["fields"]["First name"] == "half \ud83d"
    target = emulator.save(tmp_path / "data.json")
    assert "\\ud83d" in target.read_text(encoding="utf-8")


def test_a_lone_surrogate_is_replaced_with_one_warning_naming_table_record_field(emulator, caplog):
    emulator.store.save_records(DEMO_TEAM, CRM_DB, "D", [{"fields": {"E": "half \ud83d"}}])
    with caplog.at_level(logging.WARNING):
        out = run_tap(tap_config(emulator, tables=["D"]))
    leads = out.records["lead"]
    [odd] = [r for r in leads if r["_id"] == 9]
    assert "\ufffd" in json.dumps(odd, ensure_ascii=False)
    warnings = [r.getMessage() for r in caplog.records if "surrogate" in r.getMessage()]
    assert len(warnings) == 1
    assert "'Lead'" in warnings[0] and "record 9" in warnings[0] and "'First name'" in warnings[0]


# -------------------------------------------------------------- broken gzip


def test_a_read_with_a_broken_gzip_body_is_retried(emulator):
    emulator.faults.add("broken_gzip", method="GET", path=r"/records$", times=1)
    out = run_tap(tap_config(emulator, tables=["D"], page_size=3))
    assert len(out.records["lead"]) == 8


def test_a_read_always_broken_gzip_fails_with_one_line(emulator):
    emulator.faults.add("broken_gzip", method="GET", times=None)
    with client(emulator, max_retries=1) as api, pytest.raises(NinoxError) as info:
        api.list_teams()
    assert "gzip" in str(info.value) and "\n" not in str(info.value)


def test_a_create_answered_with_broken_gzip_is_a_lost_answer(emu):
    emu.faults.add("broken_gzip", method="POST", times=1)
    run = run_target(target_config(emu, batch_size_rows=4), people(10))
    assert run.exit_code == 0
    assert emails(emu) == sorted(f"p{i}@x" for i in range(1, 11))


# ------------------------------------------------------- the emulator's faults


def _get(emulator, path: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {TEST_KEY}", "Accept-Encoding": "identity"}
    return requests.get(
        emulator.base_url + path, headers=headers, allow_redirects=False, timeout=10
    )


def test_the_redirect_fault_points_to_the_request_itself_or_to_its_location(emulator):
    emulator.faults.add("redirect", status=308, times=1)
    emulator.faults.add("redirect", location="https://elsewhere.example/v1/teams", times=1)
    first, second = _get(emulator, "/teams?x=1"), _get(emulator, "/teams")
    assert (first.status_code, first.headers["Location"]) == (308, "/v1/teams?x=1")
    assert (second.status_code, second.headers["Location"]) == (
        302,
        "https://elsewhere.example/v1/teams",
    )
    assert _get(emulator, "/teams").status_code == 200


def test_the_empty_fault_applies_the_write_unless_told_not_to(emu):
    url = f"/teams/{DEMO_TEAM}/databases/tgt0test0db/tables/A/records"
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    emu.faults.add("empty", status=204, method="POST", times=1)
    emu.faults.add("empty", body="{}", apply=False, method="POST", times=1)
    for email in ("a@x", "b@x"):
        answer = requests.post(
            emu.base_url + url, json=[{"fields": {"Email": email}}], headers=headers, timeout=10
        )
        assert answer.content in (b"", b"{}")
    assert emails(emu) == ["a@x"]


def test_the_broken_gzip_fault_sends_a_gzip_header_and_no_gzip(emulator):
    emulator.faults.add("broken_gzip", times=1)
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    with requests.get(
        emulator.base_url + "/teams", headers=headers, stream=True, timeout=10
    ) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        with pytest.raises(requests.exceptions.ContentDecodingError):
            _ = answer.content


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "redirect", "status": 200},
        {"kind": "empty", "status": 500},
        {"kind": "empty", "body": "nothing"},
    ],
)
def test_bad_specs_of_the_new_faults_are_refused(emulator, spec):
    with pytest.raises(ValueError, match=r"fault needs|fault's body"):
        emulator.faults.add(**spec)


@pytest.mark.parametrize("body", ["", "null", "[]"])
def test_a_change_feed_that_is_no_object_fails_with_one_line(emulator, body):
    emulator.faults.add("empty", body=body, method="GET", path=r"/changes$", times=None)
    with client(emulator) as api, pytest.raises(NinoxError, match="not a change feed"):
        api.table_changes(DEMO_TEAM, CRM_DB, "D", 0, updates=body != "")


def test_a_lone_surrogate_read_by_the_client_alone_is_warned_about_by_ids(emulator, caplog):
    emulator.store.save_records(DEMO_TEAM, CRM_DB, "D", [{"fields": {"E": "half \ud83d"}}])
    with client(emulator) as api, caplog.at_level(logging.WARNING):
        records = [r for page in api.iter_record_pages(DEMO_TEAM, CRM_DB, "D") for r in page]
    assert records[-1]["fields"]["First name"] == "half \ufffd"
    [warning] = [r.getMessage() for r in caplog.records if "surrogate" in r.getMessage()]
    assert warning.startswith(f"GET /teams/{DEMO_TEAM}/databases/{CRM_DB}/tables/D/records:")
    assert "record 9, field 'First name'" in warning


# ------------------------------------------------------------- attachments

FILE_LISTS = r"/records/\d+/files$"


def files_of(out) -> set[tuple[str, int, str]]:
    return {(r["_table_id"], r["_record_id"], r["name"]) for r in out.records.get("files", [])}


def stored_files(emulator) -> set[tuple[str, int, str]]:
    return {
        (t.id, r.id, name)
        for t in emulator.store.database(DEMO_TEAM, CRM_DB).tables.values()
        for r in t.records.values()
        for name in r.files
    }


@pytest.mark.parametrize("body", ["", "null", "{}"])
def test_an_empty_or_null_file_list_is_retried_never_a_record_without_files(emulator, body):
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "A", 1, "contract.pdf", b"pdf")
    emulator.faults.add("empty", body=body, method="GET", path=FILE_LISTS, times=2)
    out = run_tap(tap_config(emulator, include_files=True))
    assert files_of(out) == stored_files(emulator)
    assert ("A", 1, "contract.pdf") in files_of(out)


def test_a_file_list_always_answered_empty_fails_the_tap_with_one_line(emulator):
    emulator.faults.add("empty", body="null", method="GET", path=FILE_LISTS, times=None)
    out = run_tap(tap_config(emulator, include_files=True), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    message = str(out.error)
    assert "\n" not in message
    assert "/files" in message and "not a list of attachments" in message


UPLOADS = r"/records/\d+/files$"


@pytest.fixture
def upload_copy(emulator, tmp_path, monkeypatch):
    """The CRM (one extra attachment) read by the tap with downloads, and its empty copy."""
    monkeypatch.chdir(tmp_path)
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "A", 1, "contract.pdf", b"x" * 1000)
    messages = tap_messages(
        tap_config(
            emulator,
            include_files=True,
            download_files=True,
            files_path=str(tmp_path / "ninox-files"),
        )
    )
    emulator.store.empty_copy(DEMO_TEAM, CRM_DB, "copy0trust0db")
    config = target_config(emulator, database_id="copy0trust0db", upload_files=True)
    return messages, config


def attachments(emulator, database_id: str) -> dict[tuple[str, int], dict[str, bytes]]:
    return {
        (t.id, r.id): {name: entry.data for name, entry in r.files.items()}
        for t in emulator.store.database(DEMO_TEAM, database_id).tables.values()
        for r in t.records.values()
        if r.files
    }


def copied_files(emulator) -> dict[tuple[str, int], dict[str, bytes]]:
    return attachments(emulator, "copy0trust0db")


def source_files(emulator) -> dict[tuple[str, int], dict[str, bytes]]:
    return attachments(emulator, CRM_DB)


@pytest.mark.parametrize("body", ["", "{}", "null"])
def test_an_upload_applied_but_not_confirmed_is_found_in_the_listing_not_sent_again(
    emulator, upload_copy, body
):
    messages, config = upload_copy
    emulator.faults.add("empty", body=body, method="POST", path=UPLOADS, times=1)
    emulator.clear_log()
    run = run_target(config, messages)
    assert run.exit_code == 0
    assert copied_files(emulator) == source_files(emulator)
    uploads = sum(len(files) for files in source_files(emulator).values())
    assert emulator.request_count(method="POST", path_regex=UPLOADS) == uploads


def test_an_upload_not_applied_and_not_confirmed_is_sent_once_more(emulator, upload_copy):
    messages, config = upload_copy
    emulator.faults.add("empty", body="{}", apply=False, method="POST", path=UPLOADS, times=1)
    emulator.clear_log()
    run = run_target(config, messages)
    assert run.exit_code == 0
    assert copied_files(emulator) == source_files(emulator)
    uploads = sum(len(files) for files in source_files(emulator).values())
    assert emulator.request_count(method="POST", path_regex=UPLOADS) == uploads + 1


def test_an_upload_never_confirmed_nor_stored_fails_with_one_line(emulator, upload_copy, caplog):
    messages, config = upload_copy
    emulator.faults.add("empty", body="", apply=False, method="POST", path=UPLOADS, times=None)
    run = run_target(config, messages)
    assert run.exit_code != 0
    [line] = errors(caplog)
    assert "did not confirm it and does not list it" in line and "'files'" in line
    assert copied_files(emulator) == {}
