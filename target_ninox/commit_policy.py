"""When records are committed and which STATE may be emitted: the whole policy.

The algorithm (docs/design.md, "Commit and state"):

1. Every RECORD read waits in its batch (one per sink) until the batch is
   committed; the policy remembers, per batch, the input lines it holds.
2. A STATE message is held, with its input line.
3. After each committed batch (and when a STATE arrives), the latest held
   STATE that no pending record precedes is emitted. A STATE is therefore
   emitted only once every record read before it is in Ninox, and as soon
   as that is true.
4. A STATE also commits the batches that received no record since the
   previous STATE (a stream the tap has finished with), so one stream's
   small tail does not hold back every later STATE, and the batches whose
   first record has waited `MAX_WAIT_SECONDS` (a slow tap's STATEs still
   come out). Every pending record precedes that STATE, so it is emitted
   right after.
5. A full batch of records that must not be written twice (creates
   without `_id` or upsert key: a rerun would create them again) waits for
   the next STATE instead of being committed at once; that STATE commits
   it and is emitted right after. A run killed while it waits for input
   has then written nothing its last STATE does not cover, and POSTs stay
   full. Should no STATE come for `HOLD_BATCHES` batches, they are
   committed anyway (logged).
6. Every way a run ends goes through `end_run`: end of input, bad input,
   Ninox refusing a batch, retries exhausted, SIGTERM/SIGINT. It commits
   what may still be committed (nothing once a write failed: the failed
   batch's records would be missing under a later STATE; after a signal,
   not the batches holding creates read after the last STATE, which a
   rerun sends again; after a clean end it also runs the `overwrite`
   deletions), emits the honest
   STATE and gives the exit code: 0 for a clean end, 1 for a failure,
   128 + signal number for a signal (143 SIGTERM, 130 SIGINT).

7. A batch's write runs on a worker thread while the next batch is read
   (target_ninox/write_queue.py). From the moment it is sent until it is
   settled its records are a pending entry of their own (`batch_sent`), so
   they hold back later STATEs like any pending record. The policy settles
   the write in flight before it reads a STATE, commits other batches,
   emits a STATE or ends the run; a write that failed is reported there.

Every STATE emitted carries a rerun marker (target_ninox/rerun_guard.py):
with it, a rerun from that STATE does not create unkeyed records twice
that the stopped run had already created.

A signal that arrives while the target waits for input stops it at once; one
that arrives while a line is handled (possibly mid-POST) is acted on after
that line, so no write is cut in half. A retry wait or lost-answer round
(on either thread) ends at once with `Interrupted` (ninox_core.termination,
the one interruption both connectors share): its batch counts as failed, so
nothing more is committed and the STATE emitted covers only what was.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ninox_core.termination import Interrupted, TerminationGuard
from target_ninox.errors import WriteError
from target_ninox.rerun_guard import RerunGuard

logger = logging.getLogger(__name__)


#: The clock of `MAX_WAIT_SECONDS` (a name tests can replace).
clock = time.monotonic

#: How long a record waits for its batch to fill before a STATE commits it.
MAX_WAIT_SECONDS = 300.0

#: How many full batches of records that must not be written twice wait for
#: a STATE before they are committed without one.
HOLD_BATCHES = 10


@dataclass
class _Pending:
    """The input lines of a batch's records not yet in Ninox."""

    first_line: int
    last_line: int
    #: Some record must not be written twice (waits for a STATE, rule 5).
    once_only: bool = False
    #: Records waiting.
    count: int = 1
    #: `clock()` when the first of them was read.
    since: float = 0.0


@dataclass
class RunEnd:
    """How a run ended: its exit code and the error to report (if any)."""

    exit_code: int
    error: BaseException | None = None


class _Flight:
    """The key of a batch's records while their write is in flight (rule 7)."""

    __slots__ = ("batch",)

    def __init__(self, batch: Any) -> None:
        self.batch = batch


