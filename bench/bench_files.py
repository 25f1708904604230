"""Benchmark: a large attachment through tap-ninox and target-ninox, peak RSS of each.

    uv run python bench/bench_files.py [--mb 200]

Starts `ninox-emulator --demo` as its own process, attaches a file of
`--mb` MB to one CRM record (uploaded with `ninox_core.transport.files.upload_file`),
then runs as separate processes:

1. `tap-ninox` with `include_files` + `download_files` into a temporary
   `files_path` (the attachment is streamed to disk);
2. `target-ninox` with `upload_files` into an empty copy of the CRM
   (`POST /_emulator/empty-copy`), reading the tap's output (the file is
   streamed from disk in a multipart POST).

Prints each process's peak RSS (`os.wait4` rusage of that process alone,
so the emulator, which holds the bytes in memory, is not counted), its
time, and checks that the copy's bytes equal the source's (sha256).
The acceptance line for issue 12: both peaks under 100 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import requests

from ninox_core.transport.client import NinoxClient
from ninox_core.transport.files import download_file, upload_file

TEAM, DB, COPY, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "bench0copy", "bench-key"
TABLE, RECORD, NAME = "B", 1, "big attachment.bin"
LIMIT_MB = 100.0


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """`ninox-emulator --demo` on a free port; returns the process and its base URL."""
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ninox-emulator"),
            "--demo",
            "--port",
            "0",
            "--api-key",
            KEY,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    base_url = line.split(" listening on ", 1)[1].split(" ", 1)[0]
    return process, base_url


def write_big_file(path: Path, megabytes: int) -> str:
    """`megabytes` MB of pseudo-random bytes, written in 1 MB pieces; returns their sha256."""
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with path.open("wb") as out:
        for i in range(megabytes):
            piece = i.to_bytes(8, "big") + block[8:]
            digest.update(piece)
            out.write(piece)
    return digest.hexdigest()


def run_measured(argv: list[str], stdin: Path | None, stdout: Path) -> tuple[float, float]:
    """Run a command; return its peak RSS in MB and its wall time in seconds."""
    started = time.perf_counter()
    with stdout.open("wb") as out, stdin.open("rb") if stdin else open(os.devnull, "rb") as inp:
        process = subprocess.Popen(argv, stdin=inp, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{argv[0]} failed with exit code {process.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started  # ru_maxrss is in KiB


def copy_sha256(client: NinoxClient) -> str:
    def consume(chunks: Any) -> str:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        return digest.hexdigest()

    return download_file(client, TEAM, COPY, TABLE, RECORD, NAME, consume)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="attachment size in MB (200)")
    args = parser.parse_args()

    emulator, base_url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            source = tmp / "source.bin"
            sha = write_big_file(source, args.mb)
            size = source.stat().st_size
            with NinoxClient(KEY, base_url) as client:
                upload_file(
                    client,
                    TEAM,
                    DB,
                    TABLE,
                    RECORD,
                    NAME,
                    partial(source.open, "rb"),
                    size,
                    "application/pdf",
                )
            source.unlink()
            answer = requests.post(
                base_url.rsplit("/v1", 1)[0] + "/_emulator/empty-copy",
                json={"team": TEAM, "database": DB, "id": COPY},
                timeout=30,
            )
            answer.raise_for_status()

            common = {"api_key": KEY, "base_url": base_url, "team_id": TEAM}
            tap_config = tmp / "tap.json"
            tap_config.write_text(
                json.dumps(
                    common
                    | {
                        "database_ids": [DB],
                        "include_files": True,
                        "download_files": True,
                        "files_path": str(tmp / "files"),
                    }
                )
            )
            target_config = tmp / "target.json"
            target_config.write_text(
                json.dumps(
                    common
                    | {"database_id": COPY, "upload_files": True, "files_path": str(tmp / "files")}
                )
            )
            singer = tmp / "tap-output.jsonl"
            bin_dir = Path(sys.executable).parent
            tap_rss, tap_s = run_measured(
                [str(bin_dir / "tap-ninox"), "--config", str(tap_config)], None, singer
            )
            target_rss, target_s = run_measured(
                [str(bin_dir / "target-ninox"), "--config", str(target_config)],
                singer,
                tmp / "target-output.jsonl",
            )
            with NinoxClient(KEY, base_url) as client:
                copied = copy_sha256(client)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)

    print(f"attachment: {args.mb} MB ({size} bytes), sha256 {sha[:16]}…")
    print(f"tap-ninox    download: peak RSS {tap_rss:6.1f} MB, {tap_s:5.1f} s")
    print(f"target-ninox upload:   peak RSS {target_rss:6.1f} MB, {target_s:5.1f} s")
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench process itself:  peak RSS {own_rss:6.1f} MB")
    print(f"copy's bytes equal the source's: {copied == sha}")
    ok = copied == sha and max(tap_rss, target_rss) < LIMIT_MB
    print(f"both peaks under {LIMIT_MB:.0f} MB and bytes equal: {'yes' if ok else 'NO'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
