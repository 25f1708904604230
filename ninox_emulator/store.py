"""The in-memory Ninox data: teams, databases, tables, records, files, sequences.

Rules it keeps (docs/api.md §4-7):
- every write in a database takes the database's next sequence number: each
  record created, updated (even with no field changed) or deleted, each file
  uploaded or deleted; a record's `sequence` is the number of its last change
  and `schema.seq` the database's current number;
- deletions leave a tombstone (table, id, seq) for the change feed's `removes`;
- record ids are never reused (`nextRid` only grows; `_upsert` may pick any id);
- deleting a record empties the ref fields pointing at it (each such record
  takes a sequence number: it changed), and `rev` fields are computed from a
  reverse index of the ref fields, so neither costs a table scan;
- a batch (`save_records`) is validated completely before anything is applied.

Every public method takes the store's one lock; HTTP threads and tests may
call them at once. Reading helpers that build answers live in `query.py`,
the change feed in `changes.py`.
"""

from __future__ import annotations

import base64
import mimetypes
import threading
import time
from collections.abc import Iterable
from typing import Any

from ninox_emulator.model import (
    ApiError,
    Database,
    FieldDef,
    FileEntry,
    Record,
    Table,
    Team,
)
from ninox_emulator.shapes import STRICT, layout_fields, raw_answer, render
from ninox_emulator.values import FieldValueError

#: The user the API key acts as (what `modifiedBy` shows after an API write).
API_USER = "admin"


def now_ms() -> int:
    """The current time as epoch milliseconds."""
    return int(time.time() * 1000)


# ------------------------------------------------------------------ store


