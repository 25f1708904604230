"""Every performance figure of tap-ninox and target-ninox, in one run (docs/design.md).

    uv run python bench/bench_all.py [--latency 0.020] [--low-latency 0.001] [--big]
    uv run python bench/bench_all.py --headline-only   # only the first section

Starts the emulator in its own process and prints, next to the plain loops
of `bench/plain_loops.py` (what a user would write by hand):

- the headline: tap and target against the emulator made `--latency`
  (20 ms) slower on every request, as Ninox answers in tens to hundreds of
  milliseconds, and again `--low-latency` (1 ms) slower: wall-time ratio of
  each to the plain serial loop doing the same calls, in the same run, the
  requests each made and the most requests the emulator saw in flight at
  once (1: never two calls in flight). Tap `--headline-records`, page
  `--page-size`; target `--headline-target-records` creates, batch `--batch`;
  `--big` takes the issue's sizes (100,000 and 40,000);

- tap and target records/s and CPU seconds per 100,000 records (each a
  process of its own, start-up included; medians of `--repeat` alternating runs);
- the target again with the server `--server-latency` (5 ms) slower per
  POST: Ninox answers far more slowly than the local emulator, and the
  target's one write in flight hides its own work behind the server's;
- start-up CPU of `tap-ninox --about` and `target-ninox --about`;
- requests for a full sync, an incremental sync after k changes (at two
  table sizes: it must not grow with the table), and a target load in
  each load_method;
- peak RSS of tap and target at 20,000 records and (with `--big`) 200,000;
- key-index bytes per 100,000 keys (bench/bench_key_index.py).

The machine is shared and noisy: compare ratios within one run. Not a test.
Start-up is measured as installed: our own modules are byte-compiled first
(`UV_COMPILE_BYTECODE=1` does that for dependencies, not for an editable
checkout).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import requests

# The same input as bench_target.py (run as a script: bench/ is on sys.path).
from bench_target import STREAM, singer_input

from ninox_core.transport.client import NinoxClient

TEAM, DB, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "bench-key"
TAP_TABLE, TARGET_TABLE = "A", "A"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent


# ------------------------------------------------------------------ processes


def compile_sources() -> None:
    """Byte-compile our packages and the environment's (singer-sdk, requests, …) once.

    Where PYTHONDONTWRITEBYTECODE is set (as on the shared test machine)
    no import leaves a `.pyc` behind, so every process compiled singer-sdk
    from source again: most of the tap's start-up, about 0.7 s of CPU per
    run, which an installed connector pays once. The plain loops' imports
    (requests) are compiled the same way.
    """
    for package in ("ninox_core", "tap_ninox", "target_ninox"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=1, workers=0)


class Run:
    """Wall time, CPU time (user + system) and peak RSS of one child process."""

    def __init__(self, wall: float, cpu: float, rss_mib: float) -> None:
        self.wall, self.cpu, self.rss_mib = wall, cpu, rss_mib


def run(cmd: Sequence[str], *, stdin: Path | None = None, stdout: Path | None = None) -> Run:
    """Run `cmd` to the end; its own rusage (os.wait4), not the whole tree's."""
    with contextlib.ExitStack() as stack:
        fin = stack.enter_context(stdin.open("rb")) if stdin else subprocess.DEVNULL
        fout = stack.enter_context(stdout.open("wb")) if stdout else subprocess.DEVNULL
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n" + "\n".join(tail))
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The emulator in its own process; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ninox_emulator.cli import main; main()",
            "--demo",
            "--api-key",
            KEY,
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{root}/_emulator/variants", timeout=5)
                break
            time.sleep(0.05)
        yield f"{root}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def control(base_url: str, method: str, route: str, body: Any = None) -> Any:
    """The emulator's control API (not counted as Ninox requests)."""
    root = base_url.rsplit("/v1", 1)[0]
    answer = requests.request(method, f"{root}/_emulator/{route}", json=body, timeout=60)
    answer.raise_for_status()
    return answer.json()


