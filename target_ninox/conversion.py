"""Converting one input record: its values, its upsert key, its `_id` (docs/design.md).

The mapping part of the target (decision 0028), per RECORD, in the sink,
before anything is sent: every value is converted to its Ninox form by the
field's writer (`ninox_core.model.fieldtypes`), so a bad record fails on
its own input line with one line naming stream, record and field.
"""

from __future__ import annotations

from typing import Any

from ninox_core.errors import ValueConversionError
from target_ninox.errors import ConversionError, InputError, show_value
from target_ninox.key_index import KeyIndex, is_empty_key_value
from target_ninox.mapping import ID_COLUMN, StreamMapping, describe_table

#: The largest record id accepted in `_id` (JSON numbers stay exact below 2^53).
MAX_RECORD_ID = 2**53 - 1


def convert_record(mapping: StreamMapping, record: dict[str, Any], line: int) -> dict[str, Any]:
    """Property values → `{field id: Ninox value}`; a value a field cannot take is one line."""
    writers = mapping.writers
    skipped = mapping.skipped
    fields: dict[str, Any] = {}
    for prop, value in record.items():
        writer = writers.get(prop)
        if writer is None:
            if prop in skipped:
                continue
            # A property the SCHEMA did not declare; an unknown one fails
            # (the reader adds the line number to the message).
            writer = mapping.resolve_extra(prop)
            if writer is None:
                continue
        try:
            fields[writer.field.id] = writer.convert(value)
        except ValueConversionError as exc:
            raise ConversionError(
                f"{_who(mapping, record)}field {exc.field_name!r} ({exc.field_type}) of "
                f"{describe_table(mapping.table)} cannot take the value "
                f"{show_value(value)} of property {prop!r}: {exc.reason}",
                stream=mapping.stream_name,
                line=line or None,
                field=prop,
                value=value,
            ) from None
    return fields


def record_key(
    mapping: StreamMapping,
    record: dict[str, Any],
    fields: dict[str, Any],
    line: int,
    *,
    optional: bool,
) -> tuple[Any, Any]:
    """The record's upsert key: (index key, input values), or (None, None).

    An empty key value (null, `""`, only spaces) is no key: Ninox leaves
    empty fields out, so it would match every record whose key field is
    empty (SPEC "Trust no answer"). A record identified by `_id`
    (`optional`) does without; any other is refused.
    """
    props = mapping.key_properties
    values = [fields.get(mapping.writers[p].field.id) for p in props]
    empty = [p for p, v in zip(props, values, strict=True) if is_empty_key_value(v)]
    if empty:
        if optional:
            return None, None
        shown = record.get(empty[0])
        raise InputError(
            f"the record's upsert key {', '.join(map(repr, empty))} is "
            f"{'missing or null' if shown is None else f'empty ({show_value(shown)})'} "
            f"(the key is {list(props)}, from {mapping.key_source}); an empty key "
            "matches no record, so give every keyed record a key value",
            stream=mapping.stream_name,
            line=line or None,
            field=empty[0],
            value=shown,
        )
    return KeyIndex.key_of(values), tuple(record.get(p) for p in props)


def record_id_of(value: Any, stream_name: str, line: int) -> int:
    """`_id` as a Ninox record id; anything else is one line."""
    if type(value) is int and 0 < value <= MAX_RECORD_ID:
        return value
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if 0 < number <= MAX_RECORD_ID and str(number) == str(value).strip():
        return number
    raise ConversionError(
        "_id must be a Ninox record id, a whole number from 1 to "
        f"{MAX_RECORD_ID}, not {show_value(value)}; send records without _id to "
        "create them",
        stream=stream_name,
        line=line or None,
        field=ID_COLUMN,
        value=value,
    )


def _who(mapping: StreamMapping, record: dict[str, Any]) -> str:
    """`record _id 7: ` or `record with key email='a@b': ` for a message."""
    if record.get(ID_COLUMN) is not None:
        return f"record _id {record[ID_COLUMN]!r}: "
    props = mapping.key_properties
    if props:
        shown = ", ".join(f"{p}={show_value(record.get(p), 40)}" for p in props)
        return f"record with key {shown}: "
    return ""
