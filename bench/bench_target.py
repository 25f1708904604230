"""Benchmark: target-ninox records/s into the emulator, next to a bare POST loop.

    uv run python bench/bench_target.py [--records 20000] [--batch-sizes 100,500]

For each batch size it prints records/s of
(a) a bare loop posting the same records with `NinoxClient.save_records`
    (the floor: the emulator's own cost plus HTTP),
(b) target-ninox as a subprocess creating the records (no key),
(c) target-ninox upserting them by a key (key index read + updates: a rerun
    of (b)'s input with `upsert_keys`),
and the ratio bare / target. The machine is shared and noisy: compare
ratios within one run. Not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ninox_core.transport.client import NinoxClient
from ninox_emulator import NinoxEmulator

TEAM, DB, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "bench-key"
TABLE = "A"  # the demo CRM's first table: "First name", "Last name", ...
STREAM = "bench_people"


def singer_input(count: int, path: Path) -> None:
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {
            "type": "object",
            "properties": {
                "First name": {"type": ["string", "null"]},
                "Last name": {"type": ["string", "null"]},
            },
        },
        "key_properties": [],
    }
    with path.open("w") as out:
        out.write(json.dumps(schema) + "\n")
        for i in range(count):
            row = {"First name": f"Bench {i}", "Last name": "Target"}
            out.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": row}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"done": count}}) + "\n")


def empty_table(emu: NinoxEmulator) -> None:
    with NinoxClient(KEY, emu.base_url) as client:
        ids = [r["id"] for page in client.iter_record_pages(TEAM, DB, TABLE) for r in page]
        if ids:
            client.delete_records(TEAM, DB, TABLE, ids)


def bare_loop(emu: NinoxEmulator, count: int, batch: int) -> float:
    rows = [{"fields": {"First name": f"Bare {i}", "Last name": "Loop"}} for i in range(count)]
    with NinoxClient(KEY, emu.base_url) as client:
        started = time.perf_counter()
        for start in range(0, count, batch):
            client.save_records(TEAM, DB, TABLE, rows[start : start + batch])
        return time.perf_counter() - started


def target_run(emu: NinoxEmulator, input_path: Path, batch: int, **settings: Any) -> float:
    config = {
        "api_key": KEY,
        "base_url": emu.base_url,
        "team_id": TEAM,
        "database_id": DB,
        "table_mapping": {STREAM: TABLE},
        "batch_size_rows": batch,
        **settings,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "target_ninox.target",
                "--config",
                str(path),
                "--input",
                str(input_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--batch-sizes", default="100,500")
    args = parser.parse_args()
    count = args.records

    emu = NinoxEmulator(api_key=KEY, demo=True, port=0).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            input_path = Path(tmp) / "input.singer"
            singer_input(count, input_path)
            empty = Path(tmp) / "empty.singer"
            empty.write_text("")
            startup = min(target_run(emu, empty, 100) for _ in range(3))
            print(f"records: {count}; target-ninox start-up (empty input): {startup:.2f} s")
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                empty_table(emu)
                bare = bare_loop(emu, count, batch)
                empty_table(emu)
                create = target_run(emu, input_path, batch)
                upsert = target_run(emu, input_path, batch, upsert_keys={STREAM: ["First name"]})
                print(f"batch {batch}:")
                print(f"  bare POST loop:          {count / bare:8.0f} rec/s ({bare:.2f} s)")
                print(
                    f"  target-ninox create:     {count / create:8.0f} rec/s ({create:.2f} s, "
                    "process incl. start-up)"
                )
                print(
                    f"  target-ninox upsert key: {count / upsert:8.0f} rec/s ({upsert:.2f} s, "
                    "index read + updates)"
                )
                net = max(create - startup, 1e-9)
                print(f"  target-ninox create, net of start-up: {count / net:8.0f} rec/s")
                print(f"  ratio create (net) / bare: {net / bare:6.2f}")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
