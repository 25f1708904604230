"""How a record reads: `{"id": "17", "values": {...}}`, and the variants that change it.

Strict (the fixed readings): `id` a string; every field of
the table under its name, `null` when empty, except `reverse` fields (not
in `values`); `function` fields computed (`formula.py`'s language over
field names: `first_name + " " + last_name`); with `fields=` only those.
Variants V9-V14 reshape values here and only here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ninox_emulator.formula import Formula
from ninox_emulator.public.clock import parse_iso
from ninox_emulator.public.model import Field, Module, Table


def _function(table: Table, spec: Field) -> Callable[[dict[str, Any]], Any]:
    def resolve(name: str) -> Callable[[Any], Any] | None:
        if name not in table.fields:
            return None
        return lambda values: values.get(name)

    return Formula(spec.expression or "", resolve).evaluate


def _reverse(module: Module, table: Table, spec: Field, rid: int) -> list[str]:
    source = module.tables.get(spec.ref_table or "")
    if source is None:
        return []
    refs = [
        f.name
        for f in source.fields.values()
        if f.type == "reference" and f.ref_table == table.name
    ]
    key = str(rid)
    return [
        str(r) for r in sorted(source.records) if any(source.records[r].get(n) == key for n in refs)
    ]


def _epoch(text: str) -> int | None:
    return parse_iso(text)


def _classic_moment(text: str) -> str:
    ms = parse_iso(text)
    if ms is None:
        return text
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))


def _interval_ms(text: str) -> int:
    head, _, fraction = text.partition(".")
    hours, minutes, seconds = (int(p) for p in head.split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + int((fraction + "000")[:3])


def _shape(spec: Field, value: Any, variants: frozenset[str]) -> Any:
    """One stored value as a variant reads it (strict: unchanged)."""
    kind = spec.type
    if kind == "reference" and "numeric_ids" in variants:
        return int(value)
    if kind == "choice" and "choice_ids" in variants:
        return next((str(o["id"]) for o in spec.options or () if o["name"] == value), value)
    if kind == "multi" and "choice_ids" in variants:
        return ", ".join(value)
    if kind == "timestamp" and "epoch_times" in variants:
        return _epoch(value)
    if kind == "timestamp" and "timestamps_without_z" in variants:
        return _classic_moment(value)
    if kind == "appointment" and "epoch_times" in variants:
        start, _, end = value.strip("[)").partition(",")
        return f"{_classic_moment(start)} - {_classic_moment(end)}"
    if kind == "timeinterval" and "epoch_times" in variants:
        return _interval_ms(value)
    return value


def record_answer(
    module: Module,
    table: Table,
    rid: int,
    projection: list[str] | None,
    variants: frozenset[str],
) -> dict[str, Any]:
    """The read form of record `rid` (which must exist)."""
    stored = table.records[rid]
    names = projection if projection is not None else list(table.fields)
    lazy = "reverse_and_lazy_functions" in variants
    out: dict[str, Any] = {}
    for name in names:
        spec = table.fields[name]
        if spec.type == "reverse":
            if lazy:
                out[name] = _reverse(module, table, spec, rid)
            continue
        if spec.type == "function":
            if lazy and projection is None:
                continue
            value = _function(table, spec)(stored)
        elif (
            spec.type == "reference"
            and projection is not None
            and ("projected_refs_null" in variants)
        ):
            value = None
        else:
            value = stored.get(name)
            if value is not None and variants:
                value = _shape(spec, value, variants)
        if value is None and "omit_empty" in variants:
            continue
        out[name] = value
    record_id: Any = rid if "numeric_ids" in variants else str(rid)
    return {"id": record_id, "values": out}


def answer_id(rid: int, variants: frozenset[str]) -> Any:
    """A record id in an answer: a string (V9: a number)."""
    return rid if "numeric_ids" in variants else str(rid)
