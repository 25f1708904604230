"""Benchmark: memory of the upsert-key index, bytes per 100,000 keys.

    uv run python bench/bench_key_index.py [--keys 100000]

Loads `--keys` records (an e-mail key of about 24 characters, as Ninox
answers them) into (a) the old index, two dicts of key tuples, kept here
for comparison, and (b) target-ninox's compact `KeyIndex`, and prints, per
100,000 keys, the memory each holds after the load (tracemalloc) and the
peak while loading. Also the time of 100,000 lookups. Not a test.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

from ninox_core.backend import Record, TableAddress
from ninox_core.classic.calls import PAGE_SIZE
from ninox_core.classic.records import FieldIds, to_records
from ninox_core.model.schema import NinoxTable
from target_ninox.key_index import Key, KeyIndex, normalize

TABLE = NinoxTable.from_api(
    {"id": "A", "name": "People", "fields": [{"id": "A", "name": "Email", "type": "email"}]}
)


class FakeClient:
    """Serves the pages of a table of `count` records (no HTTP: memory only)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def iter_record_pages(self, *args: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        for start in range(1, self.count + 1, PAGE_SIZE):
            stop = min(start + PAGE_SIZE, self.count + 1)
            yield [
                {"id": i, "sequence": i, "fields": {"A": f"person.{i:08d}@example.com"}}
                for i in range(start, stop)
            ]

    def address(self, workspace: str, database: str, table: NinoxTable) -> TableAddress:
        return TableAddress(workspace, database, table.id)

    def scan(self, *args: Any, **kwargs: Any) -> Iterator[list[Record]]:
        """The same pages as the classic backend hands them on (`Record`s)."""
        field_ids = FieldIds(TABLE)
        for page in self.iter_record_pages():
            yield to_records(page, field_ids)


class OldKeyIndex:
    """The index before: key tuple -> id and id -> key tuple."""

    def __init__(self) -> None:
        self._ids: dict[Key, int] = {}
        self._keys: dict[int, Key] = {}

    def load(self, client: FakeClient) -> None:
        for page in client.iter_record_pages():
            for record in page:
                key = (normalize(record["fields"].get("A")),)
                self._ids[key] = record["id"]
                self._keys[record["id"]] = key

    def get(self, key: Key) -> int | None:
        return self._ids.get(key)


def measure(name: str, count: int) -> None:
    client = FakeClient(count)
    gc.collect()
    tracemalloc.start()
    if name == "old":
        index: Any = OldKeyIndex()
        index.load(client)
    else:
        index = KeyIndex(TABLE, TABLE.fields)
        index.load(client, "team", "db")  # type: ignore[arg-type]
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    keys = [(f"person.{i:08d}@example.com",) for i in range(1, count + 1, max(1, count // 100_000))]
    started = time.perf_counter()
    for key in keys:
        index.get(key)
    lookups = (time.perf_counter() - started) / len(keys) * 100_000
    scale = 100_000 / count
    print(
        f"{name:>4} index: {held * scale / 2**20:6.2f} MiB held, {peak * scale / 2**20:6.2f} MiB "
        f"peak per 100,000 keys ({held / count:5.1f} bytes/key); "
        f"100,000 lookups {lookups:.2f} s"
    )
    del index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    for name in ("old", "new"):
        measure(name, args.keys)


if __name__ == "__main__":
    main()
