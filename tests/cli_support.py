"""Run tap-ninox or target-ninox as a command and look at what it printed.

`run` runs the command in the test's process (no interpreter start-up);
`run_process` runs it as a real process, for what only a process shows
(signals, pipes, the installed entry point, start-up).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The commands, as `python -m` modules: the connectors and tap-ninox's ids tool.
MODULES = {"tap": "tap_ninox.tap", "target": "target_ninox.target", "ids": "tap_ninox.ids"}


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
    input: str | bytes | None = None,
    timeout: float = 120,
) -> Run:
    """Run the connector's command in this process: `<command> args...`.

    What the command does with its arguments, environment, stdin, stdout,
    stderr and exit code, without a new interpreter (each costs about half a
    second of start-up). `env` entries are added to an environment without
    any TAP_NINOX_*/TARGET_NINOX_* variable. Process-level behaviour
    (signals, pipes, the real entry point) needs `run_process`.
    """
    del timeout  # a run in this process cannot be cut short; the test's own deadline applies
    with _isolated_command(env, input) as (stdout, stderr):
        try:
            if which == "ids":
                from tap_ninox import ids

                code = ids.main(list(args))
            else:
                command = _commands()[which].cli  # logs to the stderr of this run
                command.main(list(args), prog_name=f"{which}-ninox", standalone_mode=True)
                code = 0  # pragma: no cover  # click's standalone mode always exits
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what the interpreter does with an uncaught exception
            sys.excepthook(*sys.exc_info())
            code = 1
    return Run(code, _text(stdout.getvalue()), _text(stderr.getvalue()))


def run_process(
    which: str,
    *args: str,
    env: dict[str, str] | None = None,
    input: str | bytes | None = None,
    timeout: float = 120,
) -> Run:
    """Run `python -m <command> args...`; env entries are added to a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    result = subprocess.run(
        [sys.executable, "-m", MODULES[which], *args],
        capture_output=True,
        timeout=timeout,
        check=False,
        input=input.encode() if isinstance(input, str) else input,
        env={**base, **(env or {})},
    )
    return Run(result.returncode, _text(result.stdout), _text(result.stderr))


def _text(output: bytes) -> str:
    """A command's output as text (invalid UTF-8 shown as U+FFFD)."""
    return output.decode("utf-8", "replace")


_PREFIXES = ("TAP_NINOX", "TARGET_NINOX")


def _commands() -> dict[str, Any]:
    from tap_ninox.tap import TapNinox
    from target_ninox.target import TargetNinox

    return {"tap": TapNinox, "target": TargetNinox}


@contextlib.contextmanager
def _isolated_command(
    env: dict[str, str] | None, data: str | bytes | None
) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """Stdin, stdout, stderr, environment, logging and signals of one in-process run.

    Everything a command changes in its process is put back afterwards: the
    root logger's handlers and level, the loggers' levels and filters, the
    signal handlers, `sys.excepthook`, warning filters, and the connectors'
    stop flags.
    """
    from ninox_core import termination
    from ninox_core.transport import redaction
    from tap_ninox import cli as tap_cli
    from target_ninox.reader import NinoxMessageReader

    out, err = io.BytesIO(), io.BytesIO()
    raw = data.encode() if isinstance(data, str) else data or b""
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    saved_env = dict(os.environ)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    saved_hook = sys.excepthook
    saved_warnings = list(warnings.filters)
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    root = logging.getLogger()
    saved_root = list(root.handlers), root.level
    loggers = [
        root,
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    saved_loggers = [
        (lg, lg.level, list(lg.filters), list(lg.handlers), lg.disabled, lg.propagate)
        for lg in loggers
    ]
    saved_input = NinoxMessageReader.__dict__.get("default_input")
    for key in [k for k in os.environ if k.startswith(_PREFIXES)]:
        del os.environ[key]
    os.environ.update(env or {})
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    NinoxMessageReader.default_input = stdin
    saved_guard, tap_cli.GUARD = tap_cli.GUARD, termination.TerminationGuard()
    termination.clear_stop()
    saved_secrets = redaction.swap_secrets(set())  # like a new process: no secret known yet
    try:
        yield out, err
    finally:
        for stream in (stdout, stderr, stdin):
            with contextlib.suppress(ValueError):  # a command may close its stdout
                stream.flush()
            stream.detach()  # keep the buffers open when the wrappers go away
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.environ.clear()
        os.environ.update(saved_env)
        sys.excepthook = saved_hook
        warnings.filters[:] = saved_warnings  # type: ignore[index]
        logging.captureWarnings(capture=False)
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        # SINGER_SDK_LOG_CONFIG (dictConfig) may reconfigure or disable any logger.
        for logger, level, filters, handlers, disabled, propagate in saved_loggers:
            logger.setLevel(level)
            logger.filters[:] = filters
            logger.handlers[:] = handlers
            logger.disabled, logger.propagate = disabled, propagate
        known = {id(saved[0]) for saved in saved_loggers}
        for added in logging.root.manager.loggerDict.values():
            if isinstance(added, logging.Logger) and id(added) not in known:
                added.setLevel(logging.NOTSET)
                added.handlers.clear()
                added.disabled, added.propagate = False, True
        if saved_input is None:
            del NinoxMessageReader.default_input
        else:
            NinoxMessageReader.default_input = saved_input
        tap_cli.GUARD = saved_guard
        termination.clear_stop()
        redaction.swap_secrets(saved_secrets)


def about(command: str, output_format: str = "json") -> str:
    """`tap-ninox`/`target-ninox --about --format=<output_format>`, run in-process."""
    which = {"tap-ninox": "tap", "target-ninox": "target"}[command]
    done = run(which, "--about", f"--format={output_format}")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


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


def wait_for_requests(
    emulator: Any,
    count: int,
    process: subprocess.Popen[Any] | None = None,
    *,
    method: str | None = None,
    path_regex: str | None = None,
    timeout: float = 60.0,
) -> None:
    """Block until the emulator received `count` matching requests in all.

    An event, not a guess: an `on_request` hook sees each request as it
    arrives, before it is answered. Fails at once if `process` ends first.
    """
    pattern = re.compile(path_regex) if path_regex else None
    seen = emulator.request_count(method=method, path_regex=path_regex)
    reached = threading.Event()
    lock = threading.Lock()

    def on_request(entry: Any) -> None:
        nonlocal seen
        if (method is None or entry.method == method.upper()) and (
            pattern is None or pattern.search(entry.path)
        ):
            with lock:
                seen += 1
                if seen >= count:
                    reached.set()

    emulator.on_request(on_request)
    with lock:
        if seen >= count:
            reached.set()
    deadline = time.monotonic() + timeout
    while not reached.wait(0.05):  # returns as soon as the request arrives
        if process is not None and process.poll() is not None:
            _, err = process.communicate()
            text = err.decode(errors="replace") if isinstance(err, bytes) else str(err)
            raise AssertionError(f"the command ended early: {text[-3000:]}")
        assert time.monotonic() < deadline, f"{count} requests not seen after {timeout} s"