def count_requests(base_url: str) -> int:
    """Ninox API requests since the last `clear_requests`."""
    counts = control(base_url, "GET", "requests").get("counts", {})
    return sum(n for key, n in counts.items() if "/_emulator" not in key)


def clear_requests(base_url: str) -> None:
    control(base_url, "DELETE", "requests")


# ------------------------------------------------------------------- data


def fill(base_url: str, table: str, upto: int) -> int:
    """Add records to `table` until it holds `upto`; returns the count."""
    with NinoxClient(KEY, base_url) as client:
        have = sum(len(p) for p in client.iter_record_pages(TEAM, DB, table, page_size=1000))
        for start in range(have, upto, 1000):
            batch = [
                {"fields": {"First name": f"Name {i}", "Last name": "Bench"}}
                for i in range(start, min(upto, start + 1000))
            ]
            client.save_records(TEAM, DB, table, batch)
        return max(have, upto)


def empty(base_url: str, table: str) -> None:
    with NinoxClient(KEY, base_url) as client:
        ids = [r["id"] for p in client.iter_record_pages(TEAM, DB, table) for r in p]
        for start in range(0, len(ids), 10_000):
            client.delete_records(TEAM, DB, table, ids[start : start + 10_000])


def change(base_url: str, table: str, k: int) -> None:
    """Update `k` records of `table` (the first ones)."""
    with NinoxClient(KEY, base_url) as client:
        page = next(iter(client.iter_record_pages(TEAM, DB, table, page_size=k)))
        rows = [{"id": r["id"], "fields": {"Last name": "Changed"}} for r in page[:k]]
        client.save_records(TEAM, DB, table, rows)


def last_state(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = {}
    with path.open("rb") as lines:
        for line in lines:
            if line.startswith(b'{"type":"STATE"'):
                state = json.loads(line)["value"]
    return state


# ------------------------------------------------------------- connectors


class Bench:
    def __init__(self, base_url: str, tmp: Path, page: int, batch: int) -> None:
        self.base_url, self.tmp, self.page, self.batch = base_url, tmp, page, batch

    def _config(self, name: str, config: dict[str, Any]) -> Path:
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps({"api_key": KEY, "base_url": self.base_url, **config}))
        return path

    def tap(self, *, state: dict[str, Any] | None = None, out: Path | None = None) -> Run:
        config = self._config(
            "tap",
            {
                "team_id": TEAM,
                "database_ids": [DB],
                "tables": [TAP_TABLE],
                "page_size": self.page,
            },
        )
        cmd = [str(BIN / "tap-ninox"), "--config", str(config)]
        if state is not None:
            state_path = self.tmp / "state.json"
            state_path.write_text(json.dumps(state))
            cmd += ["--state", str(state_path)]
        return run(cmd, stdout=out)

    def plain_tap(self) -> Run:
        return run(
            [
                sys.executable,
                str(HERE / "plain_loops.py"),
                "tap",
                self.base_url,
                KEY,
                TEAM,
                DB,
                TAP_TABLE,
                str(self.page),
            ]
        )

    def target(self, input_path: Path, **settings: Any) -> Run:
        config = self._config(
            "target",
            {
                "team_id": TEAM,
                "database_id": DB,
                "table_mapping": {STREAM: TARGET_TABLE},
                "batch_size_rows": self.batch,
                **settings,
            },
        )
        cmd = [str(BIN / "target-ninox"), "--config", str(config), "--input", str(input_path)]
        return run(cmd)

    def plain_target(self, input_path: Path) -> Run:
        return run(
            [
                sys.executable,
                str(HERE / "plain_loops.py"),
                "target",
                self.base_url,
                KEY,
                TEAM,
                DB,
                TARGET_TABLE,
                str(self.batch),
            ],
            stdin=input_path,
        )


