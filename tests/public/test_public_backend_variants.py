"""PublicBackend against each Public API variant (docs/api.md, "The Public API (Ninox 4)").

Every variant a real server may show ends with exactly the data the
strict server gives, or with one clear line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from ninox_core.backend import Cursor, ScanReport, WriteOp
from ninox_core.errors import (
    NinoxAPIError,
    NinoxAuthError,
    NinoxBadRequestError,
    NinoxCursorExpired,
    NinoxQuotaExhausted,
    NinoxUpsertUnavailable,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.model.datetimes import parse_datetime
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.public.backend import PublicBackend
from ninox_core.transport.client import NinoxClient
from ninox_emulator.public import PublicEmulator
from tests.public.conftest import PUBLIC_TEST_KEY
from tests.public.test_public_backend import add_leads, table_of


def field(table: NinoxTable, name: str) -> NinoxField:
    """The table's field `name` (the test fails when there is none)."""
    found = table.field_by_name(name)
    assert found is not None, name
    return found


def open_backend(emu: PublicEmulator, *, key: str = PUBLIC_TEST_KEY, retries: int = 3):
    client = NinoxClient(key, emu.base_url, max_retries=retries)
    client.backoff_base = 0.001
    return PublicBackend(client, emu.workspace_id)


@pytest.fixture
def backend(public_emulator: PublicEmulator) -> Iterator[PublicBackend]:
    backend = open_backend(public_emulator)
    yield backend
    backend.transport.close()


def everything(emu: PublicEmulator) -> dict[tuple[str, str], dict[int, dict]]:
    """Every record of the workspace as a fresh backend reads it: (module, table) → id → values."""
    backend = open_backend(emu)
    out = {}
    for module in backend.list_databases(emu.workspace_id):
        for table in backend.list_tables(emu.workspace_id, module.id):
            address = backend.address(emu.workspace_id, module.id, table)
            records = [r for page in backend.scan(address, table) for r in page]
            assert len(records) == len({r.id for r in records})
            out[module.id, table.name] = {r.id: r.values for r in records}
    return out


def without(data, kinds, backend):
    """`data` without the fields of `kinds` (for variants that add what strict leaves out)."""
    drop = {
        (module, table.name, f.id)
        for module in ("crm", "projects")
        for table in backend.list_tables(backend.workspace_id, module)
        for f in table.fields
        if f.type in kinds
    }
    return {
        key: {
            rid: {k: v for k, v in values.items() if (*key, k) not in drop}
            for rid, values in records.items()
        }
        for key, records in data.items()
    }


# ------------------------------------------------------------ value forms


@pytest.mark.parametrize(
    "variant",
    ["V5", "V7", "V9", "V10", "V11", "V12", "V12b", "V22", "V24", "V26"],
)
def test_the_variant_reads_exactly_what_the_strict_server_gives(public_emulator, variant, sleeps):
    # `sleeps`: V22's waits are recorded, not slept.
    strict = everything(public_emulator)
    public_emulator.variants.enable(variant)
    assert everything(public_emulator) == strict


def test_reverse_values_and_lazy_functions_read_the_strict_data(public_emulator, backend):
    strict = everything(public_emulator)
    public_emulator.variants.enable("V13")
    loose = everything(public_emulator)
    assert without(loose, {"rev"}, backend) == without(strict, {"rev"}, backend)
    companies = loose["crm", "companies"]
    assert any(values["contacts"] for values in companies.values())
    assert all(
        isinstance(i, int) for values in companies.values() for i in values["contacts"] or []
    )
    formulas = [v["label"] for v in strict["crm", "deals"].values()]
    assert any(formulas)


def test_lazy_functions_are_read_by_id_too(public_emulator, backend):
    table, address = table_of(backend, "crm", "deals")
    strict = backend.read_records(address, table, [1, 2])
    public_emulator.variants.enable("V13")
    assert backend.read_records(address, table, [1, 2]) == strict


