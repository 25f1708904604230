"""The field-type model: schemas and conversions of every Ninox type, both ways."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import jsonschema
import pytest

from ninox_core import fieldtypes as ft
from ninox_core.schema import Choice, NinoxField

CHOICES = (Choice("1", "Person"), Choice("2", "Company"), Choice("3", "Smith, Jones & Co"))


def field(type_name: str, **kwargs) -> NinoxField:
    choices = CHOICES if type_name in ("choice", "multi") else ()
    return NinoxField(id="A", name="Field", type=type_name, choices=choices, **kwargs)


def read(type_name: str, value, style: str = "names"):
    conv = ft.reader(field(type_name), style)
    return value if conv is None else conv(value)


def write(type_name: str, value):
    return ft.writer(field(type_name))(value)


SCHEMAS = [
    ("string", {"type": ["string", "null"]}),
    ("text", {"type": ["string", "null"]}),
    ("email", {"type": ["string", "null"]}),
    ("number", {"type": ["number", "null"]}),
    ("boolean", {"type": ["boolean", "null"]}),
    ("date", {"type": ["string", "null"], "format": "date"}),
    ("datetime", {"type": ["string", "null"], "format": "date-time"}),
    ("timestamp", {"type": ["string", "null"], "format": "date-time"}),
    ("time", {"type": ["string", "null"], "format": "time"}),
    ("choice", {"type": ["string", "null"]}),
    ("multi", {"type": ["array", "null"], "items": {"type": "string"}}),
    ("ref", {"type": ["integer", "null"]}),
    ("rev", {"type": ["array", "null"], "items": {"type": "integer"}}),
    ("file", {"type": ["string", "null"]}),
    ("user", {"type": ["string", "null"]}),
    ("appointment", {"type": ["string", "null"]}),
    ("timeinterval", {"type": ["string", "null"]}),
    ("location", {"type": ["string", "null"]}),
    ("formula", {"type": ["string", "null"]}),
    ("hologram", {"type": ["string", "null"]}),
]


@pytest.mark.parametrize(("type_name", "schema"), SCHEMAS)
def test_schema_per_type_is_nullable(type_name, schema):
    got = ft.singer_schema(field(type_name))
    assert got == schema
    jsonschema.validate(None, got)


def test_schema_is_a_fresh_dict():
    first = ft.singer_schema(field("string"))
    first["type"].append("integer")
    assert ft.singer_schema(field("string")) == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    ("type_name", "known"), [("text", True), ("multi", True), ("fn", True), ("hologram", False)]
)
def test_known_types(type_name, known):
    assert ft.is_known_type(type_name) is known


READS = [
    ("string", "Lisa", "Lisa"),
    ("string", "Zoë 🚀 ünïcode", "Zoë 🚀 ünïcode"),
    ("number", 13.42, 13.42),
    ("number", -1e300, -1e300),
    ("number", 0, 0),
    ("boolean", False, False),
    ("date", "2021-01-23", "2021-01-23"),
    ("datetime", "2021-01-23T12:30:00", "2021-01-23T12:30:00Z"),
    ("timestamp", "1999-12-31T23:59:59", "1999-12-31T23:59:59Z"),
    ("datetime", "2021-01-23T14:30:00+02:00", "2021-01-23T12:30:00Z"),
    ("datetime", "2021-01-23T12:30:00.250Z", "2021-01-23T12:30:00.250Z"),
    ("datetime", 0, "1970-01-01T00:00:00Z"),
    ("time", "12:30:00", "12:30:00"),
    ("choice", "Person", "Person"),
    ("choice", "2", "Company"),
    ("choice", 2, "Company"),
    ("multi", ["Person", "Company"], ["Person", "Company"]),
    ("multi", "Person, Company", ["Person", "Company"]),
    ("multi", "Smith, Jones & Co, Person", ["Smith, Jones & Co", "Person"]),
    ("multi", "", []),
    ("multi", ["1", 3], ["Person", "Smith, Jones & Co"]),
    ("ref", 1, 1),
    ("ref", "7", 7),
    ("rev", [8, 9], [8, 9]),
    ("rev", 8, [8]),
    ("formula", "text", "text"),
    ("formula", 42, "42"),
    ("formula", {"a": [1, True]}, '{"a":[1,true]}'),
    ("hologram", [1, "ü"], '[1,"ü"]'),
    ("hologram", "as is", "as is"),
    ("appointment", "2021-01-23T12:30:00 - 2021-01-23T13:30:00", None),
    ("timeinterval", "123:25:16.123", None),
]


@pytest.mark.parametrize(("type_name", "value", "expected"), READS)
def test_read_names(type_name, value, expected):
    assert read(type_name, value) == (value if expected is None else expected)


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("choice", "1", "1"),
        ("choice", 2, "2"),
        ("choice", "Company", "2"),
        ("multi", ["1", 3], ["1", "3"]),
        ("multi", "Person, Company", ["1", "2"]),
    ],
)
def test_read_ids(type_name, value, expected):
    assert read(type_name, value, "ids") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-06-28T19:35:01", "2022-06-28T19:35:01Z"),
        ("", None),
        (None, None),
        (1695050930216, "2023-09-18T15:28:50.216Z"),
    ],
)
def test_meta_datetime(value, expected):
    assert ft.ninox_datetime_to_singer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(0, None), ("", None), (None, None), ("u1", "u1"), ("admin", "admin")]
)
def test_user_columns(value, expected):
    assert ft.user_to_singer(value) == expected


CET = timezone(timedelta(hours=1))
WRITES = [
    ("string", "Zoë", "Zoë"),
    ("string", 12, "12"),
    ("string", Decimal("1.50"), "1.5"),
    (
        "text",
        {"name": "Zoë", "n": Decimal("2"), "d": date(2021, 1, 2)},
        '{"name":"Zoë","n":2,"d":"2021-01-02"}',
    ),
    ("text", ["a", 1.5], '["a",1.5]'),
    ("email", "a@b.c", "a@b.c"),
    ("number", Decimal("13.42"), 13.42),
    ("number", Decimal("10.000"), 10),
    ("number", -7, -7),
    ("number", "2.5", 2.5),
    ("number", 10**20, 10**20),
    ("boolean", True, True),
    ("boolean", "false", False),
    ("date", date(2021, 1, 23), "2021-01-23"),
    ("date", "2021-01-23", "2021-01-23"),
    ("date", datetime(2021, 1, 23, 23, 30, tzinfo=CET), "2021-01-23"),
    ("datetime", datetime(2021, 1, 23, 12, 30, 0, 123456), "2021-01-23T12:30:00"),
    ("datetime", datetime(2021, 1, 23, 13, 30, tzinfo=CET), "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.999Z", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T14:30:00+02:00", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.25Z", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.1234567+00:00", "2021-01-23T12:30:00"),
    ("timestamp", date(2021, 1, 23), "2021-01-23T00:00:00"),
    ("time", time(12, 30, 5, 500), "12:30:05"),
    ("time", "08:15", "08:15:00"),
    ("choice", "Person", "Person"),
    ("choice", "2", "Company"),
    ("choice", 2, "Company"),
    ("multi", ["Person", "3"], ["Person", "Smith, Jones & Co"]),
    ("multi", "Smith, Jones & Co, Company", ["Smith, Jones & Co", "Company"]),
    ("ref", 4, 4),
    ("ref", Decimal("4"), 4),
    ("ref", "4", 4),
    ("hologram", "kept", "kept"),
]


@pytest.mark.parametrize(("type_name", "value", "expected"), WRITES)
def test_write(type_name, value, expected):
    got = write(type_name, value)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize("type_name", [t for t, _ in SCHEMAS if t not in ("rev", "formula")])
def test_write_none_clears(type_name):
    assert write(type_name, None) is None


BAD_WRITES = [
    ("string", {"x": {1, 2}}, "expected text"),
    ("string", True, "expected text"),
    ("number", True, "not a boolean"),
    ("number", "12abc", "expected a number"),
    ("number", float("nan"), "finite"),
    ("boolean", 1, "true or false"),
    ("boolean", "yes", "true or false"),
    ("date", "23.01.2021", "2021-01-23"),
    ("date", "2021-02-30", "2021-01-23"),
    ("datetime", "yesterday", "date-time"),
    ("datetime", 1700000000, "date-time"),
    ("time", "25:00", "12:30:00"),
    ("choice", "Robot", "not one of its choices"),
    ("choice", 9, "not one of its choices"),
    ("multi", ["Person", "Robot"], "not one of its choices"),
    ("multi", 5, "list of choices"),
    ("ref", 1.5, "record id"),
    ("ref", -3, "record id"),
    ("ref", True, "record id"),
    ("rev", [1], "cannot be written"),
    ("formula", "x", "cannot be written"),
]


@pytest.mark.parametrize(("type_name", "value", "reason"), BAD_WRITES)
def test_bad_write_names_field_and_value(type_name, value, reason):
    with pytest.raises(ft.ValueConversionError) as info:
        write(type_name, value)
    err = info.value
    assert reason in str(err)
    assert "'Field'" in str(err)
    # A list names the element that is wrong.
    shown = "'Robot'" if isinstance(value, list) and type_name == "multi" else repr(value)[:20]
    assert shown in str(err)
    assert err.field_name == "Field"


def test_long_values_are_truncated_in_messages():
    with pytest.raises(ft.ValueConversionError) as info:
        write("number", "x" * 500)
    assert len(str(info.value)) < 250


@pytest.mark.parametrize(
    ("type_name", "writable"), [("rev", False), ("formula", False), ("fn", False), ("ref", True)]
)
def test_writable(type_name, writable):
    assert ft.is_writable(field(type_name)) is writable


@pytest.mark.parametrize(
    ("type_name", "text", "python"),
    [
        ("date", "2021-01-23", date(2021, 1, 23)),
        ("datetime", "2021-01-23T12:30:00", datetime(2021, 1, 23, 12, 30, tzinfo=timezone.utc)),
        ("time", "12:30:00", time(12, 30)),
        ("number", 1.5, 1.5),
        ("choice", "1", "Person"),
        ("string", None, None),
    ],
)
def test_text_to_python_and_back(type_name, text, python):
    got = ft.to_python(field(type_name), text)
    assert got == python
    if type_name in ("date", "datetime", "time"):
        assert write(type_name, got) == text


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("datetime", "2021-01-23T12:30:00"),
        ("date", "1900-02-28"),
        ("time", "00:00:00"),
        ("choice", "Company"),
        ("multi", ["Person", "Smith, Jones & Co"]),
        ("ref", 12),
        ("number", -0.001),
        ("string", "ünï"),
    ],
)
def test_round_trip_read_then_write(type_name, value):
    assert write(type_name, read(type_name, value)) == value
