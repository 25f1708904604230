"""Planning as a pure function (target_ninox/planning.py): no HTTP, no threads.

Records + the key index in, the exact write plan out; the black-box tests
(tests/target, tests/both) prove the writer that sends it.
"""

from __future__ import annotations

from typing import Any

from target_ninox.batches import PendingRecord, Planned
from target_ninox.planning import Plan, grouped_by_kind, plan_writes, replan_by_key_index


class Index(dict[tuple[Any, ...], int]):
    """A key index held in a dict (`KeyHolders`)."""

    def set(self, key: tuple[Any, ...], record_id: int) -> None:
        """Remember that `record_id` holds `key`."""
        self[key] = record_id


def rec(
    line: int,
    fields: dict[str, Any],
    record_id: int | None = None,
    key: tuple[Any, ...] | None = None,
) -> PendingRecord:
    """A converted input record."""
    return PendingRecord(line, fields, record_id, key)


def shape(plan: Plan) -> list[tuple[Any, ...]]:
    """Each element as (kind, values, record id, input lines, counts as, match field)."""
    return [
        (p.kind, p.values, p.record_id, [s.line for s in p.sources], p.counts_as, p.match_field)
        for p in plan.elements
    ]


def test_unkeyed_creates_leave_out_nulls_and_keep_a_record_without_them_as_it_is():
    full = rec(1, {"A": 1})
    plan = plan_writes([full, rec(2, {"A": None, "B": 2})], None)
    assert shape(plan) == [
        ("create", {"A": 1}, None, [1], "create", None),
        ("create", {"B": 2}, None, [2], "create", None),
    ]
    assert plan.elements[0].values is full.fields  # no copy per record
    assert plan.merged == 0


def test_keys_become_updates_of_their_holder_else_creates_and_repeats_are_merged():
    index = Index({("a",): 7})
    plan = plan_writes(
        [
            rec(1, {"K": "a", "N": 1}, key=("a",)),
            rec(2, {"K": "b", "N": None}, key=("b",)),
            rec(3, {"K": "a", "N": 3}, key=("a",)),
            rec(4, {"K": "b", "N": 4}, key=("b",)),
        ],
        index,
    )
    assert shape(plan) == [
        ("update", {"K": "a", "N": 3}, 7, [1, 3], "update", None),
        ("create", {"K": "b", "N": 4}, None, [2, 4], "create", None),
    ]
    assert plan.merged == 2


def test_a_null_merged_into_a_create_is_left_out_and_into_an_update_is_kept():
    index = Index({("a",): 7})
    plan = plan_writes(
        [
            rec(1, {"K": "a", "N": 1}, key=("a",)),
            rec(2, {"K": "b", "N": 1}, key=("b",)),
            rec(3, {"N": None}, key=("a",)),
            rec(4, {"N": None}, key=("b",)),
        ],
        index,
    )
    assert [p.values for p in plan.elements] == [{"K": "a", "N": None}, {"K": "b"}]


def test_an_id_record_is_an_upsert_and_its_key_is_then_held_by_that_id():
    index = Index()
    plan = plan_writes(
        [
            rec(1, {"K": "a"}, record_id=42, key=("a",)),
            rec(2, {"N": 2}, record_id=42),
            rec(3, {"K": "a", "N": 3}, key=("a",)),
        ],
        index,
    )
    assert shape(plan) == [
        ("upsert", {"K": "a", "N": 2}, 42, [1, 2], "upsert", None),
        ("update", {"K": "a", "N": 3}, 42, [3], "update", None),
    ]
    assert index == {("a",): 42}
    assert plan.merged == 1


def test_without_create_with_id_an_id_record_is_an_update_counted_as_upsert():
    plan = plan_writes([rec(1, {"N": 1}, record_id=5)], None, id_kind="update")
    assert shape(plan) == [("update", {"N": 1}, 5, [1], "upsert", None)]


def test_a_server_matched_key_is_an_upsert_by_its_field_without_asking_the_index():
    index = Index({("a",): 7})
    plan = plan_writes(
        [rec(1, {"K": "a", "N": None}, key=("a",)), rec(2, {"K": "c"}, key=("c",))],
        index,
        match_field="K",
    )
    assert shape(plan) == [
        ("upsert_by", {"K": "a", "N": None}, None, [1], "upsert_by", "K"),
        ("upsert_by", {"K": "c"}, None, [2], "upsert_by", "K"),
    ]


def test_kinds_are_grouped_in_first_seen_order_unless_two_write_one_record():
    index = Index({("a",): 7})
    plan = plan_writes(
        [
            rec(1, {"K": "x"}, key=("x",)),
            rec(2, {"K": "a"}, key=("a",)),
            rec(3, {"K": "y"}, key=("y",)),
        ],
        index,
    )
    assert [(p.kind, p.sources[0].line) for p in plan.elements] == [
        ("create", 1),
        ("create", 3),
        ("update", 2),
    ]
    # `_id` 7 and the key held by 7: two elements write one record, order kept.
    kept = plan_writes([rec(1, {"K": "a"}, key=("a",)), rec(2, {"N": 1}, record_id=7)], index)
    assert [p.kind for p in kept.elements] == ["update", "upsert"]
    assert grouped_by_kind([]) == []


def test_an_element_planned_again_by_the_key_index_updates_the_holder_else_creates():
    index = Index({("a",): 7})
    held = Planned("upsert_by", {"K": "a", "N": None}, key=("a",), match_field="K")
    gone = Planned("update", {"K": "b", "N": None}, 9, key=("b",), counts_as="upsert")
    for item in (held, gone):
        replan_by_key_index(item, index.get)
    assert (held.kind, held.record_id, held.values, held.counts_as, held.match_field) == (
        "update",
        7,
        {"K": "a", "N": None},
        "update",
        None,
    )
    assert (gone.kind, gone.record_id, gone.values, gone.counts_as) == (
        "create",
        None,
        {"K": "b"},
        "create",
    )
