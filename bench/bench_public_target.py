"""Benchmark: the requests target-ninox makes writing into a Ninox 4 workspace.

    uv run python bench/bench_public_target.py [--records 1000] [--batch-size 100]

Against the Public API emulator (`ninox-emulator --api public`, demo
workspace, table `crm.contacts`), in-process, it prints the requests per
method of three loads of N records (docs/design.md "Writing Ninox 4
tables"):

(a) N unkeyed creates (POSTs, plus the rerun marker's change-feed cursor
    per STATE);
(b) N upserts by `email`, a field the server keeps unique (the API's own
    upsert: no read of the table);
(c) N keyed upserts by `email` once it is no longer unique (the key index:
    offset pages of 100, then POST/PATCH);

each twice: into the demo table, then the same input again (the keyed
loads then update every record; the unkeyed one creates N more); and (b)
once more with half the keys already there, so that each upsert batch
both creates and updates (the backend then finds each record by its key:
one read per record, `ninox_core/public/backend.py`).

Counts, not times: the figures do not depend on the machine. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections import Counter
from typing import Any

from ninox_emulator.public import PublicEmulator
from target_ninox.target import TargetNinox

KEY = "bench-key"
MODULE, TABLE = "crm", "contacts"


def messages(count: int, *, key: bool, step: int = 1) -> str:
    """A Singer input of contacts 0, `step`, ... below `count` (keyed by `email` or not).

    One STATE per 100 records.
    """
    schema = {
        "type": "SCHEMA",
        "stream": TABLE,
        "schema": {
            "type": "object",
            "properties": {
                "first_name": {"type": ["string", "null"]},
                "last_name": {"type": ["string", "null"]},
                "email": {"type": ["string", "null"]},
            },
        },
        "key_properties": ["email"] if key else [],
    }
    lines = [json.dumps(schema)]
    for i in range(0, count, step):
        row = {"first_name": f"Bench {i}", "last_name": "Target", "email": f"b{i}@bench.x"}
        lines.append(json.dumps({"type": "RECORD", "stream": TABLE, "record": row}))
        if (i + 1) % 100 == 0 or i + 1 == count:
            lines.append(json.dumps({"type": "STATE", "value": {"done": i + 1}}))
    return "\n".join(lines) + "\n"


def run(emu: PublicEmulator, text: str, batch_size: int) -> Counter[str]:
    """Run target-ninox in-process on `text`; the requests it made, by method."""
    config: dict[str, Any] = {
        "api_key": KEY,
        "base_url": emu.base_url,
        "workspace_id": emu.workspace_id,
        "module": MODULE,
        "batch_size_rows": batch_size,
    }
    emu.clear_log()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        TargetNinox.invoke(config=_Config(config), file_input=io.StringIO(text))
    return Counter(r.method for r in emu.requests)


class _Config:
    """The SDK's config input, as `--config` builds it."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.parse_env = False


def main(argv: list[str]) -> int:
    """Print the request counts of the three loads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    n, batch = args.records, args.batch_size
    with PublicEmulator(api_key=KEY, demo=True, port=0) as emu:
        emu.variants.strict()
        loads = {
            "(a) unkeyed creates": (messages(n, key=False), False),
            "(b) upserts by unique email": (messages(n, key=True), None),
            "(c) keyed upserts, email not unique": (messages(n, key=True), False),
        }
        print(f"{n} records, batch_size_rows {batch}; requests by method")
        for label, (text, unique) in loads.items():
            emu.reset()
            emu.variants.strict()
            if unique is False:
                emu.set_unique(MODULE, TABLE, "email", unique=False)
            for when in ("new", "again"):
                # "again": the same input once more (keyed: every record updated).
                counts = run(emu, text, batch)
                shown = ", ".join(f"{m} {c}" for m, c in sorted(counts.items()))
                print(f"{label + ', ' + when:46} total {sum(counts.values()):5}  ({shown})")
        # Half the keys exist already: every upsert batch both creates and updates.
        emu.reset()
        emu.variants.strict()
        run(emu, messages(n, key=True, step=2), batch)
        counts = run(emu, messages(n, key=True), batch)
        shown = ", ".join(f"{m} {c}" for m, c in sorted(counts.items()))
        label = "(b) upserts by unique email, half existing"
        print(f"{label:46} total {sum(counts.values()):5}  ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
