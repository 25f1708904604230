"""Print what the demo landed: rows per table, this run's records, one query.

python demo/report.py output/demo.duckdb output/loader.log
"""

from __future__ import annotations

import json
import sys

import duckdb

EXAMPLE_QUERY = """\
SELECT c.name AS company, count(d._id) AS deals, sum(d.amount) AS amount
FROM company c JOIN deal d ON d.company = c._id
GROUP BY c.name ORDER BY amount DESC, company LIMIT 5"""
#: The same query on the tables of a Ninox 4 module (machine names: `companies`, `deals`).
EXAMPLE_QUERY_NINOX4 = EXAMPLE_QUERY.replace(
    "FROM company c JOIN deal d", "FROM companies c JOIN deals d"
)


def loaded_counts(log_path: str) -> dict[str, int]:
    """Records the loader received per stream this run (its record_count metrics)."""
    counts: dict[str, int] = {}
    with open(log_path, encoding="utf-8") as log:
        for line in log:
            _, found, metric = line.partition("METRIC: ")
            if not found:
                continue
            point = json.loads(metric)
            if point.get("metric") == "record_count":
                stream = point["tags"]["stream"]
                counts[stream] = counts.get(stream, 0) + int(point["value"])
    return counts


def main(db_path: str, log_path: str) -> None:
    """Print the per-table table, then the example query and its answer."""
    loaded = loaded_counts(log_path)
    with duckdb.connect(db_path, read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY table_name"
            ).fetchall()
        ]
        print(f"\n{db_path}:")
        print(f"  {'table':<12}{'rows':>6}{'deleted':>9}{'loaded this run':>17}")
        for table in tables:
            rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
            deleted = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE _sdc_deleted_at IS NOT NULL'
            ).fetchone()
            assert rows is not None and deleted is not None
            print(f"  {table:<12}{rows[0]:>6}{deleted[0]:>9}{loaded.get(table, 0):>17}")
        query = EXAMPLE_QUERY_NINOX4 if "companies" in tables else EXAMPLE_QUERY
        print("\nExample query:\n" + query)
        for company, deals, amount in con.execute(query).fetchall():
            print(f"  {company:<28}{deals:>3} deals {amount:>12,.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
