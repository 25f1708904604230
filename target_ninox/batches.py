"""A batch on its way into Ninox: input records, write plans, counters.

The records a sink converted (`PendingRecord`), the write plan's elements
the writer makes of them (`Planned`, a `ninox_core.backend.WriteOp` with
its input records; target_ninox/writer.py) and what a stream changed
(`WriteStats`). The backend turns the plan into its wire format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ninox_core.backend import WriteOp
from target_ninox.key_index import Key


@dataclass(slots=True)
class PendingRecord:
    """One input record, converted and waiting for its batch to be written."""

    line: int
    fields: dict[str, Any]
    record_id: int | None = None
    key: Key | None = None
    #: The key values as they came in (for messages).
    key_values: tuple[Any, ...] | None = None
    deleted: bool = False


@dataclass
class WriteStats:
    """What one stream changed (or, in a dry run, would change)."""

    created: int = 0
    updated: int = 0
    upserted: int = 0
    deleted: int = 0
    delete_no_match: int = 0
    skipped_deletes: int = 0
    merged: int = 0
    #: Unkeyed creates a stopped run had already created (not created again).
    found: int = 0


@dataclass
class Planned(WriteOp):
    """One element of a write plan and the input records merged into it.

    `kind`, `values` (by field id) and `record_id` are the `WriteOp` the
    backend writes.
    """

    sources: list[PendingRecord] = field(default_factory=list)
    key: Key | None = None
    #: How the element counts in the stats (a lost create resent as an
    #: update still counts as created).
    counts_as: str = ""

    def __post_init__(self) -> None:
        if not self.counts_as:
            self.counts_as = self.kind


def runs(batch: Sequence[PendingRecord]) -> Iterator[tuple[bool, list[PendingRecord]]]:
    """Consecutive writes and consecutive deletions, in input order."""
    run: list[PendingRecord] = []
    deleting = False
    for record in batch:
        if run and record.deleted != deleting:
            yield deleting, run
            run = []
        deleting = record.deleted
        run.append(record)
    if run:
        yield deleting, run


def set_only(fields: dict[str, Any]) -> dict[str, Any]:
    """A new record needs no nulls: Ninox leaves empty fields out anyway."""
    return {k: v for k, v in fields.items() if v is not None}


def merge_fields(item: Planned, fields: dict[str, Any]) -> None:
    """Apply a later record of the same key to an element: later values win."""
    values = item.values
    for field_id, value in fields.items():
        if value is None and item.kind == "create":
            values.pop(field_id, None)
        else:
            values[field_id] = value


def count_writes(stats: WriteStats, items: Sequence[Planned]) -> None:
    """Count applied elements as created, updated or upserted."""
    kinds = [item.counts_as for item in items]
    created, updated = kinds.count("create"), kinds.count("update")
    stats.created += created
    stats.updated += updated
    stats.upserted += len(kinds) - created - updated


def count_write(stats: WriteStats, kind: str) -> None:
    """Count one applied element as created, updated or upserted."""
    if kind == "create":
        stats.created += 1
    elif kind == "update":
        stats.updated += 1
    else:
        stats.upserted += 1
