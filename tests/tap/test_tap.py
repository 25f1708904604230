"""tap-ninox against the emulator: discovery, full and incremental sync, deletions."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from ninox_core.errors import NinoxConfigError
from ninox_core.model import fieldtypes
from ninox_core.model.naming import slug
from ninox_core.transport.client import NinoxClient
from tests.tap_support import (
    CRM_DB,
    DEMO_TEAM,
    PROJECTS_DB,
    TEST_KEY,
    discover,
    run_tap,
    tap_config,
)


def crm_tables(api):
    return api.list_tables(DEMO_TEAM, CRM_DB)


def all_records(api, table_id, db=CRM_DB):
    return [r for page in api.iter_record_pages(DEMO_TEAM, db, table_id) for r in page]


def stream_of(table) -> str:
    return slug(table.name)


# ----------------------------------------------------------------- discovery


def test_discovery_has_one_stream_per_table_with_typed_columns(emulator, api):
    catalog = discover(tap_config(emulator))
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    tables = crm_tables(api)
    assert set(entries) == {stream_of(t) for t in tables}
    for table in tables:
        entry = entries[stream_of(table)]
        props = entry["schema"]["properties"]
        assert entry["key_properties"] == ["_id"]
        assert entry["replication_key"] == "_sequence"
        for meta in ("_id", "_sequence", "_created_at", "_modified_at", "_sdc_deleted_at"):
            assert meta in props
        for field in table.fields:
            assert props[field.name] == fieldtypes.singer_schema(field), field


def test_several_databases_prefix_stream_names(emulator, api):
    catalog = discover(tap_config(emulator, database_ids=[CRM_DB, PROJECTS_DB]))
    names = {e["tap_stream_id"] for e in catalog["streams"]}
    dbs = {d["id"]: d["name"] for d in api.list_databases(DEMO_TEAM)}
    expected = {
        f"{slug(dbs[db])}__{slug(t.name)}"
        for db in (CRM_DB, PROJECTS_DB)
        for t in api.list_tables(DEMO_TEAM, db)
    }
    assert names == expected
    assert all("__" in n for n in names)


def test_tables_setting_selects_by_name_or_id(emulator, api):
    first, second = crm_tables(api)[:2]
    catalog = discover(tap_config(emulator, tables=[first.name, second.id]))
    assert {e["tap_stream_id"] for e in catalog["streams"]} == {stream_of(first), stream_of(second)}


def test_unknown_table_or_database_fails_with_a_clear_message(emulator):
    with pytest.raises(NinoxConfigError, match="'Nope' matches no table"):
        discover(tap_config(emulator, tables=["Nope"]))
    with pytest.raises(NinoxConfigError, match="no database nope in team"):
        discover(tap_config(emulator, database_ids=["nope"]))


# ------------------------------------------------------------------ full sync


def test_full_sync_emits_every_record_with_converted_values(emulator, api):
    out = run_tap(tap_config(emulator))
    for table in crm_tables(api):
        expected = all_records(api, table.id)
        emitted = out.records.get(stream_of(table), [])
        assert sorted(r["_id"] for r in emitted) == [r["id"] for r in expected]
        by_id = {r["_id"]: r for r in emitted}
        for raw in expected:
            row = by_id[raw["id"]]
            assert row["_sequence"] == raw["sequence"]
            assert row["_sdc_deleted_at"] is None
            assert row["_modified_at"] == raw["modifiedAt"] + "Z"
            for field in table.fields:
                want = expected_value(field, raw["fields"].get(field.name))
                assert row[field.name] == want, (table.name, field.name)


def expected_value(field, value):
    """The Singer value of a Ninox value as read with the defaults (names, style=names).

    Written independently of `ninox_core.model.fieldtypes` (an oracle, so a bug
    there fails this test); the demo's values are in Ninox's usual forms.
    """
    if value is None:
        return None
    if field.type in ("datetime", "timestamp"):
        return value + "Z"  # Ninox's "2021-01-23T12:30:00" is UTC
    if field.type == "ref":
        return int(value)
    if field.type == "rev":
        return [int(item) for item in value]
    if field.type == "multi":
        return list(value)
    if field.type in ("formula", "fn") and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def test_full_sync_values_written_out(emulator):
    """The first contact and company of the demo as the tap must emit them, literally."""
    out = run_tap(tap_config(emulator))
    contact = next(r for r in out.records["contact"] if r["_id"] == 1)
    assert {k: contact[k] for k in CONTACT_1} == CONTACT_1
    company = next(r for r in out.records["company"] if r["_id"] == 1)
    assert {k: company[k] for k in COMPANY_1} == COMPANY_1


CONTACT_1 = {
    "Kind": "Person",
    "Birthday": "1960-01-01",
    "Tags": ["VIP", "Smith, Jones & Co"],
    "Company": 1,
    "Active": True,
    "Last contact": "2024-01-01T08:30:00Z",
    "Score": -40.0,
    "Full name": "Tim Becker",
    "Deals": [1, 11],
    "Call time": "08:15:00",
    "Imported": "2023-01-01T00:00:00Z",
    "Nickname": None,
    "_created_at": None,
    "_created_by": None,
    "_modified_at": "2023-09-19T00:28:50Z",
    "_sequence": 9,
    "_sdc_deleted_at": None,
}
COMPANY_1 = {
    "Industry": "Software",
    "Employees": 10,
    "Founded": "1950-01-15",
    "Contacts": [1, 9, 17, 25],
    "Customer": True,
    "_created_at": "2023-09-18T15:29:50Z",
    "_created_by": "anm2jMxL7kRuatXW9",
}


def test_every_field_type_is_emitted_as_its_singer_value(emulator, api):
    """Write one record with a value in every writable field; read it back via the tap."""
    tables = crm_tables(api)
    table = max(tables, key=lambda t: len({f.type for f in t.fields}))
    values, expected = {}, {}
    samples = {
        "text": ("Zoë 🚀", "Zoë 🚀"),
        "string": ("Zoë 🚀", "Zoë 🚀"),
        "number": (-12.5, -12.5),
        "boolean": (False, False),
        "date": ("2021-01-23", "2021-01-23"),
        "datetime": ("2021-01-23T12:30:00", "2021-01-23T12:30:00Z"),
        "timestamp": ("2021-01-23T12:30:00", "2021-01-23T12:30:00Z"),
        "time": ("12:30:00", "12:30:00"),
        "email": ("a@example.com", "a@example.com"),
        "phone": ("+49 30 123", "+49 30 123"),
        "url": ("https://example.com", "https://example.com"),
    }
    for field in table.fields:
        if field.type in samples:
            values[field.name], expected[field.name] = samples[field.type]
        elif field.type == "choice":
            values[field.name] = expected[field.name] = field.choices[-1].caption
        elif field.type == "multi":
            captions = [c.caption for c in field.choices[:2]]
            values[field.name] = expected[field.name] = captions
        elif field.type == "ref" and field.ref_table_id:
            target_id = all_records(api, field.ref_table_id)[0]["id"]
            values[field.name] = expected[field.name] = target_id
    assert len(values) >= 5, "the demo table should have many field types"
    created = api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": values}])
    new_id = created[0]["id"]

    out = run_tap(tap_config(emulator, tables=[table.id]))
    row = next(r for r in out.records[stream_of(table)] if r["_id"] == new_id)
    for name, want in expected.items():
        assert row[name] == want, name


def test_choice_style_ids_emits_choice_ids(emulator, api):
    table = next(t for t in crm_tables(api) if any(f.type == "choice" for f in t.fields))
    field = next(f for f in table.fields if f.type == "choice")
    out = run_tap(tap_config(emulator, tables=[table.id], choice_style="ids"))
    ids = {c.id for c in field.choices}
    values = [r[field.name] for r in out.records[stream_of(table)] if r[field.name] is not None]
    assert values
    assert set(values) <= ids


def test_records_without_known_creator_have_null_created_columns(emulator, api):
    out = run_tap(tap_config(emulator))
    rows = [r for rows in out.records.values() for r in rows]
    unknown = [r for r in rows if r["_created_at"] is None]
    assert unknown, "the demo has records with createdAt '' and createdBy 0"
    assert all(r["_created_by"] is None for r in unknown)
    known = [r for r in rows if r["_created_at"] is not None]
    assert all(r["_created_at"].endswith("Z") for r in known)


def test_page_size_above_the_server_cap_still_reads_everything(emulator, api):
    table = crm_tables(api)[0]
    api.save_records(
        DEMO_TEAM, CRM_DB, table.id, [{"fields": {}} for _ in range(2500)]
    )  # more than the emulator's 1000-record cap
    total = len(all_records(api, table.id))
    emulator.clear_log()
    out = run_tap(tap_config(emulator, tables=[table.id], page_size=5000))
    assert len(out.records[stream_of(table)]) == total
    # 3 full pages of 1000 (capped), then the empty page that ends the read.
    assert emulator.request_count(method="GET", path_regex=r"/records$") == total // 1000 + 2


def test_thousands_of_records_are_keyset_paged(emulator, api):
    table = crm_tables(api)[0]
    for _ in range(3):
        api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}} for _ in range(1000)])
    total = len(all_records(api, table.id))
    emulator.clear_log()
    out = run_tap(tap_config(emulator, tables=[table.id], page_size=500))
    rows = out.records[stream_of(table)]
    assert len(rows) == total == len({r["_id"] for r in rows})
    pages = -(-total // 500)
    assert emulator.request_count(method="GET", path_regex=r"/records$") == pages + 1
    since_ids = [e.query.get("sinceId") for e in emulator.requests if e.path.endswith("/records")]
    assert since_ids[0] == "0"
    assert len(set(since_ids)) == len(since_ids)


def test_empty_table_emits_no_records_and_a_bookmark(emulator, api):
    table = crm_tables(api)[-1]
    api.delete_records(DEMO_TEAM, CRM_DB, table.id, [r["id"] for r in all_records(api, table.id)])
    out = run_tap(tap_config(emulator, tables=[table.id]))
    assert out.records.get(stream_of(table), []) == []
    assert out.bookmark(stream_of(table)) == api.database_sequence(DEMO_TEAM, CRM_DB)


# ------------------------------------------------------------ incremental sync


def test_second_run_without_changes_emits_nothing_and_keeps_bookmarks(emulator):
    config = tap_config(emulator)
    first = run_tap(config)
    assert first.record_count() > 0
    second = run_tap(config, state=first.state)
    assert second.record_count() == 0
    assert second.state["bookmarks"] == first.state["bookmarks"]


def test_incremental_run_reads_updates_creates_and_deletes(emulator, api):
    table = crm_tables(api)[0]
    stream = stream_of(table)
    config = tap_config(emulator, tables=[table.id])
    first = run_tap(config)
    seq_before = api.database_sequence(DEMO_TEAM, CRM_DB)
    assert first.bookmark(stream) == seq_before

    ids = [r["id"] for r in all_records(api, table.id)]
    text_field = next(f for f in table.fields if f.type in ("text", "string"))
    api.save_records(
        DEMO_TEAM, CRM_DB, table.id, [{"id": ids[0], "fields": {text_field.name: "changed"}}]
    )
    created = api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}}])[0]["id"]
    api.delete_records(DEMO_TEAM, CRM_DB, table.id, [ids[1]])

    second = run_tap(config, state=first.state)
    rows = {r["_id"]: r for r in second.records[stream]}
    assert set(rows) == {ids[0], created, ids[1]}
    assert rows[ids[0]][text_field.name] == "changed"
    assert rows[ids[0]]["_sdc_deleted_at"] is None
    deleted = rows[ids[1]]
    assert deleted["_sdc_deleted_at"].endswith("Z")
    assert all(deleted[f.name] is None for f in table.fields)
    feed_seq = api.table_changes(DEMO_TEAM, CRM_DB, table.id, seq_before)["seq"]
    assert deleted["_sequence"] == feed_seq
    assert second.bookmark(stream) == api.database_sequence(DEMO_TEAM, CRM_DB)

    third = run_tap(config, state=second.state)
    assert third.record_count() == 0


def test_include_deletes_false_emits_no_deletions(emulator, api):
    table = crm_tables(api)[0]
    config = tap_config(emulator, tables=[table.id], include_deletes=False)
    first = run_tap(config)
    victim = all_records(api, table.id)[0]["id"]
    api.delete_records(DEMO_TEAM, CRM_DB, table.id, [victim])
    second = run_tap(config, state=first.state)
    assert second.record_count() == 0


def test_change_made_between_two_pages_is_not_lost(emulator, api):
    table = crm_tables(api)[0]
    stream = stream_of(table)
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}} for _ in range(20)])
    ids = [r["id"] for r in all_records(api, table.id)]
    text_field = next(f for f in table.fields if f.type in ("text", "string"))
    pages_seen = []

    def change_after_first_page(request) -> None:
        if request.method == "GET" and request.path.endswith(f"/tables/{table.id}/records"):
            pages_seen.append(request)
            if len(pages_seen) == 2:
                # The first page (ids[0..4]) was read: change one of them,
                # create a new record and delete one not read yet.
                with NinoxClient(TEST_KEY, emulator.base_url) as other:
                    other.save_records(
                        DEMO_TEAM,
                        CRM_DB,
                        table.id,
                        [{"id": ids[0], "fields": {text_field.name: "mid-read"}}, {"fields": {}}],
                    )
                    other.delete_records(DEMO_TEAM, CRM_DB, table.id, [ids[-1]])

    emulator.on_request(change_after_first_page)
    config = tap_config(emulator, tables=[table.id], page_size=5)
    first = run_tap(config)
    first_rows = {r["_id"]: r for r in first.records[stream]}
    assert first_rows[ids[0]][text_field.name] != "mid-read"  # read before the change

    second = run_tap(config, state=first.state)
    second_rows = {r["_id"]: r for r in second.records[stream]}
    assert second_rows[ids[0]][text_field.name] == "mid-read"
    seen = set(first_rows) | set(second_rows)
    live = {r["id"] for r in all_records(api, table.id)}
    assert live <= seen
    if ids[-1] in first_rows:  # read before it was deleted: the next run deletes it
        assert second_rows[ids[-1]]["_sdc_deleted_at"] is not None


def test_interrupted_full_read_resumes_after_the_last_page_read(emulator, api):
    table = crm_tables(api)[0]
    stream = stream_of(table)
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}} for _ in range(170)])
    total = {r["id"] for r in all_records(api, table.id)}
    sequence_before = api.database_sequence(DEMO_TEAM, CRM_DB)
    config = tap_config(emulator, tables=[table.id], page_size=50, max_retries=0)

    # The first run dies on its fourth page.
    emulator.faults.add(kind="status", status=500, times=None, path=r"/records$", after=3)
    first = run_tap(config, allow_failure=True)
    assert first.error is not None
    emulator.faults.clear()
    read_first = [r["_id"] for r in first.records[stream]]
    assert len(read_first) == 150
    # A change made to an already-read record while the run was down.
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"id": read_first[0], "fields": {}}])

    second = run_tap(config, state=first.state)
    read_second = [r["_id"] for r in second.records[stream]]
    assert set(read_second) == total - set(read_first)  # no page read twice
    assert min(read_second) > max(read_first)
    # The bookmark is the sequence taken before the interrupted read began,
    # so the next run picks up the record changed in between.
    assert second.bookmark(stream) == sequence_before
    assert "ninox_resume" not in second.state["bookmarks"][stream]
    third = run_tap(config, state=second.state)
    assert read_first[0] in {r["_id"] for r in third.records[stream]}


def test_interrupted_incremental_run_resumes_from_its_last_state_without_gaps(emulator, api):
    table = crm_tables(api)[0]
    stream = stream_of(table)
    config = tap_config(emulator, tables=[table.id], page_size=5, max_retries=1)
    first = run_tap(config)
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}} for _ in range(30)])
    created = {r["id"] for r in all_records(api, table.id)} - {
        r["_id"] for r in first.records[stream]
    }

    # The incremental run dies on its third page: every try gets a 500.
    emulator.faults.add(
        kind="status", status=500, times=100, method="GET", path=r"/records$", after=2
    )
    interrupted = run_tap(config, state=first.state, allow_failure=True)
    assert "500" in str(interrupted.error)
    emulator.faults.clear()
    # Its last STATE still carries the old bookmark, plus where it stopped.
    assert interrupted.bookmark(stream) == first.bookmark(stream)

    resumed = run_tap(config, state=interrupted.state)
    seen = [r["_id"] for r in interrupted.records[stream] + resumed.records[stream]]
    assert created <= set(seen)
    assert len(seen) == len(set(seen))  # nothing read twice either
    assert run_tap(config, state=resumed.state).record_count() == 0


# ----------------------------------------------------------------------- files


def test_files_stream_lists_attachments_of_emitted_records(emulator, api):
    out = run_tap(tap_config(emulator, include_files=True))
    file_requests = emulator.request_count(method="GET", path_regex=r"/files$")
    files = out.records.get("files", [])
    assert files, "the demo has attachments"
    for row in files:
        listed = api.list_files(DEMO_TEAM, CRM_DB, row["_table_id"], row["_record_id"])
        match = next(f for f in listed if f["name"] == row["name"])
        assert row["size"] == match["size"]
        assert row["content_type"] == match["contentType"]
        assert row["modified_at"].endswith("Z")
    emitted = sum(len(rows) for name, rows in out.records.items() if name != "files")
    assert file_requests == emitted
    # Every row belongs to a record some table stream emitted.
    emitted_ids = {
        (name, r["_id"]) for name, rows in out.records.items() if name != "files" for r in rows
    }
    streams = {t.id: stream_of(t) for t in crm_tables(api)}
    assert {(streams[f["_table_id"]], f["_record_id"]) for f in files} <= emitted_ids


def test_files_stream_on_an_incremental_run_covers_changed_records_only(emulator, api):
    config = tap_config(emulator, include_files=True)
    first = run_tap(config)
    table = crm_tables(api)[0]
    rid = all_records(api, table.id)[0]["id"]
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"id": rid, "fields": {}}])
    emulator.clear_log()
    second = run_tap(config, state=first.state)
    assert emulator.request_count(method="GET", path_regex=r"/files$") == 1
    assert {(r["_table_id"], r["_record_id"]) for r in second.records.get("files", [])} <= {
        (table.id, rid)
    }


# --------------------------------------------------------------------- secrets


def test_api_key_never_appears_in_logs_at_debug(emulator, caplog, capfd, sleeps):
    # `sleeps`: the 429 and 503 back-off waits are recorded, not slept.
    secret_config = tap_config(emulator, api_key="super-secret-key-123")
    emulator.set_api_key("super-secret-key-123")
    emulator.faults.add(kind="status", status=429, times=1)
    emulator.faults.add(kind="status", status=503, times=1)
    with caplog.at_level(logging.DEBUG):
        run_tap(secret_config)
        with pytest.raises(Exception, match="401") as info:  # any error type, checked by its text
            run_tap(dict(secret_config, api_key="wrong-key-456"))
    text = caplog.text + str(info.value) + "".join(capfd.readouterr())
    assert "401" in str(info.value)
    assert "super-secret-key-123" not in text
    assert "wrong-key-456" not in text


def test_deselected_columns_are_not_emitted(emulator, api):
    table = crm_tables(api)[0]
    config = tap_config(emulator, tables=[table.id])
    catalog = discover(config)
    dropped = table.fields[0].name
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == ["properties", dropped]:
                meta["metadata"]["selected"] = False
    out = run_tap(config, catalog=catalog)
    rows = out.records[stream_of(table)]
    assert rows
    assert all(dropped not in r for r in rows)
    assert all(table.fields[1].name in r for r in rows)


def test_unknown_field_type_becomes_a_string_with_one_warning(emulator, api, caplog):
    tables = api.list_tables(DEMO_TEAM, PROJECTS_DB)
    table, field = next(
        (t, f) for t in tables for f in t.fields if not fieldtypes.is_known_type(f.type)
    )
    config = tap_config(emulator, database_ids=[PROJECTS_DB], tables=[table.id])
    with caplog.at_level(logging.WARNING):
        out = run_tap(config)
    warnings = [r for r in caplog.records if "does not know" in r.getMessage()]
    assert len(warnings) == 1
    assert field.name in warnings[0].getMessage()
    schema = out.schemas[stream_of(table)]["schema"]["properties"][field.name]
    assert schema == {"type": ["string", "null"]}
    values = [r[field.name] for r in out.records[stream_of(table)] if r[field.name] is not None]
    assert values
    assert all(isinstance(v, str) for v in values)


def classic_record(table: Any, raw: dict[str, Any]) -> Any:
    """A classic answer's record as the classic backend hands it on (values by field id)."""
    from ninox_core.classic.records import FieldIds, to_records

    return to_records([raw], FieldIds(table))[0]


