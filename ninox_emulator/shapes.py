"""Answer shapes of a record: as read (text form), change-feed raw, `_upsert` raw.

Every record answer is shaped here, so the server variants that change a
record's shape (`variants.py`) apply here and only here: each shaping
function takes the request's `variants` (empty = the strict default, whose
code path stays as fast as before).
"""

from __future__ import annotations

from typing import Any

from ninox_emulator.model import Database, FieldDef, Record, Table
from ninox_emulator.values import date_to_ms, format_datetime

#: No variant: the strict default server.
STRICT: frozenset[str] = frozenset()
#: The layout element types `layout_fields` adds to every table (they hold no data).
LAYOUT_TYPES = ("tab", "button", "line")


def field_values(
    db: Database, table: Table, rec: Record, by_id: bool = False, choice_ids: bool = False
) -> dict[str, Any]:
    """A record's non-empty fields in text form (docs/api.md §3)."""
    out: dict[str, Any] = {}
    plan = table.plan
    for fid, value in rec.values.items():
        name, names, ids = plan[fid]
        conv = ids if choice_ids else names
        out[fid if by_id else name] = value if conv is None else conv(value)
    for f in table.rev_fields:
        source = db.rev_sources.get((table.id, f.id))
        if source is not None:
            pointing = db.rev_index[source].get(rec.id)
            if pointing:
                out[f.id if by_id else f.name] = sorted(pointing)
    for f in table.formula_fields:
        assert f.formula is not None
        value = f.formula.evaluate(rec)
        if value is not None and value != "":
            out[f.id if by_id else f.name] = value
    return out


def render(
    db: Database,
    table: Table,
    rec: Record,
    by_id: bool = False,
    choice_ids: bool = False,
    variants: frozenset[str] = STRICT,
) -> dict[str, Any]:
    """A record as `GET .../records` shows it (as the enabled `variants` change it)."""
    if variants:
        return _render_varied(db, table, rec, by_id, choice_ids, variants)
    return {
        "id": rec.id,
        "sequence": rec.seq,
        "createdAt": format_datetime(rec.created_at),
        "createdBy": rec.created_by if rec.created_by is not None else 0,
        "modifiedAt": format_datetime(rec.modified_at),
        "modifiedBy": rec.modified_by,
        "fields": field_values(db, table, rec, by_id, choice_ids),
    }


def raw_values(
    table: Table, rec: Record, out: dict[str, Any], variants: frozenset[str] = STRICT
) -> dict[str, Any]:
    """Add a record's stored fields in raw form (field ids; no computed fields).

    Variants: `int_choice_ids` makes choice ids (and multi items) integers;
    `multi_bitmask_feed` sends a multi value as a hex bitmask (wins over
    `int_choice_ids` for multi).
    """
    fields = table.fields
    if not variants:
        for fid, value in rec.values.items():
            out[fid] = fields[fid].codec.to_raw(value)
        return out
    int_ids = "int_choice_ids" in variants
    bitmask = "multi_bitmask_feed" in variants
    for fid, value in rec.values.items():
        f = fields[fid]
        if bitmask and f.type == "multi":
            out[fid] = multi_bitmask(f, value)
        elif int_ids and f.type == "choice":
            out[fid] = _int_id(value)
        elif int_ids and f.type == "multi":
            out[fid] = [_int_id(i) for i in value]
        else:
            out[fid] = f.codec.to_raw(value)
    return out


def raw_update(table: Table, rec: Record, variants: frozenset[str] = STRICT) -> dict[str, Any]:
    """A record as the change feed's `updates` shows it (`_id` = node id).

    A record without a known creator has `_cu: 0` and no `_cd` (the vendor's
    sample of the record change feed).
    """
    out: dict[str, Any] = {"_id": f"{table.id}{rec.id}"}
    if rec.created_by is None:
        out["_cu"] = 0
    else:
        out["_cu"] = rec.created_by
    if rec.created_at is not None:
        out["_cd"] = rec.created_at
    out["_mu"] = rec.modified_by
    out["_md"] = rec.modified_at
    return raw_values(table, rec, out, variants)


