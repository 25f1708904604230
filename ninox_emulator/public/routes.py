"""The Public API routes (metadata, records, writes, change feeds) over the store, without HTTP.

Paths are relative to `/api/v1` and matched segment by segment (each
URL-decoded after the split). A path no route knows, or a known path with
another method, raises `UnknownPath`: the emulator answers it as the
gateway does (V2: 200 with the web app's HTML shell; strict: a JSON 404).
Handlers hold the store lock while they read or write and return plain
data; the server encodes it outside the lock.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ninox_emulator.model import ApiError
from ninox_emulator.public.clock import iso, parse_iso
from ninox_emulator.public.metadata import field_answer, module_answer, table_answer
from ninox_emulator.public.model import Table
from ninox_emulator.public.shapes import answer_id, record_answer
from ninox_emulator.public.store import PublicStore
from ninox_emulator.routes import Request, Response

#: The most a JSON write body may weigh.
MAX_BODY = 6 * 1024 * 1024
#: Page bounds (records, metadata lists, change feeds).
MAX_LIMIT = 100
#: V5: the page size when `limit` is omitted.
CLAMPED_DEFAULT = 10
#: V22: every n-th call is refused.
RATE_LIMIT_EVERY = 4

Handler = Callable[[Request, list[str]], Response]

_WS = ("workspace", "*")
_MODULE = (*_WS, "modules", "*")
_TABLE = (*_MODULE, "tables", "*")


class UnknownPath(Exception):
    """No route answers this method and path."""


def _int_param(req: Request, name: str, default: int, low: int, high: int | None) -> int:
    text = req.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be an integer {bounds}, got {text!r}")
    return value


def _page(req: Request, *, records: bool = False) -> tuple[int, int]:
    """(limit, offset) of a list request; 400 outside 1-100 (V5: clamped, default 10)."""
    clamped = records and "limit_clamped" in req.variants
    default = CLAMPED_DEFAULT if clamped else MAX_LIMIT
    limit = _int_param(req, "limit", default, 1, None if clamped else MAX_LIMIT)
    return min(limit, MAX_LIMIT), _int_param(req, "offset", 0, 0, None)


def _paged(req: Request, items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    page = items[offset : offset + limit]
    has_more = offset + limit < len(items)
    if "has_more_on_full_page" in req.variants:
        has_more = len(page) == limit
    return {"data": page, "page_info": {"has_more": has_more, "limit": limit, "offset": offset}}


def _body(req: Request) -> dict[str, Any]:
    if len(req.body) > MAX_BODY:
        raise ApiError(413, "Payload too large (max 6 MB)")
    data = req.json()
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def _records_body(req: Request, allowed: tuple[str, ...] = ("records",)) -> list[Any]:
    return _write_body(req, allowed)["records"]


def _write_body(req: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A write's body: an object with only `allowed` keys and a non-empty `records` array."""
    data = _body(req)
    extra = [k for k in data if k not in allowed]
    if extra:
        keys = ", ".join(f"'{k}'" for k in extra)
        raise ApiError(400, f"Unrecognized key(s) in object: {keys}")
    records = data.get("records")
    if not isinstance(records, list) or not records:
        raise ApiError(400, "records must be a non-empty array")
    return data


def _since(req: Request, name: str, *, required: bool) -> int | None:
    text = req.query.get(name)
    if text is None or text == "":
        if required:
            raise ApiError(400, f"{name} is required (an ISO 8601 UTC timestamp ending in Z)")
        return None
    ms = parse_iso(text) if text.endswith("Z") else None
    if ms is None:
        raise ApiError(400, f"{name} must be an ISO 8601 UTC timestamp ending in Z, got {text!r}")
    return ms


