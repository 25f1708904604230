"""Deletions: records with `_sdc_deleted_at` and `hard_delete` (docs/design.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ninox_core.backend import Backend, TableAddress
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import PendingRecord, WriteStats
from target_ninox.errors import WriteError
from target_ninox.key_index import KeyIndex
from target_ninox.mapping import describe_table


class RecordDeleter:
    """The deleting part of `TableWriter` (which sets these attributes)."""

    backend: Backend
    address: TableAddress
    table: NinoxTable
    index: KeyIndex | None
    dry_run: bool
    #: The key index, read on first use (`TableWriter.ensure_index`).
    ensure_index: Callable[[], KeyIndex]

    def _delete(self, stream_name: str, run: Sequence[PendingRecord], stats: WriteStats) -> None:
        if any(r.record_id is None and r.key is not None for r in run):
            self.ensure_index()
        ids: list[int] = []
        for record in run:
            record_id = record.record_id
            if record_id is None and record.key is not None and self.index is not None:
                record_id = self.index.get(record.key)
            if record_id is None:
                stats.delete_no_match += 1
                continue
            ids.append(record_id)
        ids = list(dict.fromkeys(ids))
        if ids and not self.dry_run:
            try:
                self.backend.delete(self.address, ids)
            except NinoxError as exc:
                lines = f"{run[0].line}-{run[-1].line}" if len(run) > 1 else str(run[0].line)
                raise WriteError(
                    f"stream {stream_name!r}: deleting {len(ids)} records of "
                    f"{describe_table(self.table)} (input lines {lines}) failed: {exc}"
                ) from None
        if self.index is not None:
            self.index.discard_ids(ids)
        stats.deleted += len(ids)
