"""Stream → table and property → field mapping (docs/spec.md "Writing").

Everything here is decided once per SCHEMA message, before the first write,
so a stream that cannot be written fails before anything of it is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ninox_core.model import fieldtypes, naming
from ninox_core.model.naming import slug, table_part
from ninox_core.model.schema import NinoxField, NinoxTable
from target_ninox.errors import MappingError

logger = logging.getLogger(__name__)

#: The record id column of tap-ninox; written as `_upsert` with that id.
ID_COLUMN = "_id"
#: Set on records that were deleted at the source.
DELETED_COLUMN = "_sdc_deleted_at"
#: tap-ninox's own columns but `_id`: Ninox sets them, so they are never written
#: (the one list both connectors use, `ninox_core.model.naming.TAP_COLUMNS`).
TAP_COLUMNS = naming.TAP_COLUMNS - {ID_COLUMN}


def is_ignored(prop: str) -> bool:
    """True for properties never written and never unknown (tap columns, `_sdc_*`)."""
    return prop in TAP_COLUMNS or prop.startswith("_sdc_")


def describe_tables(tables: Iterable[NinoxTable]) -> str:
    """`Contacts (A), Companies (B)` — for messages that list what exists."""
    return ", ".join(f"{t.name!r} ({t.id})" for t in tables) or "none"


def describe_table(table: NinoxTable) -> str:
    """`table 'Contacts' (A)`."""
    return f"table {table.name!r} ({table.id})"


def resolve_table(
    stream_name: str,
    tables: Sequence[NinoxTable],
    table_mapping: Mapping[str, str] | None = None,
    database_id: str = "",
    container: str = "database",
) -> NinoxTable:
    """The table a stream writes into.

    `table_mapping` (name, else id) first; else the table whose name gives the
    stream name by the tap's slug rule (also with the tap's `_<table id>`
    suffix for colliding names); else the table whose id equals the stream
    name (case-insensitive). A `<database>__<table>` stream is matched by its
    `<table>` part when the whole name matches nothing. `container` names
    what holds the tables in messages (`database`; Ninox 4: `module`).
    """
    mapped = (table_mapping or {}).get(stream_name)
    if mapped is not None:
        found = _by_name_or_id(str(mapped), tables)
        if found is None:
            raise MappingError(
                f"table_mapping maps this stream to {mapped!r}, but {container} "
                f"{database_id} has no table of that name or id; its tables are: "
                f"{describe_tables(tables)}",
                stream=stream_name,
            )
        return found
    names = [stream_name]
    part = table_part(stream_name)
    if part:
        names.append(part)
    for name in names:
        found = _by_stream_name(name, tables, stream_name)
        if found is not None:
            return found
    raise MappingError(
        f"no table of {container} {database_id} matches this stream (by table name "
        f"in the tap's naming, or by table id); its tables are: {describe_tables(tables)}. "
        "Map the stream with the table_mapping setting.",
        stream=stream_name,
    )


def _by_name_or_id(key: str, tables: Sequence[NinoxTable]) -> NinoxTable | None:
    for table in tables:
        if table.name == key:
            return table
    for table in tables:
        if table.id == key:
            return table
    return None


def _by_stream_name(name: str, tables: Sequence[NinoxTable], stream_name: str) -> NinoxTable | None:
    by_slug = [t for t in tables if (slug(t.name) or t.id.lower()) == name]
    if len(by_slug) == 1:
        return by_slug[0]
    if len(by_slug) > 1:
        raise MappingError(
            f"several tables match this stream by name: {describe_tables(by_slug)}; "
            "choose one with the table_mapping setting",
            stream=stream_name,
        )
    # The tap names colliding tables `<slug>_<table id>`.
    for table in tables:
        if f"{slug(table.name)}_{table.id.lower()}" == name:
            return table
    for table in tables:
        if table.id.lower() == name.lower():
            return table
    return None


@dataclass(frozen=True)
class FieldWriter:
    """How one property is written: the field, its id and its converter."""

    field: NinoxField
    convert: fieldtypes.Converter


@dataclass
class StreamMapping:
    """How the records of one stream become Ninox records of one table."""

    stream_name: str
    table: NinoxTable
    unknown_fields: str
    #: property → how to write it.
    writers: dict[str, FieldWriter] = field(default_factory=dict)
    #: Properties that are skipped: tap columns, `_sdc_*`, computed fields,
    #: unknown properties when `unknown_fields` is `ignore`.
    skipped: set[str] = field(default_factory=set)
    #: Properties that name a field Ninox computes (`rev`, formula).
    computed: list[str] = field(default_factory=list)
    #: Properties without a field, ignored (`unknown_fields: ignore`).
    unknown: list[str] = field(default_factory=list)
    #: Properties whose field has a type the target does not know (layout
    #: elements such as `tab` or `button`, new Ninox types): never written.
    untyped: list[str] = field(default_factory=list)
    #: The properties whose values identify a record (upsert keys), or ().
    key_properties: tuple[str, ...] = ()
    #: Where the upsert keys come from, for the log.
    key_source: str = ""

    @property
    def key_fields(self) -> tuple[NinoxField, ...]:
        """The Ninox fields of the upsert keys."""
        return tuple(self.writers[p].field for p in self.key_properties)

    def resolve_extra(self, prop: str) -> FieldWriter | None:
        """Map a record property that the SCHEMA did not declare.

        Same rules as for declared properties; raises `MappingError` for an
        unknown one when `unknown_fields` is `error`.
        """
        self._map_property(prop)
        return self.writers.get(prop)

    def _map_property(self, prop: str) -> None:
        renamed = renamed_field(prop, self.table)
        if renamed is not None:
            self._add_writer(prop, renamed)
            return
        if prop == ID_COLUMN or is_ignored(prop):
            self.skipped.add(prop)
            return
        found = self.table.find_field(prop)
        if found is None:
            if self.unknown_fields == "error":
                raise MappingError(
                    f"property {prop!r} matches no field of {describe_table(self.table)} "
                    f"(fields: {_describe_fields(self.table.fields)}). Rename it with a "
                    "stream map, or set unknown_fields to ignore.",
                    stream=self.stream_name,
                    field=prop,
                )
            self.unknown.append(prop)
            self.skipped.add(prop)
            return
        self._add_writer(prop, found)

    def _add_writer(self, prop: str, found: NinoxField) -> None:
        if not fieldtypes.is_known_type(found.type):
            # Its values' form is unknown, and a server may refuse any write
            # to it, even null (docs/api.md, layout fields).
            self.untyped.append(prop)
            self.skipped.add(prop)
            return
        if not fieldtypes.is_writable(found):
            self.computed.append(prop)
            self.skipped.add(prop)
            return
        self.writers[prop] = FieldWriter(found, fieldtypes.writer(found))


def is_tap_column(name: str) -> bool:
    """True for the names of tap-ninox's own columns (`_id`, `_sequence`, `_sdc_*`...)."""
    return name == ID_COLUMN or is_ignored(name)