class Store:
    """Every team of the emulator, behind one lock."""

    def __init__(self, *, strict_refs: bool = True) -> None:
        """An empty store; `strict_refs` refuses refs to records that do not exist."""
        self.lock = threading.RLock()
        self.teams: dict[str, Team] = {}
        self.strict_refs = strict_refs
        self.api_user = API_USER

    # ------------------------------------------------------------ building

    def clear(self) -> None:
        """Remove every team."""
        with self.lock:
            self.teams = {}

    def create_team(self, team_id: str, name: str, users: Iterable[str] | None = None) -> Team:
        """Add a team, or return the existing one (its users updated if given)."""
        with self.lock:
            team = self.teams.get(team_id)
            if team is None:
                team = self.teams[team_id] = Team(team_id, name)
            if users is not None:
                team.users = list(users)
            return team

    def create_database(
        self,
        team_id: str,
        database_id: str,
        name: str,
        tables: Iterable[dict[str, Any]] = (),
        *,
        settings: dict[str, Any] | None = None,
    ) -> Database:
        """Add (or replace) an empty database with `tables` in the API's shape.

        A table is `{"id", "name", "fields": [...]}`, a field `{"id", "name",
        "type"}` plus `choices` (choice, multi), `refTypeId` (ref, rev),
        `refFieldId` (rev: the ref field it reverses; default: the first ref
        field of that table pointing here), `fn` (formula, see `formula.py`),
        `required`. The output of `GET .../tables` is accepted as is.
        """
        with self.lock:
            team = self.team(team_id)
            db = Database(database_id, name, dict(settings or {}))
            for spec in tables:
                db.tables[spec["id"]] = Table(spec["id"], spec["name"], spec.get("fields", ()))
            db.rebuild_index()
            team.databases[database_id] = db
            return db

    def create_table(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        name: str,
        fields: Iterable[dict[str, Any]],
    ) -> Table:
        """Add (or replace, emptied) one table of a database."""
        with self.lock:
            db = self.database(team_id, database_id)
            db.tables[table_id] = Table(table_id, name, fields)
            db.version += 1
            db.rebuild_index()
            return db.tables[table_id]

    def empty_copy(
        self,
        team_id: str,
        database_id: str,
        new_id: str,
        new_name: str | None = None,
        *,
        to_team: str | None = None,
    ) -> Database:
        """A new database with the same tables, fields and settings, and no records.

        What a Ninox → Ninox copy writes into: ids of tables and fields match
        the source's, sequences and record ids start afresh. `to_team`
        (default: the same team) must exist; `new_name` defaults to the
        source's name. ValueError when `new_id` already exists there.
        """
        with self.lock:
            source = self.database(team_id, database_id)
            team = self.team(to_team or team_id)
            if new_id in team.databases:
                raise ValueError(f"database {new_id!r} already exists in team {team.id!r}")
            tables = [t.to_api() for t in source.tables.values()]
            name = new_name if new_name is not None else source.name
            return self.create_database(
                team.id, new_id, name, tables, settings=dict(source.settings)
            )

    def rename_table(self, team_id: str, database_id: str, table_id: str, new_name: str) -> None:
        """Rename a table (its id stays), as a user may between two runs.

        ValueError when another table of the database already has that name.
        """
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            if any(t.name == new_name for t in db.tables.values() if t is not table):
                raise ValueError(f"database {database_id!r} already has a table {new_name!r}")
            table.name = new_name
            db.version += 1

    def rename_field(
        self, team_id: str, database_id: str, table_id: str, field_id: str, new_name: str
    ) -> None:
        """Rename a field (its id and values stay), as a user may between two runs.

        Formulas of the table that name it are rewritten, as Ninox does.
        ValueError when the table has no such field or another one has that name.
        """
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            if field_id not in table.fields:
                raise ValueError(f"table {table_id!r} has no field {field_id!r}")
            other = table.by_name.get(new_name)
            if other is not None and other.id != field_id:
                raise ValueError(f"table {table_id!r} already has a field {new_name!r}")
            table.rename_field(field_id, new_name)
            db.version += 1

    def change_field_type(
        self, team_id: str, database_id: str, table_id: str, field_id: str, new_type: str
    ) -> None:
        """Give a field another type (its id and name stay), as a user may between two runs.

        Each value is carried over through its text form; one the new type
        cannot hold is emptied. Plain types only: a field that is, or is to
        become, a choice, multi, ref, rev or formula is a ValueError.
        """
        special = {"choice", "multi", "ref", "rev", "formula", "fn"}
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            old = table.fields.get(field_id)
            if old is None:
                raise ValueError(f"table {table_id!r} has no field {field_id!r}")
            if old.type in special or new_type in special:
                raise ValueError(f"changing {old.type} to {new_type} is not played")
            new = FieldDef({**old.to_api(), "type": new_type})
            for rec in table.records.values():
                if field_id not in rec.values:
                    continue
                text = old.codec.text(rec.values[field_id])
                try:
                    stored = new.codec.write(text)
                except FieldValueError:
                    try:  # a number becomes its digits, as in Ninox
                        stored = new.codec.write(str(text))
                    except FieldValueError:
                        stored = None
                if stored is None:
                    del rec.values[field_id]
                else:
                    rec.values[field_id] = stored
            table.fields[field_id] = new
            table.rename_field(field_id, new.name)  # re-indexes the field's converters
            db.version += 1

    # ------------------------------------------------------------- lookups

    def team(self, team_id: str) -> Team:
        """A team, or a 404."""
        team = self.teams.get(team_id)
        if team is None:
            raise ApiError(404, f"team {team_id!r} not found")
        return team

    def database(self, team_id: str, database_id: str) -> Database:
        """A database, or a 404."""
        db = self.team(team_id).databases.get(database_id)
        if db is None:
            raise ApiError(404, f"database {database_id!r} not found in team {team_id!r}")
        return db

    def table(self, team_id: str, database_id: str, table_id: str) -> Table:
        """A table, or a 404."""
        table = self.database(team_id, database_id).tables.get(table_id)
        if table is None:
            raise ApiError(404, f"table {table_id!r} not found in database {database_id!r}")
        return table

    @staticmethod
    def record(table: Table, record_id: int) -> Record:
        """A record, or a 404."""
        rec = table.records.get(record_id)
        if rec is None:
            raise ApiError(404, f"record {record_id} not found in table {table.id!r}")
        return rec

    def sequence(self, team_id: str, database_id: str) -> int:
        """The database's current sequence number (`schema.seq`)."""
        with self.lock:
            return self.database(team_id, database_id).seq

    # ------------------------------------------------------------- writing

    def _prepare(
        self,
        db: Database,
        table: Table,
        index: int,
        values: dict[str, Any],
        ids_first: bool,
        variants: frozenset[str] = STRICT,
    ) -> list[tuple[FieldDef, Any]]:
        """Validate one element's values; a 400 names record index and field."""
        out: list[tuple[FieldDef, Any]] = []
        for key, value in values.items():
            f = table.field(key, ids_first=ids_first)
            if f is None and "layout_fields" in variants:
                for layout in layout_fields(table):
                    if key in (layout["id"], layout["name"]):
                        raise ApiError(
                            400,
                            f"record {index}, field {layout['name']!r} ({layout['id']}): a "
                            f"{layout['type']} is a layout element that holds no data and "
                            "cannot be written (not even null); leave it out",
                        )
            if f is None:
                raise ApiError(
                    400,
                    f"record {index}: unknown field {key!r} in table {table.name!r} ({table.id})",
                )
            try:
                stored = f.codec.write(value)
            except FieldValueError as exc:
                raise ApiError(400, f"record {index}, field {f.name!r} ({f.id}): {exc}") from None
            if f.type == "ref" and stored is not None and self.strict_refs:
                other = db.tables.get(f.ref_table or "")
                if other is None or stored not in other.records:
                    raise ApiError(
                        400,
                        f"record {index}, field {f.name!r} ({f.id}): record {stored} does not "
                        f"exist in table {f.ref_table!r}",
                    )
            out.append((f, stored))
        return out

    def _apply(
        self,
        db: Database,
        table: Table,
        rid: int | None,
        changes: list[tuple[FieldDef, Any]],
        user: str,
        now: int,
    ) -> Record:
        """Create or update one record; takes the next sequence number."""
        seq = db.next_seq()
        rec = table.records.get(rid) if rid is not None else None
        if rec is None:
            rec = Record(table.next_rid if rid is None else rid, seq, now, user, now, user)
            table.insert(rec)
        values = rec.values
        for f, stored in changes:
            if f.type == "ref":
                old = values.get(f.id)
                if old != stored:
                    index = db.rev_index.setdefault((table.id, f.id), {})
                    if old is not None:
                        index.get(old, set()).discard(rec.id)
                    if stored is not None:
                        index.setdefault(stored, set()).add(rec.id)
            if stored is None:
                values.pop(f.id, None)
            else:
                values[f.id] = stored
        rec.seq = seq
        rec.modified_at = now
        rec.modified_by = user
        table.log_change(seq, rec.id)
        return rec

    def save_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        items: Any,
        user: str | None = None,
        *,
        variants: frozenset[str] = STRICT,
        apply_first: int | None = None,
    ) -> list[dict[str, Any]]:
        """Apply a `POST .../records` batch, all or nothing; answer as Ninox does.

        Elements: `{"fields": {...}}` creates, `{"id": N, "fields": {...}}`
        updates (404 if absent), `{"_upsert": true, "_id": N, <field>: value}`
        updates or creates record N. Answers are in request order: records as
        read (name-keyed) for the first two, the raw form for `_upsert`.

        `variants` (server variants, `variants.py`) change the answers' shape,
        refuse writes to layout fields (`layout_fields`) and let an update of
        a missing id create it (`update_missing_creates`). `apply_first=k`
        validates the whole batch, then applies only its first k elements
        (the `partial_batch` variants; the caller then fails the request).
        """
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            if not isinstance(items, list):
                raise ApiError(400, "expected a JSON array of records")
            plan: list[tuple[str, int | None, list[tuple[FieldDef, Any]]]] = []
            for index, item in enumerate(items):
                plan.append(self._plan_item(db, table, index, item, variants))
            if apply_first is not None:
                plan = plan[:apply_first]
            user = user or self.api_user
            now = now_ms()
            answer: list[dict[str, Any]] = []
            for mode, rid, changes in plan:
                rec = self._apply(db, table, rid, changes, user, now)
                if mode == "upsert":
                    answer.append(raw_answer(table, rec, variants))
                else:
                    answer.append(render(db, table, rec, variants=variants))
            return answer

    def _plan_item(
        self,
        db: Database,
        table: Table,
        index: int,
        item: Any,
        variants: frozenset[str] = STRICT,
    ) -> tuple[str, int | None, list[tuple[FieldDef, Any]]]:
        if not isinstance(item, dict):
            raise ApiError(400, f"record {index}: expected a JSON object")
        if "_upsert" in item:
            if item["_upsert"] is not True:
                raise ApiError(400, f"record {index}: _upsert must be true")
            rid = item.get("_id")
            if isinstance(rid, bool) or not isinstance(rid, int) or rid <= 0:
                raise ApiError(400, f"record {index}: _upsert needs a positive integer _id")
            values = {k: v for k, v in item.items() if k not in ("_upsert", "_id")}
            return (
                "upsert",
                rid,
                self._prepare(db, table, index, values, ids_first=True, variants=variants),
            )
        unknown = sorted(set(item) - {"id", "fields"})
        if unknown:
            raise ApiError(
                400, f"record {index}: unknown keys {unknown} (expected 'id' and 'fields')"
            )
        fields = item.get("fields", {})
        if not isinstance(fields, dict):
            raise ApiError(400, f"record {index}: 'fields' must be a JSON object")
        changes = self._prepare(db, table, index, fields, ids_first=False, variants=variants)
        if "id" not in item:
            return ("create", None, changes)
        rid = item["id"]
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise ApiError(400, f"record {index}: 'id' must be an integer, got {rid!r}")
        if rid not in table.records:
            if "update_missing_creates" in variants and rid > 0:
                return ("create", rid, changes)  # a server that creates record `rid`
            raise ApiError(404, f"record {index}: record {rid} not found in table {table.id!r}")
        return ("update", rid, changes)

    def delete_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        record_ids: Iterable[int],
        user: str | None = None,
    ) -> int:
        """Delete records (ids that do not exist are ignored); returns how many."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            user = user or self.api_user
            now = now_ms()
            count = 0
            for rid in record_ids:
                if rid in table.records:
                    self._delete(db, table, rid, user, now)
                    count += 1
            return count

    def _delete(self, db: Database, table: Table, rid: int, user: str, now: int) -> None:
        rec = table.remove(rid)
        seq = db.next_seq()
        table.del_seq.append(seq)
        table.del_id.append(rid)
        for f in table.ref_fields:
            target = rec.values.get(f.id)
            if target is not None:
                db.rev_index.get((table.id, f.id), {}).get(target, set()).discard(rid)
        # Records pointing here lose that reference: they change.
        for (source_id, fid), index in db.rev_index.items():
            source = db.tables[source_id]
            if source.fields[fid].ref_table != table.id:
                continue
            for sid in sorted(index.pop(rid, ())):
                other = source.records.get(sid)
                if other is not None:
                    other.values.pop(fid, None)
                    self._touch(db, source, other, user, now)

    def _touch(self, db: Database, table: Table, rec: Record, user: str, now: int) -> int:
        rec.seq = db.next_seq()
        rec.modified_at = now
        rec.modified_by = user
        table.log_change(rec.seq, rec.id)
        return rec.seq

    # --------------------------------------------------------------- files

    def attach_file(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        record_id: int,
        name: str,
        data: bytes,
        content_type: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Attach (or replace) a file; the record changes. Returns its metadata."""
        if not name or "/" in name:
            raise ApiError(400, f"invalid file name {name!r}")
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            rec = self.record(table, record_id)
            user = user or self.api_user
            now = now_ms()
            seq = self._touch(db, table, rec, user, now)
            kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            entry = FileEntry(name, kind, bytes(data), now, user, seq)
            rec.files[name] = entry
            return entry.metadata()

    def file(
        self, team_id: str, database_id: str, table_id: str, record_id: int, name: str
    ) -> FileEntry:
        """One attachment, or a 404."""
        with self.lock:
            rec = self.record(self.table(team_id, database_id, table_id), record_id)
            entry = rec.files.get(name)
            if entry is None:
                raise ApiError(404, f"file {name!r} not found on record {record_id}")
            return entry

    def list_files(
        self, team_id: str, database_id: str, table_id: str, record_id: int
    ) -> list[dict[str, Any]]:
        """Metadata of a record's attachments."""
        with self.lock:
            rec = self.record(self.table(team_id, database_id, table_id), record_id)
            return [f.metadata() for f in rec.files.values()]

    def delete_file(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        record_id: int,
        name: str,
        user: str | None = None,
    ) -> None:
        """Remove an attachment (404 if absent); the record changes."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            rec = self.record(table, record_id)
            if name not in rec.files:
                raise ApiError(404, f"file {name!r} not found on record {record_id}")
            del rec.files[name]
            self._touch(db, table, rec, user or self.api_user, now_ms())

    # -------------------------------------------------------------- reading

    def all_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        *,
        style: str = "names",
        choice_style: str = "names",
    ) -> list[dict[str, Any]]:
        """Every record of a table as `GET .../records` shows it, in id order."""
        with self.lock:
            db = self.database(team_id, database_id)
            table = self.table(team_id, database_id, table_id)
            by_id, choice_ids = style == "ids", choice_style == "ids"
            return [render(db, table, table.records[i], by_id, choice_ids) for i in table.ids]

    # ------------------------------------------------------------ snapshots

    def snapshot(self) -> dict[str, Any]:
        """The whole store as JSON-ready data (the `--data` file's content)."""
        with self.lock:
            return {
                "format": "ninox-emulator/1",
                "teams": [
                    {
                        "id": team.id,
                        "name": team.name,
                        "users": list(team.users),
                        "databases": [_db_snapshot(db) for db in team.databases.values()],
                    }
                    for team in self.teams.values()
                ],
            }

    def load(self, data: dict[str, Any]) -> None:
        """Replace everything with a `snapshot()`."""
        with self.lock:
            self.teams = {}
            for t in data.get("teams", []):
                self.create_team(t["id"], t["name"], t.get("users", []))
                for d in t.get("databases", []):
                    db = self.create_database(
                        t["id"], d["id"], d["name"], d["tables"], settings=d.get("settings")
                    )
                    db.seq, db.version = d.get("seq", 0), d.get("version", 1)
                    for td in d["tables"]:
                        _load_table(db.tables[td["id"]], td)
                    db.rebuild_index()

    def backup_database(self, team_id: str, database_id: str) -> dict[str, Any]:
        """One database as JSON-ready data, as a Ninox backup holds it (`restore_database`)."""
        with self.lock:
            return _db_snapshot(self.database(team_id, database_id))

    def restore_database(self, team_id: str, backup: dict[str, Any]) -> Database:
        """Replace a database with a `backup_database` copy, as restoring a Ninox backup does.

        Records, files and the sequence go back to the backup's: changes
        made after it get sequence numbers that were already used once
        (the case a client's bookmark must survive, docs/api.md §5).
        """
        with self.lock:
            d = backup
            db = self.create_database(
                team_id, d["id"], d["name"], d["tables"], settings=d.get("settings")
            )
            db.seq, db.version = d.get("seq", 0), d.get("version", 1) + 1
            for td in d["tables"]:
                _load_table(db.tables[td["id"]], td)
            db.rebuild_index()
            return db

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Store:
        """A new store holding a `snapshot()`."""
        store = cls()
        store.load(data)
        return store


def _db_snapshot(db: Database) -> dict[str, Any]:
    return {
        "id": db.id,
        "name": db.name,
        "settings": db.settings,
        "seq": db.seq,
        "version": db.version,
        "tables": [
            {
                **table.to_api(),
                "nextRid": table.next_rid,
                "deletions": [list(p) for p in zip(table.del_seq, table.del_id, strict=True)],
                "records": [_record_snapshot(table.records[i]) for i in table.ids],
            }
            for table in db.tables.values()
        ],
    }


def _record_snapshot(rec: Record) -> dict[str, Any]:
    return {
        "id": rec.id,
        "seq": rec.seq,
        "createdAt": rec.created_at,
        "createdBy": rec.created_by,
        "modifiedAt": rec.modified_at,
        "modifiedBy": rec.modified_by,
        "values": rec.values,
        "files": [
            {
                "name": f.name,
                "contentType": f.content_type,
                "data": base64.b64encode(f.data).decode("ascii"),
                "modified": f.modified,
                "user": f.user,
                "seq": f.seq,
            }
            for f in rec.files.values()
        ],
    }


def _load_table(table: Table, data: dict[str, Any]) -> None:
    for r in data.get("records", []):
        rec = Record(
            r["id"],
            r["seq"],
            r.get("createdAt"),
            r.get("createdBy"),
            r["modifiedAt"],
            r["modifiedBy"],
        )
        rec.values = dict(r.get("values", {}))
        for f in r.get("files", []):
            rec.files[f["name"]] = FileEntry(
                f["name"],
                f["contentType"],
                base64.b64decode(f["data"]),
                f["modified"],
                f["user"],
                f["seq"],
            )
        table.insert(rec)
    table.next_rid = max(table.next_rid, data.get("nextRid", 1))
    for seq, rid in data.get("deletions", []):
        table.del_seq.append(seq)
        table.del_id.append(rid)
    latest = sorted((r.seq, r.id) for r in table.records.values())
    table.log_seq = [s for s, _ in latest]
    table.log_id = [i for _, i in latest]
