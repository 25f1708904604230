"""The Ninox API v1 routes (CONTRACT.md §2-8) over the store."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote

from ninox_emulator.store import ApiError, Database, FileEntry, Record, Store, Table, now_ms

DEFAULT_PAGE_SIZE = 100


@dataclass
class Request:
    """What a route handler needs from an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        """The body as JSON, or a 400."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None


@dataclass
class Response:
    """A route's answer: JSON data, or raw bytes with a content type."""

    status: int = 200
    data: Any = None
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[..., Response]


class Api:
    """Routes requests under `/v1` to handlers."""

    def __init__(self, store: Store, max_page_size: int) -> None:
        """Serve `store`; pages hold at most `max_page_size` records."""
        self.store = store
        self.max_page_size = max_page_size
        seg = r"([^/]+)"
        db = rf"/teams/{seg}/databases/{seg}"
        table = rf"{db}/tables/{seg}"
        record = rf"{table}/records/{seg}"
        file = rf"{record}/files/{seg}"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/teams"), self.teams),
            ("GET", re.compile(rf"/teams/{seg}"), self.team),
            ("GET", re.compile(rf"/teams/{seg}/databases"), self.databases),
            ("GET", re.compile(db), self.database),
            ("GET", re.compile(rf"{db}/tables"), self.tables),
            ("GET", re.compile(table), self.table),
            ("GET", re.compile(rf"{table}/records"), self.records),
            ("POST", re.compile(rf"{table}/records"), self.save),
            ("DELETE", re.compile(rf"{table}/records"), self.delete_many),
            ("POST", re.compile(rf"{table}/record"), self.lookup),
            ("GET", re.compile(record), self.record),
            ("PUT", re.compile(record), self.put_record),
            ("DELETE", re.compile(record), self.delete_one),
            ("GET", re.compile(rf"{db}/changes"), self.db_changes),
            ("GET", re.compile(rf"{table}/changes"), self.table_changes),
            ("GET", re.compile(rf"{record}/changes"), self.record_changes),
            ("GET", re.compile(rf"{record}/files"), self.files),
            ("POST", re.compile(rf"{record}/files"), self.upload),
            ("GET", re.compile(file), self.file),
            ("DELETE", re.compile(file), self.delete_file),
            ("GET", re.compile(rf"{file}/metadata"), self.file_metadata),
            ("GET", re.compile(rf"{file}/thumb\.jpg"), self.thumb),
            ("GET", re.compile(rf"{db}/query"), self.query),
            ("POST", re.compile(rf"{db}/query"), self.query),
            ("POST", re.compile(rf"{db}/exec"), self.query),
        ]

    def handle(self, request: Request) -> Response:
        """Dispatch one request (path relative to `/v1`)."""
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match:
                if method == request.method:
                    args = [unquote(g) for g in match.groups()]
                    with self.store.lock:
                        return handler(request, *args)
                allowed = True
        if allowed:
            raise ApiError(405, f"Method {request.method} not allowed on {request.path}")
        raise ApiError(404, f"No such endpoint: {request.method} {request.path}")

    # ------------------------------------------------------------- metadata

    def teams(self, request: Request) -> Response:
        """GET /teams."""
        return Response(data=[{"id": t.id, "name": t.name} for t in self.store.teams.values()])

    def team(self, request: Request, team_id: str) -> Response:
        """GET /teams/{team}."""
        team = self.store.team(team_id)
        return Response(data={"id": team.id, "name": team.name})

    def databases(self, request: Request, team_id: str) -> Response:
        """GET /teams/{team}/databases."""
        dbs = self.store.team(team_id).databases.values()
        return Response(data=[{"id": d.id, "name": d.name} for d in dbs])

    def database(self, request: Request, team_id: str, db_id: str) -> Response:
        """GET .../databases/{db}: settings and schema with the current seq."""
        db = self.store.database(team_id, db_id)
        types = {
            t.id: {
                "caption": t.name,
                "fields": {f["id"]: {"caption": f["name"], "base": f["type"]} for f in t.fields},
            }
            for t in db.tables.values()
        }
        return Response(
            data={
                "settings": {"name": db.name, "icon": "i-db-icon-big", "color": "#6691FF"},
                "schema": {
                    "seq": db.seq,
                    "version": db.version,
                    "nextTypeId": len(db.tables) + 1,
                    "types": types,
                    "afterOpenBehavior": "restoreNavigation",
                    "fileSync": "full",
                },
            }
        )

    def tables(self, request: Request, team_id: str, db_id: str) -> Response:
        """GET .../tables."""
        db = self.store.database(team_id, db_id)
        return Response(data=[t.schema() for t in db.tables.values()])

    def table(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """GET .../tables/{table}."""
        return Response(data=self.store.table(team_id, db_id, table_id).schema())

    # -------------------------------------------------------------- records

    def records(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """GET .../records with paging, keyset, order, filters and styles."""
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        q = request.query
        per_page = min(_int(q, "perPage", DEFAULT_PAGE_SIZE), self.max_page_size)
        page = _int(q, "page", 0)
        since_id = _int(q, "sinceId", 0)
        since_sq = _int(q, "sinceSq", -1)
        filters = _filters(q.get("filters"), request)
        if per_page < 1 or page < 0:
            raise ApiError(400, "perPage must be ≥ 1 and page ≥ 0")

        plain = not (filters or q.get("order") or _true(q, "new") or _true(q, "updated"))
        if plain:
            # Keyset fast path: start at sinceId in the sorted ids.
            skip, chosen = page * per_page, []
            start = bisect.bisect_right(table.ids, since_id)
            for rid in table.ids[start:]:
                rec = table.records[rid]
                if rec.seq <= since_sq:
                    continue
                if skip:
                    skip -= 1
                    continue
                chosen.append(rec)
                if len(chosen) >= per_page:
                    break
        else:
            matches = [
                rec
                for rid in table.ids[bisect.bisect_right(table.ids, since_id) :]
                if (rec := table.records[rid]).seq > since_sq and _matches(db, table, rec, filters)
            ]
            matches = _ordered(table, matches, q)
            chosen = matches[page * per_page : (page + 1) * per_page]
        return Response(data=self._render(db, table, chosen, q))

    def _render(
        self, db: Database, table: Table, records: list[Record], q: dict[str, str]
    ) -> list[dict[str, Any]]:
        return self.store.render_records(
            db,
            table,
            records,
            choice_ids=q.get("choiceStyle", q.get("choice")) == "ids",
            field_ids=q.get("style") == "ids",
        )

    def record(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """GET .../records/{id}."""
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        rec = self.store.record(table, _record_id(rid))
        return Response(data=self._render(db, table, [rec], request.query)[0])

    def lookup(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """POST .../record: the first record matching the filters, else 404."""
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        body = request.json() or {}
        filters = _filters(request.query.get("filters"), None) or _unwrap_filters(
            body.get("filters") if isinstance(body, dict) else None
        )
        for rid in table.ids:
            rec = table.records[rid]
            if _matches(db, table, rec, filters):
                return Response(data=self._render(db, table, [rec], request.query)[0])
        raise ApiError(404, f"No record in table {table.id} matches the filters")

    def save(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """POST .../records: create, update, upsert (all or nothing)."""
        return Response(data=self.store.save_records(team_id, db_id, table_id, request.json()))

    def put_record(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """PUT .../records/{id} with {"fields": {...}}."""
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("fields", {}), dict):
            raise ApiError(400, 'Expected {"fields": {...}}')
        record_id = _record_id(rid)
        answer = self.store.save_records(
            team_id, db_id, table_id, [{"id": record_id, "fields": body.get("fields", {})}]
        )
        return Response(data=answer[0])

    def delete_many(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """DELETE .../records with a JSON array of ids."""
        ids = request.json()
        if not isinstance(ids, list):
            raise ApiError(400, "Expected a JSON array of record ids")
        self.store.delete_records(team_id, db_id, table_id, ids)
        return Response(data={})

    def delete_one(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """DELETE .../records/{id}."""
        self.store.delete_records(team_id, db_id, table_id, [_record_id(rid)])
        return Response(data={})

    # ---------------------------------------------------------- change feed

    def db_changes(self, request: Request, team_id: str, db_id: str) -> Response:
        """GET .../databases/{db}/changes?sinceSq=N."""
        db = self.store.database(team_id, db_id)
        since = _since_sq(request)
        updates: dict[str, Any] = {}
        removes: list[str] = []
        for table in db.tables.values():
            u, r = self._changes(table, since)
            updates.update(u)
            removes.extend(r)
        return Response(
            data={
                "config": {},
                "nextRids": {t.id: t.next_rid for t in db.tables.values()},
                "updates": updates,
                "removes": removes,
                "files": [],
                "views": {},
                "reports": {},
                "seq": db.seq,
            }
        )

    def table_changes(self, request: Request, team_id: str, db_id: str, table_id: str) -> Response:
        """GET .../tables/{table}/changes?sinceSq=N."""
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        updates, removes = self._changes(table, _since_sq(request))
        return Response(data=_feed(table, db, updates, removes))

    def record_changes(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """GET .../records/{id}/changes?sinceSq=N."""
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        record_id = _record_id(rid)
        since = _since_sq(request)
        rec = table.records.get(record_id)
        updates = {}
        if rec is not None and rec.seq > since:
            updates[f"{table.id}{rec.id}"] = self.store.raw_record(table, rec)
        removes = [f"{table.id}{record_id}"] if table.tombstones.get(record_id, -1) > since else []
        if rec is None and not removes and record_id not in table.tombstones:
            raise ApiError(404, f"Record {record_id} not found in table {table.id}")
        return Response(data=_feed(table, db, updates, removes))

    def _changes(self, table: Table, since: int) -> tuple[dict[str, Any], list[str]]:
        updates = {
            f"{table.id}{rec.id}": self.store.raw_record(table, rec)
            for rec in (table.records[i] for i in table.ids)
            if rec.seq > since
        }
        removes = [f"{table.id}{rid}" for rid, seq in table.tombstones.items() if seq > since]
        return updates, removes

    # ---------------------------------------------------------------- files

    def _file_record(
        self, team_id: str, db_id: str, table_id: str, rid: str
    ) -> tuple[Database, Record]:
        db = self.store.database(team_id, db_id)
        table = self.store.table(team_id, db_id, table_id)
        return db, self.store.record(table, _record_id(rid))

    def files(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """GET .../records/{id}/files: metadata of every attachment."""
        _, rec = self._file_record(team_id, db_id, table_id, rid)
        return Response(data=[f.metadata() for f in rec.files.values()])

    def _entry(self, rec: Record, name: str) -> FileEntry:
        entry = rec.files.get(name)
        if entry is None:
            raise ApiError(404, f"File {name!r} not found on record {rec.id}")
        return entry

    def file(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """GET .../files/{name}: the bytes."""
        _, rec = self._file_record(team_id, db_id, table_id, rid)
        entry = self._entry(rec, name)
        return Response(raw=entry.data, content_type=entry.content_type)

    def file_metadata(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """GET .../files/{name}/metadata."""
        _, rec = self._file_record(team_id, db_id, table_id, rid)
        return Response(data=self._entry(rec, name).metadata())

    def thumb(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """GET .../files/{name}/thumb.jpg: a (fake) thumbnail."""
        _, rec = self._file_record(team_id, db_id, table_id, rid)
        self._entry(rec, name)
        return Response(raw=THUMBNAIL, content_type="image/jpeg")

    def upload(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str
    ) -> Response:
        """POST .../records/{id}/files: multipart form field `file`."""
        db, rec = self._file_record(team_id, db_id, table_id, rid)
        if not request.content_type.startswith("multipart/form-data"):
            raise ApiError(400, "Expected multipart/form-data with a field 'file'")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + request.content_type.encode() + b"\r\n\r\n" + request.body
        )
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                name = part.get_filename() or "file"
                data = part.get_payload(decode=True) or b""
                seq = self.store.touch(db, rec, "admin")
                rec.files[name] = FileEntry(
                    name, part.get_content_type(), bytes(data), now_ms(), "admin", seq
                )
                return Response(raw=b"File Uploaded Successfully", content_type="text/plain")
        raise ApiError(400, "Expected multipart/form-data with a field 'file'")

    def delete_file(
        self, request: Request, team_id: str, db_id: str, table_id: str, rid: str, name: str
    ) -> Response:
        """DELETE .../files/{name}."""
        db, rec = self._file_record(team_id, db_id, table_id, rid)
        self._entry(rec, name)
        del rec.files[name]
        self.store.touch(db, rec, "admin")
        return Response(data={})

    # -------------------------------------------------------------- scripts

    def query(self, request: Request, team_id: str, db_id: str) -> Response:
        """Run the documented subset of Ninox script; 501 for anything else."""
        db = self.store.database(team_id, db_id)
        text = request.query.get("query")
        if text is None:
            body = request.json()
            text = body.get("query") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise ApiError(400, "Expected a query")
        return Response(data=run_script(self.store, db, text.strip()))


_SELECT = re.compile(r"^\(select\s+'?([^')]+?)'?\)\.'?([^']+?)'?$", re.IGNORECASE)


def run_script(store: Store, db: Database, text: str) -> Any:
    """`(select TABLE).'FIELD'` and `users()`; other scripts are not emulated."""
    if text == "users()":
        return list(store.users)
    match = _SELECT.match(text)
    if match:
        table_name, field_name = match.groups()
        table = next((t for t in db.tables.values() if t.name.lower() == table_name.lower()), None)
        if table is None:
            raise ApiError(400, f"Unknown table {table_name!r}")
        field = next((f for f in table.fields if f["name"].lower() == field_name.lower()), None)
        if field is None:
            raise ApiError(400, f"Unknown field {field_name!r} in table {table.name}")
        rows = store.render_records(db, table, [table.records[i] for i in table.ids])
        return [row["fields"].get(field["name"]) for row in rows]
    raise ApiError(501, "The emulator runs only (select TABLE).'FIELD' and users()")


# Smallest valid JPEG-ish payload: the emulator does not render thumbnails.
THUMBNAIL = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def _feed(
    table: Table, db: Database, updates: dict[str, Any], removes: list[str]
) -> dict[str, Any]:
    return {
        "nextRid": table.next_rid,
        "updates": updates,
        "removes": removes,
        "files": [],
        "views": {},
        "reports": {},
        "seq": db.seq,
    }


def _int(q: dict[str, str], key: str, default: int) -> int:
    value = q.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"Query parameter {key} must be an integer, got {value!r}") from None


def _true(q: dict[str, str], key: str) -> bool:
    return q.get(key, "").lower() == "true"


def _record_id(text: str) -> int:
    if not text.isdigit():
        raise ApiError(400, f"Record id must be an integer, got {text!r}")
    return int(text)


def _since_sq(request: Request) -> int:
    if "sinceSq" not in request.query:
        raise ApiError(400, "Query parameter sinceSq is required")
    return _int(request.query, "sinceSq", 0)


def _unwrap_filters(filters: Any) -> dict[str, Any]:
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise ApiError(400, "filters must be a JSON object")
    inner = filters.get("fields")
    if isinstance(inner, dict) and len(filters) == 1:
        return inner
    return filters


def _filters(text: str | None, request: Request | None) -> dict[str, Any]:
    """Filters from the query string, else from a GET body (the vendor sample)."""
    if text:
        try:
            return _unwrap_filters(json.loads(text))
        except ValueError:
            raise ApiError(400, "filters is not valid JSON") from None
    if request is not None and request.body.strip():
        body = request.json()
        if isinstance(body, dict) and "filters" in body:
            return _unwrap_filters(body["filters"])
    return {}


def _matches(db: Database, table: Table, rec: Record, filters: dict[str, Any]) -> bool:
    if not filters:
        return True
    for key, wanted in filters.items():
        field = table.field(key)
        if field is None:
            raise ApiError(400, f"Unknown field {key!r} in filters")
        stored = rec.values.get(field["id"])
        if field["type"] == "choice":
            if stored is None or wanted not in (stored, field["_captions"].get(stored)):
                return False
        elif stored != wanted and str(stored) != str(wanted):
            return False
    return True


def _ordered(table: Table, records: list[Record], q: dict[str, str]) -> list[Record]:
    if _true(q, "new"):
        return sorted(records, key=lambda r: (r.created_at or 0, r.id), reverse=True)
    if _true(q, "updated"):
        return sorted(records, key=lambda r: r.seq, reverse=True)
    order = q.get("order")
    if order:
        field = table.field(order)
        if field is None:
            raise ApiError(400, f"Unknown field {order!r} in order")
        fid = field["id"]
        present = [r for r in records if r.values.get(fid) is not None]
        missing = [r for r in records if r.values.get(fid) is None]
        present.sort(key=lambda r: (r.values[fid], r.id), reverse=_true(q, "desc"))
        return present + missing
    return sorted(records, key=lambda r: r.id, reverse=_true(q, "desc"))
