"""The stream-name rule both connectors use (SPEC.md "Streams").

The tap names its streams with it; the target uses it backwards to find the
table a stream was named after.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

#: (database id, database name, table id, table name) of one selected table.
TableEntry = tuple[str, str, str, str]


def slug(name: str) -> str:
    """Lower case, every run of characters other than `a-z0-9` as `_`, trimmed.

    `Contact Email` → `contact_email`; non-ASCII letters count as "other"
    (`Übersicht` → `bersicht`).
    """
    return _NOT_ALNUM.sub("_", name.lower()).strip("_")


def database_part(database_id: str, database_name: str) -> str:
    """The `<database>` prefix of a stream name (the id when the name has no a-z0-9)."""
    return slug(database_name) or slug(database_id) or database_id.lower()


def stream_names(
    entries: Iterable[TableEntry],
    *,
    multi_database: bool,
    reserved: Iterable[str] = (),
) -> dict[tuple[str, str], str]:
    """Stream name of every selected table, keyed by (database id, table id).

    With several databases each name is `<database slug>__<table slug>`. A
    table whose name has no `a-z0-9` at all is named by its id. Names that
    collide (with each other or with a `reserved` name such as `files`) all
    get `_` + their table id in lower case; should that still collide (the
    same table id in two databases of the same name), the database id is
    appended too, which is unique.
    """
    entries = list(entries)
    base: dict[tuple[str, str], str] = {}
    for db_id, db_name, table_id, table_name in entries:
        table_part = slug(table_name) or table_id.lower()
        if multi_database:
            base[(db_id, table_id)] = f"{database_part(db_id, db_name)}__{table_part}"
        else:
            base[(db_id, table_id)] = table_part

    taken = Counter(base.values())
    taken.update(set(reserved))
    names = {
        key: f"{name}_{key[1].lower()}" if taken[name] > 1 else name for key, name in base.items()
    }
    second = Counter(names.values())
    second.update(set(reserved))
    return {
        key: f"{name}_{slug(key[0]) or key[0].lower()}" if second[name] > 1 else name
        for key, name in names.items()
    }


def table_part(stream_name: str) -> str | None:
    """The `<table>` part of a `<database>__<table>` stream name, else None."""
    if "__" not in stream_name:
        return None
    part = stream_name.split("__", 1)[1]
    return part or None
