"""Ninox records → Singer records, and each table's stream schema.

A table stream's columns are keyed by field id (`Columns`: field id →
column name). Discovery names each column after its field (`field_column`:
the field name, or `<name>_<id>` for a name the tap's own columns use); a
catalog given to the tap fixes the names instead, so a field renamed in
Ninox keeps the column it had (docs/design.md "Catalogs and renames").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ninox_core.backend import Record
from ninox_core.errors import NinoxError, ValueConversionError
from ninox_core.model import fieldtypes
from ninox_core.model.datetimes import ninox_datetime_to_singer
from ninox_core.model.naming import field_column
from ninox_core.model.read_values import user_to_singer
from ninox_core.model.schema import NinoxTable

#: Columns every table stream has besides its fields (docs/design.md "Streams").
META_SCHEMA: dict[str, dict[str, Any]] = {
    "_id": {"type": ["integer"]},
    "_sequence": {"type": ["integer", "null"]},
    "_created_at": {"type": ["string", "null"], "format": "date-time"},
    "_created_by": {"type": ["string", "null"]},
    "_modified_at": {"type": ["string", "null"], "format": "date-time"},
    "_modified_by": {"type": ["string", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}
#: The tap's own columns where records carry no sequence and no created or
#: modified metadata (Ninox 4 Public API, `Capabilities.record_sequences`
#: False): `_changed_at` is when the change feed last reported the record.
CHANGES_META_SCHEMA: dict[str, dict[str, Any]] = {
    "_id": {"type": ["integer"]},
    "_changed_at": {"type": ["string", "null"], "format": "date-time"},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}

#: The order `record_converter` sets the tap's own columns in (each record's
#: key order, so the bytes of its RECORD line).
_META_ORDER = (
    "_created_at",
    "_modified_at",
    "_id",
    "_sequence",
    "_created_by",
    "_modified_by",
    "_sdc_deleted_at",
)
_CHANGES_META_ORDER = ("_id", "_changed_at", "_sdc_deleted_at")
#: User ids that mean "unknown" (`user_to_singer` makes them None).
_NO_USER = frozenset(("", "0"))

RecordConverter = Callable[[Record], dict[str, Any]]
#: Field id → the column (property) name its values are emitted under.
Columns = Mapping[str, str]


def default_columns(table: NinoxTable) -> dict[str, str]:
    """The columns discovery gives a table's fields (see `field_column`)."""
    return {field.id: field_column(field.name, field.id) for field in table.fields}


def table_schema(
    table: NinoxTable,
    logger: logging.Logger,
    columns: Columns | None = None,
    meta: Mapping[str, dict[str, Any]] = META_SCHEMA,
) -> dict[str, Any]:
    """The JSON schema of a table's stream; warns once per field of unknown type.

    `meta`: the tap's own columns (`META_SCHEMA`, or `CHANGES_META_SCHEMA`
    where records carry no sequence).
    """
    columns = default_columns(table) if columns is None else columns
    properties: dict[str, Any] = {}
    for field in table.fields:
        if field.id not in columns:
            continue
        if not fieldtypes.is_known_type(field.type):
            logger.warning(
                "Table %r field %r has the type %r, which tap-ninox does not know; "
                "its values are emitted as strings",
                table.name,
                field.name,
                field.type,
            )
        properties[columns[field.id]] = fieldtypes.singer_schema(field)
    properties.update(meta)
    return {"type": "object", "properties": properties, "additionalProperties": False}


