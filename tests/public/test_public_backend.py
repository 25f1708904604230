"""PublicBackend against the strict Public API emulator, over real HTTP (docs/decisions/0022).

What the tap and the target rely on: metadata in the shared model, scans
that read every record once in ascending id order within the request
budget, reads by id, the change feed's ids and cursor, writes split into
requests within the API's limits, missing records isolated.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from ninox_core.backend import Cursor, TableAddress, WriteOp
from ninox_core.errors import (
    NinoxCursorExpired,
    NinoxError,
    NinoxRecordsMissing,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.model.schema import NinoxTable
from ninox_core.public import writes
from ninox_core.public.backend import PUBLIC_CAPABILITIES, PublicBackend
from ninox_core.transport.client import NinoxClient
from ninox_emulator.public import PublicEmulator
from tests.public.conftest import PUBLIC_TEST_KEY


@pytest.fixture
def backend(public_emulator: PublicEmulator) -> Iterator[PublicBackend]:
    with NinoxClient(PUBLIC_TEST_KEY, public_emulator.base_url, max_retries=2) as client:
        client.backoff_base = 0.001
        yield PublicBackend(client, public_emulator.workspace_id)


def table_of(backend: PublicBackend, module: str, name: str) -> tuple[NinoxTable, TableAddress]:
    table = next(t for t in backend.list_tables(backend.workspace_id, module) if t.name == name)
    return table, backend.address(backend.workspace_id, module, table)


def scanned(backend: PublicBackend, module: str, name: str, **kwargs) -> list[list[int]]:
    table, address = table_of(backend, module, name)
    return [[r.id for r in page] for page in backend.scan(address, table, **kwargs)]


def add_leads(emu: PublicEmulator, count: int) -> list[int]:
    return emu.create_records(
        "crm",
        "leads",
        [{"last_name": f"Lead {i}", "email": f"bulk{i}@example.org"} for i in range(count)],
    )


# ------------------------------------------------------------------ metadata


def test_capabilities_are_those_of_the_public_api():
    assert PublicBackend.capabilities == PUBLIC_CAPABILITIES
    assert PUBLIC_CAPABILITIES.max_page_size == 100
    assert PUBLIC_CAPABILITIES.server_upsert and PUBLIC_CAPABILITIES.transactional_writes
    assert not PUBLIC_CAPABILITIES.stable_paging
    assert not PUBLIC_CAPABILITIES.create_with_id
    assert not PUBLIC_CAPABILITIES.record_sequences
    assert not PUBLIC_CAPABILITIES.files


def test_attachments_are_one_line_naming_the_settings(backend):
    _, address = table_of(backend, "crm", "contacts")
    with pytest.raises(NinoxError, match=r"no usable file calls .* include_files"):
        backend.list_files(address, 1)


def test_the_configured_workspace_is_the_only_one_and_its_modules_are_the_databases(
    backend, public_emulator
):
    (workspace,) = backend.list_workspaces()
    assert (workspace.id, workspace.name) == (public_emulator.workspace_id, "Demo Workspace")
    modules = backend.list_databases(public_emulator.workspace_id)
    assert [(m.id, m.name) for m in modules] == [("crm", "crm"), ("projects", "projects")]


def test_metadata_of_every_module_costs_one_request(backend, public_emulator):
    public_emulator.clear_log()
    for module in backend.list_databases(public_emulator.workspace_id):
        assert backend.list_tables(public_emulator.workspace_id, module.id)
    assert public_emulator.request_count() == 1


def test_tables_carry_names_history_unique_fields_and_the_shared_types(backend):
    tables = {t.name: t for t in backend.list_tables(backend.workspace_id, "crm")}
    assert set(tables) == {"contacts", "companies", "deals", "leads"}
    contacts = tables["contacts"]
    assert contacts.id == contacts.name == "contacts"
    assert contacts.has_history and not tables["leads"].has_history
    email = contacts.field_by_name("email")
    assert email is not None and email.unique and email.id == "email" and email.type == "email"
    types = {f.name: f.type for f in contacts.fields}
    assert types["company"] == "ref"
    assert types["last_contact"] == "timestamp"
    assert types["website"] == "url"
    assert types["notes"] == "text"
    assert {f.type for f in tables["companies"].fields} >= {"rev", "location"}
    assert tables["deals"].field_by_name("label").type == "formula"
    kind = contacts.field_by_name("kind")
    assert kind.type == "choice" and [c.caption for c in kind.choices][:1] == ["Person"]
    assert kind.choices[0].id


def test_an_unknown_module_is_one_line(backend):
    with pytest.raises(NinoxError, match="module 'nope' is not in workspace"):
        backend.list_tables(backend.workspace_id, "nope")


# --------------------------------------------------------------------- scan


def test_a_scan_reads_every_record_once_in_ascending_id_order(backend, public_emulator):
    added = add_leads(public_emulator, 250)
    pages = scanned(backend, "crm", "leads")
    ids = [i for page in pages for i in page]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert set(added) <= set(ids)
    assert all(page for page in pages)
    assert max(len(page) for page in pages) == 100


@pytest.mark.parametrize("extra", [0, 1, 99])
def test_a_scan_costs_at_most_one_request_more_than_its_pages(backend, public_emulator, extra):
    table, address = table_of(backend, "crm", "leads")
    existing = sum(len(p) for p in backend.scan(address, table))
    add_leads(public_emulator, 200 - existing + extra)
    public_emulator.clear_log()
    count = sum(len(p) for p in backend.scan(address, table))
    assert count == 200 + extra
    assert public_emulator.request_count("GET", r"/records$") <= math.ceil(count / 100) + 1


def test_a_full_last_page_is_proved_the_last_by_one_more_request(backend, public_emulator):
    table, address = table_of(backend, "crm", "leads")
    existing = sum(len(p) for p in backend.scan(address, table))
    add_leads(public_emulator, 200 - existing)
    public_emulator.clear_log()
    assert sum(len(p) for p in backend.scan(address, table)) == 200
    assert public_emulator.request_count("GET", r"/records$") == 3


def test_a_smaller_page_size_is_honoured_and_a_larger_one_capped(backend, public_emulator):
    add_leads(public_emulator, 30)
    assert max(len(p) for p in scanned(backend, "crm", "leads", page_size=7)) == 7
    public_emulator.clear_log()
    scanned(backend, "crm", "leads", page_size=1000)
    assert {e.query.get("limit") for e in public_emulator.requests} == {"100"}


def test_scan_after_an_id_leaves_out_the_ids_up_to_it(backend):
    ids = [i for page in scanned(backend, "crm", "contacts", after_id=10) for i in page]
    assert ids and min(ids) == 11


def test_records_carry_values_by_field_id_in_the_shared_read_forms(backend):
    table, address = table_of(backend, "crm", "contacts")
    record = next(r for page in backend.scan(address, table) for r in page if r.id == 1)
    values = record.values
    assert set(values) >= {f.id for f in table.fields}
    assert values["company"] == 1  # a reference, as an integer
    # A date-time in Ninox's own form, UTC: the form the shared writer writes.
    assert values["last_contact"] == "2024-01-01T08:30:00"
    assert values["tags"] == ["VIP", "Smith, Jones & Co"]
    assert values["call_time"] == "08:15:00"
    assert values["nickname"] is None
    assert record.sequence is None and record.created_at is None


def test_read_records_reads_each_id_and_leaves_out_the_missing(backend, public_emulator):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.clear_log()
    found = backend.read_records(address, table, [1, 2, 31, 2])
    assert set(found) == {1, 2}
    assert found[1].values["first_name"] == "Tim"
    assert public_emulator.request_count("GET", r"/record/") == 3


# ------------------------------------------------------------- change feed


def test_cursor_now_is_one_probe_and_changes_since_it_name_the_ids(backend, public_emulator):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.clear_log()
    cursor = backend.cursor_now(address)
    assert public_emulator.request_count() == 1
    (probe,) = public_emulator.requests
    assert probe.query["limit"] == "1" and probe.query["since"].endswith("Z")
    public_emulator.clock.advance(seconds=120)
    (new,) = public_emulator.create_records("crm", "contacts", [{"last_name": "New"}])
    backend.write(address, table, [WriteOp("update", {"first_name": "Ann"}, record_id=4)])
    public_emulator.delete_records("crm", "contacts", [5])
    changes = backend.changes(address, cursor)
    assert set(changes.changed) >= {new, 4}
    assert 5 in changes.removed and 5 not in changes.changed
    assert set(changes.changed_at) >= {new, 4, 5}
    assert all(v.endswith("Z") for v in changes.changed_at.values())
    assert changes.cursor is not None and changes.cursor.value > cursor.value


def test_changes_collapse_several_entries_per_record_to_the_last(backend, public_emulator):
    table, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.clock.advance(seconds=120)
    (rid,) = public_emulator.create_records("crm", "contacts", [{"last_name": "Gone"}])
    backend.write(address, table, [WriteOp("update", {"first_name": "X"}, record_id=rid)])
    public_emulator.delete_records("crm", "contacts", [rid])
    changes = backend.changes(address, cursor)
    assert rid in changes.removed and rid not in changes.changed
    assert len(changes.removed) == len(set(changes.removed))


def test_changes_page_with_the_first_pages_as_of_pinned(backend, public_emulator):
    _table, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.clock.advance(seconds=120)
    made = public_emulator.create_records(
        "crm", "contacts", [{"last_name": f"N{i}"} for i in range(150)]
    )
    public_emulator.clear_log()
    changes = backend.changes(address, cursor)
    assert set(made) <= set(changes.changed)
    feed = [e for e in public_emulator.requests if e.path.endswith("/records/changes")]
    assert len(feed) == 2
    assert "asOf" not in feed[0].query
    assert feed[1].query["asOf"] and feed[1].query["offset"] == "100"


def test_the_cursor_holds_as_of_less_a_minute(backend, public_emulator):
    _, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    now = public_emulator.clock.now_iso()
    assert cursor.value < now
    # A change made just before the cursor's moment is still reported.
    changes = backend.changes(address, cursor)
    assert changes.cursor is not None


def test_a_bookmark_older_than_the_retention_is_expired(backend, public_emulator):
    _, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.clock.advance(days=31)
    with pytest.raises(NinoxCursorExpired, match="older than"):
        backend.changes(address, cursor)


def test_a_table_without_history_has_no_cursor(backend):
    _, address = table_of(backend, "crm", "leads")
    with pytest.raises(NinoxCursorExpired, match="History tracking is disabled"):
        backend.cursor_now(address)


def test_history_turned_off_expires_the_bookmark(backend, public_emulator):
    _, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.set_history("crm", "contacts", enabled=False)
    with pytest.raises(NinoxCursorExpired):
        backend.changes(address, cursor)


def test_a_bookmark_that_is_no_time_is_expired(backend):
    _, address = table_of(backend, "crm", "contacts")
    with pytest.raises(NinoxCursorExpired, match="not a change-feed time"):
        backend.changes(address, Cursor(4711))


def test_database_cursor_is_the_servers_time(backend, public_emulator):
    cursor = backend.database_cursor(public_emulator.workspace_id, "crm")
    assert backend.is_behind(Cursor("2000-01-01T00:00:00.000Z"), cursor)
    assert not backend.is_behind(cursor, cursor)


# ------------------------------------------------------------------ writes


def contacts(backend):
    return table_of(backend, "crm", "contacts")


def test_creates_answer_their_ids_in_request_order(backend, public_emulator):
    table, address = contacts(backend)
    plan = [WriteOp("create", {"last_name": f"C{i}", "first_name": str(i)}) for i in range(3)]
    saved = backend.write(address, table, plan)
    assert [s.created for s in saved] == [True] * 3
    found = backend.read_records(address, table, [s.id for s in saved])
    assert [found[s.id].values["first_name"] for s in saved] == ["0", "1", "2"]


def test_a_plan_is_sent_as_one_request_per_run_of_one_kind(backend, public_emulator):
    table, address = contacts(backend)
    plan = [
        WriteOp("update", {"first_name": "A"}, record_id=1),
        WriteOp("update", {"first_name": "B"}, record_id=2),
        WriteOp("create", {"last_name": "New"}),
        WriteOp(
            "upsert_by",
            {"email": "tim.becker@example.com", "first_name": "T"},
            match_field="email",
        ),
    ]
    public_emulator.clear_log()
    saved = backend.write(address, table, plan)
    assert [(s.id, s.created) for s in saved][:2] == [(1, False), (2, False)]
    assert saved[2].created is True and (saved[3].id, saved[3].created) == (1, False)
    assert public_emulator.request_counts() == {
        f"PATCH /workspace/{backend.workspace_id}/modules/crm/tables/contacts/records": 1,
        f"POST /workspace/{backend.workspace_id}/modules/crm/tables/contacts/records": 1,
        f"POST /workspace/{backend.workspace_id}/modules/crm/tables/contacts/records/upsert": 1,
    }


def test_date_times_are_written_with_their_zone_and_read_back_as_written(backend, public_emulator):
    table, address = contacts(backend)
    (saved,) = backend.write(
        address,
        table,
        [WriteOp("create", {"last_name": "T", "last_contact": "2024-05-06T07:08:09"})],
    )
    stored = public_emulator.store.table("crm", "contacts").records[saved.id]["last_contact"]
    assert stored.startswith("2024-05-06T07:08:09") and stored.endswith("Z")
    # Read back in the form it was written in: lost answers, reruns and the
    # key index find the record by comparing the two.
    record = backend.read_records(address, table, [saved.id])[saved.id]
    assert record.values["last_contact"] == "2024-05-06T07:08:09"


def test_an_upsert_batch_of_new_and_existing_keys_names_each_record(backend, public_emulator):
    table, address = contacts(backend)
    plan = [
        WriteOp("upsert_by", {"email": "new1@example.com", "last_name": "N1"}, match_field="email"),
        WriteOp(
            "upsert_by", {"email": "tim.becker@example.com", "last_name": "B"}, match_field="email"
        ),
        WriteOp("upsert_by", {"email": "new2@example.com", "last_name": "N2"}, match_field="email"),
    ]
    public_emulator.clear_log()
    saved = backend.write(address, table, plan)
    assert [s.created for s in saved] == [True, False, True]
    assert saved[1].id == 1
    # Sent once more (idempotent): the second answer lists all three as updated, in order.
    assert public_emulator.request_count("POST", r"/upsert$") == 2
    assert public_emulator.request_count("GET") == 0
    found = backend.read_records(address, table, [s.id for s in saved])
    assert [found[s.id].values["email"] for s in saved] == [op.values["email"] for op in plan]


def test_an_upsert_without_its_key_value_is_one_line(backend):
    table, address = contacts(backend)
    with pytest.raises(NinoxError, match="no value for the match field 'email'"):
        backend.write(
            address, table, [WriteOp("upsert_by", {"last_name": "X"}, match_field="email")]
        )


def test_a_create_with_a_chosen_id_is_refused_before_anything_is_sent(backend, public_emulator):
    table, address = contacts(backend)
    public_emulator.clear_log()
    with pytest.raises(NinoxError, match="chosen id"):
        backend.write(
            address,
            table,
            [WriteOp("create", {"last_name": "A"}), WriteOp("upsert", {"last_name": "B"}, 99)],
        )
    assert public_emulator.request_count() == 0


def test_an_update_of_a_missing_record_applies_the_rest_and_names_it(backend, public_emulator):
    table, address = contacts(backend)
    plan = [WriteOp("update", {"first_name": f"U{i}"}, record_id=i) for i in (1, 2, 31, 4)]
    with pytest.raises(NinoxRecordsMissing) as caught:
        backend.write(address, table, plan)
    assert caught.value.ids == [31]
    assert [None if s is None else s.id for s in caught.value.saved] == [1, 2, None, 4]
    assert "31" in str(caught.value)
    found = backend.read_records(address, table, [1, 2, 4])
    assert [found[i].values["first_name"] for i in (1, 2, 4)] == ["U1", "U2", "U4"]


def test_missing_records_among_many_are_isolated_in_few_requests(backend, public_emulator):
    table, address = contacts(backend)
    plan = [WriteOp("update", {"nickname": "n"}, record_id=i) for i in range(1, 31)]
    plan[9].record_id, plan[20].record_id = 31, 32
    public_emulator.clear_log()
    with pytest.raises(NinoxRecordsMissing) as caught:
        backend.write(address, table, plan)
    assert sorted(caught.value.ids) == [31, 32]
    assert public_emulator.request_count("PATCH") <= 12
    assert sum(s is not None for s in caught.value.saved) == 28


def test_writes_are_split_to_stay_under_the_body_limit(backend, public_emulator, monkeypatch):
    monkeypatch.setattr(writes, "MAX_BODY_BYTES", 2_000)
    table, address = contacts(backend)
    plan = [WriteOp("create", {"last_name": "x" * 300}) for _ in range(20)]
    sizes = []
    send = backend.transport.send

    def measured(method, path, **kwargs):
        sizes.append(len(kwargs.get("data") or b""))
        return send(method, path, **kwargs)

    monkeypatch.setattr(backend.transport, "send", measured)
    saved = backend.write(address, table, plan)
    assert len({s.id for s in saved}) == 20
    assert len(sizes) >= 4
    assert max(sizes) <= 2_000


def test_a_record_too_large_for_a_request_is_one_line(backend, monkeypatch):
    monkeypatch.setattr(writes, "MAX_BODY_BYTES", 500)
    table, address = contacts(backend)
    with pytest.raises(NinoxError, match=r"record 1 of the batch is .* MB as JSON"):
        backend.write(address, table, [WriteOp("create", {"last_name": "x" * 600})])


def test_a_lost_answer_to_a_create_is_never_resent(backend, public_emulator):
    table, address = contacts(backend)
    public_emulator.faults.add("lost_response", method="POST")
    public_emulator.clear_log()
    with pytest.raises(NinoxWriteOutcomeUnknown):
        backend.write(address, table, [WriteOp("create", {"last_name": "Once"})])
    assert public_emulator.request_count("POST") == 1


def test_a_lost_answer_to_an_update_is_resent(backend, public_emulator):
    table, address = contacts(backend)
    public_emulator.faults.add("lost_response", method="PATCH")
    (saved,) = backend.write(address, table, [WriteOp("update", {"first_name": "R"}, record_id=3)])
    assert saved.id == 3
    assert public_emulator.request_count("PATCH") == 2


def test_delete_ignores_absent_ids_and_deletes_the_rest(backend, public_emulator):
    table, address = contacts(backend)
    backend.delete(address, [1, 31, 2, 999])
    assert backend.read_records(address, table, [1, 2, 3]).keys() == {3}


def test_a_delete_resent_after_a_lost_answer_still_succeeds(backend, public_emulator):
    table, address = contacts(backend)
    public_emulator.faults.add("lost_response", method="DELETE")
    backend.delete(address, [6, 7])
    assert backend.read_records(address, table, [6, 7]) == {}
