"""Writing one batch of converted records into one Ninox table.

The I/O shell of the writing part (docs/design.md "The target's parts",
decision 0028): it owns the table's key index and composes the jobs that
live next to it: what a batch holds (target_ninox/batches.py), planning
(target_ninox/planning.py, pure), reading back a lost answer
(target_ninox/lost_answers.py) and matching what it shows
(target_ninox/reconcile.py, pure), deletions (target_ninox/deletes.py), the
messages of failed writes (target_ninox/write_errors.py) and reruns of
unkeyed creates (target_ninox/rerun_guard.py). It talks to Ninox only
through the backend seam (ninox_core/backend.py).

A batch becomes one write plan (plus one deletion per run of deletions),
written through the backend (`ninox_core.backend`; classic: one `POST
.../records`, whose elements `ninox_core.classic` builds). Each record is
one element (`WriteOp`):

- `_id` given → an upsert with that id: Ninox keeps the id (a Ninox → Ninox
  copy keeps ids);
- upsert key given → an update of the record the key index knows for the
  key, else a create;
- else a create.

Records of one batch that name the same key (or `_id`) are merged into one
element, so a batch never creates a key twice.

**Lost answers.** A POST that creates records is not resent blindly by the
client (`NinoxWriteOutcomeUnknown`). The writer then reads the table's
records changed since the highest sequence it knows (keyset-paged
`sinceSq`) and works out what Ninox applied:

- keyed creates: a key now found in the table becomes an update of that
  record (resending an update is harmless), the rest are created again;
- unkeyed creates: a changed record that this run did not write before and
  whose every written field equals the element's is taken as that element,
  applied; the others are created again. Two identical new records count as
  two (each claims one match). The one case this cannot tell apart is
  another user creating an identical record in the same table at the same
  moment; keyed streams (`upsert_keys`) have no such gap;
- when the read-back itself fails the run stops with a message naming the
  input lines whose outcome is unknown; no STATE is emitted for them.

Updates and `_upsert` elements are safe to resend and are resent as they are.

**Backends without the classic's abilities** (the algorithms consult
`Capabilities`, never which backend they hold; docs/design.md "Writing
Ninox 4 tables"):

- `server_upsert`: a stream keyed by ONE field the server keeps `unique`
  is written as server-matched upserts (`upsert_by`): no key index, no read
  of the table (deletions by key still read the index);
- no `create_with_id`: `_id` updates that record; when the server says no
  such record exists (`NinoxRecordsMissing`) a record that also has an
  upsert key is written by its key, any other fails the run with one line
  (a record cannot be given a chosen id, and creating it under a new id
  would create it again on every run);
- no `record_sequences`: lost answers are read back through the change
  feed, or not at all (target_ninox/lost_answers.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence

from ninox_core import termination
from ninox_core.backend import Backend, Saved, TableAddress
from ninox_core.errors import (
    NinoxAPIError,
    NinoxBadRequestError,
    NinoxCursorExpired,
    NinoxError,
    NinoxNotFoundError,
    NinoxRecordsMissing,
    NinoxUpsertUnavailable,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.model.schema import NinoxField, NinoxTable
from target_ninox.batches import (
    PendingRecord,
    Planned,
    WriteStats,
    count_write,
    count_writes,
    runs,
    set_only,
)
from target_ninox.deletes import delete_run
from target_ninox.errors import WriteError
from target_ninox.key_index import Key, KeyIndex, normalize
from target_ninox.lost_answers import LostAnswers
from target_ninox.mapping import describe_table
from target_ninox.planning import plan_writes, replan_by_key_index
from target_ninox.reconcile import Reconciled, target_id, unknown_outcome
from target_ninox.rerun_guard import CreatesInDoubt, RerunGuard, read_candidates
from target_ninox.write_errors import label, lines_of, record_index, span

__all__ = ["MAX_LOST_ANSWERS", "PendingRecord", "TableWriter", "WriteStats"]

logger = logging.getLogger(__name__)

#: How many lost answers in a row one batch survives before the run stops.
MAX_LOST_ANSWERS = 5


class TableWriter:
    """Writes batches into one table; owns the table's key index and its lost answers.

    Shared by every sink that writes into the same table with the same key
    fields, so a SCHEMA change does not re-read the index.
    """

    def __init__(
        self,
        backend: Backend,
        address: TableAddress,
        table: NinoxTable,
        key_fields: Sequence[NinoxField] = (),
        *,
        dry_run: bool = False,
        guard: RerunGuard | None = None,
        remember_written: bool = True,
    ) -> None:
        """Nothing is read until the first batch needs it.

        `guard` learns the unkeyed creates and sequences, and gives the
        records a stopped run may have created (target_ninox/rerun_guard.py).
        `remember_written`: keep the ids written, for `load_method: overwrite`.
        """
        self.backend = backend
        self.guard = guard
        self.address = address
        self.table = table
        self.dry_run = dry_run
        self.index: KeyIndex | None = KeyIndex(table, key_fields) if key_fields else None
        capabilities = backend.capabilities
        #: The field the server matches keyed records by (`upsert_by`): the
        #: key is one field the server keeps unique. Not in a dry run,
        #: which reads the key index to tell creates from updates.
        self.match_field: str | None = (
            key_fields[0].id
            if capabilities.server_upsert
            and not dry_run
            and len(key_fields) == 1
            and key_fields[0].unique
            else None
        )
        #: `_id` records: an upsert that creates a missing id (classic), or
        #: an update of that record.
        self._id_kind = "upsert" if capabilities.create_with_id else "update"
        #: Where a lost answer is read back from, and the reading back.
        self.lost = LostAnswers(backend, address, table, guard)
        self._dry_ids = 0
        #: Ids of the records this run wrote (for `load_method: overwrite`;
        #: not kept otherwise: a set of a million ids costs 30-60 MB).
        self.written_ids: set[int] = set() if remember_written else _Forgotten()
        #: Most elements per POST; lowered when the server refuses a batch
        #: as too large (see `_post`), so later batches are not refused too.
        self.max_post: int | None = None

    # ------------------------------------------------------------ entry

    def write(
        self,
        stream_name: str,
        batch: Sequence[PendingRecord],
        stats: WriteStats,
        key_properties: Sequence[str] = (),
    ) -> None:
        """Write one batch: its writes and deletions, in input order."""
        for is_delete, run in runs(batch):
            if is_delete:
                if any(r.record_id is None and r.key is not None for r in run):
                    self.ensure_index()
                delete_run(
                    self.backend,
                    self.address,
                    self.table,
                    self.index,
                    stream_name,
                    run,
                    stats,
                    dry_run=self.dry_run,
                )
            else:
                self._write_run(stream_name, run, stats, key_properties)

    # ------------------------------------------------------------ index

    def ensure_index(self) -> KeyIndex:
        """The key index, read from Ninox on first use."""
        if self.index is None:
            raise RuntimeError("this table writer has no upsert keys")
        if not self.index.loaded:
            self.index.load(self.backend, self.address.workspace, self.address.database)
            if self.lost.known_sq is None:
                self.lost.known_sq = self.index.max_sequence
        return self.index

    def reload_index(self) -> KeyIndex:
        """The key index read again from Ninox (a record it named is gone, a lost answer)."""
        if self.index is None:
            raise RuntimeError("this table writer has no upsert keys")
        key_fields = [self._field(fid) for fid in self.index.key_field_ids]
        self.index = KeyIndex(self.table, key_fields)
        return self.ensure_index()

    # ----------------------------------------------------------- writes

    def _write_run(
        self,
        stream_name: str,
        run: Sequence[PendingRecord],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> None:
        if self.match_field is None and any(r.key is not None and r.record_id is None for r in run):
            self.ensure_index()
        run = self._not_yet_created(stream_name, run, stats)
        if not run:
            return
        unkeyed = any(r.record_id is None and r.key is None for r in run)
        if self.guard is not None and not self.dry_run and unkeyed:
            self.guard.about_to_create(self.table.id, (run[0].line, run[-1].line))
        for attempt in (1, 2):
            plan = plan_writes(
                run,
                self.index,
                match_field=self.match_field,
                id_kind=self._id_kind,
            )
            if attempt == 1:
                stats.merged += plan.merged
            planned = plan.elements
            if self.dry_run:
                self._apply_dry(planned, stats)
                return
            try:
                self._post(stream_name, planned, stats, key_properties)
                if self.guard is not None:
                    self.guard.write_settled(self.table.id)
                return
            except NinoxNotFoundError as exc:
                # An update named a record the index still had but that is gone
                # (deleted since the index was read): read the index again and
                # plan the batch anew, once.
                if (
                    attempt == 2
                    or self.index is None
                    or not any(p.kind == "update" for p in planned)
                ):
                    raise self._failed(stream_name, planned, exc, key_properties) from None
                logger.warning(
                    "Stream '%s': %s; a record the key index named is gone, reading the "
                    "key index again.",
                    stream_name,
                    exc,
                )
                self.reload_index()

    def _not_yet_created(
        self, stream_name: str, run: Sequence[PendingRecord], stats: WriteStats
    ) -> Sequence[PendingRecord]:
        """`run` without the unkeyed creates a stopped run already created.

        The candidates come from the rerun marker of the STATE the run
        started from (target_ninox/rerun_guard.py); they are matched the way
        a lost answer is reconciled (target_ninox/reconcile.py).
        """
        guard = self.guard
        unkeyed = [r for r in run if r.record_id is None and r.key is None and not r.deleted]
        if guard is None or self.dry_run or not unkeyed:
            return run
        try:
            candidates, claimed = guard.candidates(
                self.table.id,
                read_candidates(self.backend, self.address, self.table),
            )
        except CreatesInDoubt as exc:
            first, last = exc.lines[0], exc.lines[-1]
            raise WriteError(
                f"stream {stream_name!r}: the run this one reruns was stopped while it created "
                f"the records of its input lines {first}-{last} in "
                f"{describe_table(self.table)}, a table without history, so whether they were "
                f"created cannot be told. Nothing from {lines_of(run)} was written. Check the "
                "table for them (delete any that are there), then remove `in_doubt` from that "
                "table's entry under `_target_ninox` in the STATE and run again."
            ) from None
        except NinoxCursorExpired as exc:
            raise WriteError(
                f"stream {stream_name!r}: the STATE this run started from points the rerun at "
                f"changes to {describe_table(self.table)} that its change feed no longer "
                f"keeps ({exc}), so which records the stopped run created cannot be told. "
                f"Nothing from {lines_of(run)} was written. Check the table for them, then "
                "run from a STATE without its `_target_ninox` entry (or give the stream "
                "upsert_keys)."
            ) from None
        except NinoxError as exc:
            raise WriteError(
                f"stream {stream_name!r}: reading back {describe_table(self.table)} for the "
                f"records a stopped run may already have created failed ({exc}). Nothing "
                f"from {lines_of(run)} was written; rerun from the last STATE emitted."
            ) from None
        if len(claimed) >= len(candidates):
            return run
        found: set[int] = set()
        # By lookup, not `reconcile.first_match`'s scan: a rerun matches thousands.
        matcher = guard.matcher(self.table.id, normalize)
        for record in unkeyed:
            wanted = {fid: normalize(v) for fid, v in set_only(record.fields).items()}
            match = matcher.take(wanted, claimed, self.lost.recent_created)
            if match is None:
                continue
            claimed.add(match)
            found.add(id(record))
            guard.created(self.table.id, record.line, match)
            self.written_ids.add(match)
            stats.found += 1
        if found:
            logger.info(
                "Stream '%s': %d records of %s were already created by the stopped run "
                "this one reruns; not created again.",
                stream_name,
                len(found),
                describe_table(self.table),
            )
        return [r for r in run if id(r) not in found]

    def _field(self, field_id: str) -> NinoxField:
        """The table's field `field_id`; the key index only holds the table's own fields."""
        found = self.table.field_by_id(field_id)
        if found is None:
            # An invariant, not a user error: the key fields were resolved
            # against this same table when the index was built.
            raise RuntimeError(
                f"internal error: key field {field_id!r} is not a field of "
                f"{describe_table(self.table)}; please report this as a bug"
            )
        return found

    def _apply_dry(self, planned: Sequence[Planned], stats: WriteStats) -> None:
        """Count what would change; keep the index as if it had been written."""
        for item in planned:
            if item.kind == "create" and item.key is not None and self.index is not None:
                self._dry_ids -= 1  # a placeholder id no real record has
                self.index.set(item.key, self._dry_ids)
            if item.kind != "create":
                self.written_ids.add(int(target_id(item, self._holder) or 0))
            count_write(stats, item.counts_as)

    def _post(
        self,
        stream_name: str,
        planned: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> None:
        """POST the elements until all are applied.

        A batch of several elements is never resent as a whole after a lost
        answer or a 5xx: a server may have applied part of it (docs/api.md,
        partial batches), so the table is read back and only what is missing
        is sent again. Every round that applies something is progress; the
        run gives up after `MAX_LOST_ANSWERS` rounds in a row without any.
        """
        if self.max_post is not None and len(planned) > self.max_post:
            for start in range(0, len(planned), self.max_post):
                chunk = planned[start : start + self.max_post]
                self._post(stream_name, chunk, stats, key_properties)
            return
        pending = planned
        idle_rounds = 0
        while True:
            self._read_back_point(stream_name, pending, key_properties)
            try:
                answer = self.backend.write(self.address, self.table, pending)
            except NinoxRecordsMissing as exc:
                pending = self._records_missing(stream_name, pending, exc, stats, key_properties)
                if not pending:
                    return
                continue
            except NinoxUpsertUnavailable as exc:
                if self.match_field is None:
                    raise self._failed(stream_name, pending, exc, key_properties) from None
                self._without_server_upsert(stream_name, pending, exc)
                continue
            except NinoxWriteOutcomeUnknown as exc:
                logger.warning(
                    "Stream '%s': %s. Reading back %s to find out what was applied.",
                    stream_name,
                    exc,
                    describe_table(self.table),
                )
                before = len(pending)
                pending = self._reconcile(stream_name, pending, stats, key_properties)
                if not pending:
                    return
                idle_rounds = 0 if len(pending) < before else idle_rounds + 1
                transport = self.backend.transport
                if idle_rounds > max(MAX_LOST_ANSWERS, transport.max_retries):
                    break
                if idle_rounds:
                    # Cut short by SIGTERM/SIGINT (ninox_core.termination).
                    termination.pause(min(30.0, transport.backoff_base * 2 ** (idle_rounds - 1)))
                continue
            except NinoxNotFoundError:
                raise
            except NinoxAPIError as exc:
                if len(pending) > 1 and _refused_as_too_large(exc):
                    # Refused before anything was applied: send it in halves,
                    # and no more than that per POST from now on.
                    self.max_post = len(pending) // 2
                    logger.warning(
                        "Stream '%s': %s refused a batch of %d records as too large (%s); "
                        "sending at most %d records per request from now on.",
                        stream_name,
                        describe_table(self.table),
                        len(pending),
                        exc,
                        self.max_post,
                    )
                    self._post(stream_name, pending, stats, key_properties)
                    return
                raise self._failed(stream_name, pending, exc, key_properties) from None
            except NinoxError as exc:
                raise self._failed(stream_name, pending, exc, key_properties) from None
            self._take_answer(pending, answer, stats)
            return
        raise WriteError(
            f"stream {stream_name!r}: {idle_rounds} POSTs in a row to "
            f"{describe_table(self.table)} failed or lost their answer without applying "
            f"anything; giving up. {unknown_outcome(pending, keyed=self.index is not None)}"
        )

    def _read_back_point(
        self, stream_name: str, pending: Sequence[Planned], key_properties: Sequence[str]
    ) -> None:
        """Before a write: note the point to read back from should its answer be lost."""
        try:
            self.lost.before_write(pending)
        except NinoxError as exc:
            raise self._failed(stream_name, pending, exc, key_properties) from None

    def _reconcile(
        self,
        stream_name: str,
        pending: list[Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """After a lost answer: find what Ninox applied; return what to send again."""
        found = self.lost.read_back(
            stream_name,
            pending,
            self.index,
            self.reload_index,
            keyed=bool(key_properties) or self.index is not None,
        )
        if found.matched:
            self._take_found(stream_name, len(pending), found, stats)
        found.apply_updates()
        return list(found.resend)

    def _take_found(
        self, stream_name: str, sent: int, found: Reconciled, stats: WriteStats
    ) -> None:
        """Count and remember the elements a read-back found applied."""
        for item, record_id in found.applied:
            if item.kind == "create" and item.key is None and self.guard is not None:
                self.guard.created(self.table.id, item.sources[0].line, record_id)
            if item.counts_as == "create":
                self.lost.recent_created.add(record_id)
            self.written_ids.add(record_id)
            count_write(stats, item.counts_as)
        logger.warning(
            "Stream '%s': %d of %d elements of the batch were found applied in %s; sending "
            "%d again.",
            stream_name,
            len(found.applied),
            sent,
            describe_table(self.table),
            len(found.resend),
        )

    def _holder(self, key: Key) -> int | None:
        """The record holding `key` in the key index (None: none, or no index)."""
        return self.index.get(key) if self.index is not None else None

    def _without_server_upsert(
        self, stream_name: str, pending: list[Planned], exc: NinoxUpsertUnavailable
    ) -> None:
        """The server cannot upsert by the key: match it with the key index from now on.

        Nothing was written by the refused request; the elements before it
        in the plan (updates) are idempotent and are sent again.
        """
        logger.warning(
            "Stream '%s': %s; matching the upsert key of %s with the key index instead (one "
            "read of the table).",
            stream_name,
            exc,
            describe_table(self.table),
        )
        self.match_field = None
        index = self.ensure_index()
        for item in pending:
            if item.kind == "upsert_by":
                replan_by_key_index(item, index.get)

    def _records_missing(
        self,
        stream_name: str,
        pending: list[Planned],
        exc: NinoxRecordsMissing,
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[Planned]:
        """An update named records that do not exist; the rest was applied.

        Take what was applied; a `_id` record that also has an upsert key
        is written by its key; an update the key index planned (its record
        deleted since the index was read) is planned again from a fresh
        index; any other `_id` record fails the run with one line.
        """
        saved = list(exc.saved)
        if len(saved) != len(pending):
            raise self._failed(stream_name, pending, exc, key_properties) from None
        applied = [(p, s) for p, s in zip(pending, saved, strict=True) if s is not None]
        self._take_answer([p for p, _ in applied], [s for _, s in applied], stats)
        if self.guard is not None:
            self.guard.write_settled(self.table.id)  # applied, or definitely not
        rest = [p for p, s in zip(pending, saved, strict=True) if s is None]
        missing = set(exc.ids)
        by_id = [p for p in rest if p.counts_as == "upsert" and p.key is None]
        if by_id:
            ids = sorted({p.record_id for p in by_id if p.record_id is not None} & missing)
            shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
            raise WriteError(
                f"stream {stream_name!r}: {label(by_id[0], key_properties)}"
                f"{f' and {len(by_id) - 1} more' if len(by_id) > 1 else ''}: "
                f"{describe_table(self.table)} has no record with _id {shown}, and this API "
                "cannot create a record with a chosen id. The batch's other records were "
                "written; no STATE was emitted for it. Send such records without _id "
                "(load_method append-only creates them), or give the stream upsert_keys so "
                "that they are matched by key."
            )
        if self.index is not None:
            # A `_id` record's key was taken as held by that id (`plan_writes`).
            self.index.discard_ids(missing)
        for item in rest:
            if item.record_id not in missing:
                continue
            if item.counts_as != "upsert" and self.index is not None:
                # The index named a record that is gone since it was read.
                logger.warning(
                    "Stream '%s': record %s of %s, named by the key index, is gone; reading "
                    "the key index again.",
                    stream_name,
                    item.record_id,
                    describe_table(self.table),
                )
                self.reload_index()
            if self.match_field is not None:
                item.kind, item.record_id, item.match_field = "upsert_by", None, self.match_field
                item.counts_as = item.kind
            else:
                replan_by_key_index(item, self.ensure_index().get)
        return rest

    def _take_answer(
        self, pending: Sequence[Planned], answer: Sequence[Saved], stats: WriteStats
    ) -> None:
        """Learn new ids (key index) and the highest sequence from a POST's answer.

        `answer` is checked (`ninox_core.classic.checks.saved_records`, in the
        backend): one record per element, in order, each with its integer
        id; an answer that is not was a lost answer, reconciled before this.
        Once per batch of every record: the rerun guard and the counters are
        told per answer, not per record (target CPU, docs/design.md).
        """
        answer_top: int | None = None
        every_sequence = True
        created: list[int] = []
        unkeyed: list[tuple[int, int]] = []
        written = self.written_ids
        index = self.index
        for item, record in zip(pending, answer, strict=True):
            record_id = record.id
            written.add(record_id)
            sequence = record.sequence
            if isinstance(sequence, int):
                if answer_top is None or sequence > answer_top:
                    answer_top = sequence
            else:
                every_sequence = False
            if item.kind == "create":
                created.append(record_id)
                if item.key is not None:
                    if index is not None:
                        index.set(item.key, record_id)
                else:
                    unkeyed.append((item.sources[0].line, record_id))
            elif item.kind == "upsert_by":
                item.counts_as = "create" if record.created else "update"
                if index is not None and index.loaded and item.key is not None:
                    index.set(item.key, record_id)
        if not self.backend.capabilities.record_sequences:
            # Every record written since the feed cursor: a read-back after a
            # lost answer need not read them again, nor take them for a create.
            created = [r.id for r in answer] if self.table.has_history else []
        self._tell_guard(answer_top, unkeyed, every_sequence=every_sequence)
        count_writes(stats, pending)
        self.lost.answered(answer_top, created, every_sequence=every_sequence)

    def _tell_guard(
        self, top: int | None, unkeyed: list[tuple[int, int]], *, every_sequence: bool
    ) -> None:
        """What the rerun guard learns from one answer (target_ninox/rerun_guard.py)."""
        guard = self.guard
        if guard is None:
            return
        guard.saw_sequence(top)
        guard.wrote(self.table.id)
        if unkeyed:
            guard.created_many(self.table.id, unkeyed)
        if not every_sequence:
            guard.wrote_unsequenced()

    # ----------------------------------------------------------- errors

    def _failed(
        self,
        stream_name: str,
        pending: Sequence[Planned],
        exc: NinoxError,
        key_properties: Sequence[str] = (),
    ) -> WriteError:
        """The one-line error for a batch Ninox refused or that could not be sent."""
        if self.guard is not None:
            self.guard.write_settled(self.table.id)  # its outcome is known: not applied
        head = f"stream {stream_name!r}: writing to {describe_table(self.table)} failed"
        tail = (
            "Earlier batches are in Ninox; this batch and the input after it were not "
            "written, and no STATE was emitted for them."
        )
        if isinstance(exc, NinoxBadRequestError):
            index = record_index(exc.server_message)
            if index is not None and 0 <= index < len(pending):
                who = "the record from " + label(pending[index], key_properties)
            else:
                who = "one of the records from " + span(pending)
            return WriteError(
                f"{head}: Ninox refused {who}: {exc.server_message}. Fix that record. {tail}"
            )
        return WriteError(f"{head} ({span(pending)}): {exc}. {tail}")


class _Forgotten(set[int]):
    """`TableWriter.written_ids` when nothing needs them: adding keeps nothing."""

    def add(self, element: int) -> None:
        """Forget `element` at once."""

    def update(self, *others: Iterable[int]) -> None:
        """Forget `others` at once."""


#: A 400 answer that refuses a request for its size (servers word it variously).
_TOO_LARGE = re.compile(r"(?i)too (large|big|many)|payload|request entity|body size")


def _refused_as_too_large(exc: NinoxAPIError) -> bool:
    """True for a 413, or a 400 whose message says the request is too large."""
    status = getattr(exc, "status", None)
    return status == 413 or (status == 400 and bool(_TOO_LARGE.search(str(exc))))