def test_record_converter_takes_name_keyed_fields_too():
    """A server that ignores `style=ids` answers name-keyed fields: none is lost."""
    from ninox_core.model.schema import NinoxTable
    from tap_ninox.records import record_converter

    table = NinoxTable.from_api(
        {
            "id": "A",
            "name": "T",
            "fields": [
                {"id": "A", "name": "Title", "type": "text"},
                {"id": "B", "name": "When", "type": "datetime"},
            ],
        }
    )
    convert = record_converter(table, "names", logging.getLogger("test"))
    by_id = convert(
        classic_record(table, {"id": 1, "fields": {"A": "x", "B": "2021-01-23T12:30:00"}})
    )
    by_name = convert(
        classic_record(table, {"id": 1, "fields": {"Title": "x", "When": "2021-01-23T12:30:00"}})
    )
    assert by_id["Title"] == by_name["Title"] == "x"
    assert by_id["When"] == by_name["When"] == "2021-01-23T12:30:00Z"


def test_a_field_added_after_discovery_is_warned_about_once(caplog):
    from ninox_core.model.schema import NinoxTable
    from tap_ninox.records import record_converter

    table = NinoxTable.from_api({"id": "A", "name": "T", "fields": []})
    convert = record_converter(table, "names", logging.getLogger("test"))
    with caplog.at_level(logging.WARNING):
        rows = [convert(classic_record(table, {"id": i, "fields": {"ZZ": i}})) for i in (1, 2, 3)]
    assert all("ZZ" not in r for r in rows)
    assert len([r for r in caplog.records if "'ZZ'" in r.getMessage()]) == 1


def test_a_value_the_type_cannot_hold_fails_naming_table_record_and_field():
    from ninox_core.errors import NinoxError
    from ninox_core.model.schema import NinoxTable
    from tap_ninox.records import record_converter

    table = NinoxTable.from_api(
        {"id": "A", "name": "T", "fields": [{"id": "B", "name": "Company", "type": "ref"}]}
    )
    convert = record_converter(table, "names", logging.getLogger("test"))
    with pytest.raises(NinoxError) as info:
        convert(classic_record(table, {"id": 7, "fields": {"B": "not-an-id"}}))
    text = str(info.value)
    assert "table 'T' (A), record 7" in text
    assert "'Company'" in text
    assert "not-an-id" in text
