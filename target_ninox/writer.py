"""Writing one batch of converted records into one Ninox table.

A batch becomes one `POST .../records` (plus one `DELETE .../records` per run
of deletions). Each record is one element:

- `_id` given → `{"_upsert": true, "_id": N, <field id>: value}`: Ninox keeps
  the id (a Ninox → Ninox copy keeps ids);
- upsert key given → `{"id": existing, "fields": {...}}` when the key index
  knows the key, else `{"fields": {...}}` (create);
- else `{"fields": {...}}` (create).

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
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ninox_core.client import NinoxClient
from ninox_core.errors import (
    NinoxBadRequestError,
    NinoxError,
    NinoxNotFoundError,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.schema import NinoxField, NinoxTable
from target_ninox.answers import FieldIds
from target_ninox.errors import WriteError, show_value
from target_ninox.key_index import INDEX_PAGE_SIZE, Key, KeyIndex, normalize
from target_ninox.mapping import describe_table
from target_ninox.rerun_guard import RerunGuard, read_candidates

logger = logging.getLogger(__name__)

#: How many lost answers in a row one batch survives before the run stops.
MAX_LOST_ANSWERS = 5


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
    lost_answers: int = 0
    recovered: int = 0
    #: Unkeyed creates a stopped run had already created (not created again).
    found: int = 0


@dataclass
class _Planned:
    """One element of a POST and the input records merged into it."""

    kind: str  # "create", "update" or "upsert"
    element: dict[str, Any]
    sources: list[PendingRecord]
    key: Key | None = None
    #: How the element counts in the stats (a lost create resent as an
    #: update still counts as created).
    counts_as: str = ""
    result_id: int | None = None

    def __post_init__(self) -> None:
        if not self.counts_as:
            self.counts_as = self.kind


class TableWriter:
    """Writes batches into one table; owns the table's key index.

    Shared by every sink that writes into the same table with the same key
    fields, so a SCHEMA change does not re-read the index.
    """

    def __init__(
        self,
        client: NinoxClient,
        team_id: str,
        database_id: str,
        table: NinoxTable,
        key_fields: Sequence[NinoxField] = (),
        *,
        dry_run: bool = False,
        guard: RerunGuard | None = None,
    ) -> None:
        """Nothing is read until the first batch needs it.

        `guard` learns the unkeyed creates and sequences, and gives the
        records a stopped run may have created (target_ninox/rerun_guard.py).
        """
        self.client = client
        self.guard = guard
        self.team_id = team_id
        self.database_id = database_id
        self.table = table
        self.dry_run = dry_run
        self.index: KeyIndex | None = KeyIndex(table, key_fields) if key_fields else None
        #: Highest database sequence known to be at or before every write
        #: of this run that is not confirmed yet; None until needed.
        self.known_sq: int | None = None
        # Records this run created whose sequence is not known to be
        # <= known_sq: a re-read may return them, and they are not new.
        self._recent_created: set[int] = set()
        self._dry_ids = 0
        self.posts = 0
        #: Ids of the records this run wrote (for `load_method: overwrite`).
        self.written_ids: set[int] = set()
        # `{"fields": ...}` keys are resolved by name, else id (CONTRACT §6),
        # so a field whose id is another field's name is sent by its name.
        self._post_key = {
            f.id: f.name for f in table.fields if table.field_by_name(f.id) not in (None, f)
        }
        self._field_id = {name: fid for fid, name in self._post_key.items()}
        self._field_ids = FieldIds(table)

    # ------------------------------------------------------------ entry

    def write(
        self,
        stream_name: str,
        batch: Sequence[PendingRecord],
        stats: WriteStats,
        key_properties: Sequence[str] = (),
    ) -> None:
        """Write one batch: its writes and deletions, in input order."""
        for is_delete, run in _runs(batch):
            if is_delete:
                self._delete(stream_name, run, stats)
            else:
                self._write_run(stream_name, run, stats, key_properties)

    # ------------------------------------------------------------ index

    def ensure_index(self) -> KeyIndex:
        """The key index, read from Ninox on first use."""
        if self.index is None:
            raise RuntimeError("this table writer has no upsert keys")
        if not self.index.loaded:
            self.index.load(self.client, self.team_id, self.database_id)
            if self.known_sq is None:
                self.known_sq = self.index.max_sequence
        return self.index

    # ----------------------------------------------------------- writes

    def _write_run(
        self,
        stream_name: str,
        run: Sequence[PendingRecord],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> None:
        if any(r.key is not None and r.record_id is None for r in run):
            self.ensure_index()
        run = self._not_yet_created(stream_name, run, stats)
        if not run:
            return
        unkeyed = any(r.record_id is None and r.key is None for r in run)
        if self.guard is not None and not self.dry_run and unkeyed:
            self.guard.about_to_create()
        for attempt in (1, 2):
            planned = self._plan(run, stats if attempt == 1 else None)
            if self.dry_run:
                self._apply_dry(planned, stats)
                return
            try:
                self._post(stream_name, planned, stats, key_properties)
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
                key_fields = [self._field(fid) for fid in self.index.key_field_ids]
                self.index = KeyIndex(self.table, key_fields)
                self.ensure_index()

    def _not_yet_created(
        self, stream_name: str, run: Sequence[PendingRecord], stats: WriteStats
    ) -> Sequence[PendingRecord]:
        """`run` without the unkeyed creates a stopped run already created.

        The candidates come from the rerun marker of the STATE the run
        started from (target_ninox/rerun_guard.py); they are matched the way
        a lost answer is reconciled (`_first_match`).
        """
        guard = self.guard
        unkeyed = [r for r in run if r.record_id is None and r.key is None and not r.deleted]
        if guard is None or self.dry_run or not unkeyed:
            return run
        try:
            candidates, claimed = guard.candidates(
                self.table.id,
                read_candidates(
                    self.client, self.team_id, self.database_id, self.table.id, INDEX_PAGE_SIZE
                ),
            )
        except NinoxError as exc:
            raise WriteError(
                f"stream {stream_name!r}: reading back {describe_table(self.table)} for the "
                f"records a stopped run may already have created failed ({exc}). Nothing "
                f"from {_lines(run)} was written; rerun from the last STATE emitted."
            ) from None
        if len(claimed) >= len(candidates):
            return run
        found: set[int] = set()
        for record in unkeyed:
            wanted = {fid: normalize(v) for fid, v in _set_only(record.fields).items()}
            match = self._first_match(wanted, candidates, claimed)
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
        found = self.table.field_by_id(field_id)
        assert found is not None
        return found

    def _plan(self, run: Sequence[PendingRecord], stats: WriteStats | None) -> list[_Planned]:
        """Turn records into POST elements, merging records with the same key or id."""
        planned: list[_Planned] = []
        by_id: dict[int, _Planned] = {}
        by_key: dict[Key, _Planned] = {}
        index = self.index
        for record in run:
            if record.record_id is not None:
                same = by_id.get(record.record_id)
                if same is not None:
                    same.element.update(record.fields)
                    same.sources.append(record)
                    if stats is not None:
                        stats.merged += 1
                    continue
                element = {"_upsert": True, "_id": record.record_id, **record.fields}
                item = _Planned("upsert", element, [record], record.key)
                by_id[record.record_id] = item
                if record.key is not None and index is not None:
                    # A later keyed record of this key updates this record.
                    index.set(record.key, record.record_id)
            elif record.key is not None:
                same = by_key.get(record.key)
                if same is not None:
                    _merge_fields(same, self._keyed(record.fields))
                    same.sources.append(record)
                    if stats is not None:
                        stats.merged += 1
                    continue
                existing = index.get(record.key) if index is not None else None
                if existing is not None:
                    fields = self._keyed(record.fields)
                    item = _Planned("update", {"id": existing, "fields": fields}, [record])
                else:
                    fields = self._keyed(_set_only(record.fields))
                    item = _Planned("create", {"fields": fields}, [record])
                item.key = record.key
                by_key[record.key] = item
            else:
                item = _Planned(
                    "create", {"fields": self._keyed(_set_only(record.fields))}, [record]
                )
            planned.append(item)
        return planned

    def _keyed(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Field ids → the keys a `{"fields": ...}` element uses (ids, nearly always)."""
        if not self._post_key:
            return fields
        return {self._post_key.get(fid, fid): value for fid, value in fields.items()}

    def _apply_dry(self, planned: Sequence[_Planned], stats: WriteStats) -> None:
        """Count what would change; keep the index as if it had been written."""
        for item in planned:
            if item.kind == "create" and item.key is not None and self.index is not None:
                self._dry_ids -= 1  # a placeholder id no real record has
                self.index.set(item.key, self._dry_ids)
            if item.kind != "create":
                self.written_ids.add(int(self._target_id(item) or 0))
            _count(stats, item.counts_as)

    def _post(
        self,
        stream_name: str,
        planned: list[_Planned],
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
        pending = planned
        idle_rounds = 0
        while True:
            if self.known_sq is None and (
                len(pending) > 1 or any(p.kind == "create" for p in pending)
            ):
                # The point to read back from should an answer be lost.
                self.known_sq = self._database_sequence(stream_name, pending, key_properties)
            self.posts += 1
            try:
                answer = self.client.save_records(
                    self.team_id,
                    self.database_id,
                    self.table.id,
                    [p.element for p in pending],
                    resend=False if len(pending) > 1 else None,
                )
            except NinoxWriteOutcomeUnknown as exc:
                stats.lost_answers += 1
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
                if idle_rounds > max(MAX_LOST_ANSWERS, self.client.max_retries):
                    break
                if idle_rounds:
                    time.sleep(min(30.0, self.client.backoff_base * 2 ** (idle_rounds - 1)))
                continue
            except NinoxNotFoundError:
                raise
            except NinoxError as exc:
                raise self._failed(stream_name, pending, exc, key_properties) from None
            self._take_answer(pending, answer, stats)
            return
        raise WriteError(
            f"stream {stream_name!r}: {idle_rounds} POSTs in a row to "
            f"{describe_table(self.table)} failed or lost their answer without applying "
            f"anything; giving up. {self._unknown_outcome(pending)}"
        )

    def _database_sequence(
        self, stream_name: str, pending: Sequence[_Planned], key_properties: Sequence[str]
    ) -> int:
        try:
            return self.client.database_sequence(self.team_id, self.database_id)
        except NinoxError as exc:
            raise self._failed(stream_name, pending, exc, key_properties) from None

    def _take_answer(
        self, pending: Sequence[_Planned], answer: Sequence[Any], stats: WriteStats
    ) -> None:
        """Learn new ids (key index) and the highest sequence from a POST's answer."""
        top = self.known_sq or 0
        every_sequence = True
        created: list[int] = []
        for item in pending:
            if item.kind != "create":
                self.written_ids.add(int(self._target_id(item) or 0))
        for item, record in zip(pending, answer, strict=False):
            if not isinstance(record, dict):
                every_sequence = False
                continue
            if record.get("id") is not None:
                self.written_ids.add(int(record["id"]))
            sequence = record.get("sequence")
            if isinstance(sequence, int):
                top = max(top, sequence)
            else:
                every_sequence = False
            if self.guard is not None:
                self.guard.saw_sequence(sequence)
            if item.kind == "create":
                record_id = record.get("id", record.get("_id"))
                if record_id is not None:
                    created.append(int(record_id))
                    if item.key is not None and self.index is not None:
                        self.index.set(item.key, int(record_id))
                    elif item.key is None and self.guard is not None:
                        self.guard.created(self.table.id, item.sources[0].line, int(record_id))
        if self.guard is not None and not every_sequence:
            self.guard.wrote_unsequenced()
        for item in pending:
            _count(stats, item.counts_as)
        if self.known_sq is not None and top > self.known_sq and every_sequence:
            # Everything this run wrote is now at or below known_sq.
            self.known_sq = top
            self._recent_created.clear()
        else:
            self._recent_created.update(created)

    def _reconcile(
        self,
        stream_name: str,
        pending: list[_Planned],
        stats: WriteStats,
        key_properties: Sequence[str],
    ) -> list[_Planned]:
        """After a lost answer: find what Ninox applied; return what to send again."""
        since = self.known_sq or 0
        try:
            changed = [
                record
                for page in self.client.iter_record_pages(
                    self.team_id,
                    self.database_id,
                    self.table.id,
                    since_sq=since,
                    page_size=INDEX_PAGE_SIZE,
                    style="ids",
                )
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
                self.guard.saw_sequence(record.get("sequence"))
            self.guard.wrote_unsequenced()  # what was applied may not be among them
        sequences = [r.get("sequence") for r in changed]
        if changed and all(isinstance(q, int) for q in sequences):
            # Everything the lost POST applied is in `changed`: the next
            # read-back can start after it.
            self.known_sq = max(since, *(q for q in sequences if isinstance(q, int)))
            self._recent_created.clear()
        by_id = {int(r["id"]): self._field_ids(r) for r in changed}
        claimed: set[int] = set()
        resend: list[_Planned] = []
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
                        item.element = {"id": match, "fields": item.element["fields"]}
                    match = None
            if match is None:
                resend.append(item)
                continue
            if item.counts_as == "create":
                self._recent_created.add(match)
            self.written_ids.add(match)
            _count(stats, item.counts_as)
            applied += 1
        stats.recovered += applied
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

    def _target_id(self, item: _Planned) -> int | None:
        """The record an element writes into (for a keyed create: its key's holder)."""
        if item.kind == "create":
            index = self.index
            return index.get(item.key) if item.key is not None and index is not None else None
        return int(item.element["id"] if item.kind == "update" else item.element["_id"])

    def _written(self, item: _Planned) -> dict[str, Any]:
        """An element's values by field id."""
        if item.kind == "upsert":
            return {k: v for k, v in item.element.items() if k not in ("_upsert", "_id")}
        return {self._field_id.get(k, k): v for k, v in item.element["fields"].items()}

    def _holds(self, item: _Planned, fields: dict[str, Any] | None) -> bool:
        """Whether a record read back holds every value the element writes."""
        if fields is None:
            return False
        return all(normalize(fields.get(f)) == normalize(v) for f, v in self._written(item).items())

    def _find_applied(
        self, item: _Planned, changed: Sequence[dict[str, Any]], claimed: set[int]
    ) -> int | None:
        """A changed record, new to this run, with exactly the element's values."""
        wanted = {
            self._field_id.get(key, key): normalize(v) for key, v in item.element["fields"].items()
        }
        return self._first_match(wanted, changed, claimed)

    def _first_match(
        self, wanted: dict[str, Any], changed: Sequence[dict[str, Any]], claimed: set[int]
    ) -> int | None:
        """The first unclaimed record of `changed` holding exactly `wanted`.

        `wanted`: field id → normalized value. Records this run created
        are never a match.
        """
        for record in changed:
            record_id = int(record["id"])
            if record_id in claimed or record_id in self._recent_created:
                continue
            fields = self._field_ids(record)
            if all(normalize(fields.get(fid)) == v for fid, v in wanted.items()):
                return record_id
        return None

    # ---------------------------------------------------------- deletes

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
                self.client.delete_records(self.team_id, self.database_id, self.table.id, ids)
            except NinoxError as exc:
                lines = f"{run[0].line}-{run[-1].line}" if len(run) > 1 else str(run[0].line)
                raise WriteError(
                    f"stream {stream_name!r}: deleting {len(ids)} records of "
                    f"{describe_table(self.table)} (input lines {lines}) failed: {exc}"
                ) from None
        if self.index is not None:
            self.index.discard_ids(ids)
        stats.deleted += len(ids)

    # ----------------------------------------------------------- errors

    def _failed(
        self,
        stream_name: str,
        pending: Sequence[_Planned],
        exc: NinoxError,
        key_properties: Sequence[str] = (),
    ) -> WriteError:
        """The one-line error for a batch Ninox refused or that could not be sent."""
        head = f"stream {stream_name!r}: writing to {describe_table(self.table)} failed"
        tail = (
            "Earlier batches are in Ninox; this batch and the input after it were not "
            "written, and no STATE was emitted for them."
        )
        if isinstance(exc, NinoxBadRequestError):
            index = record_index(exc.server_message)
            if index is not None and 0 <= index < len(pending):
                who = "the record from " + _label(pending[index], key_properties)
            else:
                who = "one of the records from " + _span(pending)
            return WriteError(
                f"{head}: Ninox refused {who}: {exc.server_message}. Fix that record. {tail}"
            )
        return WriteError(f"{head} ({_span(pending)}): {exc}. {tail}")

    def _unknown_outcome(
        self, pending: Sequence[_Planned], key_properties: Sequence[str] = ()
    ) -> str:
        creates = [p for p in pending if p.kind == "create"]
        return (
            f"The records from {_span(creates or pending)} may or may not be in Ninox; no "
            "STATE was emitted for them. Check the table before running again"
            + (
                " (keyed records are never duplicated by a rerun)."
                if key_properties or self.index is not None
                else "; a rerun of unkeyed records can create them twice."
            )
        )


# ---------------------------------------------------------------- helpers

_RECORD_INDEX = re.compile(r"\b(?:record|element|item|index)\D{0,12}?(\d+)", re.IGNORECASE)


def record_index(message: str) -> int | None:
    """The 0-based position of the refused record in Ninox's 400 message."""
    match = _RECORD_INDEX.search(message or "")
    return int(match.group(1)) if match else None


def _runs(batch: Sequence[PendingRecord]) -> Iterator[tuple[bool, list[PendingRecord]]]:
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


def _set_only(fields: dict[str, Any]) -> dict[str, Any]:
    """A new record needs no nulls: Ninox leaves empty fields out anyway."""
    return {k: v for k, v in fields.items() if v is not None}


def _merge_fields(item: _Planned, fields: dict[str, Any]) -> None:
    """Apply a later record of the same key to an element: later values win."""
    target = item.element["fields"]
    for field_id, value in fields.items():
        if value is None and item.kind == "create":
            target.pop(field_id, None)
        else:
            target[field_id] = value


def _count(stats: WriteStats, kind: str) -> None:
    if kind == "create":
        stats.created += 1
    elif kind == "update":
        stats.updated += 1
    else:
        stats.upserted += 1


def _label(item: _Planned, key_properties: Sequence[str]) -> str:
    """`input line 12 (key email='a@b')`, naming every merged line."""
    lines = [r.line for r in item.sources]
    text = (
        f"input line {lines[0]}" if len(lines) == 1 else "input lines " + ", ".join(map(str, lines))
    )
    first = item.sources[0]
    if first.record_id is not None:
        return f"{text} (_id {first.record_id})"
    if first.key_values is not None and key_properties:
        pairs = zip(key_properties, first.key_values, strict=False)
        shown = ", ".join(f"{p}={show_value(v, 40)}" for p, v in pairs)
        return f"{text} (key {shown})"
    return text


def _lines(run: Sequence[PendingRecord]) -> str:
    low, high = run[0].line, run[-1].line
    return f"input line {low}" if low == high else f"input lines {low}-{high}"


def _span(pending: Sequence[_Planned]) -> str:
    lines = [r.line for p in pending for r in p.sources]
    if not lines:
        return "no input lines"
    low, high = min(lines), max(lines)
    return f"input line {low}" if low == high else f"input lines {low}-{high}"
