"""tap-ninox → target-ninox: a copy of the demo CRM into an empty database."""

from __future__ import annotations

from tests.tap_support import CRM_DB, DEMO_TEAM, tap_config
from tests.target_support import (
    api,
    make_database,
    rows,
    run_target,
    tap_messages,
    target_config,
)

COPY_DB = "copy0crm0db"


def test_tap_to_target_copy_keeps_tables_and_ids(emulator):
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    make_database(emulator, COPY_DB, "CRM copy", tables)

    messages = tap_messages(tap_config(emulator, database_ids=[CRM_DB]))
    assert sum(m["type"] == "RECORD" for m in messages) > 0
    run = run_target(target_config(emulator, database_id=COPY_DB), messages)
    assert run.exit_code == 0

    for table in tables:
        source = rows(emulator, table["id"], CRM_DB)
        assert rows(emulator, table["id"], COPY_DB) == source, table["name"]
    # A second copy changes nothing (every record is an `_upsert` by id).
    run = run_target(target_config(emulator, database_id=COPY_DB), messages)
    assert run.exit_code == 0
    for table in tables:
        assert rows(emulator, table["id"], COPY_DB) == rows(emulator, table["id"], CRM_DB)
