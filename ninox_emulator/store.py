"""The in-memory Ninox data: teams, databases, tables, records, files, sequences.

Every record write and every deletion takes the database's next sequence
number (CONTRACT.md §4); deletions leave a tombstone for the change feed.
All public methods take the store's lock, so HTTP threads and tests can use
the store at once.
"""

from __future__ import annotations

import bisect
import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ninox_emulator.values import (
    KNOWN_TYPES,
    InvalidValue,
    datetime_text,
    parse_write,
    render,
    render_raw,
)

SYSTEM_USER = "admin"


class ApiError(Exception):
    """An error the HTTP layer answers with `status` and `{"message": ...}`."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the status for the HTTP answer."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class FileEntry:
    """One attachment of a record."""

    name: str
    content_type: str
    data: bytes
    modified: int
    user: str
    seq: int

    def metadata(self) -> dict[str, Any]:
        """The entry as `GET .../files` lists it."""
        return {
            "name": self.name,
            "contentType": self.content_type,
            "size": len(self.data),
            "modifiedDate": self.modified,
            "modifiedUser": self.user,
            "seq": self.seq,
        }


@dataclass
class Record:
    """One record: stored values keyed by field id."""

    id: int
    seq: int
    created_at: int | None
    created_by: str | int
    modified_at: int
    modified_by: str
    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, FileEntry] = field(default_factory=dict)


@dataclass
class Table:
    """A table: its schema (field dicts as the API shows them) and records."""

    id: str
    name: str
    fields: list[dict[str, Any]]
    records: dict[int, Record] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # sorted, for keyset paging
    next_rid: int = 1
    tombstones: dict[int, int] = field(default_factory=dict)  # record id → seq

    def __post_init__(self) -> None:
        """Index fields by id and name; precompute choice captions."""
        for f in self.fields:
            f["_captions"] = {str(c["id"]): c["caption"] for c in f.get("choices", ())}
        self.by_id = {f["id"]: f for f in self.fields}
        self.by_name = {f["name"]: f for f in self.fields}

    def field(self, key: str) -> dict[str, Any] | None:
        """A field by name, else by id."""
        return self.by_name.get(key) or self.by_id.get(key)

    def schema(self) -> dict[str, Any]:
        """The table as `GET .../tables` shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "fields": [{k: v for k, v in f.items() if not k.startswith("_")} for f in self.fields],
        }


@dataclass
class Database:
    """A database: its tables and its change sequence."""

    id: str
    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    seq: int = 0
    version: int = 1


@dataclass
class Team:
    """A team (workspace) and its databases."""

    id: str
    name: str
    databases: dict[str, Database] = field(default_factory=dict)


def now_ms() -> int:
    """The current time in epoch milliseconds, whole seconds (Ninox keeps no ms)."""
    return int(time.time()) * 1000


