"""tap-ninox → target-ninox between two Ninox 4 modules (Public API emulator).

The Public API cannot create a record under a chosen id (decision 0024), so
a copy's records get ids of their own. A copy is therefore configured the
way README "Ninox 4" says: each copy table has a unique number field
`source_id`, and target-ninox's `stream_maps` turn the tap's `_id` into
it (`source_id: _id`, `_id` dropped, `__key_properties__: [source_id]`).
Creates and updates are then upserts by that unique field, a deletion
finds its record by it (`hard_delete`), and a rerun never duplicates.
Reference fields hold record ids, which differ in the copy: they are
dropped from the copy (README "Ninox 4"); every other value arrives.

Ninox 4 → classic Ninox keeps ids (the classic API creates a record under
the tap's `_id`), so references survive; the columns are renamed to the
classic field names by a stream map. Classic → Ninox 4 is keyed by
`source_id` like a Ninox 4 copy, and needs no renaming: each classic column
finds its Ninox 4 field by the field's label. Appointments and time
intervals arrive in the destination's own forms both ways (decision 0027).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.demo import machine_name
from ninox_emulator.public.model import Field, Table
from tests.public.tap_public_support import public_config as tap_config
from tests.public.tap_public_support import quiet, run_public
from tests.public.target_public_support import public_config as target_config
from tests.public.target_public_support import rows as rows_public
from tests.tap_support import CRM_DB, DEMO_TEAM, run_tap
from tests.tap_support import tap_config as classic_tap_config
from tests.target_support import api, make_database, rows, run_target
from tests.target_support import target_config as classic_target_config

SOURCE, COPY = "crm", "crm_copy"
#: The field of each copy table that holds the source record's id.
SOURCE_ID = "source_id"
#: Field types whose values are computed (never written, never compared).
COMPUTED = {"function", "reverse"}
FIELD_ATTRIBUTES = (
    "name",
    "type",
    "label",
    "variant",
    "required",
    "unique",
    "options",
    "ref_table",
    "expression",
)


def make_copy_module(emu: PublicEmulator) -> None:
    """Module `crm_copy`: crm's tables and fields (history, unique kept), no records."""
    store = emu.store
    store.add_module(COPY, "CRM copy")
    for name, table in store.module(SOURCE).tables.items():
        fields = [
            Field(**{a: copy.deepcopy(getattr(f, a)) for a in FIELD_ATTRIBUTES})
            for f in table.fields.values()
        ]
        fields.append(Field(SOURCE_ID, "number", label="Source id", unique=True))
        store.add_table(COPY, Table(name, table.label, fields, has_history=table.has_history))


def reference_fields(emu: PublicEmulator, table: str) -> list[str]:
    """The `reference` fields of a source table."""
    return [f.name for f in emu.store.table(SOURCE, table).fields.values() if f.type == "reference"]


def copy_maps(emu: PublicEmulator) -> dict[str, Any]:
    """target-ninox `stream_maps` for the copy: `_id` → `source_id`, references dropped."""
    maps: dict[str, Any] = {}
    for table in emu.store.module(SOURCE).tables:
        stream_map: dict[str, Any] = {
            SOURCE_ID: "_id",
            "_id": "__NULL__",
            "__key_properties__": [SOURCE_ID],
        }
        stream_map.update(dict.fromkeys(reference_fields(emu, table), "__NULL__"))
        maps[table] = stream_map
    return maps


def copy_config(emu: PublicEmulator, **overrides: Any) -> dict[str, Any]:
    """target-ninox's config for the copy (README "Ninox 4", "Copying between workspaces")."""
    return target_config(
        emu, module=COPY, stream_maps=copy_maps(emu), hard_delete=True, **overrides
    )


def copyable(emu: PublicEmulator, table: str, values: dict[str, Any]) -> dict[str, Any]:
    """A record's values that a copy carries: not computed, not a reference, not empty."""
    fields = emu.store.table(SOURCE, table).fields
    return {
        name: value
        for name, value in values.items()
        if name in fields
        and fields[name].type not in COMPUTED
        and fields[name].type != "reference"
        and value not in (None, "", [])
    }


