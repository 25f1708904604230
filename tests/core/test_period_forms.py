"""Appointments and time intervals between the API generations (decision 0027), pure.

The writer of an appointment field takes either generation's form and
writes its own field's generation's; a time interval gets its hours as
that generation reads them; the Public API's read normaliser brings every
appointment it may meet to the form its writer writes.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ninox_core.errors import ValueConversionError
from ninox_core.model import fieldtypes
from ninox_core.model.period_forms import (
    CLASSIC,
    PUBLIC,
    appointment_in,
    interval_in,
    parse_appointment,
)
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.public.records import RecordReader
from ninox_core.public.schema import to_field

UTC = timezone.utc
CLASSIC_FORM = "2021-01-23T12:30:00 - 2021-01-23T13:30:00"
PUBLIC_FORM = "[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z)"


def appointment(generation: str) -> NinoxField:
    return NinoxField("K", "Next meeting", "appointment", generation=generation)


def write(generation: str, value: object) -> object:
    return fieldtypes.writer(appointment(generation))(value)


def write_interval(generation: str, value: object) -> object:
    field = NinoxField("L", "Time spent", "timeinterval", generation=generation)
    return fieldtypes.writer(field)(value)


# ------------------------------------------------------ each generation's own form


@pytest.mark.parametrize(
    ("generation", "value"),
    [
        (CLASSIC, CLASSIC_FORM),
        (CLASSIC, "1999-12-31T23:59:59 - 2000-01-01T00:00:00"),
        (PUBLIC, PUBLIC_FORM),
        (PUBLIC, "[2024-02-15T09:00:00.500Z,2024-02-15T10:00:00.001Z)"),
        (PUBLIC, "[2024-02-15T09:00:00Z,2024-02-15T09:00:00Z)"),
    ],
)
def test_a_generation_s_own_form_is_written_byte_for_byte(generation, value):
    assert write(generation, value) == value


# ------------------------------------------------------------------ across


def test_classic_form_into_a_ninox_4_field():
    assert write(PUBLIC, CLASSIC_FORM) == PUBLIC_FORM


def test_ninox_4_form_into_a_classic_field():
    assert write(CLASSIC, PUBLIC_FORM) == CLASSIC_FORM


@pytest.mark.parametrize(
    "value",
    [
        "[2021-01-23T13:30:00+01:00,2021-01-23T15:30:00+02:00)",
        "[2021-01-23T07:30:00-05:00,2021-01-23T08:30:00-05:00)",
        "2021-01-23T14:30:00+02:00 - 2021-01-23T15:30:00+0200",
        "2021-01-23 12:30:00Z - 2021-01-23 13:30:00Z",
        " [ 2021-01-23T12:30:00Z , 2021-01-23T13:30:00Z ) ",
    ],
)
def test_zone_offsets_are_taken_to_utc(value):
    assert write(CLASSIC, value) == CLASSIC_FORM
    assert write(PUBLIC, value) == PUBLIC_FORM


def test_fractional_seconds_kept_to_the_millisecond_on_ninox_4_and_dropped_on_classic():
    value = "[2021-01-23T12:30:00.123456Z,2021-01-23T13:30:00.9Z)"
    assert write(PUBLIC, value) == "[2021-01-23T12:30:00.123Z,2021-01-23T13:30:00.900Z)"
    # Classic keeps whole seconds (like its date-times): the fraction is cut, not rounded.
    assert write(CLASSIC, value) == CLASSIC_FORM
    assert write(PUBLIC, "2021-01-23T12:30:00.250 - 2021-01-23T13:30:00") == (
        "[2021-01-23T12:30:00.250Z,2021-01-23T13:30:00Z)"
    )


def test_one_moment_is_an_appointment_of_no_length():
    assert write(CLASSIC, "2021-01-23T12:30:00Z") == "2021-01-23T12:30:00 - 2021-01-23T12:30:00"
    assert write(PUBLIC, "2021-01-23T12:30:00Z") == "[2021-01-23T12:30:00Z,2021-01-23T12:30:00Z)"


def test_a_round_trip_through_the_other_generation_comes_back_exact():
    assert write(CLASSIC, write(PUBLIC, CLASSIC_FORM)) == CLASSIC_FORM
    assert write(PUBLIC, write(CLASSIC, PUBLIC_FORM)) == PUBLIC_FORM


@pytest.mark.parametrize("generation", [CLASSIC, PUBLIC])
def test_empty_values_clear_the_field(generation):
    assert write(generation, None) is None
    assert write(generation, "") is None
    assert write(generation, "  ") is None


# --------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("tomorrow", "not a date-time"),
        ("2021-01-23T12:30:00 to 2021-01-23T13:30:00", "not a date-time"),
        ("2021-01-23T12:30:00-2021-01-23T13:30:00", "not a date-time"),
        ("[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z]", "ends with ')'"),
        ("[2021-01-23T12:30:00Z)", "'[start,end)'"),
        ("[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z,2021-01-23T14:30:00Z)", "'[start,end)'"),
        ("2021-02-30T12:30:00 - 2021-03-01T12:30:00", "not a date-time"),
        ("2021-01-23T13:30:00 - 2021-01-23T12:30:00", "ends before it starts"),
        ("[2021-01-23T13:30:00Z,2021-01-23T14:30:00+02:00)", "ends before it starts"),
        ("0001-01-01T00:30:00+01:00 - 0001-01-01T01:30:00", "not a date-time"),
    ],
)
@pytest.mark.parametrize("generation", [CLASSIC, PUBLIC])
def test_a_malformed_appointment_is_one_line_naming_the_field_and_the_value(
    generation, value, reason
):
    with pytest.raises(ValueConversionError) as raised:
        write(generation, value)
    message = str(raised.value)
    assert "\n" not in message
    assert "'Next meeting' (appointment)" in message
    assert repr(value)[:40] in message
    assert reason in message
    assert "[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z)" in message  # the forms it takes


@pytest.mark.parametrize("value", [1611405000000, 12.5, True, ["a", "b"], {"start": "x"}])
def test_an_appointment_that_is_not_text_is_refused(value):
    with pytest.raises(ValueConversionError, match="expected an appointment"):
        write(PUBLIC, value)


def test_parse_appointment_gives_utc_moments():
    start, end = parse_appointment("[2021-01-23T13:30:00+01:00,2021-01-23T13:30:00.5Z)")
    assert start == datetime(2021, 1, 23, 12, 30, tzinfo=UTC)
    assert end == datetime(2021, 1, 23, 13, 30, 0, 500000, tzinfo=UTC)
    assert appointment_in(CLASSIC, start, end) == CLASSIC_FORM
    assert appointment_in(PUBLIC, start, end) == "[2021-01-23T12:30:00Z,2021-01-23T13:30:00.500Z)"


# ----------------------------------------------------------- time intervals


@pytest.mark.parametrize(
    ("value", "classic", "public"),
    [
        ("0:25:16.123", "0:25:16.123", "00:25:16.123"),
        ("00:25:16.123", "0:25:16.123", "00:25:16.123"),
        ("123:25:16", "123:25:16", "123:25:16"),
        ("007:00:00.5", "7:00:00.5", "07:00:00.5"),
        ("-1:30:00", "-1:30:00", "-01:30:00"),
    ],
)
def test_a_time_interval_gets_the_hours_its_generation_reads(value, classic, public):
    assert write_interval(CLASSIC, value) == classic
    assert write_interval(PUBLIC, value) == public
    assert interval_in(CLASSIC, value) == classic


@pytest.mark.parametrize("value", ["09:00-17:00", "1:60:00", "soon", "1:2:3"])
def test_a_time_interval_of_another_shape_is_left_to_the_server(value):
    assert write_interval(PUBLIC, value) == value
    assert write_interval(CLASSIC, value) == value


def test_a_time_interval_keeps_the_text_writer_s_rules():
    assert write_interval(PUBLIC, None) is None
    assert write_interval(PUBLIC, "") == ""
    with pytest.raises(ValueConversionError, match="expected text"):
        write_interval(PUBLIC, float("nan"))


# ------------------------------------------------- the Public API's read side


def public_reader() -> RecordReader:
    fields = (
        to_field({"name": "next_meeting", "type": "appointment"}),
        to_field({"name": "time_spent", "type": "timeinterval"}),
    )
    return RecordReader(NinoxTable("meetings", "meetings", fields))


@pytest.mark.parametrize(
    ("read", "normalised"),
    [
        (PUBLIC_FORM, PUBLIC_FORM),
        ("[2021-01-23T12:30:00.000Z,2021-01-23T13:30:00.000Z)", PUBLIC_FORM),
        ("[2021-01-23T13:30:00+01:00,2021-01-23T14:30:00+01:00)", PUBLIC_FORM),
        (CLASSIC_FORM, PUBLIC_FORM),  # V12: the classic form on a Ninox 4 server
        ("2021-01-23T12:30:00Z - 2021-01-23T13:30:00Z", PUBLIC_FORM),
        ("not an appointment", "not an appointment"),  # emitted as it came
    ],
)
def test_the_public_reader_reads_every_appointment_in_the_form_its_writer_writes(read, normalised):
    values = public_reader().values({"next_meeting": read})
    assert values["next_meeting"] == normalised
    if normalised != read or read == PUBLIC_FORM:
        assert write(PUBLIC, read) == normalised


@pytest.mark.parametrize(
    ("read", "normalised"),
    [("0:25:16.123", "00:25:16.123"), ("00:25:16", "00:25:16"), (1516123, "00:25:16.123")],
)
def test_the_public_reader_reads_time_intervals_as_its_writer_writes_them(read, normalised):
    assert public_reader().values({"time_spent": read})["time_spent"] == normalised


def test_public_fields_are_public_and_carry_their_labels():
    field = to_field(
        {"name": "email", "type": "string", "labels": {"": "Email", "de": "E-Mail", "en": "Email"}}
    )
    assert field.generation == PUBLIC
    assert field.labels == ("Email", "E-Mail")
    assert NinoxField.from_api({"id": "A", "name": "Email", "type": "email"}).generation == CLASSIC
