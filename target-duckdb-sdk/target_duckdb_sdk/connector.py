"""DuckDB connection and JSON Schema → DuckDB column types.

Uses two private SDK names, ``SQLConnector._engine`` and ``._connect()``
(here and in ``sink.py``): the SDK's own SQL classes open connections with
them and it has no public equivalent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from singer_sdk.sql.connector import JSONSchemaToSQL


class DuckDBTypes(JSONSchemaToSQL):
    """The SDK's type mapping with lossless choices for DuckDB.

    The SDK's defaults are lossy here: ``number`` → DECIMAL (DuckDB's default
    DECIMAL(18,3) rounds to 3 places), ``integer`` → 32-bit INTEGER,
    ``date-time`` → a TIMESTAMP without zone.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Register the DuckDB-specific handlers."""
        super().__init__(**kwargs)
        self.register_type_handler("number", sa.types.DOUBLE)
        self.register_type_handler("integer", sa.types.BIGINT)
        self.register_format_handler("date-time", lambda _: sa.types.DateTime(timezone=True))


#: DuckDB's names of the column types this target creates → the SQLAlchemy types
#: it creates them from (so that the SDK sees an unchanged column as unchanged).
_KNOWN_TYPES: dict[str, Any] = {
    "BIGINT": sa.types.BIGINT,
    "INTEGER": sa.types.INTEGER,
    "DOUBLE": sa.types.DOUBLE,
    "BOOLEAN": sa.types.BOOLEAN,
    "DATE": sa.types.DATE,
    "TIME": sa.types.TIME,
    "TIMESTAMP WITH TIME ZONE": lambda: sa.types.DateTime(timezone=True),
    "VARCHAR": sa.types.VARCHAR,
}


class DuckDBConnector(SQLConnector):
    """Opens the DuckDB file named by the ``path`` setting (through duckdb-engine)."""

    allow_temp_tables = False
    allow_column_alter = False
    allow_merge_upsert = True
    jsonschema_to_sql_converter = DuckDBTypes

    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        """Return the SQLAlchemy URL of the DuckDB file, creating its folder if missing."""
        Path(config["path"]).parent.mkdir(parents=True, exist_ok=True)
        return f"duckdb:///{config['path']}"

    def create_empty_table(
        self,
        full_table_name: Any,
        schema: dict,
        primary_keys: Sequence[str] | None = None,
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,  # noqa: FBT001, FBT002 (the SDK's signature)
    ) -> None:
        """Create the table, its key columns plain (not auto-incremented).

        The SDK's version leaves SQLAlchemy to make a single integer key
        ``BIGSERIAL``, a type DuckDB does not have.
        """
        _ = partition_keys, as_temp_table
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        properties: dict = schema["properties"]
        keys = [key for key in primary_keys or [] if key in properties]
        columns = [
            sa.Column(name, self.to_sql_type(prop), autoincrement=False)
            for name, prop in properties.items()
        ]
        args: list[Any] = [sa.PrimaryKeyConstraint(*keys)] if keys else []
        sa.Table(table_name, sa.MetaData(schema=schema_name), *columns, *args).create(
            self._engine  # the SDK's engine for this connector; create_empty_table uses it too
        )

    def get_table_columns(
        self,
        full_table_name: Any,
        column_names: list[str] | None = None,
    ) -> dict[str, sa.Column]:
        """The table's columns, read from DuckDB's information_schema.

        The SDK's version reflects through SQLAlchemy's PostgreSQL inspector,
        whose query (SQLAlchemy 2.1) reads ``pg_catalog.pg_collation``, which
        DuckDB does not have.
        """
        _, schema_name, table_name = self.parse_full_table_name(full_table_name)
        query = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = :table AND table_schema = coalesce(:schema, current_schema())"
            " ORDER BY ordinal_position"
        )
        with self._connect() as conn:
            rows = conn.execute(query, {"table": table_name, "schema": schema_name}).all()
        return {
            name: sa.Column(name, _KNOWN_TYPES.get(data_type, sa.types.VARCHAR)())
            for name, data_type in rows
            if column_names is None or name in column_names
        }