def test_metadata_ids_become_the_handles_and_values_stay_keyed_by_them(public_emulator):
    strict = everything(public_emulator)
    public_emulator.variants.enable("V25")
    backend = open_backend(public_emulator)
    table, address = table_of(backend, "crm", "contacts")
    assert table.id != table.name
    email = field(table, "email")
    assert email.id != "email" and address.table == "contacts"
    records = {r.id: r.values for page in backend.scan(address, table) for r in page}
    names = {f.id: f.name for f in table.fields}
    as_names = {
        rid: {names.get(k, k): v for k, v in values.items()} for rid, values in records.items()
    }
    assert as_names == strict["crm", "contacts"]
    (_saved,) = backend.write(
        address,
        table,
        [WriteOp("update", {field(table, "first_name").id: "Id"}, record_id=2)],
    )
    assert (
        backend.read_records(address, table, [2])[2].values[field(table, "first_name").id] == "Id"
    )
    (upserted,) = backend.write(
        address,
        table,
        [WriteOp("upsert_by", {email.id: "tim.becker@example.com"}, match_field=email.id)],
    )
    assert (upserted.id, upserted.created) == (1, False)


def test_root_without_fields_costs_one_fields_call_per_table(public_emulator):
    public_emulator.variants.enable("V26")
    backend = open_backend(public_emulator)
    public_emulator.clear_log()
    tables = backend.list_tables(public_emulator.workspace_id, "crm")
    assert all(t.fields for t in tables)
    assert public_emulator.request_count("GET", r"/fields$") == len(tables)


# ----------------------------------------------------------------- paging


def test_a_last_full_page_said_to_have_more_costs_nothing_extra(public_emulator, backend):
    table, address = table_of(backend, "crm", "leads")
    existing = sum(len(p) for p in backend.scan(address, table))
    add_leads(public_emulator, 200 - existing)
    public_emulator.variants.enable("V7")
    public_emulator.clear_log()
    assert sum(len(p) for p in backend.scan(address, table)) == 200
    assert public_emulator.request_count("GET", r"/records$") <= 3


def test_an_unstable_order_is_read_again_sorted_by_id(public_emulator, backend, caplog):
    add_leads(public_emulator, 250)
    table, address = table_of(backend, "crm", "leads")
    strict = [r.id for page in backend.scan(address, table) for r in page]
    public_emulator.variants.enable("V6")
    with caplog.at_level(logging.WARNING):
        pages = [[r.id for r in page] for page in backend.scan(address, table)]
    ids = [i for page in pages for i in page]
    assert sorted(ids) == strict and len(ids) == len(set(ids))
    assert all(page == sorted(page) for page in pages)
    assert "no stable order" in caplog.text


def test_an_unstable_order_that_cannot_be_sorted_is_one_line(public_emulator, backend):
    add_leads(public_emulator, 250)
    table, address = table_of(backend, "crm", "leads")
    public_emulator.variants.enable("V6")

    def refuse_sort(entry):
        if entry.query.get("sort"):
            public_emulator.faults.add("status", status=400, path=r"/records$", times=1)

    public_emulator.on_request(refuse_sort)
    with pytest.raises(NinoxAPIError, match="no stable order"):
        [page for page in backend.scan(address, table)]


def test_records_deleted_and_created_during_a_scan_miss_no_record(public_emulator, backend):
    add_leads(public_emulator, 250)
    table, address = table_of(backend, "crm", "leads")
    before = {r.id for page in backend.scan(address, table) for r in page}
    public_emulator.variants.enable("V8")
    read = [r.id for page in backend.scan(address, table) for r in page]
    after = {r.id for page in open_backend(public_emulator).scan(address, table) for r in page}
    assert len(read) == len(set(read))
    assert (before & after) <= set(read)
    assert after != before  # the drift happened