def renamed_field(prop: str, table: NinoxTable) -> NinoxField | None:
    """The field behind a property tap-ninox renamed, or None.

    tap-ninox emits a field named like one of its own columns (`_id`,
    `_sequence`, `_sdc_...`) as `<name>_<field id in lower case>`, e.g. the
    field `_id` with id `C` as `_id_c` (docs/design.md, column names); this
    maps such a property back to that field.
    """
    base, sep, suffix = prop.rpartition("_")
    if not sep or not suffix or not is_tap_column(base):
        return None
    for candidate in table.fields:
        if candidate.id.lower() == suffix and candidate.name == base:
            return candidate
    return None


def _describe_fields(fields: Iterable[NinoxField]) -> str:
    return ", ".join(f"{f.name!r} ({f.id})" for f in fields) or "none"


def map_stream(
    stream_name: str,
    table: NinoxTable,
    properties: Iterable[str],
    key_properties: Sequence[str] | None,
    *,
    upsert_keys: Sequence[str] | None = None,
    unknown_fields: str = "error",
) -> StreamMapping:
    """Map a stream's properties onto a table's fields and choose its upsert keys.

    Unknown properties fail here (all of them named at once) unless
    `unknown_fields` is `ignore`.
    """
    mapping = StreamMapping(stream_name, table, unknown_fields)
    unknown: list[str] = []
    for prop in properties:
        try:
            mapping._map_property(prop)
        except MappingError:
            unknown.append(prop)
    if unknown:
        listed = ", ".join(repr(p) for p in unknown)
        raise MappingError(
            f"{'property' if len(unknown) == 1 else 'properties'} {listed} "
            f"{'matches' if len(unknown) == 1 else 'match'} no field of "
            f"{describe_table(table)} (fields: {_describe_fields(table.fields)}). "
            "Rename them with a stream map, or set unknown_fields to ignore.",
            stream=stream_name,
            field=unknown[0],
        )
    mapping.key_properties, mapping.key_source = _choose_keys(
        mapping, key_properties or (), upsert_keys
    )
    return mapping


