"""The SDK's standard target tests, against an emulator database made for them.

Each kept test also checks what landed in the emulator's tables (the
standard tests alone only check that nothing crashes).

Objects and arrays sent to text fields land as compact JSON text (Ninox has
no object field). Left out, because Ninox cannot hold what they send:
- `special_chars_in_attributes`: its `_id` is a string, but `_id` is the
  Ninox record id column (tap-ninox's primary key), a positive integer.
- `multiple_state_messages` is not in the SDK's own suite either (it expects
  a STATE per drain, which depends on the SDK's drain timing).
"""

from __future__ import annotations

import json
from typing import Any

from singer_sdk.testing import get_target_test_class
from singer_sdk.testing import target_tests as std
from singer_sdk.testing.suites import SingerTestSuite

from ninox_core.transport.client import NinoxClient
from target_ninox.target import TargetNinox
from tests.standard_emulator import KEY, standard_tests_emulator
from tests.tap_support import DEMO_TEAM
from tests.target_support import make_database

CORE_DB = "tgt0std0db"


def _fields(*specs: str) -> list[dict[str, Any]]:
    """`"name:type"` → field objects with ids A, B, …"""
    out = []
    for i, spec in enumerate(specs):
        name, _, kind = spec.partition(":")
        item: dict[str, Any] = {"id": chr(ord("A") + i), "name": name, "type": kind or "string"}
        if kind == "multi":
            item["choices"] = [
                {"id": str(n + 1), "caption": c}
                for n, c in enumerate(["apple", "orange", "pear", "banana"])
            ]
        out.append(item)
    return out


_TABLE_SPECS = {
    "Test Array Data": ("id:number", "fruits:multi"),
    "Camelcase": ("Id", "clientName"),
    "Forecasting": (
        "Id",
        "IsDeleted:boolean",
        "CreatedDate:datetime",
        "CreatedById",
        "LastModifiedDate:datetime",
        "LastModifiedById",
        "SystemModstamp:datetime",
        "ForecastingTypeId",
        "ForecastingItemCategory",
        "DisplayPosition:number",
        "IsAdjustable:boolean",
        "IsOwnerAdjustable:boolean",
        "age:number",
        "NewCamelCasedAttribute",
        "_attribute_startswith_underscore",
    ),
    "Test Duplicate Records": ("id:number", "metric:number"),
    "Test No PK": ("id:number", "metric:number"),
    "Test Optional Attributes": ("id:number", "optional"),
    "Example Stream": ("id:number", "name", "email"),
    "Test Record Before Schema": ("id:number", "metric:number"),
    "Test Record Missing Key Property": ("id:number", "metric:number"),
    "Record Missing Fields": ("id:number", "optional"),
    "Test Strings": ("id:number", "info"),
    "Test Strings In Objects": ("id:number", "info"),
    "Test Strings In Arrays": ("id:number", "strings"),
    "Test Schema Updates": ("id:number", "a1:number", "a2", "a3:boolean", "a4", "a5", "a6:number"),
    "Test Object Schema With Properties": ("object_store",),
    "Test Object Schema No Properties": ("object_store",),
}
CORE_TABLES: list[dict[str, Any]] = [
    {"id": chr(ord("A") + i), "name": name, "fields": _fields(*specs)}
    for i, (name, specs) in enumerate(_TABLE_SPECS.items())
]
TABLE_IDS: dict[str, str] = {t["name"]: t["id"] for t in CORE_TABLES}

# The standard test class needs its config when it is built (see
# tests/standard_emulator.py).
_EMULATOR = standard_tests_emulator()
make_database(_EMULATOR, CORE_DB, "Standard tests", CORE_TABLES)

CONFIG = {
    "api_key": KEY,
    "base_url": _EMULATOR.base_url,
    "team_id": DEMO_TEAM,
    "database_id": CORE_DB,
    "max_retries": 1,
    # Stream names the slug rule cannot reach.
    "table_mapping": {"TestCamelcase": "Camelcase", "ForecastingTypeToCategory": "Forecasting"},
}


def table_rows(name: str) -> list[dict[str, Any]]:
    """Fields of every record of a core table, in id order."""
    with NinoxClient(KEY, _EMULATOR.base_url) as client:
        return [
            r.get("fields") or {}
            for page in client.iter_record_pages(DEMO_TEAM, CORE_DB, TABLE_IDS[name])
            for r in page
        ]


def clear_tables() -> None:
    """Empty every core table, so each test checks only what it wrote."""
    with NinoxClient(KEY, _EMULATOR.base_url) as client:
        for table_id in TABLE_IDS.values():
            ids = [
                r["id"]
                for page in client.iter_record_pages(DEMO_TEAM, CORE_DB, table_id)
                for r in page
            ]
            if ids:
                client.delete_records(DEMO_TEAM, CORE_DB, table_id, ids)


class _Clean:
    """Start each standard test with empty tables."""

    def setup(self) -> None:
        clear_tables()


