"""The Public API demo workspace, made from the classic demo (`ninox_emulator/demo.py`).

One workspace `5rdco4s18swu` "Demo Workspace" whose modules are the classic
demo team's two databases: `crm` (CRM) and `projects` (Projects). Tables
and fields are renamed to machine names (`Contact` → `contacts`,
`First name` → `first_name`), types to their Ninox 4 names (datetime →
timestamp, ref → reference, rev → reverse, formula → function, image →
file, email/phone/url/link/text/location/signature → string with a
`variant`), and values to their Public API read forms (`values.py`). Record ids are
the classic ones, so `crm.contacts` has ids 1-30 and its next new record
is 33 (31 and 32 were created and deleted).

- `crm.leads` has **no history** (`hasHistory: false`); every other table
  has history.
- Unique fields: `crm.contacts.email`, `crm.leads.email`,
  `projects.contacts.email` (server upserts match on them).
- The change logs start with the classic demo's later history, stamped
  when the demo is built: `crm.contacts` create 31, create 32, delete 31,
  delete 32, update 3, update 7; `crm.deals` update 2.
"""

from __future__ import annotations

import re
from typing import Any

from ninox_emulator.demo import build_demo
from ninox_emulator.model import Database, FieldDef
from ninox_emulator.model import Table as ClassicTable
from ninox_emulator.public.model import Field, Table
from ninox_emulator.public.store import PublicStore
from ninox_emulator.public.values import convert
from ninox_emulator.store import Store
from ninox_emulator.values import format_datetime

DEMO_WORKSPACE_ID = "5rdco4s18swu"
#: (classic database id, module name, label, {classic table name: machine name}).
MODULES = [
    (
        "gt5k36w957yt",
        "crm",
        "CRM",
        {"Contact": "contacts", "Company": "companies", "Deal": "deals", "Lead": "leads"},
    ),
    (
        "pt53j1tburs8",
        "projects",
        "Projects",
        {"Project": "projects", "Contact": "contacts", "Task": "tasks"},
    ),
]
CLASSIC_TEAM = "mnPLY6DMsvq9wz4id"
#: Tables without history.
NO_HISTORY = {("crm", "leads")}
#: Fields marked unique.
UNIQUE = {
    ("crm", "contacts", "email"),
    ("crm", "leads", "email"),
    ("projects", "contacts", "email"),
}
#: Classic type → (v4 type, string variant).
TYPES: dict[str, tuple[str, str | None]] = {
    "string": ("string", "text"),
    "text": ("string", "multiline-text"),
    "email": ("string", "email"),
    "phone": ("string", "phone"),
    "url": ("string", "url"),
    "link": ("string", "url"),
    "location": ("string", "location"),
    "signature": ("string", "signature"),
    "datetime": ("timestamp", None),
    "ref": ("reference", None),
    "rev": ("reverse", None),
    "formula": ("function", None),
    "fn": ("function", None),
    "image": ("file", None),
}


def machine_name(name: str) -> str:
    """`'First name'` → `'first_name'`."""
    return re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")


def _expression(fn: str) -> str:
    """A classic formula `'First name' + " "` → `first_name + " "`."""
    return re.sub(r"'([^']*)'", lambda m: machine_name(m.group(1)), fn)


def _field(spec: FieldDef, tables: dict[str, str], classic: Database) -> Field:
    kind, variant = TYPES.get(spec.type, (spec.type, None))
    options = None
    if spec.type in ("choice", "multi"):
        options = [
            {"id": c["id"], "name": c["caption"], "order": i} for i, c in enumerate(spec.choices)
        ]
    ref_table = None
    if spec.ref_table is not None:
        ref_table = tables[classic.tables[spec.ref_table].name]
    return Field(
        name=machine_name(spec.name),
        type=kind,
        label=spec.name,
        variant=variant,
        required=spec.required,
        options=options,
        ref_table=ref_table,
        expression=_expression(spec.fn) if spec.fn else None,
    )


def _value(spec: FieldDef, stored: Any) -> Any:
    """A classic stored value → the v4 read form."""
    kind = spec.type
    if kind in ("datetime", "timestamp"):
        return format_datetime(stored) + ".000Z"
    if kind == "choice":
        return spec.codec.names(stored) if spec.codec.names else stored
    if kind == "multi":
        return spec.codec.names(stored) if spec.codec.names else stored
    if kind == "ref":
        return str(stored)
    if kind == "time":
        hours, minutes, seconds = stored.split(":")
        return f"{hours}:{minutes}" if seconds == "00" else stored
    if kind == "timeinterval":
        return convert(Field("x", "timeinterval"), stored)
    if kind == "appointment":
        start, _, end = stored.partition(" - ")
        return f"[{start.strip()}Z,{end.strip()}Z)"
    return stored


def _table(module: str, classic_table: ClassicTable, tables: dict[str, str], db: Database) -> Table:
    name = tables[classic_table.name]
    fields = [_field(f, tables, db) for f in classic_table.fields.values()]
    for f in fields:
        f.unique = (module, name, f.name) in UNIQUE
    table = Table(name, name.capitalize(), fields, has_history=(module, name) not in NO_HISTORY)
    by_id = {f.id: machine_name(f.name) for f in classic_table.fields.values()}
    for rid in classic_table.ids:
        rec = classic_table.records[rid]
        table.records[rid] = {
            by_id[fid]: _value(classic_table.fields[fid], value)
            for fid, value in rec.values.items()
            if classic_table.fields[fid].type not in ("rev", "formula", "fn")
        }
    table.next_id = classic_table.next_rid
    return table


def build_public_demo(store: PublicStore) -> PublicStore:
    """Fill `store` (emptied first) with the demo workspace; returns it."""
    classic = build_demo(Store())
    with store.lock:
        store.workspace.modules.clear()
        store.workspace.schema_changes.clear()
        store.workspace.name = "Demo Workspace"
        for db_id, module, label, tables in MODULES:
            db = classic.database(CLASSIC_TEAM, db_id)
            store.add_module(module, label)
            for classic_table in db.tables.values():
                store.add_table(module, _table(module, classic_table, tables, db))
        _later_history(store)
    return store


def _later_history(store: PublicStore) -> None:
    """The classic demo's later changes, as change-log entries stamped now."""
    contacts = store.table("crm", "contacts")
    deals = store.table("crm", "deals")
    for rid, change in ((31, "create"), (32, "create"), (31, "delete"), (32, "delete")):
        store._log(contacts, rid, change)
    contacts.freed_ids.extend([31, 32])
    for rid in (3, 7):
        store._log(contacts, rid, "update")
    store._log(deals, 2, "update")
