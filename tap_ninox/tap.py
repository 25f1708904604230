"""tap-ninox: settings and stream discovery."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from singer_sdk import Stream
from singer_sdk import typing as th
from typing_extensions import override

from ninox_core import __version__
from ninox_core.backend import Backend, Container
from ninox_core.backends import open_backend
from ninox_core.classic.backend import ClassicBackend
from ninox_core.cli.settings import client_from_config, connection_properties
from ninox_core.errors import NinoxConfigError
from ninox_core.model import fieldtypes
from ninox_core.model.naming import database_part, field_column, stream_names
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.transport.client import NinoxClient
from tap_ninox.catalog import CatalogStream
from tap_ninox.catalog import annotate as annotate_catalog
from tap_ninox.catalog import read_input as read_catalog_ids
from tap_ninox.cli import BufferedMsgSpecWriter, NinoxTapCommand, quiet_closed_pipe
from tap_ninox.files import (
    FILES_SETTINGS,
    FILES_STREAM,
    check_files_settings,
    files_streams,
    link_files_streams,
)
from tap_ninox.records import META_SCHEMA
from tap_ninox.state_check import check_input_state
from tap_ninox.streams import TableStream


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
            "modules",
            th.ArrayType(th.StringType),
            title="Modules",
            description=(
                "Ninox 4 (`workspace_id`) only: the modules to sync, by name "
                "(default: every module of the workspace)."
            ),
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
            # The most the classic API answers: a full read takes the fewest calls.
            default=ClassicBackend.capabilities.max_page_size,
            title="Page size",
            description=(
                "Records per request, at most what the API answers (classic 1000, "
                "Ninox 4 100; the default asks for that most). A server that caps it "
                "lower is still read in full."
            ),
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

    def __init__(self, *, catalog: Any = None, **kwargs: Any) -> None:
        """Keep the Ninox ids of the input catalog (the SDK's model drops them)."""
        self.catalog_streams = read_catalog_ids(catalog)
        super().__init__(catalog=catalog, **kwargs)

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        """Load `state` once it is known to be this run's (`state_check.py`).

        The SDK calls this at the end of its constructor, with the catalog
        read: the check runs before `sync_all` writes anything. It reads
        the state as given (the SDK adds a bookmark entry per stream later).
        """
        if (state or {}).get("bookmarks"):
            selected = [
                stream
                for stream in self.streams.values()
                if stream.selected or stream.has_selected_descendents
            ]
            check_input_state(
                state,
                [stream.name for stream in selected if stream.replication_key],
                [stream.name for stream in selected],
                self.logger,
                workspace=self.config.get("workspace_id") or None,
            )
        super().load_state(state)

    @property
    def workspace(self) -> str:
        """The classic team id, or the Ninox 4 workspace id."""
        return str(self.config.get("workspace_id") or self.config["team_id"])

    @property
    def names_are_ids(self) -> bool:
        """True on the Ninox 4 Public API: tables and fields are known by name only.

        A renamed table or field then looks like a dropped one plus a new one
        (docs/design.md "Reading Ninox 4 tables").
        """
        return bool(self.config.get("workspace_id"))

    @cached_property
    def client(self) -> NinoxClient:
        """The Ninox API client shared by every stream of this run."""
        return client_from_config(self.config, f"tap-ninox/{__version__}")

    @cached_property
    def backend(self) -> Backend:
        """The backend the streams read through (docs/design.md "Layers")."""
        return open_backend(self.config, self.client)

    @property
    @override
    def catalog_dict(self) -> dict[str, Any]:
        """The discovered catalog, with Ninox ids in the metadata (see `catalog.py`)."""
        ids = {
            stream.name: (
                stream.database_id,
                stream.table.id,
                stream.table.name,
                stream.columns,
                {field.id: field.type for field in stream.table.fields},
            )
            for stream in self.streams.values()
            if isinstance(stream, TableStream)
        }
        return annotate_catalog(super().catalog_dict, ids)

    @override
    def discover_streams(self) -> list[Stream]:
        """One stream per table of every selected database (plus `files`).

        With an input catalog that carries Ninox ids, its streams are built
        from the tables with those ids, under the catalog's names; other
        tables get the names discovery gives them.
        """
        team_id = self.workspace
        check_api_settings(self.config)
        check_files_settings(self.config)
        if self.config.get("include_files") and not self.backend.capabilities.files:
            raise NinoxConfigError(
                "include_files: the API that workspace_id selects (the Ninox 4 Public API) "
                "offers no way to list or download attachments; set include_files to false"
            )
        databases = self._selected_databases(team_id)
        all_tables = {db.id: self.backend.list_tables(team_id, db.id) for db in databases}
        tables_by_db = self._selected_tables(all_tables)
        multi = len(databases) > 1
        include_files = bool(self.config.get("include_files"))
        db_names = {db.id: db.name or db.id for db in databases}
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
        claimed: set[tuple[str, str]] = set()
        for entry in self.catalog_streams.values():
            stream = self._stream_from_catalog(team_id, entry, all_tables, tables_by_db)
            if stream is not None:
                streams.append(stream)
                claimed.add((stream.database_id, stream.table.id))
        taken = {stream.name for stream in streams}
        for db in databases:
            for table in tables_by_db[db.id]:
                name = names[(db.id, table.id)]
                if (db.id, table.id) in claimed or name in taken:
                    continue
                streams.append(
                    TableStream(self, team_id=team_id, database_id=db.id, table=table, name=name)
                )
        if include_files:
            streams.extend(files_streams(self, team_id, files_names))
        return streams

    def _stream_from_catalog(
        self,
        team_id: str,
        entry: CatalogStream,
        all_tables: dict[str, list[NinoxTable]],
        tables_by_db: dict[str, list[NinoxTable]],
    ) -> TableStream | None:
        """The stream of a selected catalog entry, found by its table id.

        A table that no longer exists fails the run (its data would
        otherwise be skipped silently); renames are warned about once each.
        """
        if not entry.selected:
            return None
        public = self.names_are_ids
        container = "module" if public else "database"
        table_key = "table" if public else "table id"
        where = (
            f"stream '{entry.name}' ({table_key} {entry.table_id}, {container} {entry.database_id})"
        )
        if entry.database_id not in all_tables:
            if self.config.get("modules" if public else "database_ids"):
                self.logger.warning(
                    "%s is selected in the catalog, but its %s is not in the "
                    "%s setting; it is not synced",
                    where,
                    container,
                    "modules" if public else "database_ids",
                )
                return None
            if public:
                raise NinoxConfigError(
                    f"{where}: stale catalog: module {entry.database_id!r} no longer exists in "
                    f"workspace {team_id} (renamed or deleted: Ninox 4 knows modules by name "
                    "only); run --discover for a new catalog, or deselect the stream"
                )
            raise NinoxConfigError(
                f"{where}: the catalog's database no longer exists in team {team_id}; "
                "run --discover for a new catalog, or deselect the stream"
            )
        table = next((t for t in all_tables[entry.database_id] if t.id == entry.table_id), None)
        if table is None and public:
            raise NinoxConfigError(
                f"{where}: stale catalog: table {entry.table_id!r} no longer exists in module "
                f"{entry.database_id!r} (renamed or deleted: Ninox 4 knows tables by name "
                "only); run --discover for a new catalog, or deselect the stream"
            )
        if table is None:
            raise NinoxConfigError(
                f"{where}: the catalog's table no longer exists in Ninox (a renamed "
                "table keeps its id: this one was deleted); run --discover for a new "
                "catalog, or deselect the stream"
            )
        if all(t.id != table.id for t in tables_by_db.get(entry.database_id, ())):
            return None  # left out by the `tables` setting
        if entry.table_name is not None and entry.table_name != table.name:
            self.logger.warning(
                "Table %r (id %s) was renamed %r since the catalog was discovered; "
                "its stream keeps the catalog's name %r",
                entry.table_name,
                table.id,
                table.name,
                entry.name,
            )
        columns, absent = self._catalog_columns(entry, table)
        return TableStream(
            self,
            team_id=team_id,
            database_id=entry.database_id,
            table=table,
            name=entry.name,
            columns=columns,
            schema=entry.schema or None,
            absent=absent,
        )

    def _catalog_columns(
        self, entry: CatalogStream, table: NinoxTable
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """Field id → the catalog's property name, and the catalog's vanished fields.

        Properties without a field id (a hand-made catalog) match a field by
        its discovered column name. Fields the catalog does not know (added
        since) are not emitted: the catalog's schema has no column for them.
        """
        properties = dict((entry.schema or {}).get("properties") or {})
        by_column = {field_column(f.name, f.id): f for f in table.fields}
        columns: dict[str, str] = {}
        absent: list[str] = []
        for field_id, column in entry.columns.items():
            field = table.field_by_id(field_id)
            if field is None and self.names_are_ids and column not in entry.deselected:
                raise NinoxConfigError(
                    f"stream '{entry.name}' (table {table.name!r}, module {entry.database_id}): "
                    f"stale catalog: field {field_id!r} (column {column!r}) no longer exists "
                    "(renamed or deleted: Ninox 4 knows fields by name only); run --discover "
                    "for a new catalog, or deselect the column"
                )
            if field is None:
                self.logger.warning(
                    "Table %r field id %s (column %r of stream %r) no longer exists; "
                    "the column is emitted as null",
                    table.name,
                    field_id,
                    column,
                    entry.name,
                )
                absent.append(column)
                continue
            if column not in entry.deselected:
                _check_type(entry, table, field, column)
            if field_column(field.name, field.id) != column:
                self.logger.warning(
                    "Table %r field %s was renamed %r since the catalog was discovered; "
                    "its values are still emitted as %r",
                    table.name,
                    field_id,
                    field.name,
                    column,
                )
            columns[field_id] = column
        named = set(columns.values()) | set(absent)
        for column in properties:
            if column in named or column in META_SCHEMA:
                continue
            field = by_column.get(column)
            if field is not None and field.id not in columns:
                if column not in entry.deselected:
                    _check_type(entry, table, field, column)
                columns[field.id] = column
        return columns, tuple(absent)

    @property
    @override
    def streams(self) -> dict[str, Stream]:
        """Streams by name; each table stream syncs its own database's `files` child."""
        streams = super().streams
        link_files_streams(streams.values())
        for stream in streams.values():
            quiet_closed_pipe(stream.logger)
        return streams

    # ----------------------------------------------------------- selection

    def _selected_databases(self, team_id: str) -> list[Container]:
        available = self.backend.list_databases(team_id)
        public = self.names_are_ids
        wanted = self.config.get("modules" if public else "database_ids")
        if not wanted:
            return sorted(available, key=lambda d: d.name or d.id)
        by_id = {d.id: d for d in available}
        missing = [db_id for db_id in wanted if db_id not in by_id]
        if missing and public:
            listing = ", ".join(sorted(by_id)) or "none"
            raise NinoxConfigError(
                f"modules: no module {', '.join(map(repr, missing))} in workspace {team_id}; "
                f"the workspace has: {listing}"
            )
        if missing:
            listing = ", ".join(f"{d.id} ({d.name})" for d in available) or "none"
            raise NinoxConfigError(
                f"database_ids: no database {', '.join(missing)} in team {team_id}; "
                f"the team has: {listing}"
            )
        return [by_id[db_id] for db_id in dict.fromkeys(wanted)]

    def _selected_tables(
        self, tables_by_db: dict[str, list[NinoxTable]]
    ) -> dict[str, list[NinoxTable]]:
        """Keep the tables the `tables` setting names; fail on a name that matches none.

        A table renamed since the input catalog was discovered also answers
        to the name the catalog recorded, so the setting stays valid too.
        """
        wanted = self.config.get("tables")
        if not wanted:
            return tables_by_db
        old_names: dict[tuple[str, str], str] = {
            (entry.database_id, entry.table_id): entry.table_name
            for entry in self.catalog_streams.values()
            if entry.table_name
        }

        def names_of(db_id: str, table: NinoxTable) -> set[str]:
            known = {table.name, table.id}
            old = old_names.get((db_id, table.id))
            return known | {old} if old else known

        every = [(db_id, t) for db_id, tables in tables_by_db.items() for t in tables]
        matched = {w for db_id, t in every for w in names_of(db_id, t)}
        unknown = [w for w in wanted if w not in matched]
        if unknown:
            listing = ", ".join(sorted({f"{t.name} ({t.id})" for _, t in every})) or "none"
            raise NinoxConfigError(
                f"tables: {', '.join(map(repr, unknown))} matches no table in the selected "
                f"databases; the tables are: {listing}"
            )
        keys = set(wanted)
        return {
            db_id: [t for t in tables if names_of(db_id, t) & keys]
            for db_id, tables in tables_by_db.items()
        }


def check_api_settings(config: Mapping[str, Any]) -> None:
    """One line for a setting of the other API generation (docs/spec.md "Settings").

    `modules` belongs to Ninox 4 (`workspace_id`), `database_ids` to the
    classic API (`team_id`).
    """
    if config.get("workspace_id"):
        if config.get("database_ids"):
            raise NinoxConfigError(
                "database_ids is a classic API setting, but workspace_id selects the Ninox 4 "
                "Public API, whose databases are modules: name them in modules instead"
            )
    elif config.get("modules"):
        raise NinoxConfigError(
            "modules is a Ninox 4 setting (with workspace_id); the classic API (team_id) "
            "selects databases by id: use database_ids instead"
        )


def _check_type(entry: CatalogStream, table: NinoxTable, field: NinoxField, column: str) -> None:
    """Fail on a catalog column whose field changed type since discovery (stale catalog).

    The catalog's SCHEMA was made for the old type; values of the new one
    would break it. A catalog that recorded the field's Ninox type is
    compared by that type; an older one (no `ninox-field-type`) by the
    column's JSON schema, so a change it cannot see (text → email, both
    strings) is accepted: its values still fit the SCHEMA (docs/design.md
    "Catalogs and renames").
    """
    recorded = entry.field_types.get(field.id)
    if recorded is not None:
        if recorded == field.type:
            return
        was = recorded
    else:
        old_schema = ((entry.schema or {}).get("properties") or {}).get(column)
        if not isinstance(old_schema, dict) or _json_shape(old_schema) == _json_shape(
            fieldtypes.singer_schema(field)
        ):
            return
        was = f"JSON {_describe_shape(old_schema)}"
    raise NinoxConfigError(
        f"stream '{entry.name}' (table {table.name!r}, id {table.id}): stale catalog: field "
        f"{field.name!r} (id {field.id}, column {column!r}) was {was} at discovery and is "
        f"{field.type} now; run --discover again for a new catalog (or deselect the column)"
    )


def _json_shape(schema: dict[str, Any]) -> tuple[Any, ...]:
    """What of a column's JSON schema its values must match: types, format, item types."""
    types = schema.get("type")
    kinds = frozenset([types] if isinstance(types, str) else types or ()) - {"null"}
    items = schema.get("items")
    return (kinds, schema.get("format"), _json_shape(items) if isinstance(items, dict) else None)


def _describe_shape(schema: dict[str, Any]) -> str:
    kinds, fmt, _ = _json_shape(schema)
    return "/".join(sorted(kinds)) + (f" ({fmt})" if fmt else "")


if __name__ == "__main__":
    TapNinox.cli()
