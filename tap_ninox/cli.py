"""tap-ninox as a command: how its input is read and how a run ends.

Config, state and catalog files, settings from the environment, `--test`,
one-line errors and SIGTERM/SIGINT (docs/design.md, "Errors and logs").
Discovery and syncing live in `tap_ninox.tap`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import (
    AbortedSyncFailedException,
    AbortedSyncPausedException,
    ConfigValidationError,
)
from singer_sdk.singerlib import Message, RecordMessage, StateMessage
from typing_extensions import override

from ninox_core.cli.failures import mark_where, one_line, report_failure
from ninox_core.cli.inputs import (
    CliInputError,
    ConfigInput,
    check_plugin_settings,
    config_or_exit,
    read_json_file,
    read_state_file,
)
from ninox_core.errors import NinoxError
from ninox_core.termination import Interrupted, TerminationGuard
from tap_ninox._sdk_compat import CompatTap

#: Signal handling of this process (see ninox_core.termination).
GUARD = TerminationGuard()


class _OutputCounter:
    """Bytes written to stdout by `write_lines` (the STATE budget weighs them)."""

    written = 0


OUTPUT = _OutputCounter()


class BufferedMsgSpecWriter(MsgSpecWriter):
    """The SDK's msgspec writer without a flush after every RECORD.

    Flushing per message costs a system call per record. Output is flushed at
    every STATE (so a state never reaches the target before its records) and
    at exit.
    """

    @override
    def write_message(self, message: Message) -> None:
        """Write one message; flush only after non-RECORD messages.

        A SIGTERM/SIGINT arriving meanwhile waits until the line is out: a
        half-written message would break the target's input.
        """
        with GUARD.critical():
            write_lines(self.format_message(message))
            if not isinstance(message, RecordMessage):
                sys.stdout.flush()


def write_lines(data: bytes | bytearray) -> None:
    """Write whole RECORD lines (a page at a time), unflushed like the writer's.

    A SIGTERM/SIGINT arriving meanwhile waits until the lines are out.
    Unbuffered stdout (PYTHONUNBUFFERED) is a raw file whose `write` may
    write only part of a large page when a signal interrupts it: the rest
    is written in a loop, so no line is ever cut.
    """
    with GUARD.critical():
        out = sys.stdout.buffer
        view = memoryview(data)
        while view:
            written = out.write(view)
            view = view[written or 0 :]
        OUTPUT.written += len(data)


class NinoxTapCommand(CompatTap):
    """The command-line behaviour of tap-ninox (a base class of `TapNinox`)."""

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Sync; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            if not kwargs.get("about"):
                check_plugin_settings(cls, kwargs.get("config"))
            super().invoke(*args, **kwargs)

    @classmethod
    @override
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discover; a failure the user can fix ends with one line and exit code 1."""
        with _one_line_errors(cls.logger):
            if value:
                check_plugin_settings(cls, ctx.params.get("config"))
            super().cb_discover(ctx, param, value)

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """`--test`: one line per failing stream, exit code 1 if any failed."""
        if value in ("disabled", "schema"):
            with _one_line_errors(cls.logger):
                super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config") or ConfigInput()
        with _one_line_errors(cls.logger):
            check_plugin_settings(cls, config)
            tap = cls(config=config.config, validate_config=True)
            tap.connection_test()
        ctx.exit()

    @classmethod
    def read_config_option(cls, value: tuple[str, ...]) -> ConfigInput:
        """Read `--config` files and `ENV` (numbers and booleans parsed per setting)."""
        return config_or_exit(cls, value)

    def output_bytes(self) -> int:
        """Bytes written to stdout so far (every message goes through `write_lines`)."""
        return OUTPUT.written

    @classmethod
    def cb_state(cls, ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        """Read `--state`: a missing file or one that is not a Singer state is one line."""
        if value is None:
            return None
        with _one_line_errors(cls.logger):
            return io.StringIO(json.dumps(read_state_file(value)))
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def cb_catalog(cls, ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        """Read `--catalog`: a missing file or one that is not JSON is one line."""
        if value is None:
            return None
        with _one_line_errors(cls.logger):
            catalog = read_json_file(value, "catalog", 'a Singer catalog {"streams": [...]}')
            if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
                raise CliInputError(
                    f"catalog file {value!r} is not a Singer catalog; expected "
                    '{"streams": [...]} as --discover writes it'
                )
            return io.StringIO(json.dumps(catalog))
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with `--state` and `--catalog` read with one-line errors."""
        command = super().get_singer_command()
        callbacks = {"state": cls.cb_state, "catalog": cls.cb_catalog}
        for param in command.params:
            if param.name in callbacks:
                param.type = click.STRING
                param.callback = callbacks[param.name]
        return command

    def connection_test(self) -> None:
        """`--test`: read one record per stream; each failure is one ERROR line.

        The SDK's version (final) lets a failure end the run with a traceback.
        """
        failures = 0
        quiet = _DropStreamFailureLines()
        for stream in self.streams.values():
            stream.ABORT_AT_RECORD_COUNT = 1
            stream.selected = True
        for stream in self.streams.values():
            stream.logger.addFilter(quiet)
            try:
                with contextlib.suppress(AbortedSyncFailedException, AbortedSyncPausedException):
                    stream.sync()
            except NinoxError as exc:
                failures += 1
                self.logger.error("--test failed: %s", exc)
            finally:
                stream.logger.removeFilter(quiet)
        if failures:
            raise CliInputError(
                f"--test: {failures} of {len(self.streams)} streams failed (see above)"
            )
        self.logger.info("--test: every one of %d streams could be read", len(self.streams))

    def on_termination_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: stop at a safe point and exit non-zero (ninox_core.termination).

        The SDK's own handler exits 0, so an orchestrator would record a
        killed run as a success (see tap_ninox/_sdk_compat.py).
        """
        GUARD.owner = self
        GUARD.handle(signum, frame)


class _DropStreamFailureLines(logging.Filter):
    """Drops the SDK's "An unhandled error occurred" line: `--test` says it in one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other record."""
        return not str(record.msg).startswith("An unhandled error occurred while syncing")


def _not_a_closed_pipe(record: logging.LogRecord) -> bool:
    """Drops the SDK's "An unhandled error occurred" line when the output pipe closed.

    The stream did nothing wrong: `_one_line_errors` says what happened. The
    SDK logs that line inside its `except` block, so the error is at hand.
    """
    return not (
        str(record.msg).startswith("An unhandled error occurred while syncing")
        and isinstance(sys.exc_info()[1], BrokenPipeError)
    )


def quiet_closed_pipe(logger: logging.Logger) -> None:
    """Install `_not_a_closed_pipe` on a stream's logger (once)."""
    logger.addFilter(_not_a_closed_pipe)


@contextmanager
def _one_line_errors(logger: logging.Logger) -> Iterator[None]:
    """Turn a failure into one ERROR line and exit code 1; a signal into 143/130.

    The policy of both connectors (ninox_core/cli/failures.py): a user error's
    message already says what failed, where and what to do; any other
    exception is a bug of tap-ninox and says so. The traceback is logged at
    DEBUG only, and the SDK's own "An unhandled error occurred while syncing"
    line is folded into that one line (it names the stream). On
    SIGTERM/SIGINT the last STATE is written again (it covers only messages
    already written) before exiting 128 + signal.
    """
    streams = _StreamFailureLines()
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(streams)
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, ConfigValidationError):
        raise  # the SDK's command reports these itself
    except NinoxError as exc:
        logger.debug("tap-ninox failed:", exc_info=True)
        logger.error("tap-ninox failed: %s", one_line(str(exc)))
        sys.exit(1)
    except BrokenPipeError:
        # The reader of stdout stopped (a target that failed, `| head`):
        # nothing more can be written, and Python's flush at exit would
        # fail again with a traceback, so stdout goes to /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        logger.error(
            "tap-ninox stopped: the program reading its output (the target, or head) "
            "closed the pipe; see that program's messages for why"
        )
        sys.exit(1)
    except Interrupted as stop:
        GUARD.stopping()
        tap = GUARD.owner
        # An empty state (stopped before the input state was even loaded)
        # would tell the orchestrator to forget its bookmarks: write none.
        state = getattr(tap, "state", None) if tap is not None else None
        if state:
            tap.message_writer.write_message(StateMessage(value=state))
        logger.error(
            "tap-ninox %s; the last STATE covers every record written: run again with it "
            "to go on (exit code %d)",
            stop,
            stop.exit_code,
        )
        sys.exit(stop.exit_code)
    except Exception as exc:
        if streams.stream is not None:
            mark_where(exc, f"while syncing stream {streams.stream!r}")
        report_failure(logger, exc, "tap-ninox", str(exc))
        sys.exit(1)
    finally:
        for handler in handlers:
            handler.removeFilter(streams)


class _StreamFailureLines(logging.Filter):
    """Drops the SDK's "An unhandled error occurred while syncing" line, keeping its stream.

    The run's one ERROR line says what failed and names that stream.
    """

    def __init__(self) -> None:
        super().__init__()
        #: The stream the SDK said failed (None: none did).
        self.stream: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other record."""
        if str(record.msg).startswith("An unhandled error occurred while syncing"):
            if record.args and isinstance(record.args, tuple):
                self.stream = str(record.args[0])
            return False
        return True
