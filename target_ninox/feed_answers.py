"""Lost answers where records carry no sequence: the change feed (docs/design.md).

The classic read-back (target_ninox/lost_answers.py) reads the records
changed since a sequence. A backend without `record_sequences` (Ninox 4's
Public API) has none; there a lost create answer is resolved per table:

- a table with history: the writer took the table's feed cursor before
  the write; the feed names the records changed since it, those this run
  did not write (its answers told it which it did) are read by id, and
  the elements are matched to them the way the classic read-back matches
  (`LostAnswerReconciler._match_applied`);
- a table without history has no feed: keyed creates are matched through
  their key (the key index read again: a key now present becomes an update
  of its record), and an unkeyed create fails the run with one line rather
  than risk creating its record twice (SPEC, "Ninox 4 Public API").

Updates and server-matched upserts are idempotent and applied whole or not
at all (`transactional_writes`): they are simply sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ninox_core.backend import Cursor
from ninox_core.errors import NinoxCursorExpired, NinoxError
from target_ninox.batches import Planned, WriteStats
from target_ninox.errors import WriteError
from target_ninox.key_index import KeyIndex
from target_ninox.lost_answers import LostAnswerReconciler
from target_ninox.mapping import describe_table
from target_ninox.write_errors import span

#: Records written since the feed cursor after which it is read again
#: (one request per 50 batches of 100).
FEED_REFRESH_IDS = 5000


class FeedReconciler(LostAnswerReconciler):
    """The feed-based lost-answer part of `TableWriter` (which sets these attributes)."""

    #: The table's change-feed cursor taken before this run's unconfirmed
    #: creates (None: not taken yet, or the table has no history).
    feed_cursor: Cursor | None
    #: The key index read again from the table (`TableWriter.reload_index`).
    reload_index: Callable[[], KeyIndex]

    def cursor_read(self, cursor: Cursor) -> None:
        """A cursor read now, with no write in flight: every write so far is before it."""
        self.feed_cursor = cursor
        self._recent_created.clear()

    def take_feed_cursor(self) -> None:
        """Before a create: the point a lost answer is read back from (history tables).

        Read once, and again once `FEED_REFRESH_IDS` records were written
        since: what a read-back skips (this run's own records, known from
        the answers) stays that small, and so does the feed it pages.
        """
        if not self.table.has_history:
            return
        if self.feed_cursor is None or len(self._recent_created) >= FEED_REFRESH_IDS:
            self.cursor_read(self.backend.cursor_now(self.address, hint=self.feed_cursor))

    def _reconcile_by_feed(
        self,
        stream_name: str,
        pending: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """After a lost answer without record sequences: what to send again."""
        creates = [p for p in pending if p.kind == "create"]
        if not creates:
            return pending  # idempotent and transactional: resent as they are
        if self.table.has_history and self.feed_cursor is not None:
            return self._reconcile_from_feed(stream_name, pending, stats, key_properties)
        unkeyed = [p for p in creates if p.key is None]
        if unkeyed:
            raise WriteError(
                f"stream {stream_name!r}: the answer to creating the records from "
                f"{span(unkeyed)} in {describe_table(self.table)} was lost, and the table "
                "keeps no history (hasHistory off), so whether Ninox created them cannot be "
                "told. They may or may not be in Ninox; no STATE was emitted for them. Check "
                "the table before running again; give the stream upsert_keys (or turn on "
                "the table's history) so that a lost answer can be resolved."
            )
        # Keyed creates: the key tells. Read the index again; a key now held
        # by a record becomes an update of it (harmless if it was applied).
        try:
            index = self.reload_index()
        except NinoxError as exc:
            raise WriteError(
                f"stream {stream_name!r}: the answer to a write to "
                f"{describe_table(self.table)} was lost, and reading its upsert keys back "
                f"failed too ({exc}). {self._unknown_outcome(pending, key_properties)}"
            ) from None
        for item in creates:
            holder = index.get(item.key) if item.key is not None else None
            if holder is not None:
                item.kind, item.record_id = "update", holder
        return pending

    def _reconcile_from_feed(
        self,
        stream_name: str,
        pending: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """Read the records the feed reports changed since `feed_cursor`, then match."""
        since = self.feed_cursor
        assert since is not None  # noqa: S101  # checked by the caller
        try:
            change = self.backend.changes(self.address, since)
            ours = self._recent_created
            wanted = [i for i in change.changed if i not in ours]
            records = self.backend.read_records(self.address, self.table, wanted)
        except NinoxCursorExpired as exc:
            raise WriteError(
                f"stream {stream_name!r}: the answer to a write to "
                f"{describe_table(self.table)} was lost, and the table's change feed no "
                f"longer reaches back to before it ({exc}). "
                f"{self._unknown_outcome(pending, key_properties)}"
            ) from None
        except NinoxError as exc:
            raise WriteError(
                f"stream {stream_name!r}: the answer to a write to "
                f"{describe_table(self.table)} was lost, and reading the table's changes "
                f"back to see what was applied failed too ({exc}). "
                f"{self._unknown_outcome(pending, key_properties)}"
            ) from None
        changed = [records[i] for i in wanted if i in records]
        if self.index is not None and self.index.loaded:
            self.index.discard_ids(change.removed)
            self.index.absorb(changed)
        if self.guard is not None:
            self.guard.wrote(self.table.id)
        if change.cursor is not None:
            # The feed was read after the lost write: everything this run
            # wrote so far is before its cursor.
            self.cursor_read(change.cursor)
        return self._match_applied(stream_name, pending, changed, stats)
