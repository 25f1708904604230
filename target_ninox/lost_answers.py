"""Lost answers: what a POST whose answer never came applied (docs/design.md).

After `NinoxWriteOutcomeUnknown` the writer reads the table's records
changed since the highest sequence it knows and works out, element by
element, what Ninox applied (see target_ninox/writer.py for the rules);
only the rest is sent again. The same content matching finds the creates
a stopped run made (target_ninox/rerun_guard.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ninox_core.backend import Backend, Cursor, Record, TableAddress
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import Planned, WriteStats, count_write
from target_ninox.errors import WriteError
from target_ninox.key_index import KeyIndex, normalize
from target_ninox.mapping import describe_table
from target_ninox.rerun_guard import RerunGuard
from target_ninox.write_errors import span

logger = logging.getLogger(__name__)


class LostAnswerReconciler:
    """The lost-answer part of `TableWriter` (which sets these attributes)."""

    backend: Backend
    address: TableAddress
    table: NinoxTable
    index: KeyIndex | None
    known_sq: int | None
    written_ids: set[int]
    guard: RerunGuard | None
    _recent_created: set[int]

    def _reconcile(
        self,
        stream_name: str,
        pending: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """After a lost answer: find what Ninox applied; return what to send again."""
        if not self.backend.capabilities.record_sequences:
            return self._reconcile_by_feed(stream_name, pending, stats, key_properties)
        since = self.known_sq or 0
        try:
            changed = [
                record
                for page in self.backend.scan(self.address, self.table, since=Cursor(since))
                for record in page
            ]
        except NinoxError as exc:
            raise WriteError(
                f"stream {stream_name!r}: the answer to a POST to "
                f"{describe_table(self.table)} was lost, and reading the table back to see "
                f"what was applied failed too ({exc}). "
                f"{self._unknown_outcome(pending, key_properties)}"
            ) from None
        if self.index is not None and self.index.loaded:
            self.index.absorb(changed)
        if self.guard is not None:
            for record in changed:
                self.guard.saw_sequence(record.sequence)
            self.guard.wrote_unsequenced()  # what was applied may not be among them
        sequences = [r.sequence for r in changed]
        if changed and all(isinstance(q, int) for q in sequences):
            # Everything the lost POST applied is in `changed`: the next
            # read-back can start after it.
            self.known_sq = max(since, *(q for q in sequences if isinstance(q, int)))
            self._recent_created.clear()
        return self._match_applied(stream_name, pending, changed, stats)

    def _reconcile_by_feed(
        self,
        stream_name: str,
        pending: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """The lost-answer read-back without record sequences (target_ninox/feed_answers.py)."""
        raise NotImplementedError

    def _match_applied(
        self,
        stream_name: str,
        pending: list[Planned],
        changed: Sequence[Record],
        stats: WriteStats,
    ) -> list[Planned]:
        """Which elements `changed` (records read back) shows applied; the rest to resend."""
        by_id = {r.id: r.values for r in changed}
        claimed: set[int] = set()
        resend: list[Planned] = []
        applied = 0
        for item in pending:
            if item.kind == "create" and item.key is None:
                match = self._find_applied(item, changed, claimed)
                if match is not None:
                    claimed.add(match)
                    if self.guard is not None:
                        self.guard.created(self.table.id, item.sources[0].line, match)
            else:
                match = self._target_id(item)
                if match is not None and not self._holds(item, by_id.get(match)):
                    if item.kind == "create":
                        # The key exists but not with these values: update it.
                        item.kind = "update"
                        item.record_id = match
                    match = None
            if match is None:
                resend.append(item)
                continue
            if item.counts_as == "create":
                self._recent_created.add(match)
            self.written_ids.add(match)
            count_write(stats, item.counts_as)
            applied += 1
        logger.warning(
            "Stream '%s': %d of %d elements of the batch were found applied in %s; sending "
            "%d again.",
            stream_name,
            applied,
            len(pending),
            describe_table(self.table),
            len(resend),
        )
        return resend

    def _target_id(self, item: Planned) -> int | None:
        """The record an element writes into (for a keyed create: its key's holder)."""
        if item.kind == "create":
            index = self.index
            return index.get(item.key) if item.key is not None and index is not None else None
        return item.record_id

    def _holds(self, item: Planned, fields: dict[str, Any] | None) -> bool:
        """Whether a record read back holds every value the element writes."""
        if fields is None:
            return False
        return all(normalize(fields.get(f)) == normalize(v) for f, v in item.values.items())

    def _find_applied(
        self, item: Planned, changed: Sequence[Record], claimed: set[int]
    ) -> int | None:
        """A changed record, new to this run, with exactly the element's values."""
        wanted = {key: normalize(v) for key, v in item.values.items()}
        return self._first_match(wanted, changed, claimed)

    def _first_match(
        self, wanted: dict[str, Any], changed: Sequence[Record], claimed: set[int]
    ) -> int | None:
        """The first unclaimed record of `changed` holding exactly `wanted`.

        `wanted`: field id → normalized value. Records this run created
        are never a match.
        """
        for record in changed:
            record_id = record.id
            if record_id in claimed or record_id in self._recent_created:
                continue
            fields = record.values
            if all(normalize(fields.get(fid)) == v for fid, v in wanted.items()):
                return record_id
        return None

    def _unknown_outcome(
        self, pending: Sequence[Planned], key_properties: Sequence[str] = ()
    ) -> str:
        creates = [p for p in pending if p.kind == "create"]
        return (
            f"The records from {span(creates or pending)} may or may not be in Ninox; no "
            "STATE was emitted for them. Check the table before running again"
            + (
                " (keyed records are never duplicated by a rerun)."
                if key_properties or self.index is not None
                else "; a rerun of unkeyed records can create them twice."
            )
        )
