"""Lost answers: reading back what a write whose answer never came applied.

docs/design.md "Lost answers". After `NinoxWriteOutcomeUnknown` the writer
asks `LostAnswers.read_back` what Ninox applied; the matching itself is
pure (target_ninox/reconcile.py) and shared by both ways of reading back:

- with record sequences (classic API): the table's records changed since
  the highest sequence known to be at or before every unconfirmed write
  (`known_sq`);
- without (Ninox 4's Public API), per table:
  - a table with history: the writer took the table's feed cursor before
    the write; the feed names the records changed since it, those this
    run did not write (its answers told it which it did) are read by id
    and matched;
  - a table without history has no feed: keyed creates are matched
    through their key (the key index read again: a key now present
    becomes an update of its record), and an unkeyed create fails the run
    with one line rather than risk creating its record twice (SPEC,
    "Ninox 4 Public API").

Updates and server-matched upserts are idempotent and applied whole or
not at all (`transactional_writes`): they are simply sent again. The same
content matching finds the creates a stopped run made
(target_ninox/rerun_guard.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ninox_core.backend import Backend, Cursor, TableAddress
from ninox_core.errors import NinoxCursorExpired, NinoxError
from ninox_core.model.schema import NinoxTable
from target_ninox.batches import Planned
from target_ninox.errors import WriteError
from target_ninox.key_index import Key, KeyIndex
from target_ninox.mapping import describe_table
from target_ninox.reconcile import (
    Reconciled,
    keyed_creates_as_updates,
    match_applied,
    read_back_failed,
)
from target_ninox.rerun_guard import RerunGuard
from target_ninox.write_errors import span

#: Records written since the feed cursor after which it is read again
#: (one request per 50 batches of 100).
FEED_REFRESH_IDS = 5000


class LostAnswers:
    """Where a table's lost answers are read back from, and the reading back.

    Owned by the table's `TableWriter`, which tells it what each write
    and answer showed (`before_write`, `answered`).
    """

    def __init__(
        self, backend: Backend, address: TableAddress, table: NinoxTable, guard: RerunGuard | None
    ) -> None:
        """Nothing is read until a write needs a read-back point."""
        self.backend = backend
        self.address = address
        self.table = table
        self.guard = guard
        #: Highest database sequence known to be at or before every write
        #: of this run that is not confirmed yet; None until needed.
        self.known_sq: int | None = None
        #: The table's change-feed cursor taken before this run's unconfirmed
        #: creates (None: not taken yet, or the table has no history).
        self.feed_cursor: Cursor | None = None
        #: Records this run created whose sequence is not known to be <=
        #: known_sq (or that were written since the feed cursor): a
        #: read-back may return them, and they are not new.
        self.recent_created: set[int] = set()

    # ------------------------------------------------------ read-back point

    def before_write(self, pending: Sequence[Planned]) -> None:
        """Before a write: note the point to read back from should its answer be lost.

        The database sequence (`record_sequences`), else the table's feed
        cursor, needed only for creates (the rest is transactional).
        Raises `NinoxError` when the point cannot be read.
        """
        creates = any(p.kind == "create" for p in pending)
        if self.backend.capabilities.record_sequences:
            if self.known_sq is None and (len(pending) > 1 or creates):
                # Not `schema.seq` alone: servers may leave it out (docs/api.md §10).
                self.known_sq = int(self.backend.cursor_now(self.address).value)
        elif creates:
            self.take_feed_cursor()

    def cursor_read(self, cursor: Cursor) -> None:
        """A cursor read now, with no write in flight: every write so far is before it."""
        self.feed_cursor = cursor
        self.recent_created.clear()

    def take_feed_cursor(self) -> None:
        """Before a create: the point a lost answer is read back from (history tables).

        Read once, and again once `FEED_REFRESH_IDS` records were written
        since: what a read-back skips (this run's own records, known from
        the answers) stays that small, and so does the feed it pages.
        """
        if not self.table.has_history:
            return
        if self.feed_cursor is None or len(self.recent_created) >= FEED_REFRESH_IDS:
            self.cursor_read(self.backend.cursor_now(self.address, hint=self.feed_cursor))

    def answered(self, answer_top: int | None, created: list[int], *, every_sequence: bool) -> None:
        """After an answer: move `known_sq` to its top sequence when it tells every one.

        `created`: the records the answer created (without record
        sequences: every record written since the feed cursor).
        """
        top = self.known_sq or 0
        if answer_top is not None:
            top = max(top, answer_top)
        if self.known_sq is not None and top > self.known_sq and every_sequence:
            # Everything this run wrote is now at or below known_sq.
            self.known_sq = top
            self.recent_created.clear()
        else:
            self.recent_created.update(created)

    # ------------------------------------------------------------ read-back

    def read_back(
        self,
        stream_name: str,
        pending: Sequence[Planned],
        index: KeyIndex | None,
        reload_index: Callable[[], KeyIndex],
        *,
        keyed: bool,
    ) -> Reconciled:
        """After a lost answer: what Ninox applied, and what to send again.

        `keyed`: the stream has upsert keys (for the message when the
        read-back fails).
        """
        if not self.backend.capabilities.record_sequences:
            return self._by_feed(stream_name, pending, index, reload_index, keyed=keyed)
        since = self.known_sq or 0
        try:
            changed = [
                record
                for page in self.backend.scan(self.address, self.table, since=Cursor(since))
                for record in page
            ]
        except NinoxError as exc:
            raise read_back_failed(
                stream_name,
                self.table,
                pending,
                sent="a POST to",
                failure=f"reading the table back to see what was applied failed too ({exc})",
                keyed=keyed,
            ) from None
        if index is not None and index.loaded:
            index.absorb(changed)
        if self.guard is not None:
            for record in changed:
                self.guard.saw_sequence(record.sequence)
            self.guard.wrote_unsequenced()  # what was applied may not be among them
        sequences = [r.sequence for r in changed]
        if changed and all(isinstance(q, int) for q in sequences):
            # Everything the lost POST applied is in `changed`: the next
            # read-back can start after it.
            self.known_sq = max(since, *(q for q in sequences if isinstance(q, int)))
            self.recent_created.clear()
        return match_applied(pending, changed, _holder(index), self.recent_created)

    def _by_feed(
        self,
        stream_name: str,
        pending: Sequence[Planned],
        index: KeyIndex | None,
        reload_index: Callable[[], KeyIndex],
        *,
        keyed: bool,
    ) -> Reconciled:
        """The read-back without record sequences: the feed, or the key index."""
        creates = [p for p in pending if p.kind == "create"]
        if not creates:
            # Idempotent and transactional: resent as they are.
            return Reconciled((), tuple(pending), matched=False)
        if self.table.has_history and self.feed_cursor is not None:
            return self._from_feed(stream_name, pending, self.feed_cursor, index, keyed=keyed)
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
            index = reload_index()
        except NinoxError as exc:
            raise read_back_failed(
                stream_name,
                self.table,
                pending,
                sent="a write to",
                failure=f"reading its upsert keys back failed too ({exc})",
                keyed=keyed,
            ) from None
        return keyed_creates_as_updates(pending, index.get)

    def _from_feed(
        self,
        stream_name: str,
        pending: Sequence[Planned],
        since: Cursor,
        index: KeyIndex | None,
        *,
        keyed: bool,
    ) -> Reconciled:
        """Read the records the feed reports changed since `since`, then match."""
        try:
            change = self.backend.changes(self.address, since)
            ours = self.recent_created
            wanted = [i for i in change.changed if i not in ours]
            records = self.backend.read_records(self.address, self.table, wanted)
        except NinoxCursorExpired as exc:
            failure = f"the table's change feed no longer reaches back to before it ({exc})"
            raise read_back_failed(
                stream_name, self.table, pending, sent="a write to", failure=failure, keyed=keyed
            ) from None
        except NinoxError as exc:
            failure = f"reading the table's changes back to see what was applied failed too ({exc})"
            raise read_back_failed(
                stream_name, self.table, pending, sent="a write to", failure=failure, keyed=keyed
            ) from None
        changed = [records[i] for i in wanted if i in records]
        if index is not None and index.loaded:
            index.discard_ids(change.removed)
            index.absorb(changed)
        if self.guard is not None:
            self.guard.wrote(self.table.id)
        if change.cursor is not None:
            # The feed was read after the lost write: everything this run
            # wrote so far is before its cursor.
            self.cursor_read(change.cursor)
        return match_applied(pending, changed, _holder(index), self.recent_created)


def _holder(index: KeyIndex | None) -> Callable[[Key], int | None]:
    """Who holds a key: the key index, or nobody (a stream without keys)."""
    if index is None:
        return lambda _key: None
    return index.get
