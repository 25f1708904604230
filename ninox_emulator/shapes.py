"""Answer shapes of a record: as read (text form), change-feed raw, `_upsert` raw."""

from __future__ import annotations

from typing import Any

from ninox_emulator.model import Database, Record, Table
from ninox_emulator.values import format_datetime


def field_values(
    db: Database, table: Table, rec: Record, by_id: bool = False, choice_ids: bool = False
) -> dict[str, Any]:
    """A record's non-empty fields in text form (CONTRACT.md §3)."""
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
    db: Database, table: Table, rec: Record, by_id: bool = False, choice_ids: bool = False
) -> dict[str, Any]:
    """A record as `GET .../records` shows it."""
    return {
        "id": rec.id,
        "sequence": rec.seq,
        "createdAt": format_datetime(rec.created_at),
        "createdBy": rec.created_by if rec.created_by is not None else 0,
        "modifiedAt": format_datetime(rec.modified_at),
        "modifiedBy": rec.modified_by,
        "fields": field_values(db, table, rec, by_id, choice_ids),
    }


def raw_values(table: Table, rec: Record, out: dict[str, Any]) -> dict[str, Any]:
    """Add a record's stored fields in raw form (field ids; no computed fields)."""
    fields = table.fields
    for fid, value in rec.values.items():
        out[fid] = fields[fid].codec.to_raw(value)
    return out


def raw_update(table: Table, rec: Record) -> dict[str, Any]:
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
    return raw_values(table, rec, out)


def raw_answer(table: Table, rec: Record) -> dict[str, Any]:
    """A record as the `_upsert` answer shows it (the vendor's sample).

    `_id` is the record id (integer), `_cd`/`_md` datetime text (`""` for an
    unknown creation), `_cu: 0` for an unknown creator; then the non-empty
    stored fields by id in text form with choice captions, like the sample's
    `"A": "Person"`.
    """
    out: dict[str, Any] = {
        "_id": rec.id,
        "_cu": rec.created_by if rec.created_by is not None else 0,
        "_cd": format_datetime(rec.created_at),
        "_mu": rec.modified_by,
        "_md": format_datetime(rec.modified_at),
    }
    plan = table.plan
    for fid, value in rec.values.items():
        names = plan[fid][1]
        out[fid] = value if names is None else names(value)
    return out