def test_a_scan_without_overlap_reports_which_deletions_can_have_hidden_a_record(
    public_emulator, backend
):
    public_emulator.create_records("crm", "contacts", [{"last_name": "x"} for _ in range(250)])
    public_emulator.clock.advance(120)  # the creates behind the cursor's look-back
    table, address = table_of(backend, "crm", "contacts")
    before = sorted(r.id for page in backend.scan(address, table) for r in page)
    start = backend.cursor_now(address)
    began = time.monotonic()
    public_emulator.variants.enable("V8")
    report = ScanReport()
    pages = [
        [r.id for r in page] for page in backend.scan(address, table, exact=False, report=report)
    ]
    window = backend.scan_window(start, time.monotonic() - began)
    public_emulator.variants.disable("V8")
    read = [rid for page in pages for rid in page]
    assert len(read) == len(set(read))
    # V8 deleted the lowest id (read on the first page) before the second
    # page: the record at offset 100 moved behind the cursor, skipped.
    assert before[100] not in read
    # The last page is short (the last request): only ids read before it count.
    assert len(pages) == 3 and report.read_before_last == pages[1][-1]
    # The deletions are stamped inside the scan's window.
    changes = backend.changes(address, start)
    assert window is not None and changes.removed
    first, last = (parse_datetime(t) for t in window)
    assert all(first <= parse_datetime(changes.changed_at[r]) <= last for r in changes.removed)


# ------------------------------------------------------------ change feed


