"""Reading records: answer shapes, paging, keyset reads, order and filters.

`GET .../records` (docs/api.md §4) always answers an array. Paging costs:
- plain reads (`page`/`perPage`, `sinceId`): a bisect into the sorted ids and a
  slice, O(page);
- `sinceSq` (with or without `sinceId`): whichever is cheaper of walking the
  ids from `sinceId` and walking the table's change log from `sinceSq`, so an
  incremental read never costs a scan of the whole table per page;
- `filters`, `order`, `desc`, `new`, `updated`: a scan and a sort (these are
  not keyset reads).
Unknown query parameters are ignored (the vendor pages list a few, such as
`dateStyle`, that the contract does not cover).
"""

from __future__ import annotations

import bisect
import json
from typing import Any

from ninox_emulator.model import ApiError, Database, FieldDef, Record, Table
from ninox_emulator.shapes import STRICT, field_values, render
from ninox_emulator.values import FieldValueError

DEFAULT_PAGE_SIZE = 100


# ------------------------------------------------------------- parameters


def int_param(query: dict[str, str], key: str, default: int, minimum: int | None = None) -> int:
    """An integer query parameter, or a 400 naming it."""
    text = query.get(key)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"query parameter {key!r} must be an integer, got {text!r}") from None
    if minimum is not None and value < minimum:
        raise ApiError(400, f"query parameter {key!r} must be at least {minimum}, got {value}")
    return value


def bool_param(query: dict[str, str], key: str) -> bool:
    """A `true`/`false` query parameter (absent = false), or a 400."""
    text = query.get(key)
    if text is None or text == "":
        return False
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"query parameter {key!r} must be true or false, got {text!r}")


def style_param(query: dict[str, str], key: str) -> bool:
    """True for `ids`, False for `names` (the default); else a 400."""
    text = query.get(key, "names") or "names"
    if text not in ("names", "ids"):
        raise ApiError(400, f"query parameter {key!r} must be 'names' or 'ids', got {text!r}")
    return text == "ids"


def parse_filters(text: str | None, body: Any) -> dict[str, Any]:
    """Filters from the query string (JSON text), else from a JSON body.

    Both `{"A": "x"}` and `{"fields": {"A": "x"}}` are accepted.
    """
    if text:
        try:
            filters = json.loads(text)
        except ValueError:
            raise ApiError(400, f"query parameter 'filters' is not valid JSON: {text!r}") from None
    elif isinstance(body, dict) and "filters" in body:
        filters = body["filters"]
    else:
        return {}
    if not isinstance(filters, dict):
        raise ApiError(400, "filters must be a JSON object of field → value")
    inner = filters.get("fields")
    if len(filters) == 1 and isinstance(inner, dict):
        return inner
    return filters


# ---------------------------------------------------------------- filters


class _Matcher:
    """Exact-match conditions (AND), compiled once per request."""

    def __init__(self, db: Database, table: Table, filters: dict[str, Any]) -> None:
        self.db, self.table = db, table
        self.conditions: list[tuple[FieldDef, Any]] = []
        for key, wanted in filters.items():
            f = table.field(key, ids_first=True)
            if f is None:
                raise ApiError(
                    400, f"filters: unknown field {key!r} in table {table.name!r} ({table.id})"
                )
            if f.codec.computed:
                self.conditions.append((f, wanted))
                continue
            try:
                stored = f.codec.write(wanted)
            except FieldValueError as exc:
                raise ApiError(400, f"filters, field {f.name!r} ({f.id}): {exc}") from None
            self.conditions.append((f, stored))

    def __call__(self, rec: Record) -> bool:
        for f, wanted in self.conditions:
            if f.codec.computed:
                value = field_values(self.db, self.table, rec, by_id=True).get(f.id)
                if value != wanted and not (value is None and wanted in (None, "")):
                    return False
            elif rec.values.get(f.id) != wanted:
                return False
        return True


# ----------------------------------------------------------------- paging


