"""The headline of bench_all.py for this checkout and another git revision, alternating.

    uv run python bench/bench_versions.py --base main [--latency 0.020] [--low-latency 0.001]

Extracts `--base` (`git archive`) into a temporary directory and runs its
connectors (`from tap_ninox.tap import TapNinox; TapNinox.cli()`, as that
revision's command does) with this checkout's Python environment, next to
this checkout's installed commands and the plain serial loops, each round
each round plain, this, base in turn, with every request `--latency` (then `--low-latency`)
seconds slower. Prints the median wall and CPU of each and the ratios plain
/ connector: a change's effect in one run on a shared machine, where
figures from two runs differ by more than the change. Not a test.
"""

from __future__ import annotations

import argparse
import compileall
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from functools import partial
from pathlib import Path

# Run as a script: bench/ is on sys.path.
from bench_all import (
    ROOT,
    TAP_TABLE,
    TARGET_TABLE,
    Bench,
    Measured,
    compile_sources,
    empty,
    emulator,
    fill,
    measured,
    run,
)
from bench_target import singer_input

#: How the base revision's connector starts (its own source first on sys.path).
START = "import sys; sys.path.insert(0, {root!r}); from {module} import {plugin}; {plugin}.cli()"


def extract(revision: str, into: Path) -> Path:
    """`git archive revision` unpacked into `into`; its packages byte-compiled."""
    git = shutil.which("git") or "git"
    archive = subprocess.run(
        [git, "-C", str(ROOT), "archive", revision], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    for package in ("ninox_core", "tap_ninox", "target_ninox"):
        compileall.compile_dir(str(into / package), quiet=1)
    return into


def summary(name: str, runs: list[Measured], plain: list[Measured]) -> str:
    """Median wall/CPU, requests, peak in flight and the ratio plain / this."""
    wall = statistics.median(m.result.wall for m in runs)
    cpu = statistics.median(m.result.cpu for m in runs)
    ratio = statistics.median(m.result.wall for m in plain) / wall
    peak = max(m.peak for m in runs)
    return (
        f"    {name:<6} {wall:6.2f} s wall {cpu:5.2f} s CPU {runs[0].calls:5d} requests "
        f"| ratio {ratio:.2f}x | peak in flight {peak}"
    )


def tap_rounds(args: argparse.Namespace, base: str, seconds: float) -> None:
    """Plain loop, this tap and the base's, `args.repeat` rounds on one emulator."""
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        bench = Bench(base_url, Path(tmp_name), args.page_size, args.batch)
        count = fill(base_url, TAP_TABLE, args.records)
        # The config file is the one `bench.tap()` writes (it runs first).
        old_tap = [
            sys.executable,
            "-c",
            START.format(root=base, module="tap_ninox.tap", plugin="TapNinox"),
            "--config",
            str(bench.tmp / "tap.json"),
        ]
        runs: dict[str, list[Measured]] = {"plain": [], "base": [], "this": []}
        for _ in range(args.repeat):
            runs["plain"].append(measured(base_url, seconds, bench.plain_tap))
            runs["this"].append(measured(base_url, seconds, bench.tap))
            runs["base"].append(measured(base_url, seconds, partial(run, old_tap)))
        print(f"  tap {count}:")
        for name in ("plain", "base", "this"):
            print(summary(name, runs[name], runs["plain"]))


def target_rounds(args: argparse.Namespace, base: str, seconds: float) -> None:
    """Plain loop, this target and the base's, `args.repeat` rounds on one emulator."""
    with emulator() as base_url, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bench = Bench(base_url, tmp, args.page_size, args.batch)
        input_path = tmp / "input.singer"
        singer_input(args.target_records, input_path)
        # The config file is the one `bench.target()` writes (it runs first).
        old_target = [
            sys.executable,
            "-c",
            START.format(root=base, module="target_ninox.target", plugin="TargetNinox"),
            "--config",
            str(tmp / "target.json"),
            "--input",
            str(input_path),
        ]
        goes = {
            "plain": partial(bench.plain_target, input_path),
            "this": partial(bench.target, input_path),
            "base": partial(run, old_target),
        }
        runs: dict[str, list[Measured]] = {name: [] for name in goes}
        for _ in range(args.repeat):
            for name, go in goes.items():
                empty(base_url, TARGET_TABLE)
                runs[name].append(measured(base_url, seconds, go))
        print(f"  target {args.target_records}:")
        for name in ("plain", "base", "this"):
            print(summary(name, runs[name], runs["plain"]))


def main() -> None:
    """Parse the options; the rounds at each latency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare with")
    parser.add_argument("--latency", type=float, default=0.020)
    parser.add_argument("--low-latency", type=float, default=0.001)
    parser.add_argument("--records", type=int, default=100_000, help="tap table size")
    parser.add_argument("--target-records", type=int, default=40_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connectors", default="tap,target")
    args = parser.parse_args()
    compile_sources()
    which = set(args.connectors.split(","))
    with tempfile.TemporaryDirectory() as base_dir:
        base = str(extract(args.base, Path(base_dir)))
        print(
            f"{args.base} vs this checkout: tap {args.records} records, page {args.page_size}; "
            f"target {args.target_records} creates, batch {args.batch}; median of "
            f"{args.repeat} rounds (each round: plain, this, base)"
        )
        for seconds in (args.latency, args.low_latency):
            print(f"every request {seconds * 1000:g} ms slower:")
            if "tap" in which:
                tap_rounds(args, base, seconds)
            if "target" in which:
                target_rounds(args, base, seconds)


if __name__ == "__main__":
    main()
