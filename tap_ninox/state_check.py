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

#: The replication key of every table stream.
REPLICATION_KEY = "_sequence"
#: The SDK's stream-state key of a bookmark's value.
VALUE_KEY = "replication_key_value"


def check_input_state(
    state: Mapping[str, Any] | None,
    incremental: list[str],
    selected: list[str],
    logger: logging.Logger,
) -> None:
    """Fail with one line when `state` cannot be this run's; INFO per stream read in full.

    `incremental` are the selected streams that keep a bookmark, `selected`
    every selected stream. A non-empty state none of whose bookmarks names a
    selected stream fails, listing both sets of names.
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
    for name in incremental:
        bookmark = bookmarks.get(name)
        if bookmark is None:
            logger.info("Stream '%s' has no bookmark in the state: it is read in full.", name)
            continue
        _check_bookmark(name, bookmark)


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
