"""Benchmark: a rerun after a killed unkeyed load, matching what the killed run created.

    uv run python bench/bench_rerun.py [--sizes 10000,20000,40000] [--state-every 0]

For each size N: the table holds the N records a killed run created after
its last STATE (posted here with a bare loop), and the rerun's input is that
STATE, with its rerun marker (target_ninox/rerun_guard.py), and the same N
records plus N/10 new ones. target-ninox runs as a subprocess; it must
create only the new ones. Printed per size: the wall time net of the
process's start-up (measured on empty input), the time per matched record,
and the ratio to the previous size's net time (2.0 for a doubling is
linear growth; 4.0 quadratic). `--state-every K` puts a STATE
after every K input records (0: only one at the end). Not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ninox_core.transport.client import NinoxClient
from ninox_emulator import NinoxEmulator

TEAM, DB, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "bench-key"
TABLE = "A"  # the demo CRM's first table: "First name", "Last name", ...
STREAM = "bench_people"


def row(i: int) -> dict[str, str]:
    return {"First name": f"Rerun {i}", "Last name": "Bench"}


def empty_table(client: NinoxClient) -> None:
    ids = [r["id"] for page in client.iter_record_pages(TEAM, DB, TABLE) for r in page]
    for start in range(0, len(ids), 1000):
        client.delete_records(TEAM, DB, TABLE, ids[start : start + 1000])


def killed_run(client: NinoxClient, count: int) -> int:
    """Create what a killed run created after its last STATE; returns that STATE's sequence."""
    sequence = client.database_sequence(TEAM, DB)
    for start in range(0, count, 1000):
        batch = [{"fields": row(i)} for i in range(start, min(count, start + 1000))]
        client.save_records(TEAM, DB, TABLE, batch)
    return sequence


def rerun_input(path: Path, count: int, sequence: int, state_every: int) -> None:
    schema = {
        "type": "SCHEMA",
        "stream": STREAM,
        "schema": {
            "type": "object",
            "properties": {"First name": {"type": "string"}, "Last name": {"type": "string"}},
        },
        "key_properties": [],
    }
    marker = {"bookmarks": {"_target_ninox": {"sq": sequence}}}
    with path.open("w") as out:
        out.write(json.dumps(schema) + "\n")
        out.write(json.dumps({"type": "STATE", "value": marker}) + "\n")
        total = count + count // 10
        for i in range(total):
            out.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": row(i)}) + "\n")
            if state_every and (i + 1) % state_every == 0:
                value = {"bookmarks": {"done": i + 1}}
                out.write(json.dumps({"type": "STATE", "value": value}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"done": total}}}) + "\n")


def target_run(emu: NinoxEmulator, input_path: Path, tmp: Path) -> float:
    config = {
        "api_key": KEY,
        "base_url": emu.base_url,
        "team_id": TEAM,
        "database_id": DB,
        "table_mapping": {STREAM: TABLE},
        "batch_size_rows": 1000,
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "target_ninox.target", "--config", str(path)],
        stdin=input_path.open("rb"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,20000,40000")
    parser.add_argument("--state-every", type=int, default=0)
    args = parser.parse_args()
    emu = NinoxEmulator(api_key=KEY, demo=True, port=0).start()
    previous: float | None = None
    try:
        with NinoxClient(KEY, emu.base_url) as client, tempfile.TemporaryDirectory() as tmp:
            empty = Path(tmp) / "empty.singer"
            empty.write_text("")
            startup = min(target_run(emu, empty, Path(tmp)) for _ in range(3))
            print(f"target-ninox start-up (empty input): {startup:.2f} s, taken off below")
            for count in (int(s) for s in args.sizes.split(",")):
                empty_table(client)
                sequence = killed_run(client, count)
                input_path = Path(tmp) / "rerun.singer"
                rerun_input(input_path, count, sequence, args.state_every)
                seconds = max(target_run(emu, input_path, Path(tmp)) - startup, 1e-3)
                found = sum(len(page) for page in client.iter_record_pages(TEAM, DB, TABLE))
                expected = count + count // 10
                ratio = f"{seconds / previous:5.2f}x the previous" if previous else ""
                print(
                    f"matched {count:7d} + created {count // 10:6d}: {seconds:7.2f} s "
                    f"({seconds / count * 1e6:6.1f} µs per matched record) {ratio}"
                    + ("" if found == expected else f"  WRONG: {found} records, not {expected}")
                )
                previous = seconds
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
