"""How a failed run is reported: one policy for both connectors.

docs/design.md, "Errors and logs":

- a failure the user can fix (bad input, a setting, what the server said)
  is one ERROR line that says what, where and what to do;
- any other exception is a defect of the connector itself: one ERROR line
  that says so, names where it happened when known, and asks for a report
  with the DEBUG log;
- in both cases the traceback is logged at DEBUG, never above, so a user
  sees one line and a bug report can carry the whole story.
"""

from __future__ import annotations

import logging

from jsonschema.exceptions import SchemaError
from singer_sdk.exceptions import (
    ConfigurationError,
    DataError,
    FatalSyncError,
    InvalidRecord,
    MappingError,
)
from singer_sdk.singerlib.exceptions import InvalidInputLine

from ninox_core.errors import NinoxError

#: Exceptions that blame the input, the settings or the server, not our code:
#: ours, and the SDK's for the same (stream maps, config, Singer input).
USER_ERRORS: tuple[type[BaseException], ...] = (
    NinoxError,
    ConfigurationError,
    MappingError,
    FatalSyncError,
    DataError,
    InvalidRecord,
    InvalidInputLine,
    SchemaError,
)


def is_bug(exc: BaseException, user_errors: tuple[type[BaseException], ...] = ()) -> bool:
    """True when `exc` is a defect of the connector (none of the user-error types)."""
    return not isinstance(exc, (*USER_ERRORS, *user_errors))


def mark_where(exc: BaseException, where: str) -> BaseException:
    """Note where a bug happened (stream, table), for its one line; returns `exc`.

    Only the first note is shown: the innermost place that knew.
    """
    if not getattr(exc, "__notes__", None):
        # `add_note` is Python 3.11+; the attribute is what it sets.
        setattr(exc, "__notes__", [where])  # noqa: B010  (mypy on 3.10 knows no __notes__)
    return exc


def one_line(text: str) -> str:
    """The first line of a message, `…` when more followed."""
    first, *rest = text.strip().splitlines() or [""]
    return first + (" …" if rest else "")


def bug_line(exc: BaseException, program: str, prefix: str = "") -> str:
    """The one line a defect is reported with."""
    notes = getattr(exc, "__notes__", None) or []
    where = f" ({notes[0]})" if notes else ""
    detail = one_line(str(exc)) or "(no message)"
    return (
        f"{prefix}internal error in {program}{where}: {type(exc).__name__}: {detail}. This is "
        f"a bug in {program}, not in your data or settings: please report it with this "
        "run's log at log level DEBUG, which shows where it happened"
    )


def report_failure(
    logger: logging.Logger,
    exc: BaseException,
    program: str,
    text: str,
    *,
    user_errors: tuple[type[BaseException], ...] = (),
    prefix: str = "",
) -> None:
    """Log how a run failed: the traceback at DEBUG, then one ERROR line.

    `text` is the line for a user error; a bug gets `bug_line` instead.
    `prefix` (`input line 7: `) leads a bug's line.
    """
    logger.debug("%s failed:", program, exc_info=exc)
    if is_bug(exc, user_errors):
        logger.error("%s", bug_line(exc, program, prefix))
    else:
        logger.error("%s", one_line(text))
