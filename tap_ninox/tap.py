"""tap-ninox: settings and stream discovery."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from types import FrameType
from typing import Any

import click
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import AbortedSyncFailedException, AbortedSyncPausedException
from singer_sdk.singerlib import Message, RecordMessage, StateMessage

from ninox_core import __version__
from ninox_core.cli_input import (
    CliInputError,
    ConfigInput,
    check_settings,
    config_or_exit,
    read_json_file,
    read_state_file,
    settings_schema,
)
from ninox_core.client import NinoxClient
from ninox_core.errors import NinoxConfigError, NinoxError
from ninox_core.naming import database_part, stream_names
from ninox_core.schema import NinoxTable
from ninox_core.settings import client_from_config, connection_properties
from ninox_core.termination import Interrupted, TerminationGuard
from tap_ninox.streams import FilesStream, TableStream

FILES_STREAM = "files"

#: Signal handling of this process (see ninox_core.termination).
GUARD = TerminationGuard()


class BufferedMsgSpecWriter(MsgSpecWriter):
    """The SDK's msgspec writer without a flush after every RECORD.

    Flushing per message costs a system call per record. Output is flushed at
    every STATE (so a state never reaches the target before its records) and
    at exit.
    """

    def write_message(self, message: Message) -> None:
        """Write one message; flush only after non-RECORD messages.

        A SIGTERM/SIGINT arriving meanwhile waits until the line is out: a
        half-written message would break the target's input.
        """
        with GUARD.critical():
            sys.stdout.buffer.write(self.format_message(message))
            if not isinstance(message, RecordMessage):
                sys.stdout.flush()


class TapNinox(Tap):
    """Singer tap for Ninox: one stream per table, incremental on change sequences."""

    name = "tap-ninox"
    dynamic_catalog = True
    message_writer_class = BufferedMsgSpecWriter

    config_jsonschema = th.PropertiesList(
        *connection_properties("tap-ninox", __version__),
        th.Property(
            "database_ids",
            th.ArrayType(th.StringType),
            title="Database IDs",
            description="Databases to sync (default: every database of the team).",
        ),
        th.Property(
            "tables",
            th.ArrayType(th.StringType),
            title="Tables",
            description=(
                "Table names or ids to include, in every selected database "
                "(default: all). Applies to discovery and sync."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1),
            default=500,
            title="Page size",
            description="Records per request (the server may cap it).",
        ),
        th.Property(
            "choice_style",
            th.StringType(allowed_values=["names", "ids"]),
            default="names",
            title="Choice style",
            description="Emit choice and multi values as captions (`names`) or ids (`ids`).",
        ),
        th.Property(
            "include_deletes",
            th.BooleanType,
            default=True,
            title="Include deletes",
            description=(
                "On incremental runs, emit one record per deleted id with `_sdc_deleted_at` set."
            ),
        ),
        th.Property(
            "include_files",
            th.BooleanType,
            default=False,
            title="Include files",
            description=(
                "Also emit the `files` stream (attachment metadata of every emitted "
                "record; one request per record)."
            ),
        ),
    ).to_dict()

    @cached_property
    def client(self) -> NinoxClient:
        """The Ninox API client shared by every stream of this run."""
        return client_from_config(self.config, f"tap-ninox/{__version__}")

    @cached_property
    def emitted_record_ids(self) -> dict[tuple[str, str], list[int]]:
        """Ids of the records each table stream emitted, for the files stream."""
        return {}

    def discover_streams(self) -> list[Stream]:
        """One stream per table of every selected database (plus `files`)."""
        team_id = self.config["team_id"]
        databases = self._selected_databases(team_id)
        tables_by_db = self._selected_tables(
            {db["id"]: self.client.list_tables(team_id, db["id"]) for db in databases}
        )
        multi = len(databases) > 1
        include_files = bool(self.config.get("include_files"))
        db_names = {db["id"]: str(db.get("name") or db["id"]) for db in databases}
        files_names = {
            db_id: f"{database_part(db_id, name)}__{FILES_STREAM}" if multi else FILES_STREAM
            for db_id, name in db_names.items()
        }
        entries = [
            (db_id, db_names[db_id], table.id, table.name)
            for db_id, tables in tables_by_db.items()
            for table in tables
        ]
        reserved = set(files_names.values()) if include_files else set()
        names = stream_names(entries, multi_database=multi, reserved=reserved)

        streams: list[Stream] = []
        for db in databases:
            for table in tables_by_db[db["id"]]:
                streams.append(
                    TableStream(
                        self,
                        team_id=team_id,
                        database_id=db["id"],
                        table=table,
                        name=names[(db["id"], table.id)],
                    )
                )
        if include_files:
            for db in databases:
                streams.append(
                    FilesStream(
                        self,
                        team_id=team_id,
                        database_id=db["id"],
                        tables=tables_by_db[db["id"]],
                        name=files_names[db["id"]],
                    )
                )
        return streams

    @property
    def streams(self) -> dict[str, Stream]:
        """Streams by name, with every `files` stream after the table streams.

        The SDK sorts streams by name; a files stream lists the attachments of
        the records the table streams emitted, so it has to run after them.
        """
        streams = super().streams
        if any(isinstance(s, FilesStream) for s in streams.values()):
            ordered = sorted(streams.items(), key=lambda kv: isinstance(kv[1], FilesStream))
            if list(streams) != [name for name, _ in ordered]:
                streams.clear()
                streams.update(ordered)
        return streams

    # ----------------------------------------------------------------- CLI

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Sync; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            if not kwargs.get("about"):
                check_settings(settings_schema(cls), kwargs.get("config"))
            super().invoke(*args, **kwargs)

    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discover; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            if value:
                check_settings(settings_schema(cls), ctx.params.get("config"))
            super().cb_discover(ctx, param, value)

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: one line per failing stream, exit code 1 if any failed."""
        if value in ("disabled", "schema"):
            with _one_line_errors(cls.logger):
                super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config") or ConfigInput()
        with _one_line_errors(cls.logger):
            check_settings(settings_schema(cls), config)
            tap = cls(config=config.config, validate_config=True)
            tap.connection_test()
        ctx.exit()

    @classmethod
    def cb_config(  # type: ignore[override]  # duck-types the SDK's private _ConfigInput
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> ConfigInput:
        """Read `--config` files and `ENV` (numbers and booleans parsed per setting)."""
        return config_or_exit(cls, value)

    @classmethod
    def cb_state(cls, ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        """Read `--state`: a missing file or one that is not a Singer state is one line."""
        if value is None:
            return None
        with _one_line_errors(cls.logger):
            return io.StringIO(json.dumps(read_state_file(value)))
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def cb_catalog(cls, ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        """Read `--catalog`: a missing file or one that is not JSON is one line."""
        if value is None:
            return None
        with _one_line_errors(cls.logger):
            catalog = read_json_file(value, "catalog", 'a Singer catalog {"streams": [...]}')
            if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
                raise CliInputError(
                    f"catalog file {value!r} is not a Singer catalog; expected "
                    '{"streams": [...]} as --discover writes it'
                )
            return io.StringIO(json.dumps(catalog))
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with `--state` and `--catalog` read with one-line errors."""
        command = super().get_singer_command()
        callbacks = {"state": cls.cb_state, "catalog": cls.cb_catalog}
        for param in command.params:
            if param.name in callbacks:
                param.type = click.STRING
                param.callback = callbacks[param.name]
        return command

    def connection_test(self) -> None:
        """`--test`: read one record per stream; each failure is one ERROR line.

        The SDK's version (final) lets a failure end the run with a traceback.
        """
        failures = 0
        quiet = _DropStreamFailureLines()
        for stream in self.streams.values():
            stream.ABORT_AT_RECORD_COUNT = 1
            stream.selected = True
        for stream in self.streams.values():
            stream.logger.addFilter(quiet)
            try:
                with contextlib.suppress(AbortedSyncFailedException, AbortedSyncPausedException):
                    stream.sync()
            except NinoxError as exc:
                failures += 1
                self.logger.error("--test failed: %s", exc)
            finally:
                stream.logger.removeFilter(quiet)
        if failures:
            raise CliInputError(
                f"--test: {failures} of {len(self.streams)} streams failed (see above)"
            )
        self.logger.info("--test: every one of %d streams could be read", len(self.streams))

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: stop at a safe point and exit non-zero (ninox_core.termination).

        This overrides a private SDK method on purpose: the SDK installs it as
        the handler of both signals in its constructor, and its own version
        exits 0, so an orchestrator would record a killed run as a success.
        """
        GUARD.owner = self
        GUARD.handle(signum, frame)

    # ----------------------------------------------------------- selection

    def _selected_databases(self, team_id: str) -> list[dict[str, Any]]:
        available = self.client.list_databases(team_id)
        wanted = self.config.get("database_ids")
        if not wanted:
            return sorted(available, key=lambda d: str(d.get("name") or d["id"]))
        by_id = {d["id"]: d for d in available}
        missing = [db_id for db_id in wanted if db_id not in by_id]
        if missing:
            listing = ", ".join(f"{d['id']} ({d.get('name')})" for d in available) or "none"
            raise NinoxConfigError(
                f"database_ids: no database {', '.join(missing)} in team {team_id}; "
                f"the team has: {listing}"
            )
        return [by_id[db_id] for db_id in dict.fromkeys(wanted)]

    def _selected_tables(
        self, tables_by_db: dict[str, list[NinoxTable]]
    ) -> dict[str, list[NinoxTable]]:
        """Keep the tables the `tables` setting names; fail on a name that matches none."""
        wanted = self.config.get("tables")
        if not wanted:
            return tables_by_db
        every = [t for tables in tables_by_db.values() for t in tables]
        unknown = [w for w in wanted if not any(w in (t.name, t.id) for t in every)]
        if unknown:
            listing = ", ".join(sorted({f"{t.name} ({t.id})" for t in every})) or "none"
            raise NinoxConfigError(
                f"tables: {', '.join(map(repr, unknown))} matches no table in the selected "
                f"databases; the tables are: {listing}"
            )
        keys = set(wanted)
        return {
            db_id: [t for t in tables if t.name in keys or t.id in keys]
            for db_id, tables in tables_by_db.items()
        }


class _DropStreamFailureLines(logging.Filter):
    """Drops the SDK's "An unhandled error occurred" line: `--test` says it in one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other record."""
        return not str(record.msg).startswith("An unhandled error occurred while syncing")


@contextmanager
def _one_line_errors(logger: logging.Logger) -> Iterator[None]:
    """Turn a user error into one ERROR line and exit code 1; a signal into 143/130.

    The message already says what failed, where and what to do; the
    traceback is only logged at DEBUG. Other exceptions are bugs and keep
    their traceback. On SIGTERM/SIGINT the last STATE is written again (it
    covers only messages already written) before exiting 128 + signal.
    """
    try:
        yield
    except NinoxError as exc:
        logger.debug("tap-ninox failed:", exc_info=True)
        logger.error("tap-ninox failed: %s", exc)
        sys.exit(1)
    except Interrupted as stop:
        GUARD.stopping()
        tap = GUARD.owner
        # An empty state (stopped before the input state was even loaded)
        # would tell the orchestrator to forget its bookmarks: write none.
        state = getattr(tap, "state", None) if tap is not None else None
        if state:
            tap.message_writer.write_message(StateMessage(value=state))
        logger.error(
            "tap-ninox %s; the last STATE covers every record written: run again with it "
            "to go on (exit code %d)",
            stop,
            stop.exit_code,
        )
        sys.exit(stop.exit_code)


if __name__ == "__main__":
    TapNinox.cli()
