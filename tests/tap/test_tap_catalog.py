"""Catalogs that stay valid across renames, and fields named like the tap's columns."""

from __future__ import annotations

import json
import logging

import jsonschema
import pytest

from ninox_core.errors import NinoxConfigError
from ninox_core.model.naming import field_column
from tap_ninox.catalog import DATABASE_ID, FIELD_ID, TABLE_ID, TABLE_NAME
from tests.cli_support import run
from tests.tap_support import CRM_DB, DEMO_TEAM, discover, run_tap, tap_config

TABLE = "D"  # Lead
STREAM = "lead"


def rename_table(emulator, db: str, table_id: str, new_name: str) -> None:
    emulator.store.rename_table(DEMO_TEAM, db, table_id, new_name)


def rename_field(emulator, db: str, table_id: str, field_id: str, new_name: str) -> None:
    emulator.store.rename_field(DEMO_TEAM, db, table_id, field_id, new_name)


def live_ids(api, table_id=TABLE, db=CRM_DB) -> set[int]:
    return {r["id"] for page in api.iter_record_pages(DEMO_TEAM, db, table_id) for r in page}


def assert_records_fit_their_schema(out, stream):
    schema = out.schemas[stream]["schema"]
    for row in out.records[stream]:
        jsonschema.validate(row, schema)


# ------------------------------------------------------------------ catalog ids


def test_discovered_catalog_carries_table_and_field_ids(emulator, api):
    catalog = discover(tap_config(emulator))
    tables = {t.id: t for t in api.list_tables(DEMO_TEAM, CRM_DB)}
    for entry in catalog["streams"]:
        meta = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}
        table = tables[meta[()][TABLE_ID]]
        assert meta[()][DATABASE_ID] == CRM_DB
        assert meta[()][TABLE_NAME] == table.name
        for field in table.fields:
            assert meta[("properties", field.name)][FIELD_ID] == field.id
        assert FIELD_ID not in meta[("properties", "_id")]


def test_renamed_table_is_read_by_id_under_the_catalogs_name(emulator, api, caplog):
    config = tap_config(emulator, tables=[TABLE])
    catalog = discover(config)
    rename_table(emulator, CRM_DB, TABLE, "Prospect")
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog)
    assert {r["_id"] for r in out.records[STREAM]} == live_ids(api)
    assert "prospect" not in out.records
    warnings = [r.getMessage() for r in caplog.records if "renamed" in r.getMessage()]
    assert len(warnings) == 1
    assert "'Lead'" in warnings[0] and "'Prospect'" in warnings[0]
    # A fresh discovery takes the new name.
    assert {e["tap_stream_id"] for e in discover(config)["streams"]} == {"prospect"}


def test_tables_setting_with_the_old_name_still_selects_a_renamed_table(emulator, api):
    config = tap_config(emulator, tables=["Lead"])
    catalog = discover(config)
    rename_table(emulator, CRM_DB, TABLE, "Prospect")
    out = run_tap(config, catalog=catalog)
    assert {r["_id"] for r in out.records[STREAM]} == live_ids(api)


def test_renamed_field_is_emitted_under_the_catalogs_property_name(emulator, api, caplog):
    config = tap_config(emulator, tables=[TABLE])
    catalog = discover(config)
    table = api.get_table(DEMO_TEAM, CRM_DB, TABLE)
    field = next(f for f in table.fields if f.type in ("string", "text"))
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {field.id: "kept"}}])
    rename_field(emulator, CRM_DB, TABLE, field.id, "Renamed field")
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog)
    rows = out.records[STREAM]
    assert any(r[field.name] == "kept" for r in rows)
    assert all("Renamed field" not in r for r in rows)
    assert_records_fit_their_schema(out, STREAM)
    warnings = [r.getMessage() for r in caplog.records if "renamed" in r.getMessage()]
    assert len(warnings) == 1
    assert "'Renamed field'" in warnings[0] and repr(field.name) in warnings[0]


def test_field_gone_is_emitted_as_null_with_one_warning(emulator, api, caplog):
    config = tap_config(emulator, tables=[TABLE])
    catalog = discover(config)
    table = emulator.store.table(DEMO_TEAM, CRM_DB, TABLE)
    gone = next(iter(table.fields.values()))
    del table.fields[gone.id]
    table.by_name.pop(gone.name)
    table.plan.pop(gone.id, None)
    for record in table.records.values():
        record.values.pop(gone.id, None)
    with caplog.at_level(logging.WARNING):
        out = run_tap(config, catalog=catalog)
    rows = out.records[STREAM]
    assert rows and all(r[gone.name] is None for r in rows)
    assert_records_fit_their_schema(out, STREAM)
    warnings = [r.getMessage() for r in caplog.records if "no longer exists" in r.getMessage()]
    assert len(warnings) == 1 and gone.id in warnings[0]


