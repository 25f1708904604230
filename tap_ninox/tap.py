"""tap-ninox: settings and stream discovery."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th

from ninox_core import __version__
from ninox_core.client import NinoxClient
from ninox_core.errors import NinoxConfigError
from ninox_core.naming import database_part, stream_names
from ninox_core.schema import NinoxTable
from ninox_core.settings import client_from_config, connection_properties
from tap_ninox.cli import BufferedMsgSpecWriter, NinoxTapCommand
from tap_ninox.streams import FilesStream, TableStream

FILES_STREAM = "files"


class TapNinox(NinoxTapCommand):
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


if __name__ == "__main__":
    TapNinox.cli()
