"""Benchmark: tap-ninox records/s against the emulator, next to a bare HTTP loop.

    uv run python bench/bench_tap.py [--records 50000] [--page-size 1000]

Prints records/s of (a) a plain requests loop that pages the same table and
decodes JSON (the floor any tap pays), (b) the tap as a subprocess writing
Singer messages to /dev/null, and their ratio. Compare ratios within one run;
the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from ninox_core.transport.client import NinoxClient
from ninox_emulator import NinoxEmulator

TEAM, DB, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "bench-key"


def fill(emu: NinoxEmulator, table_id: str, count: int) -> None:
    with NinoxClient(KEY, emu.base_url) as client:
        for start in range(0, count, 1000):
            batch = [
                {"fields": {"First name": f"Name {i}", "Last name": "Bench"}}
                for i in range(start, min(count, start + 1000))
            ]
            client.save_records(TEAM, DB, table_id, batch)


def bare_loop(emu: NinoxEmulator, table_id: str, page_size: int) -> tuple[int, float]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY}"
    url = f"{emu.base_url}/teams/{TEAM}/databases/{DB}/tables/{table_id}/records"
    started, last_id, count = time.perf_counter(), 0, 0
    while True:
        page = session.get(url, params={"perPage": page_size, "sinceId": last_id}).json()
        if not page:
            return count, time.perf_counter() - started
        count += len(page)
        last_id = page[-1]["id"]


def tap_run(emu: NinoxEmulator, table_id: str, page_size: int) -> float:
    config = {
        "api_key": KEY,
        "base_url": emu.base_url,
        "team_id": TEAM,
        "database_ids": [DB],
        "tables": [table_id],
        "page_size": page_size,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tap_ninox.tap", "--config", str(path)],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    emu = NinoxEmulator(api_key=KEY, demo=True, port=0).start()
    try:
        fill(emu, "A", args.records)
        count, bare = bare_loop(emu, "A", args.page_size)
        tap = tap_run(emu, "A", args.page_size)
        startup = tap_run(emu, "D", args.page_size)  # a table of 6 records
        net = tap - startup
        print(f"records: {count}, page size {args.page_size}")
        print(f"bare requests loop:      {count / bare:10.0f} rec/s ({bare:.2f} s)")
        print(f"tap-ninox (process):     {count / tap:10.0f} rec/s ({tap:.2f} s, incl. start-up)")
        print(f"tap-ninox (net of {startup:.2f} s start-up): {count / net:10.0f} rec/s")
        print(f"ratio tap net / bare:    {bare / net:10.2f}")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