def compare_targets(bench: Bench, input_path: Path, n: int, repeat: int) -> None:
    """Alternate the plain POST loop and target-ninox (append-only); print both."""
    plain, target = [], []
    for _ in range(repeat):
        empty(bench.base_url, TARGET_TABLE)
        plain.append(bench.plain_target(input_path))
        empty(bench.base_url, TARGET_TABLE)
        target.append(bench.target(input_path, load_method="append-only"))
    (pw, pc), (tw, tc) = medians(plain), medians(target)
    line("plain POST loop", n, pw, pc)
    line("target-ninox append-only", n, tw, tc, f"   ratio {pw / tw:.2f}x the plain loop")


def medians(runs: list[Run]) -> tuple[float, float]:
    return statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs)


def line(label: str, count: int, wall: float, cpu: float, extra: str = "") -> None:
    print(
        f"  {label:<34} {count / wall:9.0f} rec/s   {cpu * 100_000 / count:6.2f} CPU s/100k"
        f"   ({wall:.2f} s wall){extra}"
    )


def key_index_bytes(keys: int = 100_000) -> float:
    """MiB the target's KeyIndex holds for `keys` keys (bench_key_index.py)."""
    sys.path.insert(0, str(HERE))
    from bench_key_index import TABLE, FakeClient

    from target_ninox.key_index import KeyIndex

    gc.collect()
    tracemalloc.start()
    index = KeyIndex(TABLE, TABLE.fields)
    index.load(FakeClient(keys), "team", "db")  # type: ignore[arg-type]
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return held * 100_000 / keys / 2**20


# --------------------------------------------------------------- headline


@contextlib.contextmanager
def latency(base_url: str, seconds: float) -> Iterator[None]:
    """Every Ninox request (any method, any path) `seconds` slower while inside."""
    control(base_url, "DELETE", "faults")
    if seconds > 0:
        control(base_url, "POST", "faults", {"kind": "latency", "seconds": seconds, "times": None})
    try:
        yield
    finally:
        control(base_url, "DELETE", "faults")


class Measured:
    """One timed run: its process figures, the requests it made, the peak in flight."""

    def __init__(self, result: Run, calls: int, peak: int) -> None:
        self.result, self.calls, self.peak = result, calls, peak


def measured(base_url: str, seconds: float, go: Any) -> Measured:
    """Run `go()` with every request `seconds` slower; count its requests and peak."""
    clear_requests(base_url)
    control(base_url, "DELETE", "concurrency")
    with latency(base_url, seconds):
        result = go()
    peak = int(control(base_url, "GET", "concurrency")["peak"])
    return Measured(result, count_requests(base_url), peak)


def pair_line(
    what: str, count: int, plain: list[Measured], ours: list[Measured]
) -> tuple[float, str]:
    """The ratio plain / ours (median wall), and a line with both loops' medians."""
    pw = statistics.median(m.result.wall for m in plain)
    ow = statistics.median(m.result.wall for m in ours)
    pc = statistics.median(m.result.cpu for m in plain)
    oc = statistics.median(m.result.cpu for m in ours)
    peak = max(m.peak for m in plain + ours)
    spread = ", ".join(
        f"{pw_ / ow_:.2f}"
        for pw_, ow_ in zip(
            (m.result.wall for m in plain), (m.result.wall for m in ours), strict=True
        )
    )
    text = (
        f"  {what + ' ' + str(count):<13} plain loop {pw:6.2f} s wall {pc:5.2f} s CPU "
        f"{plain[0].calls:5d} requests"
        f" | ours {ow:6.2f} s wall {oc:5.2f} s CPU {ours[0].calls:5d} requests"
        f" | ratio {pw / ow:.2f}x (runs: {spread}) | peak in flight {peak}"
    )
    return pw / ow, text