def test_a_loose_change_feed_gives_the_same_changes(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.clock.advance(seconds=120)
    (rid,) = public_emulator.create_records("crm", "contacts", [{"last_name": "Loose"}])
    backend.write(address, table, [WriteOp("update", {"first_name": "L"}, record_id=rid)])
    backend.write(address, table, [WriteOp("update", {"first_name": "M"}, record_id=3)])
    public_emulator.delete_records("crm", "contacts", [4])
    strict = backend.changes(address, cursor)
    public_emulator.variants.enable("V15")
    loose = backend.changes(address, cursor)
    assert set(loose.changed) == set(strict.changed)
    assert set(loose.removed) == set(strict.removed)
    assert {rid, 3} <= set(loose.changed) and 4 in loose.removed


def test_a_feed_that_truncates_silently_expires_an_old_bookmark(public_emulator, backend):
    _, address = table_of(backend, "crm", "contacts")
    cursor = backend.cursor_now(address)
    public_emulator.variants.enable("V16")
    public_emulator.clock.advance(days=31)
    with pytest.raises(NinoxCursorExpired, match="more than 30 days old"):
        backend.changes(address, cursor)


def test_a_server_without_the_change_feed_has_no_cursor(public_emulator, backend, monkeypatch):
    _, address = table_of(backend, "crm", "contacts")
    # A path the server does not know answers its web page (V2), as a missing feed would.
    monkeypatch.setattr(backend, "_path", lambda _address: f"{backend.calls.root}/elsewhere")
    with pytest.raises(NinoxCursorExpired, match="no record change feed"):
        backend.cursor_now(address)


# ----------------------------------------------------------------- writes


@pytest.mark.parametrize("variant", ["V17", "V17b"])
def test_a_create_applied_in_part_is_a_lost_answer_never_resent(public_emulator, backend, variant):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable(variant)
    public_emulator.clear_log()
    with pytest.raises(NinoxWriteOutcomeUnknown):
        backend.write(address, table, [WriteOp("create", {"last_name": f"P{i}"}) for i in range(4)])
    assert public_emulator.request_count("POST") == 1


def test_updated_ids_that_under_report_still_acknowledge(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable("V18")
    saved = backend.write(
        address, table, [WriteOp("update", {"first_name": f"S{i}"}, record_id=i) for i in (1, 2, 3)]
    )
    assert [s.id for s in saved] == [1, 2, 3]
    found = backend.read_records(address, table, [1, 2, 3])
    assert [found[i].values["first_name"] for i in (1, 2, 3)] == ["S1", "S2", "S3"]


def test_a_delete_that_ignores_missing_ids_works_the_same(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable("V19")
    public_emulator.clear_log()
    backend.delete(address, [1, 31, 2])
    assert public_emulator.request_count("DELETE") == 1
    assert backend.read_records(address, table, [1, 2]) == {}


def test_a_server_without_upsert_raises_what_the_target_falls_back_on(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable("V20")
    op = WriteOp("upsert_by", {"email": "tim.becker@example.com"}, match_field="email")
    with pytest.raises(NinoxUpsertUnavailable, match="no upsert"):
        backend.write(address, table, [op])


def test_an_upsert_by_a_field_not_unique_raises_the_same(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.set_unique("crm", "contacts", "email", unique=False)
    op = WriteOp("upsert_by", {"email": "tim.becker@example.com"}, match_field="email")
    with pytest.raises(NinoxUpsertUnavailable, match="unique"):
        backend.write(address, table, [op])


def test_an_ambiguous_upsert_is_one_line(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    op = WriteOp("upsert_by", {"email": "same@example.com", "last_name": "A"}, match_field="email")
    with pytest.raises(NinoxAPIError, match="more than one record matches the upsert key 'email'"):
        backend.write(address, table, [op, op])


# ----------------------------------------------------------------- errors


def test_a_wrong_key_is_one_line_naming_the_workspace(public_emulator):
    backend = open_backend(public_emulator, key="wrong-key")
    with pytest.raises(NinoxAuthError) as caught:
        backend.list_workspaces()
    line = str(caught.value)
    assert f"refused the API key for workspace {public_emulator.workspace_id}" in line
    assert "team_id" in line and "\n" not in line
    assert "wrong-key" not in line


def test_a_key_that_expires_mid_run_is_the_same_line(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.expire_key()
    with pytest.raises(NinoxAuthError, match="refused the API key"):
        backend.read_records(address, table, [1])


def test_a_base_url_that_is_not_the_api_is_one_line(public_emulator):
    client = NinoxClient(PUBLIC_TEST_KEY, public_emulator.base_url + "/oops", max_retries=3)
    backend = PublicBackend(client, public_emulator.workspace_id)
    public_emulator.clear_log()
    with pytest.raises(NinoxAPIError, match=r"answered with a web page .* not the Public API"):
        backend.list_workspaces()
    assert public_emulator.request_count() <= 1


@pytest.mark.parametrize(
    ("variant", "call", "scope"),
    [
        ("V4", "write", "records:write"),
        ("V4b", "scan", "Read records"),
        ("V4b", "tables", "Read app structure"),
    ],
)
def test_a_key_without_the_scope_is_told_which(public_emulator, variant, call, scope):
    backend = open_backend(public_emulator)
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable(variant)
    calls = {
        "write": lambda: backend.write(
            address, table, [WriteOp("update", {"first_name": "x"}, record_id=1)]
        ),
        "scan": lambda: next(backend.scan(address, table)),
        "tables": lambda: open_backend(public_emulator).list_tables(
            public_emulator.workspace_id, "crm"
        ),
    }
    with pytest.raises(NinoxAuthError) as caught:
        calls[call]()
    assert f'the scope "{scope}"' in str(caught.value)


@pytest.mark.parametrize("variant", [None, "V21"])
def test_an_exhausted_quota_is_one_line_and_never_retried(public_emulator, backend, variant):
    if variant:
        public_emulator.variants.enable(variant)
    public_emulator.quota = 0
    public_emulator.clear_log()
    with pytest.raises(NinoxQuotaExhausted, match="monthly API call quota of the Ninox plan"):
        backend.list_workspaces()
    assert public_emulator.request_count() == 1


def test_nest_style_error_bodies_give_their_message(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable("V3")
    with pytest.raises(NinoxBadRequestError) as caught:
        backend.write(address, table, [WriteOp("create", {"first_name": "no last name"})])
    assert "last_name" in str(caught.value) and "statusCode" not in str(caught.value)


def test_id_reuse_reads_the_new_record(public_emulator, backend):
    table, address = table_of(backend, "crm", "contacts")
    public_emulator.variants.enable("V29")
    backend.delete(address, [30])
    (saved,) = backend.write(address, table, [WriteOp("create", {"last_name": "Reborn"})])
    assert saved.id == 30
    assert backend.read_records(address, table, [30])[30].values["last_name"] == "Reborn"


def test_a_bookmark_from_the_classic_api_is_expired_not_a_crash(backend):
    _, address = table_of(backend, "crm", "contacts")
    with pytest.raises(NinoxCursorExpired):
        backend.changes(address, Cursor(123456))
