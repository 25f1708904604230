"""Run tap-ninox or target-ninox as a command and look at what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULES = {"tap": "tap_ninox.tap", "target": "target_ninox.target"}


@dataclass
class Run:
    """One finished command."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        """The ERROR lines of stderr."""
        return [line for line in self.stderr.splitlines() if "ERROR" in line]

    def assert_one_line_failure(self, *expected: str) -> str:
        """Exit 1, exactly one ERROR line holding every `expected` text, no traceback."""
        assert self.returncode == 1, (self.returncode, self.stderr[-3000:])
        assert "Traceback" not in self.stderr, self.stderr[-3000:]
        assert len(self.errors) == 1, self.stderr[-3000:]
        for text in expected:
            assert text in self.errors[0], (text, self.errors[0])
        return self.errors[0]


def run(
    which: str,
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> Run:
    """Run `python -m <connector> args...`; env entries are added to a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_NINOX", "TARGET_NINOX"))}
    result = subprocess.run(
        [sys.executable, "-m", MODULES[which], *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input,
        env={**base, **(env or {})},
    )
    return Run(result.returncode, result.stdout, result.stderr)


def env_from(config: dict[str, Any], prefix: str) -> dict[str, str]:
    """A config as `<PREFIX><SETTING>` environment variables (lists and dicts as JSON)."""
    import json

    out = {}
    for key, value in config.items():
        text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        if isinstance(value, bool):
            text = "true" if value else "false"
        out[prefix + key.upper()] = text
    return out


def wait_until_reading_stdin(proc: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    """Block until `proc`'s main thread waits for more standard input."""
    wait_until_blocked(proc, "read", 0, timeout)


def wait_until_blocked(
    proc: subprocess.Popen[Any], call: str, descriptor: int, timeout: float = 60.0
) -> None:
    """Block until `proc`'s main thread waits in `call` (read or write) on `descriptor`.

    An event, not a guess: Linux shows a blocked thread's system call in
    `/proc/PID/task/PID/syscall` (its number, then its arguments, the first
    being the descriptor). Blocked in `read` on stdin, a command has handled
    every line sent so far; blocked in `write` on stdout, its pipe is full.
    """
    numbers = {"x86_64": {"read": "0", "write": "1"}, "aarch64": {"read": "63", "write": "64"}}
    wanted = [numbers[os.uname().machine][call], hex(descriptor)]
    where = f"/proc/{proc.pid}/task/{proc.pid}/syscall"
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"the command ended ({proc.returncode}) before {call}"
        try:
            seen = Path(where).read_text().split()
        except OSError:
            seen = []
        if seen[:2] == wanted:
            return
        assert time.monotonic() < deadline, f"not blocked in {call} after {timeout} s: {seen}"
        time.sleep(0.02)
