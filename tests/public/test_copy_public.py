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
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.model import Field, Table
from tests.public.tap_public_support import public_config as tap_config
from tests.public.tap_public_support import quiet, run_public
from tests.public.target_public_support import public_config as target_config
from tests.target_support import run_target

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


def test_the_tap_id_without_the_map_updates_the_wrong_record_so_the_copy_refuses_it(
    public_emulator, caplog
):
    """Why the map is needed: `_id` names a source record, and the copy's ids differ."""
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
def test_copy_is_exact_on_server_variants(public_emulator, variant):
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
