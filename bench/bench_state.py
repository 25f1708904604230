"""Benchmark: how many bytes of tap-ninox's output are STATE, by number of tables.

    uv run python bench/bench_state.py [--tables 50 200 500] [--records 3]

For each count, an emulator database with that many small tables (a few
records each) is read in full, then read again with the final state (no
change: an incremental run). Prints, per run, the number of STATE lines,
their bytes, the RECORD bytes and the whole output's bytes. With a STATE
after every stream that carries every stream's bookmark, STATE bytes grow
with the square of the table count; docs/design.md ("State") says what
bounds them now.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
from typing import Any

from ninox_emulator import NinoxEmulator
from tap_ninox.tap import TapNinox

TEAM, DB, KEY = "benchteam", "benchdb", "bench-key"
FIELDS = [{"id": "A", "name": "Name", "type": "string"}, {"id": "B", "name": "N", "type": "number"}]


def table_id(index: int) -> str:
    """Ninox-like table ids: A, B, ..., Z, AA, AB, ..."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def small_tables(emu: NinoxEmulator, tables: int, records: int) -> None:
    """Replace the emulator's data with one database of `tables` small tables."""
    emu.reset(demo=False)
    store = emu.store
    store.create_team(TEAM, "Bench")
    specs = [{"id": table_id(i), "name": f"Table {i}", "fields": FIELDS} for i in range(tables)]
    store.create_database(TEAM, DB, "Bench", specs)
    for spec in specs:
        rows = [{"fields": {"A": f"row {r}", "B": r}} for r in range(records)]
        if rows:
            store.save_records(TEAM, DB, spec["id"], rows)


def sync(emu: NinoxEmulator, state: dict[str, Any] | None) -> tuple[list[bytes], float]:
    """One in-process tap run; its output lines and seconds."""
    config = {"api_key": KEY, "base_url": emu.base_url, "team_id": TEAM, "database_ids": [DB]}
    tap = TapNinox(config=config, state=state, validate_config=True)
    buffer = io.BytesIO()
    stdout, wrapper = sys.stdout, io.TextIOWrapper(buffer, encoding="utf-8")
    sys.stdout = wrapper
    started = time.perf_counter()
    try:
        tap.sync_all()
    finally:
        wrapper.flush()
        wrapper.detach()
        sys.stdout = stdout
    return buffer.getvalue().splitlines(), time.perf_counter() - started


def measure(lines: list[bytes]) -> dict[str, Any]:
    """STATE lines and bytes, RECORD bytes, all bytes; the last state."""
    states = [line for line in lines if line.startswith(b'{"type":"STATE"')]
    records = [line for line in lines if line.startswith(b'{"type":"RECORD"')]
    return {
        "state_lines": len(states),
        "state_bytes": sum(len(line) + 1 for line in states),
        "record_bytes": sum(len(line) + 1 for line in records),
        "all_bytes": sum(len(line) + 1 for line in lines),
        "last_state": json.loads(states[-1])["value"] if states else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--records", type=int, default=3)
    args = parser.parse_args()
    emu = NinoxEmulator(api_key=KEY, demo=False, port=0).start()
    logging.disable(logging.INFO)  # the tap's per-stream lines would drown the table
    try:
        print(
            f"{'tables':>6} {'run':<11} {'STATE lines':>11} {'STATE bytes':>12} "
            f"{'RECORD bytes':>12} {'all bytes':>11} {'STATE %':>7} {'s':>6}"
        )
        for count in args.tables:
            small_tables(emu, count, args.records)
            state = None
            for run in ("full", "incremental"):
                lines, seconds = sync(emu, state)
                m = measure(lines)
                state = m["last_state"]
                share = 100 * m["state_bytes"] / max(1, m["all_bytes"])
                print(
                    f"{count:>6} {run:<11} {m['state_lines']:>11} {m['state_bytes']:>12,} "
                    f"{m['record_bytes']:>12,} {m['all_bytes']:>11,} {share:>6.1f}% "
                    f"{seconds:>6.1f}"
                )
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
