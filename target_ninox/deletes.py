"""Deletions: records with `_sdc_deleted_at` and `hard_delete` (docs/design.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

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


#: Record ids per DELETE when `overwrite` clears what a run did not write.
OVERWRITE_DELETE_CHUNK = 1000


def overwrite(
    backend: Backend,
    address_of: Callable[[NinoxTable], TableAddress],
    writers: Sequence[TableWriterIds],
    *,
    dry_run: bool,
    logger: logging.Logger,
) -> None:
    """`load_method: overwrite`, after a clean run: delete what this run did not write.

    Runs once every stream is committed; a failed or stopped run never
    gets here, so a partial load never deletes anything.
    """
    written: dict[str, tuple[NinoxTable, set[int]]] = {}
    for writer in writers:
        entry = written.setdefault(writer.table.id, (writer.table, set()))
        entry[1].update(writer.written_ids)
    for table, keep in written.values():
        address = address_of(table)
        stale = sorted(
            r.id for page in backend.scan(address, table) for r in page if r.id not in keep
        )
        if stale and not dry_run:
            for start in range(0, len(stale), OVERWRITE_DELETE_CHUNK):
                chunk = stale[start : start + OVERWRITE_DELETE_CHUNK]
                backend.delete(address, chunk)
        logger.info(
            "%sload_method overwrite: %s %d records of %s that this run did not write.",
            "Dry run, nothing written. " if dry_run else "",
            "would delete" if dry_run else "deleted",
            len(stale),
            describe_table(table),
        )


class TableWriterIds(Protocol):
    """What `overwrite` reads of a table writer: its table and the ids it wrote."""

    table: NinoxTable
    written_ids: set[int]