def record_converter(
    table: NinoxTable,
    choice_style: str,
    logger: logging.Logger,
    columns: Columns | None = None,
    absent: Iterable[str] = (),
    *,
    sequences: bool = True,
) -> RecordConverter:
    """A function turning one record (values by field id) into a Singer record.

    Built once per table: the per-field converters are looked up here, so the
    per-record work is a dict copy and one call per non-text value (the
    meta columns' usual forms are read inline; docs/design.md "At realistic
    latency"). Fields a
    record has that `columns` does not list (added since discovery) are
    dropped, because the stream's schema has no column for them. `absent`
    columns (a catalog's fields that no longer exist) are emitted as null.
    `sequences` False: the `CHANGES_META_SCHEMA` columns instead of
    `META_SCHEMA`'s (`_changed_at` null: the read fills it in).
    """
    columns = default_columns(table) if columns is None else columns
    fields = [field for field in table.fields if field.id in columns]
    empty: dict[str, Any] = dict.fromkeys(absent)
    empty.update({columns[field.id]: None for field in fields})
    # The tap's own columns, in the order `convert` sets them: there from
    # the copy on, so no record's dict grows (and resizes) per record. A
    # key already there (a catalog's column of that name) keeps its place,
    # as it would when `convert` set it.
    for name in _META_ORDER if sequences else _CHANGES_META_ORDER:
        empty.setdefault(name, None)
    readers: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
        field.id: (columns[field.id], fieldtypes.reader(field, choice_style)) for field in fields
    }
    # Fields whose values pass unchanged (text and the like): one lookup
    # per value, the column's name, and no converter to test or call.
    plain: dict[str, str] = {key: name for key, (name, read) in readers.items() if read is None}
    # A name-keyed answer was keyed by id in the backend (`Record.values`).
    unknown: set[str] = set()
    to_datetime = ninox_datetime_to_singer
    to_user = user_to_singer

    def convert(record: Record) -> dict[str, Any]:
        out = empty.copy()
        for key, value in record.values.items():
            plain_name = plain.get(key)
            if plain_name is not None:
                out[plain_name] = value
                continue
            column = readers.get(key)
            if column is None:
                if key not in unknown:
                    unknown.add(key)
                    logger.warning(
                        "Table %r has a field %r that was not there at discovery; its "
                        "values are left out until the next run discovers it",
                        table.name,
                        key,
                    )
                continue
            name, read = column
            if read is None or value is None:
                out[name] = value
                continue
            try:
                out[name] = read(value)
            except ValueConversionError as exc:
                # Emitting it anyway would break the column's type; dropping
                # it would lose data silently. Fail, saying where.
                raise NinoxError(
                    f"table {table.name!r} ({table.id}), record {record.id}: the "
                    f"server sent {exc}; report this value to the connector's maintainers"
                ) from exc
        if not sequences:
            out["_id"] = record.id
            out["_changed_at"] = None
            out["_sdc_deleted_at"] = None
            return out
        # Ninox's own forms are read inline (no call per record): a
        # date-time "YYYY-MM-DDTHH:MM:SS" gains its "Z", a user id is
        # itself; anything else goes through the converters, which give
        # the same for these forms (`ninox_datetime_to_singer`,
        # `user_to_singer`).
        created = record.created_at
        modified = record.modified_at
        try:
            out["_created_at"] = (
                created + "Z"
                if type(created) is str and len(created) == 19 and created[10] == "T"
                else to_datetime(created)
            )
            out["_modified_at"] = (
                modified + "Z"
                if type(modified) is str and len(modified) == 19 and modified[10] == "T"
                else to_datetime(modified)
            )
        except (ValueError, OverflowError) as exc:
            raise NinoxError(
                f"table {table.name!r} ({table.id}), record {record.id}: the server "
                f"sent {exc}; report this value to the connector's maintainers"
            ) from exc
        out["_id"] = record.id
        out["_sequence"] = record.sequence
        user = record.created_by
        out["_created_by"] = user if type(user) is str and user not in _NO_USER else to_user(user)
        user = record.modified_by
        out["_modified_by"] = user if type(user) is str and user not in _NO_USER else to_user(user)
        out["_sdc_deleted_at"] = None
        return out

    return convert


def surrogate_reporter(table: NinoxTable, logger: logging.Logger) -> Callable[[Any, Any], None]:
    """The warning for a value whose lone surrogate the client replaced (docs/api.md §4).

    One warning per value, naming the table, the record and the field.
    """

    def report(record_id: Any, key: Any) -> None:
        field = None
        if isinstance(key, str):
            field = table.field_by_id(key) or table.field_by_name(key)
        logger.warning(
            "Table %r (%s), record %s, field %r: the server sent text that is not valid "
            "Unicode (a lone surrogate); it is emitted with U+FFFD in its place",
            table.name,
            table.id,
            record_id,
            field.name if field is not None else key,
        )

    return report


def deleted_record(
    column_names: Iterable[str], record_id: int, sequence: int, deleted_at: str
) -> dict[str, Any]:
    """The record emitted for a deleted id: its key, the feed's seq, every field null."""
    out: dict[str, Any] = dict.fromkeys(column_names)
    out.update(dict.fromkeys(META_SCHEMA))
    out["_id"] = record_id
    out["_sequence"] = sequence
    out["_sdc_deleted_at"] = deleted_at
    return out


def removed_record(
    column_names: Iterable[str], record_id: int, deleted_at: str, changed_at: str | None
) -> dict[str, Any]:
    """The record emitted for a deleted id of a stream without sequences (Ninox 4).

    `deleted_at`: when the feed reported the deletion, else the run's start;
    `changed_at`: when the feed last reported the id (None when it did not).
    """
    out: dict[str, Any] = dict.fromkeys(column_names)
    out["_id"] = record_id
    out["_changed_at"] = changed_at
    out["_sdc_deleted_at"] = deleted_at
    return out
