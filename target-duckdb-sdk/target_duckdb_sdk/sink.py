"""Writes one stream's batches: upsert by key, or append when the stream has none."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLSink

from target_duckdb_sdk.connector import DuckDBConnector


class DuckDBSink(SQLSink[DuckDBConnector]):
    """One table per stream; records with a known key replace the stored row."""

    connector_class = DuckDBConnector

    def process_batch(self, context: dict) -> None:
        """Write the batch in one transaction: delete the rows it replaces, insert it.

        Within a batch the last record of a key wins, as in the input order.
        """
        columns = list(self.conform_schema(self.schema)["properties"])
        rows = [self._row(self.conform_record(record), columns) for record in context["records"]]
        keys = list(self.key_properties)
        if keys:
            latest: dict[tuple[Any, ...], dict[str, Any]] = {}
            for row in rows:
                latest[tuple(row[k] for k in keys)] = row
            rows = list(latest.values())
        if not rows:
            return
        _, schema_name, table_name = self.connector.parse_full_table_name(self.full_table_name)
        table = sa.Table(
            table_name,
            sa.MetaData(),
            *[sa.Column(name) for name in columns],
            schema=schema_name,
        )
        with (
            self.connector._connect() as conn,
            conn.begin(),
        ):  # the SDK's own insert path uses it too
            if keys:
                key_values = [tuple(row[k] for k in keys) for row in rows]
                key_columns = sa.tuple_(*[table.c[k] for k in keys])
                conn.execute(sa.delete(table).where(key_columns.in_(key_values)))
            conn.execute(sa.insert(table), rows)

    @staticmethod
    def _row(record: dict[str, Any], columns: list[str]) -> dict[str, Any]:
        """The record as one row: every column present, arrays and objects as JSON text."""
        row = {}
        for name in columns:
            value = record.get(name)
            if isinstance(value, (list, dict)):
                value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            row[name] = value
        return row
