"""Where target-ninox's wall time goes, with one write in flight (docs/design.md).

    uv run python bench/target_timeline.py [--records 60000] [--latency 0.005]

Starts the emulator in its own process (optionally `--latency` seconds
slower per POST), runs `target-ninox` (append-only, batch 100) with a few
timers wrapped around its write queue, and prints, per run:

- start-up: from the process start until the target's run begins (imports);
- POSTs: wall time inside the client's transport (the worker's calls);
- worker, own work: the rest of each write (planning, answers);
- between writes: time with no write in flight after the first one;
- main waits: time the main thread waited for a write to end;
- total: the whole process, as the plain loop's POSTs alone compare.

Not a test; compare figures within one run.
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

# Run as a script: bench/ is on sys.path.
from bench_all import DB, KEY, STREAM, TARGET_TABLE, TEAM, Bench, control, empty, emulator
from bench_target import singer_input

#: Runs in the target's process: the timers, then the target's command line.
TIMED_TARGET = """
import json, sys, time
started = time.perf_counter()
from ninox_core.transport import session
from target_ninox import sinks, write_queue
from target_ninox.target import TargetNinox

seconds = {"POSTs": 0.0, "write": 0.0, "between writes": 0.0, "main waits": 0.0}
last_end = []

def timed(name, function):
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - began
    return wrapper

session.send = timed("POSTs", session.send)
write_batch = sinks.NinoxSink.write_batch

def timed_write(self, records):
    began = time.perf_counter()
    if last_end:
        seconds["between writes"] += began - last_end[-1]
    write_batch(self, records)
    ended = time.perf_counter()
    seconds["write"] += ended - began
    last_end.append(ended)

sinks.NinoxSink.write_batch = timed_write
write_queue.WriteQueue.settle = timed("main waits", write_queue.WriteQueue.settle)
run = TargetNinox.run

def timed_run(self, file_input=None):
    seconds["start-up"] = time.perf_counter() - started
    try:
        return run(self, file_input)
    finally:
        seconds["total"] = time.perf_counter() - started
        print("TIMELINE " + json.dumps(seconds), file=sys.stderr)

TargetNinox.run = timed_run
TargetNinox.cli()
"""


def plain_posts(base_url: str, count: int, batch: int) -> float:
    """Seconds a plain `requests` loop takes for the same POSTs (no reading)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY}"
    url = f"{base_url}/teams/{TEAM}/databases/{DB}/tables/{TARGET_TABLE}/records"
    rows = [{"fields": {"First name": f"Plain {i}", "Last name": "Loop"}} for i in range(batch)]
    started = time.perf_counter()
    for _ in range(count // batch):
        session.post(url, json=rows).raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per POST")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    batch = 100
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        if args.latency:
            fault = {"kind": "latency", "seconds": args.latency, "times": None, "method": "POST"}
            control(base_url, "POST", "faults", fault)
        bench = Bench(base_url, Path(tmp_name), 1000, batch)
        input_path = Path(tmp_name) / "input.singer"
        singer_input(args.records, input_path)
        config = bench._config(
            "target",
            {
                "team_id": TEAM,
                "database_id": DB,
                "table_mapping": {STREAM: TARGET_TABLE},
                "batch_size_rows": batch,
                "load_method": "append-only",
            },
        )
        print(f"target-ninox, {args.records} records, batch {batch}, +{args.latency}s per POST")
        for _ in range(args.repeat):
            empty(base_url, TARGET_TABLE)
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    TIMED_TARGET,
                    "--config",
                    str(config),
                    "--input",
                    str(input_path),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            line = next(x for x in done.stderr.splitlines() if x.startswith("TIMELINE "))
            seconds = json.loads(line.removeprefix("TIMELINE "))
            own = seconds["write"] - seconds["POSTs"]
            print(
                f"  start-up {seconds['start-up']:.2f} s | POSTs {seconds['POSTs']:.2f} s | "
                f"worker, own work {own:.2f} s | between writes {seconds['between writes']:.2f} s"
                f" | main waits {seconds['main waits']:.2f} s | total {seconds['total']:.2f} s"
            )
            empty(base_url, TARGET_TABLE)
            alone = plain_posts(base_url, args.records, batch)
            print(f"  plain requests loop, the same POSTs alone: {alone:.2f} s")


if __name__ == "__main__":
    main()
