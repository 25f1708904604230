"""Reconciliation: which elements of a write whose answer was lost were applied.

Pure matching, no I/O (docs/design.md "Lost answers"; decision 0028): the
writer reads back what the server shows (target_ninox/lost_answers.py:
records changed since a sequence on the classic API, the change feed's
records on Ninox 4's Public API) and hands the records here. Both read-back
paths match the same way and fail with the same one line
(`read_back_failed`).

The rules (target_ninox/writer.py has the whole story):

- an unkeyed create is applied when a record read back, not written by
  this run before and not claimed by an earlier element, holds exactly its
  values (two identical new records count as two: each claims one);
- a keyed create is applied when its key's holder holds its values; a
  holder with other values turns it into an update of that record;
- an update or an upsert is applied when its record holds its values;
- anything else is sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ninox_core.backend import Record
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import Planned
from target_ninox.errors import WriteError
from target_ninox.key_index import Key, normalize
from target_ninox.mapping import describe_table
from target_ninox.write_errors import span

#: The record that holds a key now (the key index), or None.
KeyHolder = Callable[[Key], "int | None"]


@dataclass(frozen=True)
class Reconciled:
    """What matching found: the elements applied (with their record) and the rest.

    `resend` keeps the plan's order. `updates`: the keyed creates of
    `resend` whose key is now held by a record, with that record: they are
    to be sent as updates of it (`apply_updates`). `matched`: records were
    read back and matched (the writer then says how many were found).
    """

    applied: tuple[tuple[Planned, int], ...] = ()
    resend: tuple[Planned, ...] = ()
    updates: tuple[tuple[Planned, int], ...] = ()
    matched: bool = True

    def apply_updates(self) -> None:
        """Turn each of `updates` into an update of its record, in place.

        In place: the elements are the writer's plan, which its retry of
        a batch reads again (docs/design.md "Lost answers").
        """
        for item, record_id in self.updates:
            item.kind, item.record_id = "update", record_id


def match_applied(
    pending: Sequence[Planned],
    changed: Sequence[Record],
    holder: KeyHolder,
    ours: Collection[int] = (),
) -> Reconciled:
    """Which elements `changed` (the records read back) shows applied.

    `holder`: the record holding a key; `ours`: records this run created
    before (never taken for an unkeyed create).
    """
    by_id = {r.id: r.values for r in changed}
    taken = set(ours)
    applied: list[tuple[Planned, int]] = []
    resend: list[Planned] = []
    updates: list[tuple[Planned, int]] = []
    for item in pending:
        if item.kind == "create" and item.key is None:
            wanted = {fid: normalize(v) for fid, v in item.values.items()}
            match = first_match(wanted, changed, taken)
            if match is not None:
                taken.add(match)
        else:
            match = target_id(item, holder)
            if match is not None and not holds(item.values, by_id.get(match)):
                if item.kind == "create":
                    # The key exists but not with these values: update it.
                    updates.append((item, match))
                match = None
        if match is None:
            resend.append(item)
            continue
        if item.counts_as == "create":
            taken.add(match)
        applied.append((item, match))
    return Reconciled(tuple(applied), tuple(resend), tuple(updates))


def keyed_creates_as_updates(pending: Sequence[Planned], holder: KeyHolder) -> Reconciled:
    """Without records to match: every element again, a held key's create as an update.

    Resending an update of a record the lost write created is harmless.
    """
    updates = [
        (item, held)
        for item in pending
        if item.kind == "create" and (held := target_id(item, holder)) is not None
    ]
    return Reconciled((), tuple(pending), tuple(updates), matched=False)


def target_id(item: Planned, holder: KeyHolder) -> int | None:
    """The record an element writes into (for a keyed create: its key's holder)."""
    if item.kind == "create":
        return holder(item.key) if item.key is not None else None
    return item.record_id


def holds(values: dict[str, Any], fields: dict[str, Any] | None) -> bool:
    """Whether a record read back (`fields`, None: not read back) holds every value."""
    if fields is None:
        return False
    return all(normalize(fields.get(f)) == normalize(v) for f, v in values.items())


def first_match(
    wanted: dict[str, Any], changed: Sequence[Record], taken: Collection[int]
) -> int | None:
    """The first record of `changed` not in `taken` holding exactly `wanted`.

    `wanted`: field id → normalized value.
    """
    for record in changed:
        record_id = record.id
        if record_id in taken:
            continue
        fields = record.values
        if all(normalize(fields.get(fid)) == v for fid, v in wanted.items()):
            return record_id
    return None


def unknown_outcome(pending: Sequence[Planned], *, keyed: bool) -> str:
    """What a user is told about elements whose outcome cannot be known."""
    creates = [p for p in pending if p.kind == "create"]
    return (
        f"The records from {span(creates or pending)} may or may not be in Ninox; no "
        "STATE was emitted for them. Check the table before running again"
        + (
            " (keyed records are never duplicated by a rerun)."
            if keyed
            else "; a rerun of unkeyed records can create them twice."
        )
    )


def read_back_failed(
    stream_name: str,
    table: NinoxTable,
    pending: Sequence[Planned],
    *,
    sent: str,
    failure: str,
    keyed: bool,
) -> WriteError:
    """The one line of a lost answer whose read-back failed too (both read-back paths).

    `sent`: what lost its answer (`a POST to`); `failure`: what went
    wrong reading back, with the error in parentheses.
    """
    return WriteError(
        f"stream {stream_name!r}: the answer to {sent} {describe_table(table)} was lost, "
        f"and {failure}. {unknown_outcome(pending, keyed=keyed)}"
    )
