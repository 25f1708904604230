"""A resumed incremental run never reports a live record deleted.

Real servers may keep listing an id in the change feed's `removes` after it
was created again under the same id; the emulator leaves such ids out, so
these tests make its feed list every deleted id (the server side changes,
the tap still talks HTTP to it).
"""

from __future__ import annotations

import pytest

from tap_ninox import streams
from tests.replica_support import keep_recreated_ids_in_feed
from tests.tap_support import CRM_DB, DEMO_TEAM, run_tap, tap_config

TABLE = "D"  # Lead
STREAM = "lead"


@pytest.fixture
def feed_keeps_recreated_ids(monkeypatch):
    keep_recreated_ids_in_feed(monkeypatch)


def live(api) -> dict[int, dict]:
    return {r["id"]: r for page in api.iter_record_pages(DEMO_TEAM, CRM_DB, TABLE) for r in page}


def apply(replica: dict[int, dict], rows: list[dict]) -> None:
    for row in rows:
        if row["_sdc_deleted_at"]:
            replica.pop(row["_id"], None)
        else:
            replica[row["_id"]] = row


@pytest.mark.parametrize("per_id_checks", [50, 0], ids=["per-id", "re-read"])
def test_resume_does_not_delete_a_recreated_record(
    emulator, api, feed_keeps_recreated_ids, monkeypatch, per_id_checks
):
    monkeypatch.setattr(streams, "_PER_ID_CHECKS", per_id_checks, raising=False)
    config = tap_config(emulator, tables=[TABLE], page_size=1)
    first = run_tap(config)
    replica: dict[int, dict] = {}
    apply(replica, first.records[STREAM])
    ids = sorted(live(api))
    recreated, deleted = ids[0], ids[-1]
    api.delete_records(DEMO_TEAM, CRM_DB, TABLE, [recreated, deleted])
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"_upsert": True, "_id": recreated}])
    api.save_records(DEMO_TEAM, CRM_DB, TABLE, [{"fields": {}}, {"fields": {}}])

    # The run dies after its pages were emitted, before the change feed is read:
    # its last STATE says where the read stopped.
    emulator.faults.add(kind="status", status=400, times=None, path=r"/changes$", after=1)
    interrupted = run_tap(config, state=first.state, allow_failure=True)
    assert interrupted.error is not None
    emulator.faults.clear()
    emitted = [r["_id"] for r in interrupted.records[STREAM]]
    assert recreated in emitted
    assert interrupted.state["bookmarks"][STREAM]["ninox_resume"]["after_id"] == max(emitted)
    apply(replica, interrupted.records[STREAM])

    resumed = run_tap(config, state=interrupted.state)
    rows = resumed.records.get(STREAM, [])
    deletions = {r["_id"] for r in rows if r["_sdc_deleted_at"]}
    assert recreated not in deletions
    assert deleted in deletions
    apply(replica, rows)
    assert set(replica) == set(live(api))
