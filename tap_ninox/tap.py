"""tap-ninox: settings and stream discovery."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage

from ninox_core import __version__
from ninox_core.client import NinoxClient
from ninox_core.errors import NinoxConfigError, NinoxError
from ninox_core.naming import database_part, stream_names
from ninox_core.schema import NinoxTable
from ninox_core.settings import client_from_config, connection_properties
from tap_ninox.files import (
    FILES_SETTINGS,
    FILES_STREAM,
    check_files_settings,
    files_streams,
    link_files_streams,
)
from tap_ninox.streams import TableStream


class BufferedMsgSpecWriter(MsgSpecWriter):
    """The SDK's msgspec writer without a flush after every RECORD.

    Flushing per message costs a system call per record. Output is flushed at
    every STATE (so a state never reaches the target before its records) and
    at exit.
    """

    def write_message(self, message: Message) -> None:
        """Write one message; flush only after non-RECORD messages."""
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
        *FILES_SETTINGS,
    ).to_dict()

    @cached_property
    def client(self) -> NinoxClient:
        """The Ninox API client shared by every stream of this run."""
        return client_from_config(self.config, f"tap-ninox/{__version__}")

    def discover_streams(self) -> list[Stream]:
        """One stream per table of every selected database (plus `files`)."""
        team_id = self.config["team_id"]
        check_files_settings(self.config)
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
            streams.extend(files_streams(self, team_id, files_names))
        return streams

    @property
    def streams(self) -> dict[str, Stream]:
        """Streams by name; each table stream syncs its own database's `files` child."""
        streams = super().streams
        link_files_streams(streams.values())
        return streams

    # ----------------------------------------------------------------- CLI

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Sync; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            super().invoke(*args, **kwargs)

    @classmethod
    def cb_discover(cls, *args: Any, **kwargs: Any) -> None:
        """Discover; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            super().cb_discover(*args, **kwargs)

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


@contextmanager
def _one_line_errors(logger: logging.Logger) -> Iterator[None]:
    """Turn a Ninox or settings error into one ERROR line and exit code 1.

    The message already says what failed, where and what to do; the
    traceback is only logged at DEBUG. Other exceptions are bugs and keep
    their traceback.
    """
    try:
        yield
    except NinoxError as exc:
        logger.debug("tap-ninox failed:", exc_info=True)
        logger.error("tap-ninox failed: %s", exc)
        sys.exit(1)


if __name__ == "__main__":
    TapNinox.cli()
