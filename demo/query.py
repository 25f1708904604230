"""Run one SQL query on the demo's DuckDB database and print the answer as a table.

uv run python demo/query.py "SELECT count(*) FROM contact" [output/demo.duckdb]
"""

from __future__ import annotations

import sys

import duckdb


def main(argv: list[str]) -> int:
    """Print the query's answer (DuckDB's own table rendering, every type shown)."""
    if not argv or len(argv) > 2:
        print((__doc__ or "").strip(), file=sys.stderr)
        return 2
    path = argv[1] if len(argv) == 2 else "output/demo.duckdb"
    with duckdb.connect(path, read_only=True) as con:
        con.sql(argv[0]).show(max_width=200, max_rows=50)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
