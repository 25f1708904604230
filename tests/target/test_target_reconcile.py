"""Reconciliation as pure matching (target_ninox/reconcile.py): no HTTP, no threads.

The black-box tests of lost answers (tests/target, tests/public, tests/both)
prove the writer around it; these pin the matching rules to exact outputs.
"""

from __future__ import annotations

from ninox_core.backend import Record
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import PendingRecord, Planned
from target_ninox.reconcile import (
    Reconciled,
    first_match,
    holds,
    keyed_creates_as_updates,
    match_applied,
    read_back_failed,
    target_id,
    unknown_outcome,
)


def create(line: int, values: dict[str, object], key: tuple[object, ...] | None = None) -> Planned:
    """An unkeyed (or keyed) create from input line `line`."""
    return Planned("create", dict(values), sources=[PendingRecord(line, dict(values))], key=key)


def update(line: int, record_id: int, values: dict[str, object]) -> Planned:
    """An update of record `record_id` from input line `line`."""
    return Planned("update", dict(values), record_id, sources=[PendingRecord(line, dict(values))])


def nobody(_key: tuple[object, ...]) -> int | None:
    """A key index that holds no key."""
    return None


def test_unkeyed_creates_each_claim_one_identical_record_in_order():
    a, b, c = create(1, {"A": "x"}), create(2, {"A": "x"}), create(3, {"A": "y"})
    changed = [Record(10, {"A": "x"}), Record(11, {"A": "z"}), Record(12, {"A": "x"})]
    found = match_applied([a, b, c], changed, nobody)
    assert found == Reconciled(((a, 10), (b, 12)), (c,))


def test_records_this_run_created_are_never_taken_for_an_unkeyed_create():
    a = create(1, {"A": "x"})
    changed = [Record(10, {"A": "x"}), Record(12, {"A": "x"})]
    assert match_applied([a], changed, nobody, ours={10}).applied == ((a, 12),)
    assert match_applied([a], changed, nobody, ours={10, 12}).resend == (a,)


def test_values_are_compared_normalized_and_a_missing_field_is_null():
    a = create(1, {"A": "x", "B": None})
    found = match_applied([a], [Record(10, {"A": "x"})], nobody)
    assert found.applied == ((a, 10),)


def test_a_keyed_create_whose_holder_has_its_values_is_applied():
    a = create(1, {"A": "k", "B": 1}, key=("k",))
    found = match_applied([a], [Record(7, {"A": "k", "B": 1})], {("k",): 7}.get)
    assert found == Reconciled(((a, 7),), ())


def test_a_keyed_create_whose_holder_has_other_values_becomes_an_update_of_it():
    a = create(1, {"A": "k", "B": 2}, key=("k",))
    found = match_applied([a], [Record(7, {"A": "k", "B": 1})], {("k",): 7}.get)
    assert found == Reconciled((), (a,), ((a, 7),))
    assert (a.kind, a.record_id) == ("create", None)  # matching changes nothing
    found.apply_updates()
    assert (a.kind, a.record_id, a.counts_as, a.values) == (
        "update",
        7,
        "create",
        {"A": "k", "B": 2},
    )


def test_a_keyed_create_of_a_key_nobody_holds_is_sent_again():
    a = create(1, {"A": "k"}, key=("k",))
    assert match_applied([a], [Record(7, {"A": "k"})], nobody) == Reconciled((), (a,))


def test_an_update_is_applied_only_when_its_record_was_read_back_with_its_values():
    done, other, unseen = update(1, 5, {"A": 1}), update(2, 6, {"A": 2}), update(3, 9, {"A": 3})
    changed = [Record(5, {"A": 1}), Record(6, {"A": 0})]
    assert match_applied([done, other, unseen], changed, nobody) == Reconciled(
        ((done, 5),), (other, unseen)
    )


def test_a_record_an_applied_create_counts_as_created_is_not_claimed_again():
    keyed = create(1, {"A": "x"}, key=("x",))
    unkeyed = create(2, {"A": "x"})
    changed = [Record(7, {"A": "x"})]
    found = match_applied([keyed, unkeyed], changed, {("x",): 7}.get)
    assert found == Reconciled(((keyed, 7),), (unkeyed,))


def test_without_records_a_held_keys_create_becomes_an_update_and_all_is_resent():
    held, free = create(1, {"A": "k"}, key=("k",)), create(2, {"A": "n"}, key=("n",))
    patch = update(3, 4, {"A": "u"})
    found = keyed_creates_as_updates([held, free, patch], {("k",): 8}.get)
    assert found == Reconciled((), (held, free, patch), ((held, 8),), matched=False)
    found.apply_updates()
    assert [(p.kind, p.record_id) for p in found.resend] == [
        ("update", 8),
        ("create", None),
        ("update", 4),
    ]


def test_the_small_parts():
    assert target_id(create(1, {}, key=("k",)), {("k",): 3}.get) == 3
    assert target_id(create(1, {}), {("k",): 3}.get) is None
    assert target_id(update(1, 9, {}), nobody) == 9
    assert holds({"A": 1}, None) is False
    assert holds({"A": 1}, {"A": 1, "B": 2}) is True
    assert holds({"A": 1, "B": None}, {"A": 1}) is True
    assert first_match({"A": "x"}, [Record(1, {"A": "x"}), Record(2, {"A": "x"})], {1}) == 2
    assert first_match({"A": "x"}, [Record(1, {"A": "y"})], ()) is None


def test_the_one_line_of_a_failed_read_back_names_lines_and_what_a_rerun_does():
    table = NinoxTable(id="A", name="People")
    pending = [update(3, 1, {}), create(4, {}), create(9, {})]
    assert unknown_outcome(pending, keyed=False) == (
        "The records from input lines 4-9 may or may not be in Ninox; no STATE was emitted "
        "for them. Check the table before running again; a rerun of unkeyed records can "
        "create them twice."
    )
    error = read_back_failed(
        "people", table, pending[:1], sent="a write to", failure="it broke (500)", keyed=True
    )
    assert str(error) == (
        "stream 'people': the answer to a write to table 'People' (A) was lost, and it broke "
        "(500). The records from input line 3 may or may not be in Ninox; no STATE was "
        "emitted for them. Check the table before running again (keyed records are never "
        "duplicated by a rerun)."
    )
