"""What the sinks and writers of one run are handed, instead of the Target.

Decision 0028 (docs/design.md "The target's parts"): the Target builds one
`RunContext` when it starts and the sinks take it; no part asks the Target
for a service. The context is frozen (its parts keep their own state):

- `Settings`: the settings the parts read, parsed once;
- `Destination`: where the run writes (the client, the backend, the
  database or module and its tables), each read on first use, so a run
  that writes nothing sends nothing;
- `TableWriters`: the run's table writers (one per table and key) and the
  counters per stream;
- the commit policy (commits, STATE, and the termination guard: a signal
  waits for `uninterrupted` work), the write queue, the input line being
  read, the logger, and `Reports` (log lines said once per run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ninox_core.backend import Backend, TableAddress
from ninox_core.backends import open_backend
from ninox_core.cli.settings import client_from_config
from ninox_core.errors import NinoxError, NinoxNotFoundError
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.transport.client import NinoxClient
from target_ninox.batches import WriteStats
from target_ninox.commit_policy import CommitPolicy
from target_ninox.errors import TargetNinoxError
from target_ninox.rerun_guard import RerunGuard
from target_ninox.write_queue import WriteQueue
from target_ninox.writer import TableWriter


@dataclass(frozen=True)
class Settings:
    """The target's settings the parts read (docs/spec.md "Settings"), parsed once."""

    dry_run: bool = False
    hard_delete: bool = False
    #: `upsert`, `append-only` or `overwrite` (docs/design.md, load methods).
    load_method: str = "upsert"
    batch_size: int = 100
    table_mapping: Mapping[str, str] = field(default_factory=dict)
    upsert_keys: Mapping[str, Sequence[str]] = field(default_factory=dict)
    unknown_fields: str = "error"
    #: Ninox 4: the module written into (None: the classic `database_id`).
    module: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings of a validated config (defaults where a setting is absent)."""
        return cls(
            dry_run=bool(config.get("dry_run")),
            hard_delete=bool(config.get("hard_delete", False)),
            load_method=str(config.get("load_method") or "upsert"),
            batch_size=int(config.get("batch_size_rows") or 100),
            table_mapping=config.get("table_mapping") or {},
            upsert_keys=config.get("upsert_keys") or {},
            unknown_fields=config.get("unknown_fields", "error"),
            module=config.get("module") or None,
        )


class Destination:
    """Where a run writes; the client, backend, database and tables are read on first use."""

    def __init__(self, config: Mapping[str, Any], user_agent: str) -> None:
        """Nothing is opened or read yet."""
        self._config = config
        self._user_agent = user_agent

    @cached_property
    def client(self) -> NinoxClient:
        """The one Ninox client of this run."""
        return client_from_config(self._config, self._user_agent)

    @cached_property
    def backend(self) -> Backend:
        """The backend the writers go through (docs/design.md "Layers"), over the client."""
        return open_backend(self._config, self.client)

    def close(self) -> None:
        """Close the client, if one was opened."""
        if "client" in self.__dict__:
            self.client.close()

    @property
    def workspace(self) -> str:
        """The team (classic) or workspace (Ninox 4) written into."""
        return str(self._config.get("workspace_id") or self._config["team_id"])

    @cached_property
    def database(self) -> str:
        """The database (classic) or module (Ninox 4, resolved by name) written into."""
        module = self._config.get("module")
        if not module:
            return str(self._config["database_id"])
        try:
            modules = self.backend.list_databases(self.workspace)
        except NinoxError as exc:
            raise TargetNinoxError(
                f"reading the modules of workspace {self.workspace!r}: {exc}"
            ) from None
        for found in modules:
            if module in (found.name, found.id):
                return found.id
        names = ", ".join(repr(m.name or m.id) for m in modules) or "none"
        raise TargetNinoxError(
            f"module {module!r}: workspace {self.workspace!r} has no module of that name "
            f"(its modules: {names}); set module to one of them"
        )

    @cached_property
    def tables(self) -> list[NinoxTable]:
        """The tables of the target database (module), read once per run."""
        team_id, database_id = self.workspace, self.database
        try:
            return self.backend.list_tables(team_id, database_id)
        except NinoxNotFoundError as exc:
            raise TargetNinoxError(
                f"database_id {database_id!r}: team {team_id!r} has no such database, or the "
                f"API key cannot see it ({exc})"
            ) from None
        except NinoxError as exc:
            raise TargetNinoxError(
                f"reading the tables of database {database_id!r}: {exc}"
            ) from None

    def address(self, table: NinoxTable) -> TableAddress:
        """Where `table` is, for the backend."""
        return self.backend.address(self.workspace, self.database, table)

    def database_sequence(self) -> int:
        """The database's change sequence now (classic rerun markers)."""
        return int(self.backend.database_cursor(self.workspace, self.database).value)


