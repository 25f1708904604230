"""One record's `_id` (target_ninox/conversion.py), without a run or HTTP."""

from __future__ import annotations

import pytest

from target_ninox.conversion import MAX_RECORD_ID, record_id_of
from target_ninox.errors import ConversionError


@pytest.mark.parametrize(
    ("value", "expected"), [(7, 7), ("7", 7), (" 7 ", 7), (MAX_RECORD_ID,) * 2]
)
def test_an_id_is_a_whole_number_from_1_to_2_to_the_53_minus_1(value, expected):
    assert record_id_of(value, "people", 3) == expected


@pytest.mark.parametrize("value", [0, -1, MAX_RECORD_ID + 1, "7.0", True, 7.5, "x"])
def test_anything_else_is_one_line_naming_stream_line_and_field(value):
    with pytest.raises(ConversionError) as caught:
        record_id_of(value, "people", 3)
    error = caught.value
    assert (error.stream, error.line, error.field, error.value) == ("people", 3, "_id", value)
    assert str(error) == (
        "stream 'people', input line 3: _id must be a Ninox record id, a whole number from 1 "
        f"to 9007199254740991, not {value!r}; send records without _id to create them"
    )
