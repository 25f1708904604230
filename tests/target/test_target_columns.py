"""Ninox fields named like tap-ninox's own columns, renamed by the tap, map back."""

from __future__ import annotations

from tests.target_support import (
    STRING,
    make_database,
    record,
    rows,
    run_target,
    schema,
    target_config,
)

TABLES = [
    {
        "id": "A",
        "name": "Odd",
        "fields": [
            {"id": "A", "name": "Name", "type": "string"},
            {"id": "C", "name": "_id", "type": "string"},
            {"id": "D", "name": "_sdc_note", "type": "string"},
            {"id": "E", "name": "_modified_by", "type": "string"},
            {"id": "F", "name": "_sequence", "type": "number"},
        ],
    }
]


def test_renamed_tap_columns_are_written_to_their_fields(emulator):
    make_database(emulator, tables=TABLES)
    props = {
        "_id": {"type": ["integer", "null"]},
        "_sequence": {"type": ["integer", "null"]},
        "_sdc_deleted_at": STRING,
        "Name": STRING,
        "_id_c": STRING,
        "_sdc_note_d": STRING,
        "_modified_by_e": STRING,
        "_sequence_f": {"type": ["number", "null"]},
    }
    values = {
        "_id": 7,
        "_sequence": 99,
        "_sdc_deleted_at": None,
        "Name": "x",
        "_id_c": "field id",
        "_sdc_note_d": "note",
        "_modified_by_e": "someone",
        "_sequence_f": 3,
    }
    run = run_target(target_config(emulator), [schema("odd", props), record("odd", values)])
    assert run.exit_code == 0
    assert rows(emulator, "A") == {
        7: {
            "Name": "x",
            "_id": "field id",
            "_sdc_note": "note",
            "_modified_by": "someone",
            "_sequence": 3,
        }
    }
