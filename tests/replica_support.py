"""Random changes to the demo's Deal and Lead tables, and replicas built from tap output."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from ninox_core.model.schema import NinoxField
from ninox_core.transport.client import NinoxClient
from tests.tap_support import CRM_DB, DEMO_TEAM, TapOutput

#: Ninox computes these from other tables without changing the record's
#: sequence, so no incremental reader can follow them: not compared.
COMPUTED = {"rev", "formula", "fn"}
#: Streams of the CRM tables, by table id.
CRM_STREAMS = {"A": "contact", "B": "company", "C": "deal", "D": "lead"}

Replica = dict[str, dict[int, dict[str, Any]]]


def random_value(field: NinoxField, rng: random.Random) -> Any:
    """A random value of the field's type in Ninox's text form; None for other types."""
    kind = field.type
    if kind in ("string", "text", "email", "url", "phone"):
        return f"v{rng.randrange(10**6)}"
    if kind == "number":
        return rng.randrange(-1000, 1000)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "date":
        return (date(2000, 1, 1) + timedelta(days=rng.randrange(10000))).isoformat()
    if kind in ("datetime", "timestamp"):
        moment = datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(10**9))
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    if kind == "choice":
        return rng.choice(field.choices).caption
    if kind == "multi":
        return [c.caption for c in field.choices if rng.random() < 0.5]
    return None


def random_changes(api: NinoxClient, rng: random.Random, count: int) -> None:
    """Creates, updates (a few typed fields) and deletes in the Deal and Lead tables."""
    for _ in range(count):
        table = api.get_table(DEMO_TEAM, CRM_DB, rng.choice(["C", "D"]))
        writable = [f for f in table.fields if random_value(f, rng) is not None]
        ids = [r["id"] for p in api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id) for r in p]
        fields = {f.id: random_value(f, rng) for f in rng.sample(writable, 3)}
        roll = rng.random()
        if roll < 0.4 or not ids:
            api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": fields}])
        elif roll < 0.8:
            api.save_records(
                DEMO_TEAM, CRM_DB, table.id, [{"id": rng.choice(ids), "fields": fields}]
            )
        else:
            api.delete_records(DEMO_TEAM, CRM_DB, table.id, [rng.choice(ids)])


def apply_rows(replica: Replica, stream: str, rows: list[dict[str, Any]]) -> None:
    """Upsert rows by `_id`; rows with `_sdc_deleted_at` delete."""
    table = replica.setdefault(stream, {})
    for row in rows:
        if row["_sdc_deleted_at"]:
            table.pop(row["_id"], None)
        else:
            table[row["_id"]] = row


def apply(replica: Replica, out: TapOutput) -> None:
    """Apply every stream of one tap run."""
    for stream, rows in out.records.items():
        apply_rows(replica, stream, rows)


def computed_columns(api: NinoxClient) -> set[str]:
    """Names of the CRM fields Ninox computes."""
    return {
        f.name for t in api.list_tables(DEMO_TEAM, CRM_DB) for f in t.fields if f.type in COMPUTED
    }


def keep_recreated_ids_in_feed(monkeypatch) -> None:
    """Make the emulator's change feed list every id deleted after `since`, live again or not.

    Real servers may; the emulator leaves re-created ids out. Server side:
    the tap still reads the feed over HTTP (also from a subprocess).
    """
    from ninox_emulator import changes

    original = changes.table_delta

    def table_delta(table, since, *args, **kwargs):
        updates, _ = original(table, since, *args, **kwargs)
        removes = [
            f"{table.id}{rid}"
            for seq, rid in zip(table.del_seq, table.del_id, strict=True)
            if seq > since
        ]
        return updates, list(dict.fromkeys(removes))

    monkeypatch.setattr(changes, "table_delta", table_delta)


def recreate_deleted(emulator, api: NinoxClient, rng: random.Random, table_id: str) -> None:
    """Create again, under its id (`_upsert`), a record deleted earlier, if there is one."""
    table = emulator.store.table(DEMO_TEAM, CRM_DB, table_id)
    gone = [rid for rid in table.del_id if rid not in table.records]
    if gone:
        api.save_records(DEMO_TEAM, CRM_DB, table_id, [{"_upsert": True, "_id": rng.choice(gone)}])