def headline(args: argparse.Namespace) -> None:
    """Tap and target vs the plain serial loops with every request slower (the headline)."""
    records = 100_000 if args.big else args.headline_records
    target_records = 40_000 if args.big else args.headline_target_records
    print(
        f"headline: tap {records} records, page {args.page_size}; target {target_records} "
        f"creates, batch {args.batch}; median of {args.headline_repeat} alternating runs "
        "(process each, start-up included; ratio = plain loop wall / ours, >1 is faster)"
    )
    ratios: dict[tuple[str, float], float] = {}
    which = set(args.headline_connectors.split(","))
    lines: dict[float, list[str]] = {args.latency: [], args.low_latency: []}
    # The tap and the target each on a fresh emulator: the target empties
    # and refills its table, and a store that held a large table answers
    # more slowly.
    if "tap" in which:
        with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
            bench = Bench(base_url, Path(tmp_name), args.page_size, args.batch)
            count = fill(base_url, TAP_TABLE, records)
            for seconds, shown in lines.items():
                plain, tap = [], []
                for _ in range(args.headline_repeat):
                    plain.append(measured(base_url, seconds, bench.plain_tap))
                    tap.append(measured(base_url, seconds, bench.tap))
                ratio, text = pair_line("tap", count, plain, tap)
                ratios["tap", seconds] = ratio
                shown.append(text)
    if "target" in which:
        with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            bench = Bench(base_url, tmp, args.page_size, args.batch)
            input_path = tmp / "input.singer"
            singer_input(target_records, input_path)
            for seconds, shown in lines.items():
                plain, target = [], []
                for _ in range(args.headline_repeat):
                    empty(base_url, TARGET_TABLE)
                    plain.append(
                        measured(base_url, seconds, lambda: bench.plain_target(input_path))
                    )
                    empty(base_url, TARGET_TABLE)
                    target.append(measured(base_url, seconds, lambda: bench.target(input_path)))
                ratio, text = pair_line("target", target_records, plain, target)
                ratios["target", seconds] = ratio
                shown.append(text)
    for seconds, texts in lines.items():
        print(f"every request {seconds * 1000:g} ms slower:")
        for text in texts:
            print(text)
    print(
        "headline ratios: "
        + ", ".join(f"{who} {s * 1000:g} ms {r:.2f}x" for (who, s), r in ratios.items())
    )


# ------------------------------------------------------------------- main


