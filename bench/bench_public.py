"""Benchmark: tap-ninox on a Ninox 4 workspace: requests per run and the tap's memory.

    uv run python bench/bench_public.py [--sizes 20000 200000] [--changes 100]

For each size, the Public API emulator holds one table of that many
records (with history) and one of the same size without history, in module
`bench`. The `tap-ninox` command reads the module in full, then, after
`--changes` updates and a few deletions in each table, incrementally. Prints
per run the requests by kind (record pages, also per table; change-feed
pages, one-record reads, metadata), the full read's pages per table against
⌈N/100⌉ (pages without overlap), the records emitted, the seconds, and the tap process's
peak RSS (its `ru_maxrss`, measured in a helper process per run). The RSS
should be flat across sizes: the tap holds one page at a time, plus the
compact id ranges of the table without history (docs/design.md "Reading
Ninox 4 tables").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.model import Field, Table

KEY = "bench-key"
MODULE = "bench"
HISTORY, NO_HISTORY = "orders", "notes"
#: Runs `tap-ninox` and prints its exit code and peak RSS (KiB) as JSON.
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:-1], stdout=open(sys.argv[-1] + ".out", "wb"),
                      stderr=open(sys.argv[-1] + ".err", "wb"))
print(json.dumps({"rc": done.returncode,
                  "rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def build(emu: PublicEmulator, size: int) -> None:
    """Module `bench` with a history table and a table without, `size` records each."""
    emu.reset(demo=False)
    store = emu.store
    store.add_module(MODULE, "Bench")
    for name, history in ((HISTORY, True), (NO_HISTORY, False)):
        fields = [Field(name="title", type="string"), Field(name="amount", type="number")]
        store.add_table(MODULE, Table(name, name.capitalize(), fields, has_history=history))
        for start in range(0, size, 10_000):
            rows = [
                {"title": f"row {i}", "amount": i} for i in range(start, min(size, start + 10_000))
            ]
            store.create(MODULE, name, rows)
    past_the_last_change(emu)


def past_the_last_change(emu: PublicEmulator) -> None:
    """Move the server's clock 2 minutes past its last change stamp (past the look-back).

    The emulator stamps changes strictly one after another (at least 1 ms
    apart), so 400,000 creates run minutes ahead of its clock.
    """
    last = max(
        (
            c.changed_at
            for name in (HISTORY, NO_HISTORY)
            for c in emu.store.table(MODULE, name).changes
        ),
        default=emu.clock.now_ms(),
    )
    emu.clock.set(max(last, emu.clock.now_ms()) + 120_000)


def change(emu: PublicEmulator, changes: int) -> None:
    """`changes` updates and 5 deletions in each table."""
    for name in (HISTORY, NO_HISTORY):
        ids = sorted(emu.store.table(MODULE, name).records)
        emu.store.update(MODULE, name, [{"id": i, "title": "changed"} for i in ids[:changes]])
        emu.store.delete(MODULE, name, ids[-5:])
    past_the_last_change(emu)


def kinds(emu: PublicEmulator) -> dict[str, int]:
    """The logged requests by kind (record pages also per table)."""
    counts = {"pages": 0, "feed": 0, "by_id": 0, "metadata": 0}
    for name in (HISTORY, NO_HISTORY):
        counts[f"pages {name}"] = 0
    for request in emu.requests:
        if request.path.endswith("/records"):
            counts["pages"] += 1
            table = request.path.rsplit("/", 2)[-2]
            counts[f"pages {table}"] = counts.get(f"pages {table}", 0) + 1
        elif request.path.endswith("/records/changes"):
            counts["feed"] += 1
        elif re.search(r"/record/\d+$", request.path):
            counts["by_id"] += 1
        else:
            counts["metadata"] += 1
    return counts


def run(
    emu: PublicEmulator, workdir: Path, state: dict[str, Any] | None, label: str
) -> dict[str, Any]:
    """One `tap-ninox` run in a helper process; its figures and final state."""
    config = {
        "api_key": KEY,
        "base_url": emu.base_url,
        "workspace_id": emu.workspace_id,
        "modules": [MODULE],
    }
    (workdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    command = [
        str(Path(sys.executable).with_name("tap-ninox")),
        "--config",
        str(workdir / "config.json"),
    ]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state), encoding="utf-8")
        command += ["--state", str(workdir / "state.json")]
    emu.clear_log()
    started = time.perf_counter()
    out = workdir / label
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    measured = json.loads(done.stdout)
    if measured["rc"] != 0:
        raise SystemExit(Path(f"{out}.err").read_text(encoding="utf-8")[-2000:])
    records = 0
    final: dict[str, Any] = {}
    with Path(f"{out}.out").open(encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "RECORD":
                records += 1
            elif message["type"] == "STATE":
                final = message["value"]
    return {
        "requests": kinds(emu),
        "records": records,
        "seconds": round(seconds, 1),
        "rss_mib": round(measured["rss_kib"] / 1024, 1),
        "state": final,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures for each size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args(argv)
    emu = PublicEmulator(api_key=KEY, demo=False, port=0).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                build(emu, size)
                full = run(emu, Path(tmp), None, f"full-{size}")
                change(emu, args.changes)
                incremental = run(emu, Path(tmp), full["state"], f"incremental-{size}")
                ids_bytes = len(full["state"]["bookmarks"][NO_HISTORY].get("ninox_ids", ""))
                for label, figures in (("full", full), (f"after {args.changes}", incremental)):
                    print(
                        f"{size:>7} records/table  {label:<11} requests {figures['requests']}  "
                        f"records {figures['records']:>7}  {figures['seconds']:>6} s  "
                        f"tap RSS {figures['rss_mib']} MiB"
                    )
                pages = full["requests"]
                print(
                    f"{size:>7} records/table  full-read pages per table: "
                    f"{HISTORY} (history) {pages[f'pages {HISTORY}']} + {pages['feed']} feed "
                    "probe, "
                    f"{NO_HISTORY} {pages[f'pages {NO_HISTORY}']}; "
                    f"⌈N/100⌉ = {math.ceil(size / 100)}"
                )
                print(f"{size:>7} records/table  ninox_ids in the state: {ids_bytes} bytes")
                sys.stdout.flush()
    finally:
        emu.stop()
    os.environ.pop("TAP_NINOX_API_KEY", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
