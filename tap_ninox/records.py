"""Ninox records → Singer records, and each table's stream schema."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ninox_core import fieldtypes
from ninox_core.errors import NinoxError
from ninox_core.schema import NinoxTable

#: Columns every table stream has besides its fields (SPEC.md "Streams").
META_SCHEMA: dict[str, dict[str, Any]] = {
    "_id": {"type": ["integer"]},
    "_sequence": {"type": ["integer", "null"]},
    "_created_at": {"type": ["string", "null"], "format": "date-time"},
    "_created_by": {"type": ["string", "null"]},
    "_modified_at": {"type": ["string", "null"], "format": "date-time"},
    "_modified_by": {"type": ["string", "null"]},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}

RecordConverter = Callable[[dict[str, Any]], dict[str, Any]]


def table_schema(table: NinoxTable, logger: logging.Logger) -> dict[str, Any]:
    """The JSON schema of a table's stream; warns once per field of unknown type."""
    properties: dict[str, Any] = {}
    for field in table.fields:
        if not fieldtypes.is_known_type(field.type):
            logger.warning(
                "Table %r field %r has the type %r, which tap-ninox does not know; "
                "its values are emitted as strings",
                table.name,
                field.name,
                field.type,
            )
        properties[field.name] = fieldtypes.singer_schema(field)
    properties.update(META_SCHEMA)
    return {"type": "object", "properties": properties, "additionalProperties": False}


def record_converter(
    table: NinoxTable, choice_style: str, logger: logging.Logger
) -> RecordConverter:
    """A function turning one id-keyed Ninox record into a Singer record.

    Built once per table: the per-field converters are looked up here, so the
    per-record work is a dict copy and one call per non-text value. Fields a
    record has that the schema does not know (added since discovery) are
    dropped, because the stream's schema has no column for them.
    """
    empty: dict[str, Any] = {field.name: None for field in table.fields}
    columns: dict[str, tuple[str, Callable[[Any], Any] | None]] = {
        field.id: (field.name, fieldtypes.reader(field, choice_style)) for field in table.fields
    }
    # The tap asks for id-keyed fields; should a server answer name-keyed
    # ones instead, they must not be lost (names that equal an id stay ids).
    for field in table.fields:
        columns.setdefault(field.name, columns[field.id])
    unknown: set[str] = set()
    to_datetime = fieldtypes.ninox_datetime_to_singer
    to_user = fieldtypes.user_to_singer

    def convert(record: dict[str, Any]) -> dict[str, Any]:
        out = empty.copy()
        for key, value in (record.get("fields") or {}).items():
            column = columns.get(key)
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
            except fieldtypes.ValueConversionError as exc:
                # Emitting it anyway would break the column's type; dropping
                # it would lose data silently. Fail, saying where.
                raise NinoxError(
                    f"table {table.name!r} ({table.id}), record {record.get('id')}: the "
                    f"server sent {exc}; report this value to the connector's maintainers"
                ) from exc
        out["_id"] = record["id"]
        out["_sequence"] = record.get("sequence")
        out["_created_at"] = to_datetime(record.get("createdAt"))
        out["_created_by"] = to_user(record.get("createdBy"))
        out["_modified_at"] = to_datetime(record.get("modifiedAt"))
        out["_modified_by"] = to_user(record.get("modifiedBy"))
        out["_sdc_deleted_at"] = None
        return out

    return convert


def deleted_record(table: NinoxTable, record_id: int, sequence: int, deleted_at: str) -> dict:
    """The record emitted for a deleted id: its key, the feed's seq, every field null."""
    out: dict[str, Any] = {field.name: None for field in table.fields}
    out.update(dict.fromkeys(META_SCHEMA))
    out["_id"] = record_id
    out["_sequence"] = sequence
    out["_sdc_deleted_at"] = deleted_at
    return out
