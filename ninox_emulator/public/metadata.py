"""Module, table and field answers, and the variants that change them (V24-V26)."""

from __future__ import annotations

import hashlib
from typing import Any

from ninox_emulator.public.model import Field, Module, Table


def opaque_id(uid: str) -> str:
    """V24: an id for a table that appears nowhere else in the API."""
    return "r" + hashlib.sha256(uid.encode()).hexdigest()[:11]


def field_answer(module: Module, spec: Field, variants: frozenset[str]) -> dict[str, Any]:
    """A field object."""
    out = spec.to_api()
    if "metadata_ids" in variants:
        out = {"id": spec.uid, **out}
    if "opaque_ref_table_ids" in variants and spec.ref_table is not None:
        target = module.tables.get(spec.ref_table)
        out["refTableId"] = opaque_id(target.uid if target is not None else spec.ref_table)
    return out


def table_answer(
    module: Module, table: Table, variants: frozenset[str], *, with_fields: bool = True
) -> dict[str, Any]:
    """A table object (with its fields unless `with_fields` is false)."""
    out = table.to_api(with_fields=False)
    if "metadata_ids" in variants:
        out = {"id": table.uid, **out}
    if with_fields:
        out["fields"] = [field_answer(module, f, variants) for f in table.fields.values()]
    return out


def module_answer(
    module: Module, variants: frozenset[str], *, with_tables: bool = True
) -> dict[str, Any]:
    """A module object, its tables nested with their fields (V26: without fields)."""
    out = module.to_api(with_tables=False)
    if "metadata_ids" in variants:
        out = {"id": module.uid, **out}
    if with_tables:
        with_fields = "root_without_fields" not in variants
        out["tables"] = [
            table_answer(module, t, variants, with_fields=with_fields)
            for t in module.tables.values()
        ]
    return out