def raw_answer(table: Table, rec: Record, variants: frozenset[str] = STRICT) -> dict[str, Any]:
    """A record as the `_upsert` answer shows it (the vendor's sample).

    `_id` is the record id (integer), `_cd`/`_md` datetime text (`""` for an
    unknown creation), `_cu: 0` for an unknown creator; then the non-empty
    stored fields by id in text form with choice captions, like the sample's
    `"A": "Person"`. Variant `names_for_ids`: fields keyed by name instead.
    """
    out: dict[str, Any] = {
        "_id": rec.id,
        "_cu": rec.created_by if rec.created_by is not None else 0,
        "_cd": format_datetime(rec.created_at),
        "_mu": rec.modified_by,
        "_md": format_datetime(rec.modified_at),
    }
    plan = table.plan
    by_name = "names_for_ids" in variants
    for fid, value in rec.values.items():
        name, names, _ = plan[fid]
        out[name if by_name else fid] = value if names is None else names(value)
    return out


# ---------------------------------------------------------------- variants


def _int_id(choice_id: str) -> Any:
    """A choice id as a JSON integer (`int_choice_ids`); a non-numeric id stays text."""
    return int(choice_id) if choice_id.isdigit() else choice_id


def multi_bitmask(f: FieldDef, ids: list[str]) -> str:
    """`multi_bitmask_feed`: bit i set for the i-th choice in schema order, lower-case hex."""
    position = {c["id"]: i for i, c in enumerate(f.choices)}
    mask = 0
    for cid in ids:
        mask |= 1 << position[cid]
    return format(mask, "x")


def _datetime_ms_z(ms: int | None) -> str:
    """`datetime_ms_z`: `2021-01-23T12:30:00.000Z` (`""` stays `""`)."""
    if ms is None:
        return ""
    return f"{format_datetime(ms)}.{ms % 1000:03d}Z"


def _render_varied(
    db: Database,
    table: Table,
    rec: Record,
    by_id: bool,
    choice_ids: bool,
    variants: frozenset[str],
) -> dict[str, Any]:
    """`render` as the enabled variants change it (see `variants.py`)."""
    by_id = by_id and "names_for_ids" not in variants
    choice_ids = choice_ids and "captions_for_ids" not in variants
    out = render(db, table, rec, by_id, choice_ids)
    values = out["fields"]
    epoch = "epoch_dates" in variants
    ms_z = "datetime_ms_z" in variants
    int_ids = choice_ids and "int_choice_ids" in variants
    comma = "multi_comma" in variants
    if epoch or ms_z or int_ids or comma:
        for fid, stored in rec.values.items():
            f = table.fields[fid]
            key, kind = (fid if by_id else f.name), f.type
            if kind == "date" and epoch:
                values[key] = date_to_ms(stored)  # midnight UTC
            elif kind in ("datetime", "timestamp") and (epoch or ms_z):
                values[key] = stored if epoch else _datetime_ms_z(stored)
            elif kind == "choice" and int_ids:
                values[key] = _int_id(stored)
            elif kind == "multi" and comma:
                assert f.codec.names is not None
                values[key] = ", ".join(f.codec.names(stored))  # always captions
            elif kind == "multi" and int_ids:
                values[key] = [_int_id(i) for i in stored]
    if ms_z:
        out["createdAt"] = _datetime_ms_z(rec.created_at)
        out["modifiedAt"] = _datetime_ms_z(rec.modified_at)
    if "no_created_at" in variants:
        del out["createdAt"], out["modifiedAt"]
    if "created_by_zero" in variants:
        out["createdBy"] = 0 if rec.id % 2 else "0"
    if "no_sequence" in variants:
        del out["sequence"]
    return out


def _id_number(field_id: str) -> int:
    """`A` → 1, `Z` → 26, `AA` → 27 (0 for an id that is not upper-case letters)."""
    if not field_id.isalpha() or not field_id.isupper():
        return 0
    number = 0
    for ch in field_id:
        number = number * 26 + (ord(ch) - 64)
    return number


def _id_letters(number: int) -> str:
    """The inverse of `_id_number`."""
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def layout_fields(table: Table) -> list[dict[str, Any]]:
    """`layout_fields`: a tab, a button and a line after the table's last field id.

    Their ids follow the highest letter id in use and their names are
    unique in the table, so they never clash with a real field.
    """
    number = max((_id_number(fid) for fid in table.fields), default=0)
    out: list[dict[str, Any]] = []
    for kind in LAYOUT_TYPES:
        number += 1
        name, suffix = kind.capitalize(), 1
        while name in table.by_name:
            suffix += 1
            name = f"{kind.capitalize()} {suffix}"
        out.append({"id": _id_letters(number), "name": name, "type": kind})
    return out


def table_api(table: Table, variants: frozenset[str] = STRICT) -> dict[str, Any]:
    """A table as `GET .../tables` shows it (plus layout fields with `layout_fields`)."""
    out = table.to_api()
    if "layout_fields" in variants:
        out["fields"].extend(layout_fields(table))
    return out
