"""Planning: a run of converted records + the key index → the write plan.

No I/O (decision 0028; docs/design.md "Write modes"): the writer reads
the key index before it plans, and sends the plan after. Each record is one
element (`Planned`, a `WriteOp` with its input records):

- `_id` given → `id_kind` with that id (`upsert` where the API creates a
  record with a chosen id, else `update`); a key it also carries is then
  held by that id for the records after it;
- upsert key given → `upsert_by` when the server matches the key
  (`match_field`), else an update of the record the key index knows for
  the key, else a create;
- else a create.

Records of one run that name the same key (or `_id`) are merged into one
element (later values win), so a batch never creates a key twice. Kinds are
grouped when no two elements write one record: a backend with one request
per kind then sends one of each per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from target_ninox.batches import PendingRecord, Planned, merge_fields, set_only
from target_ninox.key_index import Key


class KeyHolders(Protocol):
    """The key index as planning sees it: who holds a key, and a key now held."""

    def get(self, key: Key) -> int | None:
        """The record holding `key`, or None."""
        ...

    def set(self, key: Key, record_id: int) -> None:
        """Remember that `record_id` holds `key`."""
        ...


@dataclass(frozen=True)
class Plan:
    """The write plan of a run, and how many records were merged into earlier ones."""

    elements: list[Planned]
    merged: int = 0


def plan_writes(
    run: Sequence[PendingRecord],
    index: KeyHolders | None,
    *,
    match_field: str | None = None,
    id_kind: str = "upsert",
) -> Plan:
    """Turn records into write-plan elements, merging records with the same key or id.

    `index`: the stream's key index, read (None: a stream without keys);
    it learns the key of each `_id` record, so that a later record of that
    key updates it.
    """
    if all(r.record_id is None and r.key is None for r in run):
        # Creates only (append-only, unkeyed streams): nothing is merged,
        # so an element may hold the record's own fields when none is null.
        return Plan(
            [
                Planned(
                    "create",
                    r.fields if None not in r.fields.values() else set_only(r.fields),
                    sources=[r],
                )
                for r in run
            ]
        )
    planned: list[Planned] = []
    by_id: dict[int, Planned] = {}
    by_key: dict[Key, Planned] = {}
    merged = 0
    for record in run:
        if record.record_id is not None:
            same = by_id.get(record.record_id)
            if same is not None:
                same.values.update(record.fields)
                same.sources.append(record)
                merged += 1
                continue
            item = Planned(
                id_kind,
                dict(record.fields),
                record.record_id,
                sources=[record],
                key=record.key,
                counts_as="upsert",
            )
            by_id[record.record_id] = item
            if record.key is not None and index is not None:
                # A later keyed record of this key updates this record.
                index.set(record.key, record.record_id)
        elif record.key is not None:
            same = by_key.get(record.key)
            if same is not None:
                merge_fields(same, record.fields)
                same.sources.append(record)
                merged += 1
                continue
            existing = index.get(record.key) if index is not None and match_field is None else None
            if match_field is not None:
                item = Planned(
                    "upsert_by", dict(record.fields), sources=[record], match_field=match_field
                )
            elif existing is not None:
                item = Planned("update", record.fields, existing, sources=[record])
            else:
                item = Planned("create", set_only(record.fields), sources=[record])
            item.key = record.key
            by_key[record.key] = item
        else:
            item = Planned("create", set_only(record.fields), sources=[record])
        planned.append(item)
    return Plan(grouped_by_kind(planned), merged)


def replan_by_key_index(item: Planned, holder: Callable[[Key], int | None]) -> None:
    """Plan an element again by the key index, in place: update its holder, else create.

    For an element whose server match (`upsert_by`) the server cannot do,
    or whose record is gone (`NinoxRecordsMissing`). In place: the element
    is the writer's plan, which a retry of the batch reads again.
    """
    held = holder(item.key) if item.key is not None else None
    item.match_field = None
    if held is not None:
        item.kind, item.record_id = "update", held
    else:
        item.kind, item.record_id, item.values = "create", None, set_only(item.values)
    item.counts_as = item.kind


def grouped_by_kind(planned: list[Planned]) -> list[Planned]:
    """The elements with each kind together (stable), when no two write one record.

    A backend with one request per kind (Public API: POST, PATCH, upsert)
    then sends one of each per batch, not one per change of kind. The
    elements of a batch write different records (same key or `_id` are
    merged), so their order changes nothing in Ninox.
    """
    kinds = list(dict.fromkeys(p.kind for p in planned))
    if len(kinds) < 2:
        return planned
    targets = [p.record_id for p in planned if p.record_id is not None]
    if len(targets) != len(set(targets)):
        return planned
    rank = {kind: i for i, kind in enumerate(kinds)}
    return sorted(planned, key=lambda p: rank[p.kind])