class TableWriters:
    """The run's table writers (shared across SCHEMA changes) and stream counters."""

    def __init__(
        self,
        destination: Destination,
        settings: Settings,
        factory: type[TableWriter] = TableWriter,
    ) -> None:
        """No writer until a sink asks; `guard` is set once the run has one.

        `factory`: the writer class (a test may hand a subclass).
        """
        self._destination = destination
        self._settings = settings
        self._factory = factory
        self._writers: dict[tuple[str, tuple[str, ...]], TableWriter] = {}
        #: Stream name → (its table, its counters), in the order streams came.
        self.stats: dict[str, tuple[NinoxTable, WriteStats]] = {}
        #: Keeps unkeyed creates exact across reruns (None in a dry run).
        self.guard: RerunGuard | None = None

    def writer(self, table: NinoxTable, key_fields: tuple[NinoxField, ...]) -> TableWriter:
        """The writer of a table and key (shared across SCHEMA changes)."""
        cache_key = (table.id, tuple(f.id for f in key_fields))
        writer = self._writers.get(cache_key)
        if writer is None:
            destination = self._destination
            writer = self._factory(
                destination.backend,
                destination.address(table),
                table,
                key_fields,
                dry_run=self._settings.dry_run,
                guard=self.guard,
                remember_written=self._settings.load_method == "overwrite",
            )
            self._writers[cache_key] = writer
        return writer

    def all(self) -> list[TableWriter]:
        """Every writer of the run, in the order they were made."""
        return list(self._writers.values())

    def stream_stats(self, stream_name: str, table: NinoxTable) -> WriteStats:
        """The counters of a stream (one set for all its sinks)."""
        entry = self.stats.get(stream_name)
        if entry is None or entry[0].id != table.id:
            entry = self.stats[stream_name] = (table, WriteStats())
        return entry[1]

    def table_cursor(self, table_id: str) -> Any:
        """The change-feed cursor value of a table now (None without history).

        Read for a STATE's rerun marker with no write in flight; the
        table's writers take it as their lost-answer read-back point too.
        """
        writers = [w for w in self._writers.values() if w.table.id == table_id]
        if not writers or not writers[0].table.has_history:
            return None
        first = writers[0]
        cursor = self._destination.backend.cursor_now(first.address, hint=first.lost.feed_cursor)
        for writer in writers:
            writer.lost.cursor_read(cursor)
        return cursor.value


class Reports:
    """Log lines said once per run (`first`)."""

    def __init__(self) -> None:
        """Nothing said yet."""
        self._said: set[str] = set()

    def first(self, what: str) -> bool:
        """True the first time `what` is reported in this run."""
        if what in self._said:
            return False
        self._said.add(what)
        return True


@dataclass(frozen=True)
class RunContext:
    """What a sink or writer of this run may use (decision 0028)."""

    settings: Settings
    destination: Destination
    writers: TableWriters
    #: Commits and STATE; `uninterrupted()` is the termination guard.
    policy: CommitPolicy
    #: One batch write in flight while the next batch is read.
    writes: WriteQueue
    #: The input line being read (0 before the first).
    input_line: Callable[[], int]
    logger: logging.Logger
    reports: Reports


def context_of(target: object) -> RunContext:
    """The run context of the Target the SDK hands a sink (its one use of the Target)."""
    context = getattr(target, "context", None)
    if not isinstance(context, RunContext):
        raise TypeError(f"{type(target).__name__} has no target-ninox RunContext")
    return context
