"""The field-type model: schemas and conversions of every Ninox type, both ways."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import jsonschema
import pytest

from ninox_core.errors import ValueConversionError, show_value
from ninox_core.model import fieldtypes as ft
from ninox_core.model.datetimes import (
    epoch_ms_to_singer,
    ninox_datetime_to_singer,
    parse_datetime,
    to_utc,
)
from ninox_core.model.read_values import user_to_singer
from ninox_core.model.schema import Choice, NinoxField

CHOICES = (Choice("1", "Person"), Choice("2", "Company"), Choice("3", "Smith, Jones & Co"))
CET = timezone(timedelta(hours=1))
PLUS2 = timezone(timedelta(hours=2))
UTC = timezone.utc

TEXT_TYPES = [
    "string",
    "text",
    "email",
    "phone",
    "url",
    "link",
    "html",
    "color",
    "icon",
    "location",
    "file",
    "image",
    "user",
    "appointment",
    "timeinterval",
]


def field(type_name: str, name: str = "Field") -> NinoxField:
    choices = CHOICES if type_name in ("choice", "multi") else ()
    return NinoxField(id="A", name=name, type=type_name, choices=choices)


def read(type_name: str, value, style: str = "names"):
    conv = ft.reader(field(type_name), style)
    return value if conv is None else conv(value)


def write(type_name: str, value):
    return ft.writer(field(type_name))(value)


# ----------------------------------------------------------------- schemas

STRING = {"type": ["string", "null"]}
SCHEMAS = [
    *[(t, STRING) for t in TEXT_TYPES],
    ("number", {"type": ["number", "null"]}),
    ("boolean", {"type": ["boolean", "null"]}),
    ("date", {"type": ["string", "null"], "format": "date"}),
    ("datetime", {"type": ["string", "null"], "format": "date-time"}),
    ("timestamp", {"type": ["string", "null"], "format": "date-time"}),
    ("time", {"type": ["string", "null"], "format": "time"}),
    ("choice", STRING),
    ("multi", {"type": ["array", "null"], "items": {"type": "string"}}),
    ("ref", {"type": ["integer", "null"]}),
    ("rev", {"type": ["array", "null"], "items": {"type": "integer"}}),
    ("formula", STRING),
    ("fn", STRING),
    ("hologram", STRING),
    ("", STRING),
]


@pytest.mark.parametrize(("type_name", "schema"), SCHEMAS)
def test_schema_per_type_is_nullable(type_name, schema):
    got = ft.singer_schema(field(type_name))
    assert got == schema
    jsonschema.validate(None, got)


def test_every_known_type_has_a_schema_case():
    assert set(ft.KINDS) == {t for t, _ in SCHEMAS} - {"hologram", ""}


def test_schema_is_a_fresh_dict():
    first = ft.singer_schema(field("multi"))
    first["items"]["type"] = "integer"
    assert ft.singer_schema(field("multi"))["items"] == {"type": "string"}


@pytest.mark.parametrize(
    ("type_name", "known", "writable"),
    [
        ("text", True, True),
        ("multi", True, True),
        ("ref", True, True),
        ("rev", True, False),
        ("formula", True, False),
        ("fn", True, False),
        ("hologram", False, True),
        ("", False, True),
    ],
)
def test_known_and_writable(type_name, known, writable):
    assert ft.is_known_type(type_name) is known
    assert ft.kind_of(field(type_name)).known is known
    assert ft.is_writable(field(type_name)) is writable


@pytest.mark.parametrize(
    ("a", "b"),
    [("string", "text"), ("datetime", "timestamp"), ("url", "link"), ("file", "image")],
)
def test_aliases_share_a_kind(a, b):
    assert ft.KINDS[a] is ft.KINDS[b]
    assert ft.KINDS["formula"] is ft.KINDS["fn"]


# ----------------------------------------------------------------- reading


@pytest.mark.parametrize("type_name", [*TEXT_TYPES, "number", "boolean", "time"], ids=str)
def test_values_already_in_singer_form_need_no_reader(type_name):
    # None lets the tap skip the call for the most common columns.
    assert ft.reader(field(type_name)) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-01-23", "2021-01-23"),
        (1611360000000, "2021-01-23"),  # epoch ms of its UTC midnight
        (1611403800000, "2021-01-23"),  # epoch ms later that day
        (Decimal(1611360000000), "2021-01-23"),
        (-86400000, "1969-12-31"),
        ("2021-01-23T00:00:00", "2021-01-23"),
        ("2021-01-23T00:00:00.000Z", "2021-01-23"),
        ("2021-01-23T00:00:00+02:00", "2021-01-23"),  # the date as written
        ("", None),
    ],
)
def test_dates_are_read_from_every_server_form(value, expected):
    assert must(ft.reader(field("date")))(value) == expected


@pytest.mark.parametrize("value", ["23.01.2021", "soon", True, [2021], 10**30])
def test_a_date_that_is_no_date_fails_naming_the_field(value):
    with pytest.raises(ValueConversionError, match="expected a date"):
        must(ft.reader(field("date")))(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-01-23T12:30:00", "2021-01-23T12:30:00Z"),
        ("2021-01-23T12:30:00.000Z", "2021-01-23T12:30:00Z"),
        ("2021-01-23T12:30:00.250Z", "2021-01-23T12:30:00.250Z"),
        ("2021-01-23T12:30:00Z", "2021-01-23T12:30:00Z"),
        ("2021-01-23T14:30:00+02:00", "2021-01-23T12:30:00Z"),
        (1611405000000, "2021-01-23T12:30:00Z"),
        (1611405000250, "2021-01-23T12:30:00.250Z"),
    ],
)
def test_datetimes_are_read_from_every_server_form(value, expected):
    assert must(ft.reader(field("datetime")))(value) == expected
    assert ninox_datetime_to_singer(value) == expected


@pytest.mark.parametrize("value", [0, "0", "", None])
def test_unknown_users_are_null(value):
    assert user_to_singer(value) is None


READS = [
    ("string", "Zoë 🚀 ünïcode", "Zoë 🚀 ünïcode"),
    ("datetime", "2021-01-23T12:30:00", "2021-01-23T12:30:00Z"),
    ("timestamp", "1999-12-31T23:59:59", "1999-12-31T23:59:59Z"),
    ("datetime", "2021-01-23T14:30:00+02:00", "2021-01-23T12:30:00Z"),
    ("datetime", "2021-01-23T00:30:00+01:00", "2021-01-22T23:30:00Z"),
    ("datetime", "2021-01-23T12:30:00.250Z", "2021-01-23T12:30:00.250Z"),
    ("datetime", "2021-01-23T12:30:00.5Z", "2021-01-23T12:30:00.500Z"),
    ("datetime", "2021-01-23T12:30:00.1234567+00:00", "2021-01-23T12:30:00.123456Z"),
    ("datetime", "2021-01-23 12:30:00", "2021-01-23T12:30:00Z"),
    ("datetime", 0, "1970-01-01T00:00:00Z"),
    ("datetime", "", None),
    ("choice", "Person", "Person"),
    ("choice", "2", "Company"),
    ("choice", 2, "Company"),
    ("choice", "Robot", "Robot"),  # a choice added since discovery: as it came
    ("multi", ["Person", "Company"], ["Person", "Company"]),
    ("multi", ["1", 3], ["Person", "Smith, Jones & Co"]),
    ("multi", "Person, Company", ["Person", "Company"]),
    ("multi", "Smith, Jones & Co, Person", ["Smith, Jones & Co", "Person"]),
    ("multi", "Person,Smith, Jones & Co", ["Person", "Smith, Jones & Co"]),
    ("multi", "Smith, Jones & Co", ["Smith, Jones & Co"]),
    ("multi", "Robot, Person", ["Robot", "Person"]),
    ("multi", "Person,,  Company ,", ["Person", "Company"]),
    ("multi", "", []),
    ("multi", "2", ["Company"]),
    ("ref", 1, 1),
    ("ref", "7", 7),
    ("ref", Decimal(3), 3),
    ("ref", 2**40, 2**40),
    ("rev", [8, 9], [8, 9]),
    ("rev", [], []),
    ("rev", 8, [8]),
    ("rev", "8, 9", [8, 9]),
    ("formula", "text", "text"),
    ("formula", "", ""),
    ("formula", 42, "42"),
    ("formula", -1.5, "-1.5"),
    ("formula", Decimal("13.42"), "13.42"),
    ("formula", False, "false"),
    ("formula", {"a": [1, True, None]}, '{"a":[1,true,null]}'),
    ("fn", [Decimal("1.5"), "ü"], '[1.5,"ü"]'),
    ("hologram", [1, "ü"], '[1,"ü"]'),
    ("hologram", "as is", "as is"),
    ("hologram", 0, "0"),
    ("hologram", Decimal("NaN"), "NaN"),  # never stops the tap
]


@pytest.mark.parametrize(("type_name", "value", "expected"), READS)
def test_read_names(type_name, value, expected):
    assert read(type_name, value) == expected


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("choice", "1", "1"),
        ("choice", 2, "2"),
        ("choice", "Company", "2"),  # server ignored choiceStyle=ids
        ("choice", "9", "9"),
        ("multi", ["1", 3], ["1", "3"]),
        ("multi", "Person, Company", ["1", "2"]),
        ("multi", "1,3", ["1", "3"]),
    ],
)
def test_read_ids(type_name, value, expected):
    assert read(type_name, value, "ids") == expected


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("ref", "abc"),
        ("ref", 1.5),
        ("ref", True),
        ("ref", "1.0e3"),
        ("rev", [1, "x"]),
        ("datetime", "yesterday"),
        ("datetime", "2021-02-30 00:00:00"),
        ("datetime", True),
    ],
)
def test_read_errors_name_field_and_value(type_name, value):
    with pytest.raises(ValueConversionError) as info:
        read(type_name, value)
    assert "'Field'" in str(info.value)
    assert info.value.field_type == type_name


def test_choice_style_is_checked():
    with pytest.raises(ValueError, match="choice_style"):
        ft.reader(field("choice"), "captions")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-06-28T19:35:01", "2022-06-28T19:35:01Z"),
        ("2022-06-28T19:35:01.120", "2022-06-28T19:35:01.120Z"),
        ("2022-06-28T21:35:01+02:00", "2022-06-28T19:35:01Z"),
        ("", None),
        (None, None),
        (1695050930216, "2023-09-18T15:28:50.216Z"),
    ],
)
def test_meta_datetime(value, expected):
    assert ninox_datetime_to_singer(value) == expected


def test_meta_datetime_refuses_garbage():
    with pytest.raises(ValueError, match="not a date-time"):
        ninox_datetime_to_singer("28.06.2022")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, None), ("", None), (None, None), ("u1", "u1"), ("admin", "admin"), (7, "7")],
)
def test_user_columns(value, expected):
    assert user_to_singer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1695050930216, "2023-09-18T15:28:50.216Z"),
        (1695050930000, "2023-09-18T15:28:50Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (None, None),
        ("", None),
        (False, None),
    ],
)
def test_epoch_ms(value, expected):
    assert epoch_ms_to_singer(value) == expected


# ----------------------------------------------------------------- writing

WRITES = [
    ("string", "Zoë 🚀", "Zoë 🚀"),
    ("string", "", ""),
    ("string", 12, "12"),
    ("string", -0.5, "-0.5"),
    ("string", Decimal("1.50"), "1.5"),
    ("string", True, "true"),
    ("string", datetime(2021, 1, 23, 13, 30, tzinfo=CET), "2021-01-23T12:30:00Z"),
    ("string", date(2021, 1, 23), "2021-01-23"),
    ("string", time(12, 30), "12:30:00"),
    (
        "text",
        {"name": "Zoë", "n": Decimal(2), "d": date(2021, 1, 2)},
        '{"name":"Zoë","n":2,"d":"2021-01-02"}',
    ),
    ("text", ["a", 1.5], '["a",1.5]'),
    ("email", "a@b.c", "a@b.c"),
    ("timeinterval", "123:25:16.123", "123:25:16.123"),
    ("number", 0, 0),
    ("number", -7, -7),
    ("number", 10**20, 10**20),
    ("number", Decimal("13.42"), 13.42),
    ("number", Decimal("10.000"), 10),
    ("number", Decimal("-0.001"), -0.001),
    ("number", Decimal("1E+2"), 100),
    ("number", 2.0, 2),
    ("number", 1e300, 1e300),
    ("number", "2.5", 2.5),
    ("number", " -1e3 ", -1000),
    ("number", "", None),
    ("boolean", True, True),
    ("boolean", False, False),
    ("boolean", "false", False),
    ("boolean", " TRUE ", True),
    ("boolean", "", None),
    ("date", date(2021, 1, 23), "2021-01-23"),
    ("date", "2021-01-23", "2021-01-23"),
    ("date", datetime(2021, 1, 23), "2021-01-23"),
    # Midnight in its own offset keeps its calendar date (not shifted to UTC).
    ("date", datetime(2021, 1, 23, tzinfo=CET), "2021-01-23"),
    ("date", "2021-01-23T00:00:00Z", "2021-01-23"),
    ("date", "0999-01-02", "0999-01-02"),
    ("date", "", None),
    ("datetime", datetime(2021, 1, 23, 12, 30, 0, 123456), "2021-01-23T12:30:00"),
    ("datetime", datetime(2021, 1, 23, 13, 30, tzinfo=CET), "2021-01-23T12:30:00"),
    ("datetime", datetime(2021, 1, 1, 0, 30, tzinfo=CET), "2020-12-31T23:30:00"),
    ("datetime", datetime(999, 1, 1), "0999-01-01T00:00:00"),
    ("datetime", "2021-01-23T12:30:00Z", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.999Z", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T14:30:00+02:00", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T07:00:00-0530", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.25Z", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23T12:30:00.1234567+00:00", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23 12:30", "2021-01-23T12:30:00"),
    ("datetime", "2021-01-23", "2021-01-23T00:00:00"),
    ("timestamp", date(2021, 1, 23), "2021-01-23T00:00:00"),
    ("timestamp", "", None),
    ("time", time(12, 30, 5, 500), "12:30:05"),
    ("time", time(1, 0, tzinfo=PLUS2), "23:00:00"),
    ("time", "08:15", "08:15:00"),
    ("time", "12:30:00.5", "12:30:00"),
    ("time", "12:30:00+02:00", "10:30:00"),
    ("time", "", None),
    ("choice", "Person", "Person"),
    ("choice", "Smith, Jones & Co", "Smith, Jones & Co"),
    ("choice", "2", "Company"),
    ("choice", 2, "Company"),
    ("choice", Decimal(3), "Smith, Jones & Co"),
    ("choice", "", None),
    ("multi", ["Person", "3"], ["Person", "Smith, Jones & Co"]),
    ("multi", ("Company", 1), ["Company", "Person"]),
    ("multi", ["Person", "1", "Person"], ["Person"]),
    ("multi", [], []),
    ("multi", "Smith, Jones & Co, Company", ["Smith, Jones & Co", "Company"]),
    ("multi", "", []),
    ("ref", 4, 4),
    ("ref", 2**40, 2**40),
    ("ref", Decimal(4), 4),
    ("ref", 4.0, 4),
    ("ref", "4", 4),
    ("ref", "", None),
    # Unknown types: as they come (Ninox judges them), made JSON-safe.
    ("hologram", "kept", "kept"),
    ("hologram", True, True),
    ("hologram", Decimal("1.5"), 1.5),
    ("hologram", [1, Decimal(2), date(2021, 1, 2)], [1, 2, "2021-01-02"]),
    ("hologram", {"at": datetime(2021, 1, 2, 3, 4, 5)}, {"at": "2021-01-02T03:04:05Z"}),
]


@pytest.mark.parametrize(("type_name", "value", "expected"), WRITES)
def test_write(type_name, value, expected):
    got = write(type_name, value)
    assert got == expected
    assert type(got) is type(expected)
    # What the target POSTs goes through the standard library's json.
    json.dumps(got)


WRITABLE = [t for t, _ in SCHEMAS if t not in ("rev", "formula", "fn")]


@pytest.mark.parametrize("type_name", WRITABLE)
def test_write_none_clears(type_name):
    assert write(type_name, None) is None


BAD_WRITES = [
    ("string", {"x": {1, 2}}, "expected text"),
    ("string", object(), "expected text"),
    ("string", float("nan"), "expected text"),
    ("number", True, "not a boolean"),
    ("number", False, "not a boolean"),
    ("number", "12abc", "expected a number"),
    ("number", "NaN", "expected a number"),
    ("number", "1,5", "expected a number"),
    ("number", [1], "expected a number"),
    ("number", float("nan"), "finite"),
    ("number", float("inf"), "finite"),
    ("number", Decimal("NaN"), "finite"),
    ("number", Decimal("1E+400"), "finite"),
    ("number", 10**400, "too large"),
    ("number", "١٢", "expected a number"),  # non-ASCII digits
    ("boolean", 1, "true or false"),
    ("boolean", 0, "true or false"),
    ("boolean", "yes", "true or false"),
    ("date", "23.01.2021", "2021-01-23"),
    ("date", "2021-02-30", "2021-01-23"),
    ("date", datetime(2021, 1, 23, 12, 30), "time of day"),
    ("date", "2021-01-23T12:30:00Z", "2021-01-23"),
    ("date", 20210123, "2021-01-23"),
    ("datetime", "yesterday", "date-time"),
    ("datetime", "2021-01-23T25:00:00", "date-time"),
    ("datetime", "2021-01-23T12:30:00+25:00", "date-time"),
    ("datetime", 1700000000, "date-time"),
    ("datetime", "٢٠٢١-01-23T12:30:00", "date-time"),
    ("datetime", time(12, 30), "date-time"),
    ("time", "25:00", "12:30:00"),
    ("time", "noon", "12:30:00"),
    ("time", datetime(2021, 1, 1, 12), "12:30:00"),
    ("choice", "Robot", "one of its choices"),
    ("choice", "person", "one of its choices"),
    ("choice", 9, "one of its choices"),
    ("choice", True, "one of its choices"),
    ("choice", 1.0, "one of its choices"),
    ("multi", ["Person", "Robot"], "one of its choices"),
    ("multi", 5, "list of choices"),
    ("ref", 1.5, "record id"),
    ("ref", Decimal("2.5"), "record id"),
    ("ref", "abc", "record id"),
    ("ref", 0, "record id"),
    ("ref", -3, "record id"),
    ("ref", True, "record id"),
    ("rev", [1], "cannot be written"),
    ("rev", None, "cannot be written"),
    ("formula", "x", "cannot be written"),
    ("fn", 1, "cannot be written"),
    ("hologram", {1, 2}, "JSON value"),
    ("hologram", [float("inf")], "JSON value"),
]


@pytest.mark.parametrize(("type_name", "value", "reason"), BAD_WRITES)
def test_bad_write_names_field_and_value(type_name, value, reason):
    with pytest.raises(ValueConversionError) as info:
        ft.writer(field(type_name, name="Kind of thing"))(value)
    err = info.value
    assert isinstance(err, ValueError)
    assert reason in err.reason
    assert (err.field_name, err.field_type) == ("Kind of thing", type_name)
    message = str(err)
    assert message.startswith(f"field 'Kind of thing' ({type_name}) cannot take the value ")
    assert reason in message
    # A list names the element that is wrong.
    bad = "Robot" if type_name == "multi" and isinstance(value, list) else value
    assert show_value(err.value) == show_value(bad)  # repr: nan != nan
    assert show_value(bad) in message


@pytest.mark.parametrize("type_name", ["string", "number"])
def test_an_int_too_long_for_str_gets_a_clear_error(type_name):
    huge = 10**5000  # Python refuses str() past 4300 digits
    with pytest.raises(ValueConversionError, match="cannot take the value <int of 5001 digits>"):
        write(type_name, huge)


def test_choice_error_lists_the_choices():
    with pytest.raises(ValueConversionError, match="'Person', 'Company'"):
        write("choice", "Robot")


def test_long_values_are_truncated_in_messages():
    with pytest.raises(ValueConversionError) as info:
        write("number", "x" * 500)
    message = str(info.value)
    assert "'xxxxxxxx" in message
    assert "..." in message
    assert len(message) < 200
    assert info.value.value == "x" * 500  # the attribute keeps it whole


# ------------------------------------------------------------ round trips


def must(convert: ft.Converter | None) -> ft.Converter:
    """The converter, which this type must have."""
    assert convert is not None
    return convert


def parse_text(field: NinoxField, value: object, choice_style: str = "names") -> object:
    """A Ninox text value as a Python value: the reader's, with dates as date/datetime/time."""
    if value is None:
        return None
    read = ft.reader(field, choice_style)
    converted = value if read is None else read(value)
    if converted is None:
        return None
    fmt = ft.kind_of(field).schema.get("format")
    try:
        if fmt == "date":
            return date.fromisoformat(str(converted))
        if fmt == "date-time":
            return to_utc(parse_datetime(str(converted)))
        if fmt == "time":
            return time.fromisoformat(str(converted))
    except (TypeError, ValueError):
        raise ValueConversionError(field, value, f"expected a {fmt}") from None
    return converted