class PublicApi:
    """Dispatches `/api/v1` requests to handlers."""

    def __init__(self, store: PublicStore) -> None:
        """Serve `store`."""
        self.store = store
        self.calls = 0  # for the reshuffles of V6
        self.routes: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
            (_WS, {"GET": self.root}),
            ((*_WS, "modules"), {"GET": self.modules}),
            (_MODULE, {"GET": self.module}),
            ((*_MODULE, "tables"), {"GET": self.tables}),
            (_TABLE, {"GET": self.table}),
            ((*_TABLE, "fields"), {"GET": self.fields}),
            ((*_TABLE, "fields", "*"), {"GET": self.field}),
            (
                (*_TABLE, "records"),
                {
                    "GET": self.records,
                    "POST": self.create,
                    "PATCH": self.update,
                    "DELETE": self.delete,
                },
            ),
            ((*_TABLE, "records", "upsert"), {"POST": self.upsert}),
            ((*_TABLE, "records", "changes"), {"GET": self.record_changes}),
            ((*_TABLE, "record", "*"), {"GET": self.record}),
            ((*_WS, "schema", "changes"), {"GET": self.schema_changes}),
        ]

    # ----------------------------------------------------------- dispatch

    def handle(self, req: Request) -> Response:
        """Answer one request; ApiError for API errors, UnknownPath for no route."""
        parts = [unquote(p) for p in req.path.strip("/").split("/")]
        for pattern, methods in self.routes:
            if len(pattern) != len(parts) or any(
                p not in ("*", s) for p, s in zip(pattern, parts, strict=True)
            ):
                continue
            handler = methods.get(req.method)
            if handler is None or _absent(handler.__name__, req.variants):
                break
            params = [s for p, s in zip(pattern, parts, strict=True) if p == "*"]
            if params[0] != self.store.workspace.id:
                raise ApiError(404, f"Workspace '{params[0]}' not found")
            scope = "no_read_scope" if req.method == "GET" else "no_write_scope"
            if scope in req.variants:
                raise ApiError(403, "Insufficient API key scope")
            self.calls += 1
            return handler(req, params[1:])
        raise UnknownPath(req.path)

    # ----------------------------------------------------------- metadata

    def root(self, req: Request, params: list[str]) -> Response:
        """`GET /workspace/{ws}`: the workspace with modules → tables → fields."""
        with self.store.lock:
            ws = self.store.workspace
            modules = [module_answer(m, req.variants) for m in ws.modules.values()]
            return Response(data={"data": {"name": ws.name, "modules": modules}})

    def modules(self, req: Request, params: list[str]) -> Response:
        """`GET …/modules` (paged)."""
        limit, offset = _page(req)
        with self.store.lock:
            items = [module_answer(m, req.variants) for m in self.store.workspace.modules.values()]
        return Response(data=_paged(req, items, limit, offset))

    def module(self, req: Request, params: list[str]) -> Response:
        """`GET …/modules/{m}` with its tables."""
        with self.store.lock:
            return Response(
                data={"data": module_answer(self.store.module(params[0]), req.variants)}
            )

    def tables(self, req: Request, params: list[str]) -> Response:
        """`GET …/modules/{m}/tables` (paged)."""
        limit, offset = _page(req)
        with self.store.lock:
            module = self.store.module(params[0])
            items = [table_answer(module, t, req.variants) for t in module.tables.values()]
        return Response(data=_paged(req, items, limit, offset))

    def table(self, req: Request, params: list[str]) -> Response:
        """`GET …/tables/{t}` with its fields."""
        with self.store.lock:
            module = self.store.module(params[0])
            table = self.store.table(params[0], params[1])
            return Response(data={"data": table_answer(module, table, req.variants)})

    def fields(self, req: Request, params: list[str]) -> Response:
        """`GET …/tables/{t}/fields` (paged)."""
        limit, offset = _page(req)
        with self.store.lock:
            module = self.store.module(params[0])
            table = self.store.table(params[0], params[1])
            items = [field_answer(module, f, req.variants) for f in table.fields.values()]
        return Response(data=_paged(req, items, limit, offset))

    def field(self, req: Request, params: list[str]) -> Response:
        """`GET …/fields/{f}`."""
        with self.store.lock:
            module = self.store.module(params[0])
            spec = self.store.field(*params[:3])
            return Response(data={"data": field_answer(module, spec, req.variants)})

    # -------------------------------------------------------------- reads

    def _projection(self, req: Request, table: Table) -> list[str] | None:
        text = req.query.get("fields")
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in table.fields]
        if unknown:
            raise ApiError(400, f"Unknown field(s) in fields: {', '.join(unknown)}")
        return names

    def _filtered(self, req: Request, table: Table, ids: list[int]) -> list[int]:
        text = req.query.get("filter", req.query.get("filters"))
        if not text:
            return ids
        try:
            wanted = json.loads(text)
        except ValueError:
            raise ApiError(400, f"filter must be a JSON object, got {text!r}") from None
        if not isinstance(wanted, dict):
            raise ApiError(400, f"filter must be a JSON object, got {text!r}")
        for name in wanted:
            if name not in table.fields:
                raise ApiError(404, f"field-not-found: {name!r} is not a field of '{table.name}'")
        out = []
        for rid in ids:
            values = table.records[rid]
            if all(_equal(values.get(k), v) for k, v in wanted.items()):
                out.append(rid)
        return out

    def _sorted(self, req: Request, table: Table, ids: list[int]) -> list[int]:
        text = req.query.get("sort")
        if not text:
            if "unstable_order" in req.variants:
                shuffled = list(ids)
                random.Random(self.calls).shuffle(shuffled)  # noqa: S311 - a test reshuffle
                return shuffled
            return ids
        keys = [k.strip() for k in text.split(",") if k.strip()]
        for key in reversed(keys):
            name = key.lstrip("-")
            if name != "id" and name not in table.fields:
                raise ApiError(400, f"Unknown sort field {name!r}")
            ids = sorted(ids, key=_sorter(table, name), reverse=key.startswith("-"))
        return ids

    def records(self, req: Request, params: list[str]) -> Response:
        """`GET …/records?limit&offset&fields&sort&filter` (ascending id by default)."""
        limit, offset = _page(req, records=True)
        module_name, table_name = params[0], params[1]
        with self.store.lock:
            module = self.store.module(module_name)
            table = self.store.table(module_name, table_name)
            projection = self._projection(req, table)
            if offset > 0 and "scan_drift" in req.variants:
                self._drift(module_name, table)
            ids = self._sorted(req, table, self._filtered(req, table, table.sorted_ids()))
            page = ids[offset : offset + limit]
            rows = [record_answer(module, table, r, projection, req.variants) for r in page]
        answer = _paged(req, ids, limit, offset)
        answer["data"] = rows
        return Response(data=answer)

    def _drift(self, module: str, table: Table) -> None:
        """V8: another user deletes the lowest id and creates a record, mid-scan."""
        ids = table.sorted_ids()
        if not ids:
            return
        template = dict(table.records[ids[-1]])
        for name, spec in table.fields.items():
            if spec.unique and name in template:
                template[name] = f"drift{table.next_id}-{template[name]}"
        self.store.delete(module, table.name, [ids[0]])
        self.store.create(module, table.name, [template])

    def record(self, req: Request, params: list[str]) -> Response:
        """`GET …/record/{id}`: one record, 404 when absent."""
        with self.store.lock:
            module = self.store.module(params[0])
            table = self.store.table(params[0], params[1])
            text = params[2]
            rid = int(text) if text.isdigit() else 0
            if rid not in table.records:
                raise ApiError(404, f"Record {text} not found in table '{table.name}'")
            projection = self._projection(req, table)
            return Response(
                data={"data": record_answer(module, table, rid, projection, req.variants)}
            )

    # ------------------------------------------------------------- writes

    def create(self, req: Request, params: list[str]) -> Response:
        """`POST …/records`: 201 `{"data": {"ids": [...]}}`, all-or-nothing."""
        items = _records_body(req)
        partial = len(items) > 1 and (
            "partial_create" in req.variants or "partial_create_drop" in req.variants
        )
        ids = self.store.create(
            params[0],
            params[1],
            items,
            reuse_ids="id_reuse" in req.variants,
            apply_count=len(items) // 2 if partial else None,
        )
        if partial:
            if "partial_create_drop" in req.variants:
                return Response(drop=True)
            raise ApiError(503, "Service Unavailable")
        return Response(201, {"data": {"ids": [answer_id(r, req.variants) for r in ids]}})

    def update(self, req: Request, params: list[str]) -> Response:
        """`PATCH …/records`: one transaction; `updatedIds` (V18: short by one)."""
        ids = self.store.update(params[0], params[1], _records_body(req))
        if "short_updated_ids" in req.variants and len(ids) > 1:
            ids = ids[:-1]
        return Response(data={"data": {"updatedIds": [answer_id(r, req.variants) for r in ids]}})

    def delete(self, req: Request, params: list[str]) -> Response:
        """`DELETE …/records` `{"records": [ids]}`: one transaction, 404 on a missing id."""
        ids = self.store.delete(
            params[0],
            params[1],
            _records_body(req),
            ignore_missing="lenient_delete" in req.variants,
        )
        return Response(data={"data": {"deletedIds": [answer_id(r, req.variants) for r in ids]}})

    def upsert(self, req: Request, params: list[str]) -> Response:
        """`POST …/records/upsert` `{"matchField", "records"}` by a unique field."""
        body = _write_body(req, ("matchField", "records"))
        created, updated = self.store.upsert(
            params[0], params[1], body.get("matchField"), body["records"]
        )
        data = {
            "createdIds": [answer_id(r, req.variants) for r in created],
            "updatedIds": [answer_id(r, req.variants) for r in updated],
        }
        return Response(data={"data": data})

    # -------------------------------------------------------------- feeds

    def _window(self, req: Request) -> tuple[int, int, int, dict[str, Any]]:
        """(since, asOf, now, meta) of a change-feed request; 400 past retention."""
        since = _since(req, "since", required=True)
        pinned = _since(req, "asOf", required=False)
        assert since is not None
        now = self.store.clock.now_ms()
        cutoff = self.store.retention_cutoff(now)
        silent = "silent_retention" in req.variants
        if since < cutoff and not silent:
            raise ApiError(
                400,
                f"since {iso(since)} is older than the retention cutoff {iso(cutoff)}; "
                "read the table in full and poll from the new asOf",
            )
        as_of = pinned if pinned is not None else self.store.clock.as_of()
        meta: dict[str, Any] = {"asOf": iso(as_of)}
        if not silent:
            meta["retentionCutoff"] = iso(cutoff)
        return since, as_of, now, meta

    def record_changes(self, req: Request, params: list[str]) -> Response:
        """`GET …/records/changes?since&asOf&limit&offset` (tables with history only)."""
        limit, offset = _page(req)
        with self.store.lock:
            table = self.store.table(params[0], params[1])
            if not table.has_history:
                raise ApiError(400, f"History tracking is disabled for table '{table.name}'")
            since, as_of, _, meta = self._window(req)
            loose = "loose_change_feed" in req.variants
            changes = self.store.changes(table, since, as_of, inclusive=loose)
            words = {"create": "insert", "delete": "remove"} if loose else {}
            if loose:
                changes = list(reversed(changes))
            items = [
                {
                    "id": answer_id(c.id, req.variants),
                    "changeType": words.get(c.change_type, c.change_type),
                    "changedAt": iso(c.changed_at),
                }
                for c in changes
            ]
        answer = _paged(req, items, limit, offset)
        answer["meta"] = meta
        return Response(data=answer)

    def schema_changes(self, req: Request, params: list[str]) -> Response:
        """`GET /schema/changes?since&asOf&limit&offset`, oldest first."""
        limit, offset = _page(req)
        with self.store.lock:
            since, as_of, _, meta = self._window(req)
            items = []
            for entry in self.store.workspace.schema_changes:
                at = parse_iso(entry["changedAt"]) or 0
                if since < at <= as_of:
                    items.append(dict(entry))
        answer = _paged(req, items, limit, offset)
        answer["meta"] = meta
        return Response(data=answer)


def _absent(handler: str, variants: frozenset[str]) -> bool:
    """V20 / V2b: a deployment without the upsert or the change-feed route."""
    return (handler == "upsert" and "no_upsert" in variants) or (
        handler == "record_changes" and "no_change_feed" in variants
    )


def _equal(stored: Any, wanted: Any) -> bool:
    if stored == wanted:
        return True
    return stored is not None and wanted is not None and str(stored) == str(wanted)


def _sorter(table: Table, name: str) -> Callable[[int], tuple[int, Any]]:
    """The sort key of record ids by field `name` (or `id`)."""
    if name == "id":
        return lambda rid: (1, rid)
    return lambda rid: _sort_key(table.records[rid].get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))
