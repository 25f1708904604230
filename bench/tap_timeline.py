"""Where tap-ninox's wall time goes, and what reading ahead one page would save.

    uv run python bench/tap_timeline.py [--records 100000] [--latency 0.020]

Starts the emulator in its own process, every request `--latency` seconds
slower, runs `tap-ninox` (page `--page-size`) with a timer around the
client's transport (no change to the tap) and prints, per run:

- start-up: from the process start to its first request (imports, catalog);
- metadata: the requests before the first page and the work between them;
- waiting: wall time inside the record-page requests (server, latency, HTTP);
- own work: between one page's answer and the next page's request (checking
  and converting the page, encoding and writing its RECORD lines);
- end: after the last request until the process ends;
- the estimate with the next page read while the current one is emitted
  (one request in flight, as now): each page then costs the larger of its
  own work and the next page's wait instead of their sum, so the saving is
  the sum over pages of the smaller of the two. An upper bound: the reading
  thread also needs the interpreter lock to decode its answer;
- the plain serial loop (bench/plain_loops.py) on the same table and latency,
  and the ratio plain / tap, today and estimated with the read-ahead.

Not a test; compare figures within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script: bench/ is on sys.path.
from bench_all import TAP_TABLE, Bench, emulator, fill, latency

#: Runs in the tap's process: a timer around the transport, then the tap's command line.
TIMED_TAP = """
import json, sys, time
from ninox_core.transport import session as session_module

calls = []
send = session_module.send

def timed(session, method, url, **kwargs):
    began = time.monotonic()
    try:
        return send(session, method, url, **kwargs)
    finally:
        calls.append((began, time.monotonic(), "/records" in url and "perPage" in str(kwargs)))

session_module.send = timed

import tap_ninox
try:
    tap_ninox.main()
finally:
    print("TIMELINE " + json.dumps(calls), file=sys.stderr)
"""


def analyse(started: float, ended: float, calls: list[list[float]]) -> dict[str, float]:
    """The timeline's parts, in seconds (see the module docstring)."""
    pages = [(a, b) for a, b, is_page in calls if is_page]
    first_page = pages[0][0]
    waiting = sum(b - a for a, b in pages)
    gaps = [pages[i + 1][0] - pages[i][1] for i in range(len(pages) - 1)]
    saved = sum(min(gap, b - a) for gap, (a, b) in zip(gaps, pages[1:], strict=True))
    return {
        "start-up": calls[0][0] - started,
        "metadata": first_page - calls[0][0],
        "waiting": waiting,
        "own work": sum(gaps),
        "end": ended - pages[-1][1],
        "total": ended - started,
        "saved": saved,
        "pages": len(pages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        bench = Bench(base_url, Path(tmp_name), args.page_size, 100)
        count = fill(base_url, TAP_TABLE, args.records)
        config = bench._config(
            "tap",
            {
                "team_id": "mnPLY6DMsvq9wz4id",
                "database_ids": ["gt5k36w957yt"],
                "tables": [TAP_TABLE],
                "page_size": args.page_size,
            },
        )
        print(
            f"tap-ninox, {count} records, page {args.page_size}, "
            f"+{args.latency * 1000:g} ms per request"
        )
        plains, todays, aheads = [], [], []
        for _ in range(args.repeat):
            with latency(base_url, args.latency):
                plain = bench.plain_tap().wall
                started = time.monotonic()
                done = subprocess.run(
                    [sys.executable, "-c", TIMED_TAP, "--config", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                    check=True,
                )
                ended = time.monotonic()
            line = next(x for x in done.stderr.splitlines() if x.startswith("TIMELINE "))
            parts = analyse(started, ended, json.loads(line.removeprefix("TIMELINE ")))
            ahead = parts["total"] - parts["saved"]
            plains.append(plain)
            todays.append(parts["total"])
            aheads.append(ahead)
            print(
                f"  start-up {parts['start-up']:.2f} s | metadata {parts['metadata']:.2f} s | "
                f"waiting {parts['waiting']:.2f} s ({parts['pages']:.0f} pages) | own work "
                f"{parts['own work']:.2f} s | end {parts['end']:.2f} s | total "
                f"{parts['total']:.2f} s | reading ahead: {ahead:.2f} s "
                f"(saves {parts['saved']:.2f} s) | plain loop {plain:.2f} s"
            )
        plain, today, ahead = (statistics.median(x) for x in (plains, todays, aheads))
        print(
            f"median: plain / tap {plain / today:.2f}x today; "
            f"{plain / ahead:.2f}x estimated with the next page read ahead"
        )


if __name__ == "__main__":
    main()
