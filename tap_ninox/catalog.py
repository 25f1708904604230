"""Ninox ids in the Singer catalog, so a catalog stays valid across renames.

Discovery writes, in each table stream's metadata, the database id, table id
and table name, and in each field property's metadata the field id and its
Ninox type. Given such a catalog, the tap finds tables and fields by id and
emits the catalog's stream and property names, whatever they are called in
Ninox now (docs/design.md "Catalogs and renames"); a field whose type is no
longer the one the catalog recorded makes the catalog stale. The SDK's catalog model keeps only
the Singer-standard metadata keys, so the input catalog is read here from
its raw JSON form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

#: Stream metadata keys (breadcrumb `[]`).
DATABASE_ID = "ninox-database-id"
TABLE_ID = "ninox-table-id"
TABLE_NAME = "ninox-table-name"
#: Property metadata key (breadcrumb `["properties", name]`).
FIELD_ID = "ninox-field-id"
#: Property metadata key: the field's Ninox type at discovery (docs/design.md).
FIELD_TYPE = "ninox-field-type"


@dataclass(frozen=True)
class CatalogStream:
    """One table stream of an input catalog that carries Ninox ids."""

    name: str
    database_id: str
    table_id: str
    table_name: str | None
    selected: bool
    schema: dict[str, Any]
    #: Field id → property name, for the properties that carry a field id.
    columns: dict[str, str] = field(default_factory=dict)
    #: Field id → its Ninox type at discovery (catalogs written since types were added).
    field_types: dict[str, str] = field(default_factory=dict)
    #: Properties the catalog deselects (`selected: false`).
    deselected: frozenset[str] = frozenset()


def read_input(catalog: object) -> dict[str, CatalogStream]:
    """The streams of an input catalog that carry Ninox ids, by stream name.

    `catalog` is what the tap was given: a dict (the CLI's parsed JSON), a
    path to a JSON file, or the SDK's `Catalog` object (which has already
    lost the ids: such a catalog is matched by names, as before ids existed).
    """
    raw: Any = catalog
    if isinstance(catalog, (str, PurePath)):
        with Path(catalog).open(encoding="utf-8") as handle:
            raw = json.load(handle)
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, CatalogStream] = {}
    for entry in raw.get("streams") or ():
        parsed = _parse_entry(entry)
        if parsed is not None:
            found[parsed.name] = parsed
    return found


def _parse_entry(entry: Any) -> CatalogStream | None:
    if not isinstance(entry, Mapping):
        return None
    root: Mapping[str, Any] = {}
    columns: dict[str, str] = {}
    field_types: dict[str, str] = {}
    deselected: set[str] = set()
    for item in entry.get("metadata") or ():
        breadcrumb = list(item.get("breadcrumb") or ())
        meta = item.get("metadata") or {}
        if not breadcrumb:
            root = meta
        elif len(breadcrumb) == 2 and breadcrumb[0] == "properties":
            if meta.get("selected") is False:
                deselected.add(str(breadcrumb[1]))
            if meta.get(FIELD_ID):
                columns[str(meta[FIELD_ID])] = str(breadcrumb[1])
                if meta.get(FIELD_TYPE):
                    field_types[str(meta[FIELD_ID])] = str(meta[FIELD_TYPE])
    if not root.get(TABLE_ID) or not root.get(DATABASE_ID):
        return None
    name = str(entry.get("tap_stream_id") or entry.get("stream"))
    selected = bool(root.get("selected", root.get("selected-by-default", False)))
    if "selected" in entry:  # the legacy top-level flag
        selected = bool(entry["selected"]) or selected
    return CatalogStream(
        name=name,
        database_id=str(root[DATABASE_ID]),
        table_id=str(root[TABLE_ID]),
        table_name=root.get(TABLE_NAME),
        selected=selected,
        schema=dict(entry.get("schema") or {}),
        columns=columns,
        field_types=field_types,
        deselected=frozenset(deselected),
    )


def annotate(
    catalog: dict[str, Any],
    tables: Mapping[str, tuple[str, str, str, Mapping[str, str], Mapping[str, str]]],
) -> dict[str, Any]:
    """Add the Ninox ids and field types to a catalog dict the SDK built (in place; returned).

    `tables` maps a stream name to (database id, table id, table name,
    columns, field types), columns being field id → property name and
    field types field id → Ninox type.
    """
    for entry in catalog.get("streams") or ():
        ids = tables.get(entry.get("tap_stream_id"))
        if ids is None:
            continue
        database_id, table_id, table_name, columns, field_types = ids
        field_of = {column: field_id for field_id, column in columns.items()}
        by_breadcrumb = {tuple(m.get("breadcrumb") or ()): m for m in entry.get("metadata") or ()}
        root = by_breadcrumb.get(())
        if root is None:
            root = {"breadcrumb": [], "metadata": {}}
            entry.setdefault("metadata", []).insert(0, root)
        root["metadata"].update(
            {DATABASE_ID: database_id, TABLE_ID: table_id, TABLE_NAME: table_name}
        )
        for column, field_id in field_of.items():
            item = by_breadcrumb.get(("properties", column))
            if item is not None:
                item["metadata"][FIELD_ID] = field_id
                if field_id in field_types:
                    item["metadata"][FIELD_TYPE] = field_types[field_id]
    return catalog
