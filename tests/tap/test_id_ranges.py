"""The ids of a table's last complete read, kept compactly (tap_ninox/id_ranges.py)."""

from __future__ import annotations

import random

import pytest

from tap_ninox.id_ranges import FORM_PREFIX, IdRanges, decode, encode, missing


def ranges_of(ids: list[int]) -> IdRanges:
    made = IdRanges()
    for record_id in ids:
        made.add(record_id)
    return made


def members(ids: IdRanges) -> set[int]:
    return {i for first, last in ids.runs() for i in range(first, last + 1)}


def test_consecutive_ids_are_one_run_and_the_text_is_base_36_gaps():
    ids = ranges_of([*range(1, 1001), 1003, 1005, 1006])
    assert list(ids.runs()) == [(1, 1000), (1003, 1003), (1005, 1006)]
    assert encode(ids) == FORM_PREFIX + "1+rr,3,2+1"
    assert len(ids) == 1003


def test_a_densely_numbered_table_of_200k_ids_is_a_few_bytes():
    ids = ranges_of(list(range(1, 200_001)))
    assert len(encode(ids)) < 20


def test_scattered_ids_cost_about_four_bytes_each():
    rng = random.Random(7)
    chosen = sorted(rng.sample(range(1, 1_000_000), 50_000))
    text = encode(ranges_of(chosen))
    assert len(text) < 5 * len(chosen)
    assert members(decode(text)) == set(chosen)


def test_ids_in_any_order_merge_into_the_same_runs():
    rng = random.Random(3)
    for _ in range(300):
        chosen = rng.sample(range(1, 400), rng.randint(0, 300))
        shuffled = ranges_of(chosen)
        ordered = ranges_of(sorted(chosen))
        assert list(shuffled.runs()) == list(ordered.runs())
        assert members(shuffled) == set(chosen)
        assert all((i in shuffled) == (i in set(chosen)) for i in range(410))


def test_the_text_round_trips():
    rng = random.Random(5)
    for _ in range(100):
        ids = ranges_of(rng.sample(range(1, 5000), rng.randint(0, 2000)))
        assert list(decode(encode(ids)).runs()) == list(ids.runs())
    assert list(decode(FORM_PREFIX).runs()) == []


def test_missing_is_the_set_difference_in_ascending_order():
    rng = random.Random(11)
    for _ in range(300):
        before = set(rng.sample(range(1, 300), rng.randint(0, 250)))
        now = set(rng.sample(range(1, 300), rng.randint(0, 250)))
        assert list(missing(ranges_of(list(before)), ranges_of(list(now)))) == sorted(before - now)


@pytest.mark.parametrize(
    "text",
    ["1+rr", f"{FORM_PREFIX}0", f"{FORM_PREFIX}5,0", f"{FORM_PREFIX}5,1", f"{FORM_PREFIX}x!"],
)
def test_a_text_tap_ninox_did_not_write_is_refused(text):
    with pytest.raises(ValueError, match="id-range"):
        decode(text)