def assert_exact_copy(emu: PublicEmulator) -> None:
    """Every source record is in the copy once, under its source_id, with its values."""
    with emu.store.lock:
        for table in emu.store.module(SOURCE).tables:
            source = emu.store.table(SOURCE, table).records
            target = emu.store.table(COPY, table).records
            by_source: dict[int, dict[str, Any]] = {}
            for values in target.values():
                assert values[SOURCE_ID] not in by_source, (table, values[SOURCE_ID])
                by_source[values[SOURCE_ID]] = values
            assert sorted(by_source) == sorted(source), table
            for rid, values in source.items():
                got = {k: v for k, v in by_source[rid].items() if k != SOURCE_ID}
                assert got == copyable(emu, table, values), (table, rid)
                # References do not survive a copy whose ids change: they are left empty.
                assert all(got.get(ref) is None for ref in reference_fields(emu, table))


def change_source(emu: PublicEmulator) -> None:
    """Creates, updates and deletes at the source, in tables with and without history."""
    store = emu.store
    store.create(
        SOURCE,
        "contacts",
        [
            {"first_name": "New", "last_name": "One", "email": "new1@x.test"},
            {"first_name": "New", "last_name": "Two", "email": "new2@x.test"},
        ],
    )
    store.update(
        SOURCE,
        "contacts",
        [{"id": 2, "job_title": "CTO", "score": 12.5}, {"id": 5, "notes": None}],
    )
    store.delete(SOURCE, "contacts", [4])
    store.create(SOURCE, "companies", [{"name": "Newco", "employees": 3}])
    store.delete(SOURCE, "companies", [8])
    store.update(SOURCE, "leads", [{"id": 3, "nickname": "Changed"}])
    store.create(SOURCE, "leads", [{"first_name": "L", "email": "lead-new@x.test"}])
    store.delete(SOURCE, "leads", [6])
    store.update(SOURCE, "deals", [{"id": 1, "amount": 999.5}])


