"""The target's settings and command line."""

from __future__ import annotations

from singer_sdk import typing as th
from singer_sdk.sql import SQLTarget

from target_duckdb_sdk.sink import DuckDBSink


class TargetDuckDB(SQLTarget):
    """Lands Singer streams in a DuckDB file, one table per stream."""

    name = "target-duckdb-sdk"
    default_sink_class = DuckDBSink
    config_jsonschema = th.PropertiesList(
        th.Property(
            "path",
            th.StringType,
            required=True,
            title="Database file",
            description="Path of the DuckDB database file (created if missing).",
        ),
    ).to_dict()


if __name__ == "__main__":
    TargetDuckDB.cli()