def _choose_keys(
    mapping: StreamMapping, key_properties: Sequence[str], upsert_keys: Sequence[str] | None
) -> tuple[tuple[str, ...], str]:
    """The upsert-key properties: from `upsert_keys`, else the stream's keys."""
    table = mapping.table
    if upsert_keys:
        props: list[str] = []
        for name in upsert_keys:
            key_field = table.find_field(name)
            if key_field is None:
                raise MappingError(
                    f"upsert_keys names {name!r}, which is no field of "
                    f"{describe_table(table)} (fields: {_describe_fields(table.fields)})",
                    stream=mapping.stream_name,
                    field=name,
                )
            if not fieldtypes.is_writable(key_field):
                raise MappingError(
                    f"upsert_keys names {name!r}, a field Ninox computes "
                    f"({key_field.type}); choose fields the records set",
                    stream=mapping.stream_name,
                    field=name,
                )
            prop = next((p for p, w in mapping.writers.items() if w.field.id == key_field.id), None)
            if prop is None:
                raise MappingError(
                    f"upsert_keys names field {name!r}, but no property of the stream's "
                    "SCHEMA maps to it",
                    stream=mapping.stream_name,
                    field=name,
                )
            props.append(prop)
        return tuple(props), "the upsert_keys setting"
    if key_properties and all(p in mapping.writers for p in key_properties):
        return tuple(key_properties), "the stream's key properties"
    if key_properties and list(key_properties) != [ID_COLUMN]:
        logger.info(
            "Stream '%s': its key properties %s are not all writable fields of %s, so "
            "they cannot identify records; records without _id are created. Set "
            "upsert_keys to update existing records instead.",
            mapping.stream_name,
            list(key_properties),
            describe_table(table),
        )
    return (), ""


def log_mapping(
    log: logging.Logger, mapping: StreamMapping, *, load_method: str, dry_run: bool
) -> None:
    """Say how a stream maps (computed and ignored fields warned); once per stream."""
    how = (
        f"upserts by {list(mapping.key_properties)} ({mapping.key_source})"
        if mapping.key_properties
        else "creates every record (load_method append-only)"
        if load_method == "append-only"
        else "creates records (upserts by _id where records carry one)"
    )
    log.info(
        "Stream '%s' → %s: %d properties %s; %s.",
        mapping.stream_name,
        describe_table(mapping.table),
        len(mapping.writers),
        "would be written (dry run)" if dry_run else "written",
        how,
    )
    if mapping.computed:
        # INFO: expected on every Ninox → Ninox copy (the tap emits
        # formula values), and Ninox computes them again anyway.
        names, verb = _listed(mapping.computed)
        log.info(
            "Stream '%s': %s of %s %s computed by Ninox (rev/formula) and not written.",
            mapping.stream_name,
            names,
            describe_table(mapping.table),
            verb,
        )
    if mapping.untyped:
        fields = (mapping.table.find_field(p) for p in mapping.untyped)
        types = sorted({f.type for f in fields if f is not None})
        names, verb = _listed(mapping.untyped)
        log.warning(
            "Stream '%s': %s of %s %s of a type target-ninox does not know (%s) and not written.",
            mapping.stream_name,
            names,
            describe_table(mapping.table),
            verb,
            ", ".join(types),
        )
    if mapping.unknown:
        names, verb = _listed(mapping.unknown)
        log.warning(
            "Stream '%s': %s %s no field of %s and %s ignored (unknown_fields: ignore).",
            mapping.stream_name,
            names,
            "matches" if verb == "is" else "match",
            describe_table(mapping.table),
            verb,
        )


def _listed(properties: Sequence[str]) -> tuple[str, str]:
    """The properties quoted and joined, and the verb that agrees with them."""
    return ", ".join(repr(p) for p in properties), "is" if len(properties) == 1 else "are"