def test_catalog_without_ids_is_matched_by_names(emulator, api):
    config = tap_config(emulator, tables=[TABLE])
    catalog = discover(config)
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            for key in (DATABASE_ID, TABLE_ID, TABLE_NAME, FIELD_ID):
                meta["metadata"].pop(key, None)
    out = run_tap(config, catalog=catalog)
    assert {r["_id"] for r in out.records[STREAM]} == live_ids(api)


def test_table_gone_fails_naming_stream_and_table_id(emulator):
    config = tap_config(emulator)
    catalog = discover(config)
    del emulator.store.database(DEMO_TEAM, CRM_DB).tables[TABLE]
    with pytest.raises(NinoxConfigError) as info:
        run_tap(config, catalog=catalog)
    assert f"stream '{STREAM}' (table id {TABLE}" in str(info.value)


def test_table_gone_exits_non_zero_with_one_line(emulator, tmp_path):
    config = tap_config(emulator)
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(discover(config)))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    del emulator.store.database(DEMO_TEAM, CRM_DB).tables[TABLE]
    catalog_args = ["--catalog", str(catalog_path)]
    result = run("tap", "--config", str(config_path), *catalog_args)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, result.stderr
    assert f"stream '{STREAM}' (table id {TABLE}" in errors[0]
    assert "RECORD" not in result.stdout


# ---------------------------------------------------------- reserved field names

RESERVED_DB = "reserveddb"
RESERVED_FIELDS = [
    {"id": "A", "name": "Title", "type": "text"},
    {"id": "B", "name": "_id", "type": "text"},
    {"id": "C", "name": "_sequence", "type": "number"},
    {"id": "D", "name": "_sdc_deleted_at", "type": "text"},
    {"id": "E", "name": "_sdc_batched_at", "type": "text"},
    {"id": "F", "name": "_modified_by", "type": "text"},
    {"id": "G", "name": "_created_at", "type": "text"},
]


@pytest.fixture
def reserved_table(emulator, api):
    emulator.store.create_database(
        DEMO_TEAM, RESERVED_DB, "Reserved", [{"id": "A", "name": "T", "fields": RESERVED_FIELDS}]
    )
    values = {"A": "t", "B": "my id", "C": 42, "D": "not deleted", "E": "e", "F": "f", "G": "g"}
    api.save_records(DEMO_TEAM, RESERVED_DB, "A", [{"fields": values}])
    return values


def test_fields_named_like_tap_columns_get_their_field_id(emulator, api, reserved_table):
    config = tap_config(emulator, database_ids=[RESERVED_DB])
    out = run_tap(config)
    (row,) = out.records["t"]
    assert row["Title"] == "t"
    assert row["_id_b"] == "my id"
    assert row["_sequence_c"] == 42
    assert row["_sdc_deleted_at_d"] == "not deleted"
    assert row["_sdc_batched_at_e"] == "e"
    assert row["_modified_by_f"] == "f"
    assert row["_created_at_g"] == "g"
    # The tap's own columns keep their meaning.
    assert isinstance(row["_id"], int)
    assert isinstance(row["_sequence"], int)
    assert row["_sdc_deleted_at"] is None
    assert row["_modified_by"] != "f"
    assert_records_fit_their_schema(out, "t")
    catalog = discover(config)
    (entry,) = catalog["streams"]
    meta = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}
    assert meta[("properties", "_id_b")][FIELD_ID] == "B"


def test_deleted_record_has_every_renamed_column_null(emulator, api, reserved_table):
    config = tap_config(emulator, database_ids=[RESERVED_DB])
    first = run_tap(config)
    (row,) = first.records["t"]
    api.delete_records(DEMO_TEAM, RESERVED_DB, "A", [row["_id"]])
    (deleted,) = run_tap(config, state=first.state).records["t"]
    assert deleted["_sdc_deleted_at"] is not None
    assert deleted["_id_b"] is None
    assert set(deleted) == set(row)


def test_field_column_rule():
    assert field_column("Name", "A") == "Name"
    assert field_column("_id", "AB") == "_id_ab"
    assert field_column("_sdc_anything", "C") == "_sdc_anything_c"
    assert field_column("_idx", "C") == "_idx"