class Store:
    """All teams of the emulator, behind one lock."""

    def __init__(self) -> None:
        """An empty store."""
        self.lock = threading.RLock()
        self.teams: dict[str, Team] = {}
        self.users: list[str] = [SYSTEM_USER]

    # ------------------------------------------------------------ building

    def create_team(self, team_id: str, name: str) -> Team:
        """Add a team (or return the existing one)."""
        with self.lock:
            return self.teams.setdefault(team_id, Team(team_id, name))

    def create_database(
        self, team_id: str, database_id: str, name: str, tables: list[dict[str, Any]]
    ) -> Database:
        """Add a database with tables `[{"id", "name", "fields": [...]}]`.

        A field is `{"id", "name", "type"}` plus `choices` (choice, multi),
        `refTypeId` (ref; rev also needs `refFieldId`, the ref field of the
        other table it reverses), `fn`/`args` (formula: "concat" of fields).
        """
        with self.lock:
            team = self.teams[team_id]
            db = Database(database_id, name)
            for spec in tables:
                fields = [copy.deepcopy(f) for f in spec.get("fields", ())]
                db.tables[spec["id"]] = Table(spec["id"], spec["name"], fields)
            team.databases[database_id] = db
            return db

    # ------------------------------------------------------------- lookups

    def team(self, team_id: str) -> Team:
        """A team, or a 404."""
        team = self.teams.get(team_id)
        if team is None:
            raise ApiError(404, f"Team {team_id} not found")
        return team

    def database(self, team_id: str, database_id: str) -> Database:
        """A database, or a 404."""
        db = self.team(team_id).databases.get(database_id)
        if db is None:
            raise ApiError(404, f"Database {database_id} not found in team {team_id}")
        return db

    def table(self, team_id: str, database_id: str, table_id: str) -> Table:
        """A table, or a 404."""
        db = self.database(team_id, database_id)
        table = db.tables.get(table_id)
        if table is None:
            raise ApiError(404, f"Table {table_id} not found in database {database_id}")
        return table

    @staticmethod
    def record(table: Table, record_id: int) -> Record:
        """A record, or a 404."""
        rec = table.records.get(record_id)
        if rec is None:
            raise ApiError(404, f"Record {record_id} not found in table {table.id}")
        return rec

    # ------------------------------------------------------------- reading

    def render_records(
        self,
        db: Database,
        table: Table,
        records: list[Record],
        *,
        choice_ids: bool = False,
        field_ids: bool = False,
    ) -> list[dict[str, Any]]:
        """Records as GET .../records answers them."""
        computed = self._computed(db, table, records)
        plan = [
            (f["id"], f["id"] if field_ids else f["name"], f)
            for f in table.fields
            if f["type"] not in ("rev", "formula", "fn")
        ]
        simple = {"choice", "multi", "datetime", "timestamp"}
        out = []
        for rec in records:
            values = rec.values
            fields: dict[str, Any] = {}
            for fid, key, f in plan:
                value = values.get(fid)
                if value is None:
                    continue
                fields[key] = render(f, value, choice_ids) if f["type"] in simple else value
            for fid, results in computed.items():
                value = results.get(rec.id)
                if value not in (None, [], ""):
                    key = fid if field_ids else table.by_id[fid]["name"]
                    fields[key] = value
            out.append(
                {
                    "id": rec.id,
                    "sequence": rec.seq,
                    "createdAt": datetime_text(rec.created_at) if rec.created_at else "",
                    "createdBy": rec.created_by,
                    "modifiedAt": datetime_text(rec.modified_at),
                    "modifiedBy": rec.modified_by,
                    "fields": fields,
                }
            )
        return out

    def _computed(
        self, db: Database, table: Table, records: list[Record]
    ) -> dict[str, dict[int, Any]]:
        """Values of rev and formula fields for `records`, by field id."""
        out: dict[str, dict[int, Any]] = {}
        for f in table.fields:
            if f["type"] == "rev":
                other = db.tables.get(f.get("refTypeId", ""))
                ref_field = f.get("refFieldId")
                reverse: dict[int, list[int]] = {}
                if other is not None and ref_field:
                    for rid in other.ids:
                        target = other.records[rid].values.get(ref_field)
                        if target is not None:
                            reverse.setdefault(target, []).append(rid)
                out[f["id"]] = {rec.id: reverse.get(rec.id, []) for rec in records}
            elif f["type"] in ("formula", "fn"):
                args = f.get("args", [])
                out[f["id"]] = {
                    rec.id: " ".join(
                        str(rec.values[a]) for a in args if rec.values.get(a) not in (None, "")
                    )
                    for rec in records
                }
        return out

    def raw_record(self, table: Table, rec: Record, *, node_id: bool = True) -> dict[str, Any]:
        """A record in raw form: change feed (`_id` "A12") or `_upsert` answer (`_id` 12)."""
        raw: dict[str, Any] = {
            "_id": f"{table.id}{rec.id}" if node_id else rec.id,
            "_cu": rec.created_by,
            "_cd": rec.created_at or 0,
            "_mu": rec.modified_by,
            "_md": rec.modified_at,
        }
        for fid, value in rec.values.items():
            raw[fid] = render_raw(table.by_id[fid], value)
        return raw

    # ------------------------------------------------------------- writing

    def _validated_values(
        self, table: Table, index: int, values: dict[str, Any], *, ids_only: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in values.items():
            f = table.by_id.get(key) if ids_only else table.field(key)
            if f is None:
                raise ApiError(
                    400,
                    f"Record {index}: unknown field {key!r} in table {table.name} ({table.id})",
                )
            try:
                out[f["id"]] = parse_write(f, value)
            except InvalidValue as exc:
                raise ApiError(
                    400, f"Record {index}: field {f['name']!r} ({f['id']}): {exc}"
                ) from None
        return out

    def save_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        items: Any,
        user: str = SYSTEM_USER,
    ) -> list[dict[str, Any]]:
        """Apply a `POST .../records` batch, all or nothing; answer as Ninox does."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            if not isinstance(items, list):
                raise ApiError(400, "Expected a JSON array of records")
            plan: list[tuple[str, int | None, dict[str, Any]]] = []
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ApiError(400, f"Record {index}: expected an object")
                if item.get("_upsert"):
                    rid = item.get("_id")
                    if isinstance(rid, bool) or not isinstance(rid, int) or rid <= 0:
                        raise ApiError(400, f"Record {index}: _upsert needs an integer _id")
                    values = {k: v for k, v in item.items() if k not in ("_upsert", "_id")}
                    plan.append(
                        ("upsert", rid, self._validated_values(table, index, values, ids_only=True))
                    )
                    continue
                unknown = set(item) - {"id", "fields"}
                if unknown:
                    raise ApiError(400, f"Record {index}: unknown keys {sorted(unknown)}")
                fields = item.get("fields", {})
                if not isinstance(fields, dict):
                    raise ApiError(400, f"Record {index}: fields must be an object")
                values = self._validated_values(table, index, fields, ids_only=False)
                if "id" in item:
                    rid = item["id"]
                    if isinstance(rid, bool) or not isinstance(rid, int):
                        raise ApiError(400, f"Record {index}: id must be an integer")
                    if rid not in table.records:
                        raise ApiError(
                            404, f"Record {index}: record {rid} not found in table {table.id}"
                        )
                    plan.append(("update", rid, values))
                else:
                    plan.append(("create", None, values))

            answer: list[dict[str, Any]] = []
            for mode, rid, values in plan:
                rec = self._write(db, table, rid, values, user)
                if mode == "upsert":
                    answer.append(self.raw_record(table, rec, node_id=False))
                else:
                    answer.append(self.render_records(db, table, [rec])[0])
            return answer

    def _write(
        self, db: Database, table: Table, rid: int | None, values: dict[str, Any], user: str
    ) -> Record:
        db.seq += 1
        now = now_ms()
        rec = table.records.get(rid) if rid is not None else None
        if rec is None:
            if rid is None:
                rid = table.next_rid
            table.next_rid = max(table.next_rid, rid + 1)
            rec = Record(rid, db.seq, now, user, now, user)
            table.records[rid] = rec
            bisect.insort(table.ids, rid)
            table.tombstones.pop(rid, None)
        for fid, value in values.items():
            if value is None:
                rec.values.pop(fid, None)
            else:
                rec.values[fid] = value
        rec.seq = db.seq
        rec.modified_at = now
        rec.modified_by = user
        return rec

    def delete_records(
        self, team_id: str, database_id: str, table_id: str, record_ids: list[Any]
    ) -> None:
        """Delete records; ids that do not exist are ignored."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            for given in record_ids:
                rid = int(given) if isinstance(given, str) and given.isdigit() else given
                if not isinstance(rid, int) or rid not in table.records:
                    continue
                db.seq += 1
                del table.records[rid]
                table.ids.pop(bisect.bisect_left(table.ids, rid))
                table.tombstones[rid] = db.seq

    def touch(self, db: Database, rec: Record, user: str) -> int:
        """Mark a record changed (a file write); returns the new sequence."""
        db.seq += 1
        rec.seq = db.seq
        rec.modified_at = now_ms()
        rec.modified_by = user
        return db.seq

    # --------------------------------------------------------------- bulk

    def all_records(self, team_id: str, database_id: str, table_id: str) -> list[dict[str, Any]]:
        """Every record of a table, name-keyed, in id order (for tests)."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            return self.render_records(db, table, [table.records[i] for i in table.ids])

    def snapshot(self) -> dict[str, Any]:
        """The whole store as JSON-ready data (for `--data`)."""
        with self.lock:
            return {
                "users": self.users,
                "teams": [
                    {
                        "id": team.id,
                        "name": team.name,
                        "databases": [_db_snapshot(db) for db in team.databases.values()],
                    }
                    for team in self.teams.values()
                ],
            }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Store:
        """A store rebuilt from `snapshot()`."""
        store = cls()
        store.users = list(data.get("users", [SYSTEM_USER]))
        for team_data in data.get("teams", []):
            store.create_team(team_data["id"], team_data["name"])
            for db_data in team_data.get("databases", []):
                db = store.create_database(
                    team_data["id"], db_data["id"], db_data["name"], db_data["tables"]
                )
                db.seq = db_data.get("seq", 0)
                for t_data in db_data["tables"]:
                    table = db.tables[t_data["id"]]
                    table.next_rid = t_data.get("nextRid", 1)
                    table.tombstones = {int(k): v for k, v in t_data.get("tombstones", {}).items()}
                    for r in t_data.get("records", []):
                        rec = Record(
                            r["id"],
                            r["seq"],
                            r.get("createdAt"),
                            r.get("createdBy", 0),
                            r["modifiedAt"],
                            r["modifiedBy"],
                            dict(r.get("values", {})),
                        )
                        for fdata in r.get("files", []):
                            rec.files[fdata["name"]] = FileEntry(
                                fdata["name"],
                                fdata["contentType"],
                                bytes.fromhex(fdata["data"]),
                                fdata["modified"],
                                fdata["user"],
                                fdata["seq"],
                            )
                        table.records[rec.id] = rec
                    table.ids = sorted(table.records)
        return store


def _db_snapshot(db: Database) -> dict[str, Any]:
    return {
        "id": db.id,
        "name": db.name,
        "seq": db.seq,
        "tables": [
            {
                **table.schema(),
                "nextRid": table.next_rid,
                "tombstones": table.tombstones,
                "records": [
                    {
                        "id": r.id,
                        "seq": r.seq,
                        "createdAt": r.created_at,
                        "createdBy": r.created_by,
                        "modifiedAt": r.modified_at,
                        "modifiedBy": r.modified_by,
                        "values": r.values,
                        "files": [
                            {
                                "name": f.name,
                                "contentType": f.content_type,
                                "data": f.data.hex(),
                                "modified": f.modified,
                                "user": f.user,
                                "seq": f.seq,
                            }
                            for f in r.files.values()
                        ],
                    }
                    for r in (table.records[i] for i in table.ids)
                ],
            }
            for table in db.tables.values()
        ],
    }


__all__ = ["KNOWN_TYPES", "ApiError", "Database", "Record", "Store", "Table", "Team"]
