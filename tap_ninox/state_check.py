"""Does the input state belong to this run? Checked before anything is emitted.

A state of another tap, of another replication key, or from before a second
database renamed every stream (`crm__contact`) used to pass as "no bookmark":
every stream was read again in full, without a word. A bookmark of the wrong
type was refused only by the server, after records had gone out
(docs/design.md, "Errors and logs").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ninox_core.errors import NinoxConfigError

#: The replication key of every classic table stream.
REPLICATION_KEY = "_sequence"
#: The replication key of a Ninox 4 table stream with history.
CHANGES_REPLICATION_KEY = "_changed_at"
#: Stream-state key naming the Ninox 4 workspace (`tap_ninox.public_reads.WORKSPACE_KEY`).
WORKSPACE_KEY = "ninox_workspace"
#: The SDK's stream-state key of a bookmark's value.
VALUE_KEY = "replication_key_value"


def check_input_state(
    state: Mapping[str, Any] | None,
    incremental: list[str],
    selected: list[str],
    logger: logging.Logger,
    *,
    workspace: str | None = None,
) -> None:
    """Fail with one line when `state` cannot be this run's; INFO per stream read in full.

    `incremental` are the selected streams that keep a bookmark, `selected`
    every selected stream. A non-empty state none of whose bookmarks names a
    selected stream fails, listing both sets of names. `workspace`: the
    Ninox 4 workspace this run reads (None: the classic API). A Ninox 4
    stream's state names its workspace (`WORKSPACE_KEY`), so a classic
    state, a Ninox 4 state given to the classic API, or another
    workspace's state fails with one line.
    """
    bookmarks = {
        name: value
        for name, value in ((state or {}).get("bookmarks") or {}).items()
        if isinstance(value, Mapping) and value
    }
    if not bookmarks:
        return
    if not set(bookmarks) & set(selected):
        raise NinoxConfigError(
            f"the state's bookmarks ({_names(bookmarks)}) name none of the streams this run "
            f"syncs ({_names(selected)}): it is another tap's state, or one from before the "
            "streams were renamed (a second database names them <database>__<table>); "
            "run without --state to read everything in full, or give this tap's own state"
        )
    for name in selected:
        if name in bookmarks:
            _check_api(name, bookmarks[name], workspace)
    for name in incremental:
        bookmark = bookmarks.get(name)
        if bookmark is None or bookmark.get(VALUE_KEY) is None:
            logger.info("Stream '%s' has no bookmark in the state: it is read in full.", name)
            continue
        if workspace is None:
            _check_bookmark(name, bookmark)
        else:
            _check_changes_bookmark(name, bookmark)


def _check_api(name: str, bookmark: Mapping[str, Any], workspace: str | None) -> None:
    """The stream's state is of this run's API generation (and Ninox 4 workspace)."""
    theirs = bookmark.get(WORKSPACE_KEY)
    if workspace is None and theirs is not None:
        raise NinoxConfigError(
            f"state: stream '{name}' has the state of a Ninox 4 workspace ({theirs}), but "
            "this run reads the classic API (team_id); give the classic run's own state, "
            "or run without --state to read everything in full"
        )
    if workspace is None:
        return
    if theirs is None:
        raise NinoxConfigError(
            f"state: stream '{name}' has a classic API state (no {WORKSPACE_KEY}), but this "
            f"run reads Ninox 4 workspace {workspace} (workspace_id); give this workspace's "
            "own state, or run without --state to read everything in full"
        )
    if theirs != workspace:
        raise NinoxConfigError(
            f"state: stream '{name}' has the state of Ninox 4 workspace {theirs}, but this "
            f"run reads workspace {workspace}; give this workspace's own state, or run "
            "without --state to read everything in full"
        )


def _check_changes_bookmark(name: str, bookmark: Mapping[str, Any]) -> None:
    key = bookmark.get("replication_key", CHANGES_REPLICATION_KEY)
    value = bookmark.get(VALUE_KEY)
    if key != CHANGES_REPLICATION_KEY or not isinstance(value, str) or not value:
        raise NinoxConfigError(
            f"state: the bookmark of stream '{name}' is {key!r} = {value!r}; a Ninox 4 "
            f"bookmark is {CHANGES_REPLICATION_KEY!r} = the change feed's asOf text, as the "
            "tap's STATE gives it; fix the state, or drop the stream's bookmark to read it "
            "in full"
        )


def _check_bookmark(name: str, bookmark: Mapping[str, Any]) -> None:
    key = bookmark.get("replication_key", REPLICATION_KEY)
    if key != REPLICATION_KEY:
        raise NinoxConfigError(
            f"state: the bookmark of stream '{name}' is for replication key {key!r}, not "
            f"{REPLICATION_KEY!r} (another tap's state?); give this tap's own state, or drop "
            f"the stream's bookmark to read it in full"
        )
    value = bookmark.get(VALUE_KEY)
    if value is not None and (type(value) is not int or value < 0):
        raise NinoxConfigError(
            f"state: the bookmark of stream '{name}' is {value!r}; a {REPLICATION_KEY} "
            "bookmark is a whole number (a Ninox change sequence, as the tap's STATE "
            "gives it); fix the state, or drop the stream's bookmark to read it in full"
        )


def _names(names: Any) -> str:
    listed = sorted(names)
    shown = ", ".join(listed[:10])
    return shown + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")
