"""The stream-name rule both connectors use (docs/spec.md "Streams").

The tap names its streams with it; the target uses it backwards to find the
table a stream was named after (`slug`, `table_part`).

Rule: the table name's `slug`; with several databases `<database>__<table>`.
A name shared by several streams (or equal to a reserved name such as the
`files` stream) gets `_` + the table id in lower case on every stream sharing
it (`contact_a`, `contact_b`). A name still shared is resolved the same way,
by table id, when the streams sharing it have different table ids (a table
literally named "Contact A" next to two named "Contact": `contact_a_a`,
`contact_a_c`), else (the same table id in two databases of the same name:
`crm__contact_a`) by `_` + the database id's slug (`crm__contact_a_db1`).
Last resort (database ids that slug alike), in (database id, table id)
order, the first stream keeps the name and the others get `_2`, `_3`, ...
The outcome depends only on the set of tables, never on their order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

#: (database id, database name, table id, table name) of one selected table.
TableEntry = tuple[str, str, str, str]
#: (database id, table id): the key of one table across databases.
TableKey = tuple[str, str]


def slug(name: str) -> str:
    """Lower case, every run of characters other than `a-z0-9` as `_`, trimmed.

    `Contact Email` → `contact_email`; non-ASCII letters count as "other"
    (`Übersicht` → `bersicht`); may be empty (`"!!!"` → `""`).
    """
    return _NOT_ALNUM.sub("_", name.lower()).strip("_")


def database_part(database_id: str, database_name: str) -> str:
    """The `<database>` prefix of a stream name (the id when the name has no a-z0-9)."""
    return slug(database_name) or slug(database_id) or database_id.lower()


def _table_slug(table_id: str, table_name: str) -> str:
    """The table's part of its stream name (the id when the name has no a-z0-9)."""
    return slug(table_name) or slug(table_id) or table_id.lower()


def _shared(names: dict[TableKey, str], reserved: Collection[str]) -> dict[str, list[TableKey]]:
    """Names held by several streams, or reserved, with the streams holding them."""
    holders: dict[str, list[TableKey]] = {}
    for key, name in names.items():
        holders.setdefault(name, []).append(key)
    return {name: keys for name, keys in holders.items() if len(keys) > 1 or name in reserved}


def _suffix_shared(
    names: dict[TableKey, str], reserved: Collection[str], *, first: bool
) -> dict[TableKey, str]:
    """One round: append the table id to every shared name (docs/spec.md).

    After the first round, a group whose table ids repeat gets database ids
    instead: appending table ids again would not separate it.
    """
    renamed = dict(names)
    for name, keys in _shared(names, reserved).items():
        suffixes = [table_id.lower() for _, table_id in keys]
        if not first and len(set(suffixes)) < len(keys):
            suffixes = [slug(db_id) or db_id.lower() for db_id, _ in keys]
            if len(set(suffixes)) < len(keys):
                continue  # nothing tells them apart: left to the numbering
        for key, suffix in zip(keys, suffixes, strict=True):
            renamed[key] = f"{name}_{suffix}"
    return renamed


def _number_shared(names: dict[TableKey, str], reserved: Collection[str]) -> dict[TableKey, str]:
    """Last resort: in key order, the first keeps a shared name, the others get `_2`, `_3`."""
    counts = Counter(names.values())
    taken = set(reserved) | {name for name, count in counts.items() if count == 1}
    unique: dict[TableKey, str] = {}
    for key in sorted(names):
        name = candidate = names[key]
        if counts[name] == 1 and name not in reserved:
            unique[key] = name
            continue
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{name}_{number}"
        taken.add(candidate)
        unique[key] = candidate
    return unique


def stream_names(
    entries: Iterable[TableEntry],
    *,
    multi_database: bool,
    reserved: Iterable[str] = (),
) -> dict[TableKey, str]:
    """The unique stream name of every selected table, keyed by (database id, table id).

    `entries` lists every selected table; `multi_database` says whether
    several databases are synced (names get the `<database>__` prefix);
    `reserved` names (such as `files`) are treated as taken. See the module
    docstring for how collisions are resolved.
    """
    reserved_names = frozenset(reserved)
    base: dict[TableKey, str] = {}
    for db_id, db_name, table_id, table_name in entries:
        name = _table_slug(table_id, table_name)
        if multi_database:
            name = f"{database_part(db_id, db_name)}__{name}"
        base[(db_id, table_id)] = name

    names = base
    # Three rounds settle every realistic case (table ids, then database ids);
    # the numbering after them only guarantees uniqueness.
    for round_number in range(3):
        if not _shared(names, reserved_names):
            break
        names = _suffix_shared(names, reserved_names, first=round_number == 0)
    return _number_shared(names, reserved_names)


def table_part(stream_name: str) -> str | None:
    """The `<table>` part of a `<database>__<table>` stream name, else None.

    Slugs never hold `__`, so the first `__` is the separator.
    """
    _, sep, part = stream_name.partition("__")
    return (part or None) if sep else None


#: The columns tap-ninox adds to table streams (docs/design.md "Streams");
#: `_changed_at` only to Ninox 4 streams (docs/design.md "Reading Ninox 4 tables").
TAP_COLUMNS = frozenset(
    {
        "_id",
        "_changed_at",
        "_sequence",
        "_created_at",
        "_modified_at",
        "_created_by",
        "_modified_by",
        "_sdc_deleted_at",
    }
)


def is_reserved_column(field_name: str) -> bool:
    """True for a field name the tap's own columns (or `_sdc_*`) would overwrite."""
    return field_name in TAP_COLUMNS or field_name.startswith("_sdc_")


def field_column(field_name: str, field_id: str) -> str:
    """The column a field is emitted under: its name, or `<name>_<id lower>` if reserved.

    A Ninox field named `_id` (id `C`) becomes `_id_c`, so the tap's own
    column never overwrites its values; the target maps the column back by
    the same rule (`<reserved name>_<field id lower>` → that field).
    """
    if is_reserved_column(field_name):
        return f"{field_name}_{field_id.lower()}"
    return field_name