def _since_sq_ids(table: Table, since_id: int, since_sq: int, skip: int, limit: int) -> list[int]:
    """Ids > since_id of records changed after since_sq, ascending, paged."""
    start_log = bisect.bisect_right(table.log_seq, since_sq)
    start_ids = bisect.bisect_right(table.ids, since_id)
    wanted = skip + limit
    if len(table.log_seq) - start_log < len(table.ids) - start_ids:
        records = table.records
        changed = sorted(
            rid
            for seq, rid in zip(table.log_seq[start_log:], table.log_id[start_log:], strict=True)
            if rid > since_id and (rec := records.get(rid)) is not None and rec.seq == seq
        )
        return changed[skip:wanted]
    out: list[int] = []
    records = table.records
    for rid in table.ids[start_ids:]:
        if records[rid].seq > since_sq:
            out.append(rid)
            if len(out) >= wanted:
                break
    return out[skip:]


def _sort_key(f: FieldDef, rec: Record) -> tuple[int, Any]:
    value = rec.values.get(f.id)
    if value is None:
        return (1, 0)
    if isinstance(value, list):
        return (0, tuple(value))
    if isinstance(value, bool):
        return (0, int(value))
    return (0, value)


def read_page(
    db: Database,
    table: Table,
    query: dict[str, str],
    body: Any,
    max_page_size: int,
    variants: frozenset[str] = STRICT,
) -> list[dict[str, Any]]:
    """`GET .../records`: one page of records, always a list (shaped per `variants`)."""
    per_page = min(int_param(query, "perPage", DEFAULT_PAGE_SIZE, 1), max_page_size)
    page = int_param(query, "page", 0, 0)
    since_id = int_param(query, "sinceId", 0)
    since_sq = int_param(query, "sinceSq", -1) if query.get("sinceSq") not in (None, "") else None
    by_id, choice_ids = style_param(query, "style"), style_param(query, "choiceStyle")
    filters = parse_filters(query.get("filters"), body)
    order = query.get("order")
    desc, new, updated = (
        bool_param(query, "desc"),
        bool_param(query, "new"),
        bool_param(query, "updated"),
    )
    skip = page * per_page
    records = table.records

    desc = desc or "pages_reversed" in variants
    if not (filters or order or desc or new or updated):
        if since_sq is None:
            start = bisect.bisect_right(table.ids, since_id) + skip
            ids = table.ids[start : start + per_page]
        else:
            ids = _since_sq_ids(table, since_id, since_sq, skip, per_page)
        if "pages_by_sequence" in variants:
            ids = sorted(ids, key=lambda i: records[i].seq)
        return [render(db, table, records[i], by_id, choice_ids, variants) for i in ids]

    matcher = _Matcher(db, table, filters) if filters else None
    chosen: list[Record] = []
    for rid in table.ids[bisect.bisect_right(table.ids, since_id) :]:
        rec = records[rid]
        if since_sq is not None and rec.seq <= since_sq:
            continue
        if matcher is not None and not matcher(rec):
            continue
        chosen.append(rec)
    if order:
        f = table.field(order)
        if f is None:
            raise ApiError(400, f"order: unknown field {order!r} in table {table.name!r}")
        present = [r for r in chosen if f.id in r.values]
        missing = [r for r in chosen if f.id not in r.values]
        present.sort(key=lambda r: (_sort_key(f, r), r.id), reverse=desc)
        chosen = present + missing
    elif updated:
        chosen.sort(key=lambda r: r.seq, reverse=True)
    elif new:
        chosen.sort(key=lambda r: (r.created_at is not None, r.created_at or 0, r.id), reverse=True)
    elif desc:
        chosen.reverse()
    return [
        render(db, table, rec, by_id, choice_ids, variants)
        for rec in chosen[skip : skip + per_page]
    ]


def lookup(
    db: Database,
    table: Table,
    query: dict[str, str],
    body: Any,
    variants: frozenset[str] = STRICT,
) -> dict[str, Any]:
    """`POST .../record`: the first record (by id) matching the filters, else 404."""
    filters = parse_filters(query.get("filters"), body)
    matcher = _Matcher(db, table, filters)
    by_id, choice_ids = style_param(query, "style"), style_param(query, "choiceStyle")
    for rid in table.ids:
        rec = table.records[rid]
        if matcher(rec):
            return render(db, table, rec, by_id, choice_ids, variants)
    raise ApiError(404, f"no record in table {table.id!r} matches the filters {filters!r}")
