"""The change feeds (docs/api.md §5): database, table and record forms.

`updates` holds every record whose last change is after `sinceSq`, keyed by
node id (table id + record id) in raw form; `removes` the node ids deleted
after `sinceSq` that do not exist again (an `_upsert` may bring an id back).
Both come from the table's append-only logs, so a feed costs the number of
changes since `sinceSq`, not the table's size. `files` is always `[]`,
`views` and `reports` `{}`: the emulator keeps none of them. The server
variants that change raw values (`int_choice_ids`, `multi_bitmask_feed`)
are applied by `shapes.raw_update`.
"""

from __future__ import annotations

import bisect
from typing import Any

from ninox_emulator.model import ApiError, Database, Table
from ninox_emulator.shapes import STRICT, raw_update


def since_sq(query: dict[str, str]) -> int:
    """The `sinceSq` parameter (absent = 0), or a 400."""
    text = query.get("sinceSq")
    if text is None or text == "":
        return 0
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, f"query parameter 'sinceSq' must be an integer, got {text!r}") from None


def table_delta(
    table: Table, since: int, variants: frozenset[str] = STRICT
) -> tuple[dict[str, Any], list[str]]:
    """Updates and removes of one table after `since`."""
    updates: dict[str, Any] = {}
    start = bisect.bisect_right(table.log_seq, since)
    records = table.records
    for seq, rid in zip(table.log_seq[start:], table.log_id[start:], strict=True):
        rec = records.get(rid)
        if rec is not None and rec.seq == seq:
            updates[f"{table.id}{rid}"] = raw_update(table, rec, variants)
    start = bisect.bisect_right(table.del_seq, since)
    removes = list(
        dict.fromkeys(f"{table.id}{rid}" for rid in table.del_id[start:] if rid not in records)
    )
    return updates, removes


def _feed(db: Database, updates: dict[str, Any], removes: list[str]) -> dict[str, Any]:
    return {
        "updates": updates,
        "removes": removes,
        "files": [],
        "views": {},
        "reports": {},
        "seq": db.seq,
    }


def database_changes(db: Database, since: int, variants: frozenset[str] = STRICT) -> dict[str, Any]:
    """`GET .../databases/{db}/changes`."""
    updates: dict[str, Any] = {}
    removes: list[str] = []
    for table in db.tables.values():
        u, r = table_delta(table, since, variants)
        updates.update(u)
        removes.extend(r)
    return {
        "config": {},
        "nextRids": {t.id: t.next_rid for t in db.tables.values()},
        **_feed(db, updates, removes),
    }


def table_changes(
    db: Database, table: Table, since: int, variants: frozenset[str] = STRICT
) -> dict[str, Any]:
    """`GET .../tables/{table}/changes`."""
    updates, removes = table_delta(table, since, variants)
    return {"nextRid": table.next_rid, **_feed(db, updates, removes)}


def record_changes(
    db: Database,
    table: Table,
    record_id: int,
    since: int,
    variants: frozenset[str] = STRICT,
) -> dict[str, Any]:
    """`GET .../records/{id}/changes`; 404 for an id the table never had."""
    rec = table.records.get(record_id)
    updates: dict[str, Any] = {}
    removes: list[str] = []
    if rec is not None:
        if rec.seq > since:
            updates[f"{table.id}{record_id}"] = raw_update(table, rec, variants)
    elif record_id in table.del_id:
        start = bisect.bisect_right(table.del_seq, since)
        if record_id in table.del_id[start:]:
            removes.append(f"{table.id}{record_id}")
    else:
        raise ApiError(404, f"record {record_id} not found in table {table.id!r}")
    return {"nextRid": table.next_rid, **_feed(db, updates, removes)}