def machine() -> str:
    model = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="tap table size")
    parser.add_argument("--target-records", type=int, default=60_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--changes", type=int, default=100, help="k for the incremental sync")
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs per figure")
    parser.add_argument(
        "--big",
        action="store_true",
        help="the issue's headline sizes, and peak RSS at 200,000 records",
    )
    parser.add_argument(
        "--server-latency",
        type=float,
        default=0.005,
        help="seconds added to each POST for the second target comparison",
    )
    parser.add_argument(
        "--latency", type=float, default=0.020, help="seconds added to every request (headline)"
    )
    parser.add_argument(
        "--low-latency", type=float, default=0.001, help="the headline again with this latency"
    )
    parser.add_argument("--headline-records", type=int, default=50_000, help="headline tap rows")
    parser.add_argument("--headline-target-records", type=int, default=10_000)
    parser.add_argument("--headline-repeat", type=int, default=3)
    parser.add_argument("--headline-only", action="store_true", help="skip every other figure")
    parser.add_argument(
        "--headline-connectors", default="tap,target", help="which connectors the headline runs"
    )
    args = parser.parse_args()

    compile_sources()
    print(f"machine: {machine()}")
    print(
        f"tap: {args.records} records, page {args.page_size}; target: "
        f"{args.target_records} records, batch {args.batch}; {args.repeat} runs each"
    )
    headline(args)
    if args.headline_only:
        return

    print("start-up (CPU s, median of 3):")
    for name in ("tap-ninox", "target-ninox"):
        cpu = statistics.median(run([str(BIN / name), "--about"]).cpu for _ in range(3))
        print(f"  {name} --about: {cpu:.3f} s")

    rss: dict[str, dict[int, float]] = {"tap": {}, "target append-only": {}}
    tap_requests: list[str] = []
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(base_url, tmp, args.page_size, args.batch)
        out = tmp / "tap.singer"
        requests_seen = tap_requests

        def full_and_incremental(count: int) -> None:
            clear_requests(base_url)
            full = bench.tap(out=out)
            n_full = count_requests(base_url)
            change(base_url, TAP_TABLE, args.changes)
            clear_requests(base_url)
            bench.tap(state=last_state(out))
            n_inc = count_requests(base_url)
            pages = -(-count // args.page_size)
            requests_seen.append(
                f"  N={count}: full sync {n_full} requests (ceil(N/page)+1 = {pages + 1}, "
                f"+{n_full - pages - 1} metadata); incremental after {args.changes} changes: "
                f"{n_inc}"
            )
            rss["tap"][count] = full.rss_mib

        count = fill(base_url, TAP_TABLE, 20_000)
        full_and_incremental(count)
        count = fill(base_url, TAP_TABLE, args.records)
        full_and_incremental(count)

        print(f"tap, {count} records, page {args.page_size} (process each, start-up included):")
        plain, tap = [], []
        for _ in range(args.repeat):
            plain.append(bench.plain_tap())
            tap.append(bench.tap())
        (pw, pc), (tw, tc) = medians(plain), medians(tap)
        line("plain requests loop", count, pw, pc)
        line("tap-ninox", count, tw, tc, f"   ratio {pw / tw:.2f}x the plain loop")

        if args.big:
            count = fill(base_url, TAP_TABLE, 200_000)
            rss["tap"][count] = bench.tap().rss_mib

    # A fresh emulator for the target: one that held and deleted a large
    # table answers every POST more slowly, the plain loop's too.
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(base_url, tmp, args.page_size, args.batch)
        empty(base_url, TARGET_TABLE)
        input_path = tmp / "input.singer"
        singer_input(args.target_records, input_path)
        n = args.target_records
        print(f"target, {n} records, batch {args.batch} (process each, start-up included):")
        compare_targets(bench, input_path, n, args.repeat)
        # The emulator answers a POST in about a millisecond; Ninox takes far
        # longer. With a server that is slower (but still fast), the one
        # write in flight hides the target's own work behind each POST.
        latency = args.server_latency
        print(
            f"target, {n} records, batch {args.batch}, the server {latency * 1000:.0f} ms "
            "slower per POST:"
        )
        fault = {"kind": "latency", "seconds": latency, "times": None, "method": "POST"}
        control(base_url, "POST", "faults", fault)
        compare_targets(bench, input_path, n, args.repeat)
        control(base_url, "DELETE", "faults")

        print("requests:")
        for text in tap_requests:
            print(text)
        small = tmp / "small.singer"
        singer_input(20_000, small)
        keyed = {"upsert_keys": {STREAM: ["First name"]}}
        for mode, settings in (
            ("append-only", {"load_method": "append-only"}),
            ("upsert, no key (creates)", {"load_method": "upsert"}),
            ("upsert by key (rerun: updates)", {"load_method": "upsert", **keyed}),
            ("overwrite by key (rerun)", {"load_method": "overwrite", **keyed}),
        ):
            if "rerun" not in mode:
                empty(base_url, TARGET_TABLE)
            clear_requests(base_url)
            result = bench.target(small, **settings)
            calls = count_requests(base_url)
            print(
                f"  target {mode}, 20000 records, batch {args.batch}: {calls} requests "
                f"(ceil(N/batch) = {-(-20_000 // args.batch)}); {20_000 / result.wall:.0f} rec/s"
            )
            if mode == "append-only":
                rss["target append-only"][20_000] = result.rss_mib
        if args.big:
            big = tmp / "big.singer"
            singer_input(200_000, big)
            empty(base_url, TARGET_TABLE)
            rss["target append-only"][200_000] = bench.target(
                big, load_method="append-only"
            ).rss_mib

        print("peak RSS (MiB):")
        for name, sizes in rss.items():
            shown = ", ".join(f"{size}: {mib:.1f}" for size, mib in sorted(sizes.items()))
            print(f"  {name}: {shown}")
    print(f"key index: {key_index_bytes():.2f} MiB per 100,000 keys (target-ninox KeyIndex)")
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