def format_text(field: NinoxField, value: object) -> object:
    """A Python value in Ninox's text form, through the field's writer."""
    return ft.writer(field)(value)


@pytest.mark.parametrize(
    ("type_name", "text", "python"),
    [
        ("date", "2021-01-23", date(2021, 1, 23)),
        ("datetime", "2021-01-23T12:30:00", datetime(2021, 1, 23, 12, 30, tzinfo=UTC)),
        ("time", "12:30:00", time(12, 30)),
        ("number", 1.5, 1.5),
        ("boolean", False, False),
        ("choice", "1", "Person"),
        ("multi", "Person, Company", ["Person", "Company"]),
        ("ref", "5", 5),
        ("string", None, None),
    ],
)
def test_parse_text_and_format_text(type_name, text, python):
    got = parse_text(field(type_name), text)
    assert got == python
    assert type(got) is type(python)
    if python is not None and type_name not in ("choice", "multi", "ref"):
        assert format_text(field(type_name), got) == text


def test_parse_text_refuses_a_malformed_date():
    with pytest.raises(ValueConversionError, match="date"):
        parse_text(field("date"), "2021-13-01")


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("datetime", "2021-01-23T12:30:00"),
        ("timestamp", "0999-12-31T23:59:59"),
        ("date", "1900-02-28"),
        ("time", "00:00:00"),
        ("boolean", False),
        ("choice", "Company"),
        ("multi", ["Person", "Smith, Jones & Co"]),
        ("ref", 12),
        ("number", -0.001),
        ("number", 0),
        ("string", "ünï"),
        ("location", "Main St 1 <48.1,11.5>"),
    ],
)
def test_round_trip_read_then_write(type_name, value):
    # What the tap emits, the target writes back unchanged (a Ninox → Ninox copy).
    assert write(type_name, read(type_name, value)) == value


@pytest.mark.parametrize(("type_name", "value"), [("choice", "2"), ("multi", ["1", "3"])])
def test_round_trip_with_choice_ids(type_name, value):
    captions = read(type_name, value)
    assert read(type_name, value, "ids") == value
    assert write(type_name, read(type_name, value, "ids")) == captions