class ArrayData(_Clean, std.TargetArrayData):
    def validate(self) -> None:
        got = {r["id"]: sorted(r["fruits"]) for r in table_rows("Test Array Data")}
        assert got == {
            1: ["apple", "orange", "pear"],
            2: ["apple", "banana"],
            3: ["pear"],
            4: ["apple", "banana", "orange", "pear"],
        }


class CamelcaseComplexSchema(_Clean, std.TargetCamelcaseComplexSchema):
    def validate(self) -> None:
        assert table_rows("Forecasting") == []  # the file has schemas only


class Camelcase(_Clean, std.TargetCamelcaseTest):
    def validate(self) -> None:
        assert table_rows("Camelcase") == [
            {"Id": "1", "clientName": "Gitter Windows Desktop App"},
            {"Id": "2", "clientName": "Gitter iOS App"},
        ]


class DuplicateRecords(_Clean, std.TargetDuplicateRecords):
    def validate(self) -> None:
        # Keyed by `id`: the last value of each key wins, no duplicates.
        got = {r["id"]: r["metric"] for r in table_rows("Test Duplicate Records")}
        assert got == {1: 100, 2: 20}


class NoPrimaryKeys(_Clean, std.TargetNoPrimaryKeys):
    def validate(self) -> None:
        assert sorted(r["metric"] for r in table_rows("Test No PK")) == [11, 22, 33]


class OptionalAttributes(_Clean, std.TargetOptionalAttributes):
    def validate(self) -> None:
        got = {r["id"]: r.get("optional") for r in table_rows("Test Optional Attributes")}
        assert got == {1: "This is optional", 2: None, 3: "Also optional", 4: None}


class PrimaryKeyUpdates(_Clean, std.TargetPrimaryKeyUpdates):
    def validate(self) -> None:
        assert sorted(r["email"] for r in table_rows("Example Stream")) == [
            "alice@example.com",
            "bob@example.com",
        ]


class RecordBeforeSchema(_Clean, std.TargetRecordBeforeSchemaTest):
    def validate(self) -> None:
        assert table_rows("Test Record Before Schema") == []


class RecordMissingKeyProperty(_Clean, std.TargetRecordMissingKeyProperty):
    def validate(self) -> None:
        assert table_rows("Test Record Missing Key Property") == []


class RecordMissingOptionalFields(_Clean, std.TargetRecordMissingOptionalFields):
    def validate(self) -> None:
        got = {r["id"]: r.get("optional") for r in table_rows("Record Missing Fields")}
        assert got == {1: "now you see me", 2: None}


class EncodedStringData(_Clean, std.TargetEncodedStringData):
    def validate(self) -> None:
        infos = {r["id"]: r.get("info") for r in table_rows("Test Strings")}
        assert infos[2] == "απλή συμβολοσειρά"
        assert infos[5] == 'quoted "string"'
        assert infos[6] == 'various " \\ / \n escape sequences'
        assert infos[11] == "Control Characters in string: \u0000 A \u0001"
        objects = {r["id"]: r.get("info") for r in table_rows("Test Strings In Objects")}
        assert json.loads(str(objects[2])) == {"name": "greek", "value": "απλή συμβολοσειρά"}
        arrays = table_rows("Test Strings In Arrays")
        assert json.loads(arrays[0]["strings"])[0] == "simple string"


class SchemaUpdates(_Clean, std.TargetSchemaUpdates):
    def validate(self) -> None:
        rows = {r["id"]: r for r in table_rows("Test Schema Updates")}
        assert rows[1]["a2"] == "string1"
        assert rows[2]["a3"] is True
        assert rows[3]["a3"] is False
        assert json.loads(rows[3]["a4"]) == {"id": 1, "value": 1}
        assert json.loads(rows[3]["a5"]) == ["banana", "apple"]


class SchemaNoProperties(_Clean, std.TargetSchemaNoProperties):
    def validate(self) -> None:
        for table in ("Test Object Schema With Properties", "Test Object Schema No Properties"):
            stored = [json.loads(r["object_store"]) for r in table_rows(table)]
            assert len(stored) >= 2
            assert all("id" in obj for obj in stored)


SUITE = SingerTestSuite(
    kind="target",
    tests=[
        ArrayData,
        CamelcaseComplexSchema,
        Camelcase,
        std.TargetCliPrintsTest,
        DuplicateRecords,
        std.TargetInvalidSchemaTest,
        NoPrimaryKeys,
        OptionalAttributes,
        PrimaryKeyUpdates,
        RecordBeforeSchema,
        RecordMissingKeyProperty,
        RecordMissingOptionalFields,
        EncodedStringData,
        SchemaUpdates,
        SchemaNoProperties,
    ],
)

TestTargetNinox = get_target_test_class(
    TargetNinox, config=CONFIG, custom_suites=[SUITE], include_target_tests=False
)