def copy_once(emu: PublicEmulator, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """One tap run into one target run; the tap's last STATE."""
    out = run_public(tap_config(emu, modules=[SOURCE]), state)
    run = run_target(copy_config(emu), out.messages, emu)
    assert run.exit_code == 0, run.stdout
    return out.state


def test_copy_lands_every_copyable_value_and_a_rerun_brings_creates_updates_deletes(
    public_emulator,
):
    emu = public_emulator
    make_copy_module(emu)
    state = copy_once(emu)
    assert_exact_copy(emu)

    quiet(emu)
    change_source(emu)
    quiet(emu)
    emu.clear_log()
    copy_once(emu, state)
    assert_exact_copy(emu)
    # The copy's ids are its own: source contact 34 (created after 31-33 were used) is not 34.
    copied = {v[SOURCE_ID]: rid for rid, v in emu.store.table(COPY, "contacts").records.items()}
    assert copied[34] != 34
    # Writes went by the unique source_id: upserts, and a read of the key only for deletions.
    # One upsert batch of creates and updates, sent once more (decision 0024: the
    # answer does not say which record became which); no plain create or update.
    assert emu.request_count("POST", rf"/modules/{COPY}/tables/contacts/records/upsert$") == 2
    assert emu.request_count("POST", rf"/modules/{COPY}/tables/contacts/records$") == 0
    assert emu.request_count("PATCH", rf"/modules/{COPY}/tables/contacts/records$") == 0


def test_a_rerun_of_the_same_input_changes_nothing(public_emulator):
    emu = public_emulator
    make_copy_module(emu)
    out = run_public(tap_config(emu, modules=[SOURCE]))
    assert run_target(copy_config(emu), out.messages, emu).exit_code == 0
    before = {t: dict(emu.store.table(COPY, t).records) for t in emu.store.module(COPY).tables}
    assert run_target(copy_config(emu), out.messages, emu).exit_code == 0
    after = {t: dict(emu.store.table(COPY, t).records) for t in emu.store.module(COPY).tables}
    assert after == before


def test_without_the_map_the_tap_ids_fail_the_copy_with_one_line(public_emulator, caplog):
    """`_id` names a source record; the copy's ids are its own (decision 0026)."""
    emu = public_emulator
    make_copy_module(emu)
    out = run_public(tap_config(emu, modules=[SOURCE]))
    run = run_target(
        target_config(emu, module=COPY, stream_maps={"deals": {"contact": "__NULL__"}}),
        out.messages,
        emu,
    )
    # An empty copy has none of the tap's ids, and `deals` has no unique key to fall back on.
    assert run.exit_code != 0
    lines = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert any("_id" in line and "upsert_keys" in line for line in lines), lines


@pytest.mark.parametrize("variant", ["V5", "V7", "V9", "V11", "V15", "V18", "V22"])
def test_copy_is_exact_on_server_variants(public_emulator, variant, sleeps):
    # `sleeps`: V22's Retry-After waits are recorded, not slept (exactness is the point).
    emu = public_emulator
    emu.variants.enable(variant)
    make_copy_module(emu)
    state = copy_once(emu)
    assert_exact_copy(emu)
    quiet(emu)
    change_source(emu)
    quiet(emu)
    copy_once(emu, state)
    assert_exact_copy(emu)


# ------------------------------------------------- Ninox 4 → classic Ninox


#: The classic demo's CRM tables by the Ninox 4 stream names.
CLASSIC_TABLES = {"contacts": "Contact", "companies": "Company", "deals": "Deal", "leads": "Lead"}
CLASSIC_COPY_DB = "copy0crm0db"


def classic_rename_maps(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream maps naming each Ninox 4 column by its classic field name (`First name`).

    Ninox 4 knows fields by machine name (`first_name`); a bare name keeps
    the column's type. Computed fields are not written. Appointments and
    time intervals are written in the classic forms (decision 0027).
    """
    maps: dict[str, Any] = {}
    for table in tables:
        stream = next(s for s, name in CLASSIC_TABLES.items() if name == table["name"])
        stream_map: dict[str, Any] = {
            field["name"]: machine_name(field["name"])
            for field in table["fields"]
            if field["type"] not in ("formula", "rev")
        }
        stream_map.update({"_id": "_id", "__else__": None})
        maps[stream] = stream_map
    return maps


def test_ninox_4_to_classic_keeps_ids_and_references(public_emulator, emulator):
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    make_database(emulator, CLASSIC_COPY_DB, "CRM copy", tables)
    out = run_public(tap_config(public_emulator, modules=[SOURCE]))
    config = classic_target_config(
        emulator,
        database_id=CLASSIC_COPY_DB,
        table_mapping=CLASSIC_TABLES,
        stream_maps=classic_rename_maps(tables),
    )
    assert run_target(config, out.messages, emulator).exit_code == 0
    # The classic API creates records under the tap's _id: ids and references survive.
    # The public demo was made from the classic one, so the copy equals the classic CRM,
    # appointments (`[A,B)` → `A - B`) and time intervals (`00:…` → `0:…`) included.
    assert any(f["type"] == "appointment" for t in tables for f in t["fields"])
    for table in tables:
        source = rows(emulator, table["id"], CRM_DB)
        copied = rows(emulator, table["id"], CLASSIC_COPY_DB)
        assert sorted(copied) == sorted(source), table["name"]
        for rid, values in source.items():
            assert copied[rid] == values, (table["name"], rid)
        if table["name"] == "Deal":
            assert {r["Contact"] for r in copied.values()} == {
                r["Contact"] for r in source.values()
            }


def test_a_malformed_ninox_4_appointment_fails_the_copy_with_one_line(
    public_emulator, emulator, caplog
):
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    make_database(emulator, CLASSIC_COPY_DB, "CRM copy", tables)
    out = run_public(tap_config(public_emulator, modules=[SOURCE]))
    [contact] = [
        m["record"]
        for m in out.messages
        if m["type"] == "RECORD" and m["stream"] == "contacts" and m["record"]["_id"] == 5
    ]
    contact["next_meeting"] = "[2024-02-15T10:00:00Z,soon)"
    config = classic_target_config(
        emulator,
        database_id=CLASSIC_COPY_DB,
        table_mapping=CLASSIC_TABLES,
        stream_maps=classic_rename_maps(tables),
    )
    assert run_target(config, out.messages, emulator).exit_code != 0
    lines = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    [line] = lines
    assert "stream 'contacts'" in line and "record _id 5" in line, line
    assert "'Next meeting' (appointment)" in line and "'soon'" in line, line


# ------------------------------------------------- classic Ninox → Ninox 4

#: The classic demo's CRM streams by the Ninox 4 tables they are copied into.
PUBLIC_TABLES = {"contact": "contacts", "company": "companies", "deal": "deals", "lead": "leads"}


def classic_source_maps(tables: list[dict[str, Any]]) -> dict[str, Any]:
    """Stream maps of a classic → Ninox 4 copy: `_id` → `source_id`, references dropped.

    Nothing is renamed: each classic column (`First name`) finds its Ninox 4
    field by the field's label (`first_name`, labelled `First name`).
    """
    maps: dict[str, Any] = {}
    for table in tables:
        stream = next(s for s, t in PUBLIC_TABLES.items() if CLASSIC_TABLES[t] == table["name"])
        stream_map: dict[str, Any] = {
            SOURCE_ID: "_id",
            "_id": "__NULL__",
            "__key_properties__": [SOURCE_ID],
        }
        stream_map.update({f["name"]: "__NULL__" for f in table["fields"] if f["type"] == "ref"})
        maps[stream] = stream_map
    return maps


def test_classic_to_ninox_4_needs_no_renaming_and_keeps_appointments_and_intervals(
    public_emulator, emulator
):
    make_copy_module(public_emulator)
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    out = run_tap(classic_tap_config(emulator))
    assert out.error is None
    config = target_config(
        public_emulator,
        module=COPY,
        table_mapping=PUBLIC_TABLES,
        stream_maps=classic_source_maps(tables),
        hard_delete=True,
    )
    assert run_target(config, out.messages, public_emulator).exit_code == 0
    # The public demo is the classic CRM in Ninox 4's forms (made by the emulator's own
    # code), so the copy equals it: `A - B` → `[A,B)`, `0:25:16.123` → `00:25:16.123`.
    assert_exact_copy(public_emulator)
    contacts = public_emulator.store.table(COPY, "contacts").records.values()
    assert any(str(v.get("next_meeting", "")).startswith("[") for v in contacts)
    # A rerun of the same input changes nothing.
    before = rows_public(public_emulator, "contacts", COPY)
    assert run_target(config, out.messages, public_emulator).exit_code == 0
    assert rows_public(public_emulator, "contacts", COPY) == before

    # The next run brings an update, a create and a deletion, in Ninox 4's forms.
    with api(emulator) as client:
        new_meeting = {"Next meeting": "2027-03-01T08:00:00 - 2027-03-01T09:15:30"}
        client.save_records(DEMO_TEAM, CRM_DB, "A", [{"id": 3, "fields": new_meeting}])
        [created] = client.save_records(
            DEMO_TEAM,
            CRM_DB,
            "A",
            [
                {
                    "fields": {
                        "First name": "N",
                        "Last name": "Eu",
                        "Time spent": "101:02:03.4",
                        **new_meeting,
                    }
                }
            ],
        )
        client.delete_records(DEMO_TEAM, CRM_DB, "A", [4])
    again = run_tap(classic_tap_config(emulator), out.state)
    assert run_target(config, again.messages, public_emulator).exit_code == 0
    copied = {v[SOURCE_ID]: v for v in rows_public(public_emulator, "contacts", COPY).values()}
    meeting = "[2027-03-01T08:00:00Z,2027-03-01T09:15:30Z)"
    assert copied[3]["next_meeting"] == meeting
    assert copied[int(created["id"])]["next_meeting"] == meeting
    assert copied[int(created["id"])]["time_spent"] == "101:02:03.4"
    assert 4 not in copied


def test_a_label_two_fields_carry_fails_the_copy_with_one_line(public_emulator, emulator, caplog):
    make_copy_module(public_emulator)
    table = public_emulator.store.table(COPY, "contacts")
    table.fields["notes"].label = "First name"  # now two fields are labelled so
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    out = run_tap(classic_tap_config(emulator))
    config = target_config(
        public_emulator,
        module=COPY,
        table_mapping=PUBLIC_TABLES,
        stream_maps=classic_source_maps(tables),
    )
    assert run_target(config, out.messages, public_emulator).exit_code != 0
    [line] = [r.getMessage() for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert "'First name'" in line and "'first_name'" in line and "'notes'" in line, line
    assert "stream map" in line, line
    assert rows_public(public_emulator, "contacts", COPY) == {}
