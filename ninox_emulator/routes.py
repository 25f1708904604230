"""The Ninox API v1 routes (docs/api.md §2-8) over the store, without HTTP.

Paths are relative to `/v1` and matched segment by segment; each segment is
URL-decoded after the split, so a file name holding `%2F` stays one segment.
A path no route knows is a 404, a known path with another method a 405.
Handlers hold the store lock while they read or write and return plain data;
the server encodes it outside the lock.

Server variants (`variants.py`) arrive with each request (`Request.variants`).
Here they change what a route reads from the request (ignored `sinceId` /
`sinceSq`, a capped `perPage`), the schema's `seq`, the tables' layout fields
and the batch POST's partial apply; record shapes change in `shapes.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ninox_emulator import changes, query
from ninox_emulator.model import ApiError
from ninox_emulator.multipart import parse_multipart
from ninox_emulator.scripts import run_script
from ninox_emulator.shapes import STRICT, layout_fields, table_api
from ninox_emulator.store import Store

#: `page_cap_100`: the page size such a server never exceeds.
VARIANT_PAGE_CAP = 100
#: `schema_seq_lag`: how far behind the database sequence `schema.seq` reports.
VARIANT_SEQ_LAG = 5

#: Served for every `.../thumb.jpg`: a minimal JPEG (SOI, JFIF APP0, EOI).
THUMBNAIL = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")

_SETTINGS_DEFAULTS = {
    "icon": "i-db-icon-big i-db i-team",
    "color": "#6691FF",
    "backgroundClass": "background-file",
    "backgroundTimestamp": 1505809647759,
}


@dataclass
class Request:
    """What a route needs from an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes = b""
    content_type: str = ""
    variants: frozenset[str] = STRICT

    def json(self) -> Any:
        """The body as JSON (None when empty), or a 400."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "the request body is not valid JSON") from None


@dataclass
class Response:
    """A route's answer: JSON `data`, or `raw` bytes with a content type.

    `drop=True`: close the connection without any answer (`partial_batch_drop`).
    """

    status: int = 200
    data: Any = None
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


Handler = Callable[..., Any]

_DB = ("teams", "*", "databases", "*")
_TABLE = (*_DB, "tables", "*")
_RECORD = (*_TABLE, "records", "*")
_FILE = (*_RECORD, "files", "*")


def _record_id(text: str) -> int:
    if not text.isdigit():
        raise ApiError(404, f"record {text!r} not found (record ids are integers)")
    return int(text)


class Api:
    """Dispatches `/v1` requests to handlers."""

    def __init__(self, store: Store, max_page_size: int = 1000) -> None:
        """Serve `store`; a page holds at most `max_page_size` records."""
        self.store = store
        self.max_page_size = max_page_size
        routes: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
            (("teams",), {"GET": self.teams}),
            (("teams", "*"), {"GET": self.team}),
            (("teams", "*", "databases"), {"GET": self.databases}),
            (_DB, {"GET": self.database}),
            ((*_DB, "tables"), {"GET": self.tables}),
            ((*_DB, "changes"), {"GET": self.database_changes}),
            ((*_DB, "query"), {"GET": self.script, "POST": self.script}),
            ((*_DB, "exec"), {"POST": self.script}),
            (_TABLE, {"GET": self.table}),
            (
                (*_TABLE, "records"),
                {"GET": self.records, "POST": self.save, "DELETE": self.delete_many},
            ),
            ((*_TABLE, "record"), {"POST": self.lookup}),
            ((*_TABLE, "changes"), {"GET": self.table_changes}),
            (_RECORD, {"GET": self.record, "PUT": self.put, "DELETE": self.delete_one}),
            ((*_RECORD, "changes"), {"GET": self.record_changes}),
            ((*_RECORD, "files"), {"GET": self.files, "POST": self.upload}),
            (_FILE, {"GET": self.file, "DELETE": self.delete_file}),
            ((*_FILE, "metadata"), {"GET": self.file_metadata}),
            ((*_FILE, "thumb.jpg"), {"GET": self.thumb}),
        ]
        self._routes: dict[int, list[tuple[tuple[str, ...], dict[str, Handler]]]] = {}
        for pattern, methods in routes:
            self._routes.setdefault(len(pattern), []).append((pattern, methods))

    def handle(self, request: Request) -> Response:
        """Answer one request (an ApiError becomes its status and message)."""
        segments = request.path.strip("/").split("/")
        for pattern, methods in self._routes.get(len(segments), ()):
            if all(p in ("*", s) for p, s in zip(pattern, segments, strict=True)):
                handler = methods.get(request.method)
                if handler is None:
                    allowed = ", ".join(sorted(methods))
                    raise ApiError(
                        405, f"method {request.method} not allowed on {request.path} ({allowed})"
                    )
                args = [unquote(s) for p, s in zip(pattern, segments, strict=True) if p == "*"]
                answer = handler(request, *args)
                return answer if isinstance(answer, Response) else Response(data=answer)
        raise ApiError(404, f"no such endpoint: {request.method} /v1{request.path}")

    # ------------------------------------------------------------ metadata

    def teams(self, request: Request) -> Any:
        """GET /teams."""
        with self.store.lock:
            return [{"id": t.id, "name": t.name} for t in self.store.teams.values()]

    def team(self, request: Request, team_id: str) -> Any:
        """GET /teams/{team}."""
        with self.store.lock:
            team = self.store.team(team_id)
            return {"id": team.id, "name": team.name}

    def databases(self, request: Request, team_id: str) -> Any:
        """GET /teams/{team}/databases."""
        with self.store.lock:
            return [
                {"id": d.id, "name": d.name} for d in self.store.team(team_id).databases.values()
            ]

    def database(self, request: Request, team_id: str, db_id: str) -> Any:
        """GET .../databases/{db}: settings, and the schema with the current seq."""
        variants = request.variants
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            types: dict[str, dict[str, Any]] = {
                t.id: {
                    "caption": t.name,
                    "nextFieldId": len(t.fields) + 1,
                    "fields": {
                        f.id: {"base": f.type, "caption": f.name, **_type_extras(f.to_api())}
                        for f in t.fields.values()
                    },
                }
                for t in db.tables.values()
            }
            if "layout_fields" in variants:
                for t in db.tables.values():
                    for lf in layout_fields(t):
                        types[t.id]["fields"][lf["id"]] = {
                            "base": lf["type"],
                            "caption": lf["name"],
                        }
            schema: dict[str, Any] = {
                "seq": db.seq,
                "version": db.version,
                "nextTypeId": len(db.tables) + 1,
                "types": types,
                "afterOpenBehavior": "restoreNavigation",
                "fileSync": "full",
            }
            if "schema_seq_lag" in variants:
                schema["seq"] = max(db.seq - VARIANT_SEQ_LAG, 0)
            if "no_schema_seq" in variants:
                del schema["seq"]
            return {
                "settings": {"name": db.name, **_SETTINGS_DEFAULTS, **db.settings},
                "schema": schema,
            }

    def tables(self, request: Request, team_id: str, db_id: str) -> Any:
        """GET .../tables."""
        with self.store.lock:
            tables = self.store.database(team_id, db_id).tables.values()
            return [table_api(t, request.variants) for t in tables]

    def table(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """GET .../tables/{table}."""
        with self.store.lock:
            return table_api(self.store.table(team_id, db_id, table_id), request.variants)

    # ------------------------------------------------------------- records

    def records(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """GET .../records: a page (keyset, order, filters, styles)."""
        body = request.json() if request.body else None
        variants = request.variants
        params, cap = request.query, self.max_page_size
        if variants:
            params = dict(params)
            if "ignore_since_id" in variants:
                params.pop("sinceId", None)
            if "ignore_since_sq" in variants:
                params.pop("sinceSq", None)
            if "page_cap_100" in variants:
                cap = min(cap, VARIANT_PAGE_CAP)
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            table = self.store.table(team_id, db_id, table_id)
            return query.read_page(db, table, params, body, cap, variants)

    def record(self, request: Request, team_id: str, db_id: str, table_id: str, rid: str) -> Any:
        """GET .../records/{id}."""
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            table = self.store.table(team_id, db_id, table_id)
            rec = self.store.record(table, _record_id(rid))
            by_id = query.style_param(request.query, "style")
            choice_ids = query.style_param(request.query, "choiceStyle")
            return query.render(db, table, rec, by_id, choice_ids, request.variants)

    def lookup(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """POST .../record: the first match of the filters, else 404."""
        body = request.json()
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            table = self.store.table(team_id, db_id, table_id)
            return query.lookup(db, table, request.query, body, request.variants)

    def save(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """POST .../records: create, update and `_upsert` (all or nothing).

        Variants `partial_batch` / `partial_batch_drop`: a batch of n > 1
        elements is validated whole, its first n // 2 elements (at least one)
        are applied, then the answer is a 503 / no answer at all.
        """
        items, variants = request.json(), request.variants
        drop = "partial_batch_drop" in variants
        if (drop or "partial_batch" in variants) and isinstance(items, list) and len(items) > 1:
            applied = len(items) // 2
            self.store.save_records(
                team_id, db_id, table_id, items, variants=variants, apply_first=applied
            )
            if drop:
                return Response(drop=True)
            raise ApiError(503, "service unavailable: the request could not be completed")
        return self.store.save_records(team_id, db_id, table_id, items, variants=variants)

    def put(self, request: Request, team_id: str, db_id: str, table_id: str, rid: str) -> Any:
        """PUT .../records/{id} with `{"fields": {...}}` (404 if absent)."""
        body = request.json()
        if not isinstance(body, dict) or set(body) - {"fields"}:
            raise ApiError(400, 'expected a JSON object {"fields": {...}}')
        item = {"id": _record_id(rid), "fields": body.get("fields", {})}
        with self.store.lock:
            self.store.record(self.store.table(team_id, db_id, table_id), item["id"])
            return self.store.save_records(
                team_id, db_id, table_id, [item], variants=request.variants
            )[0]

    def delete_many(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """DELETE .../records with a JSON array of ids; absent ids are ignored."""
        ids = request.json()
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ApiError(400, "expected a JSON array of record ids (integers)")
        self.store.delete_records(team_id, db_id, table_id, ids)
        return {}

    def delete_one(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Any:
        """DELETE .../records/{id}; an absent id is ignored."""
        self.store.delete_records(team_id, db_id, table_id, [_record_id(rid)])
        return {}

    # ---------------------------------------------------------- change feed

    def database_changes(self, request: Request, team_id: str, db_id: str) -> Any:
        """GET .../databases/{db}/changes?sinceSq=N."""
        since = changes.since_sq(request.query)
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            return changes.database_changes(db, since, request.variants)

    def table_changes(self, request: Request, team_id: str, db_id: str, table_id: str) -> Any:
        """GET .../tables/{table}/changes?sinceSq=N."""
        since = changes.since_sq(request.query)
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            table = self.store.table(team_id, db_id, table_id)
            return changes.table_changes(db, table, since, request.variants)

    def record_changes(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Any:
        """GET .../records/{id}/changes?sinceSq=N."""
        since = changes.since_sq(request.query)
        with self.store.lock:
            db = self.store.database(team_id, db_id)
            table = self.store.table(team_id, db_id, table_id)
            return changes.record_changes(db, table, _record_id(rid), since, request.variants)

    # --------------------------------------------------------------- files

    def files(self, request: Request, team_id: str, db_id: str, table_id: str, rid: str) -> Any:
        """GET .../records/{id}/files: metadata of every attachment."""
        return self.store.list_files(team_id, db_id, table_id, _record_id(rid))

    def upload(self, request: Request, team_id: str, db_id: str, table_id: str, rid: str) -> Any:
        """POST .../records/{id}/files: multipart field `file`; answers its metadata."""
        try:
            parts = parse_multipart(request.content_type, request.body)
        except ValueError as exc:
            raise ApiError(
                400, f"expected multipart/form-data with a field 'file': {exc}"
            ) from None
        uploads = [p for p in parts if p.name == "file"]
        if not uploads:
            raise ApiError(400, "expected multipart/form-data with a field 'file'")
        answer = None
        for part in uploads:
            if not part.filename:
                raise ApiError(400, "the 'file' part has no filename")
            answer = self.store.attach_file(
                team_id,
                db_id,
                table_id,
                _record_id(rid),
                part.filename,
                part.data,
                part.content_type,
            )
        return answer

    def file(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """GET .../files/{name}: the bytes."""
        entry = self.store.file(team_id, db_id, table_id, _record_id(rid), name)
        return Response(raw=entry.data, content_type=entry.content_type)

    def file_metadata(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Any:
        """GET .../files/{name}/metadata."""
        return self.store.file(team_id, db_id, table_id, _record_id(rid), name).metadata()

    def thumb(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """GET .../files/{name}/thumb.jpg: a stand-in thumbnail."""
        self.store.file(team_id, db_id, table_id, _record_id(rid), name)
        return Response(raw=THUMBNAIL, content_type="image/jpeg")

    def delete_file(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Any:
        """DELETE .../files/{name} (404 if absent)."""
        self.store.delete_file(team_id, db_id, table_id, _record_id(rid), name)
        return {}

    # ------------------------------------------------------------- scripts

    def script(self, request: Request, team_id: str, db_id: str) -> Any:
        """GET/POST .../query and POST .../exec: the documented script subset."""
        text: Any = request.query.get("query")
        if text is None:
            body = request.json()
            text = body.get("query") if isinstance(body, dict) else None
        with self.store.lock:
            return run_script(self.store.team(team_id), self.store.database(team_id, db_id), text)


def _type_extras(api_field: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in api_field.items() if k not in ("id", "name", "type")}
