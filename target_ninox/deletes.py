"""Deletions: records with `_sdc_deleted_at` and `hard_delete` (docs/design.md)."""

from __future__ import annotations

from collections.abc import Sequence

from ninox_core.backend import Backend, TableAddress
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import PendingRecord, WriteStats
from target_ninox.errors import WriteError
from target_ninox.key_index import KeyIndex
from target_ninox.mapping import describe_table


def delete_run(
    backend: Backend,
    address: TableAddress,
    table: NinoxTable,
    index: KeyIndex | None,
    stream_name: str,
    run: Sequence[PendingRecord],
    stats: WriteStats,
    *,
    dry_run: bool,
) -> None:
    """Delete a run of deleted records, by `_id` else by key (`index`, already read)."""
    ids: list[int] = []
    for record in run:
        record_id = record.record_id
        if record_id is None and record.key is not None and index is not None:
            record_id = index.get(record.key)
        if record_id is None:
            stats.delete_no_match += 1
            continue
        ids.append(record_id)
    ids = list(dict.fromkeys(ids))
    if ids and not dry_run:
        try:
            backend.delete(address, ids)
        except NinoxError as exc:
            lines = f"{run[0].line}-{run[-1].line}" if len(run) > 1 else str(run[0].line)
            raise WriteError(
                f"stream {stream_name!r}: deleting {len(ids)} records of "
                f"{describe_table(table)} (input lines {lines}) failed: {exc}"
            ) from None
    if index is not None:
        index.discard_ids(ids)
    stats.deleted += len(ids)