class CommitPolicy:
    """Holds STATE messages until their records are committed; ends every run."""

    def __init__(
        self,
        commit_one: Callable[[Any], None],
        commit_all: Callable[[], None],
        write_state: Callable[[dict[str, Any]], None] | None = None,
        finish: Callable[[], None] | None = None,
        batch_size: int = 100,
        guard: RerunGuard | None = None,
        settle: Callable[[], None] | None = None,
    ) -> None:
        """`commit_one(batch)`/`commit_all()` send pending batches to Ninox.

        `finish()` runs once after a clean end, everything committed
        (`load_method: overwrite` deletes there). `guard` stamps every
        STATE emitted with its rerun marker (target_ninox/rerun_guard.py).
        `settle()` waits for the write in flight and reports it through
        `batch_committed`/`batch_failed` (rule 7; raises its error).
        """
        self._guard = guard
        self._settle = settle or _nothing
        self._commit_one = commit_one
        self._commit_all = commit_all
        self._finish = finish
        self._batch_size = batch_size
        self._write_state = write_state or write_state_line
        self._pending: dict[int, tuple[Any, _Pending]] = {}
        self._held: list[tuple[int, dict[str, Any]]] = []
        self._last_state_line = 0
        #: The last STATE value emitted (None before the first), as read.
        self.emitted: dict[str, Any] | None = None
        self._emitted_line = 0
        #: True once a batch failed: nothing more may be committed.
        self.write_failed = False
        #: SIGTERM/SIGINT: stop now when waiting for input, else after this line.
        self.termination = TerminationGuard(on_signal=_log_signal)

    # ---------------------------------------------------------------- input

    def record_read(self, batch: Any, line: int, *, once_only: bool = False) -> None:
        """A record from input line `line` now waits in `batch`.

        `once_only`: writing it twice would duplicate it (a create without
        `_id` or key), so it waits for a STATE (rule 5).
        """
        entry = self._pending.get(id(batch))
        if entry is None:
            self._pending[id(batch)] = (batch, _Pending(line, line, once_only, since=clock()))
        else:
            pending = entry[1]
            pending.last_line = line
            pending.once_only = pending.once_only or once_only
            pending.count += 1

    def waits_for_state(self, batch: Any) -> bool:
        """True while a full batch should wait for a STATE to be committed (rule 5)."""
        entry = self._pending.get(id(batch))
        return entry is not None and self._held_for_state(entry[1])

    def _held_for_state(self, pending: _Pending) -> bool:
        return pending.once_only and pending.count >= self._batch_size

    def state_read(self, line: int, value: dict[str, Any]) -> None:
        """Hold a STATE; commit idle and held batches; emit what is honest now."""
        self._settle()
        previous = self._last_state_line
        if self._guard is not None:
            self._guard.state_read(value)
        self._held.append((line, value))
        self._last_state_line = line
        if not self.write_failed:
            due = [
                b
                for b, p in self._pending.values()
                if not isinstance(b, _Flight)
                and (
                    p.last_line < previous
                    or self._held_for_state(p)
                    or clock() - p.since >= MAX_WAIT_SECONDS
                )
            ]
            # Batches that need others' records in Ninox (attachments) go last.
            due.sort(key=lambda b: bool(getattr(b, "commits_last", False)))
            for batch in due:
                self._commit_one(batch)
            # Rule 5: the STATE comes out as soon as these are in, not later.
            self._settle()
        self._emit_honest()

    # --------------------------------------------------------------- commits

    def batch_sent(self, batch: Any) -> _Flight:
        """`batch`'s pending records are being written (rule 7); returns their key.

        The key goes to `batch_committed` or `batch_failed` when the write
        is settled; records `batch` takes from now on are pending apart.
        """
        flight = _Flight(batch)
        entry = self._pending.pop(id(batch), None)
        if entry is not None:
            self._pending[id(flight)] = (flight, entry[1])
        return flight

    def batch_committed(self, batch: Any, *, still_pending: Sequence[int] = ()) -> None:
        """Every pending record of `batch` is in Ninox, but those of `still_pending`.

        `still_pending`: the input lines of records the batch carries to its
        next commit (`files` rows whose record is not read yet,
        target_ninox/file_upload.py); they keep holding back later STATEs.
        """
        if still_pending:
            entry = self._pending.get(id(batch))
            since = entry[1].since if entry is not None else clock()
            self._pending[id(batch)] = (
                batch,
                _Pending(
                    min(still_pending), max(still_pending), count=len(still_pending), since=since
                ),
            )
        else:
            self._pending.pop(id(batch), None)
        self._emit_honest()

    def commit_others(self, batch: Any) -> None:
        """Commit every pending batch but `batch` and those waiting for a STATE.

        For a batch whose records need records of other batches in Ninox
        first (attachments need their record). Creates waiting for their
        STATE (rule 5) stay: they have no record id anything could point to.
        """
        self._settle()
        for other, pending in list(self._pending.values()):
            if other is not batch and not pending.once_only and not isinstance(other, _Flight):
                self._commit_one(other)
        self._settle()

    def batch_failed(self, batch: Any) -> None:
        """A batch could not be committed: its records block every later STATE."""
        self.write_failed = True
        logger.debug("A batch failed; no more commits in this run.")

    def _emit_honest(self) -> None:
        """Emit the latest held STATE that no pending record precedes."""
        first_pending = min((p.first_line for _, p in self._pending.values()), default=None)
        keep = 0
        latest: dict[str, Any] | None = None
        latest_line = 0
        for line, value in self._held:
            if first_pending is not None and line > first_pending:
                break
            latest, latest_line = value, line
            keep += 1
        del self._held[:keep]
        if latest is not None and latest != self.emitted:
            guard = self._guard
            self._write_state(latest if guard is None else guard.stamp(latest, latest_line))
            self.emitted, self._emitted_line = latest, latest_line

    def emit_start(self) -> None:
        """Before the run's first unkeyed create: emit a STATE if none came out yet.

        A STATE covering nothing (`{"bookmarks": {}}`, what a first run
        starts from) with its rerun marker, so that a run killed before its
        first STATE is rerun with the marker too (target_ninox/rerun_guard.py).
        """
        if self.emitted is not None or self._guard is None:
            return
        value: dict[str, Any] = {"bookmarks": {}}
        self._write_state(self._guard.stamp(value, 0))
        self.emitted, self._emitted_line = value, 0

    def emit_again(self) -> None:
        """Emit the latest STATE once more with a fresh rerun marker.

        Before the first unkeyed create into a table whose marker entry is
        a change-feed cursor (target_ninox/rerun_guard.py, per-table mode):
        the marker then names the table with a cursor from before the
        create. Without an emitted STATE it is the start STATE
        (`emit_start`).
        """
        if self._guard is None:
            return
        if self.emitted is None:
            self.emit_start()
            return
        self._write_state(self._guard.stamp(self.emitted, self._emitted_line))

    # ------------------------------------------------------------- run end

    def end_run(self, failure: BaseException | None) -> RunEnd:
        """Commit what may be committed, emit its STATE, give the exit code."""
        self.termination.stopping()  # a signal now only asks to stop; the end is under way
        try:
            self._settle()
        except (Exception, Interrupted) as exc:
            # The write in flight failed (or was stopped in a retry wait)
            # before whatever ended the run: had it not been in the
            # background, the run would have ended there.
            if not isinstance(failure, Interrupted):
                failure = exc
        if isinstance(failure, WriteError):
            self.write_failed = True
        if not self.write_failed:
            try:
                if isinstance(failure, Interrupted):
                    self._commit_before_last_state()
                else:
                    self._commit_all()
                self._settle()
                if failure is None and self._finish is not None:
                    self._finish()
            except Interrupted as exc:  # a retry wait of these commits was cut short
                self.write_failed = True
                failure = failure if isinstance(failure, Interrupted) else exc
            except Exception as exc:  # reported as the run's error
                self.write_failed = True
                if failure is not None:
                    exc.args = (f"{exc} (the run was ending because of: {failure})",)
                failure = exc
        self._emit_honest()
        guard = self._guard
        if failure is not None and guard is not None and guard.unstamped():
            # Creates committed since the last STATE came out: its marker must
            # list them for a rerun (tables without history have no cursor).
            self.emit_again()
        if failure is None:
            if self._guard is not None and self.emitted is not None:
                # A clean end: the next run is no rerun (rerun_guard.py, final marker).
                self._write_state(self._guard.stamp(self.emitted, self._emitted_line, final=True))
            return RunEnd(0)
        if isinstance(failure, Interrupted):
            return RunEnd(128 + failure.signum, failure)
        return RunEnd(1, failure)

    def _commit_before_last_state(self) -> None:
        """Commit every batch but those holding creates read after the last STATE.

        No STATE covers those creates, so a rerun sends them again: written
        now, they would be written twice.
        """
        for batch, pending in list(self._pending.values()):
            if pending.once_only and pending.last_line > self._last_state_line:
                continue
            if not isinstance(batch, _Flight):
                self._commit_one(batch)

    # --------------------------------------------------------------- signals

    def uninterrupted(self) -> AbstractContextManager[None]:
        """Work a signal must not cut (one input line, the final commits).

        A signal received meanwhile stops the run right after it (not when
        the work itself failed: that failure ends the run).
        """
        return self.termination.critical()

    def signals_handled(self) -> AbstractContextManager[None]:
        """Route SIGTERM and SIGINT to the run's `TerminationGuard` while it runs."""
        return self.termination.installed()


def _log_signal(signum: int) -> None:
    logger.info("Received signal %d; committing what was read, then stopping.", signum)


def _nothing() -> None:
    """`settle` when no write runs in the background."""


def write_state_line(value: dict[str, Any]) -> None:
    """Emit one STATE value on stdout (the Singer target's output)."""
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()
