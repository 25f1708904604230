"""A replica built from the tap's output equals the table, whatever changes when.

Random creates, updates and deletes happen between runs and between the
pages of a run (through the emulator's request hook). Applying each run's
records to a replica (upsert by `_id`, delete on `_sdc_deleted_at`) must give
the table exactly once a run ends with nothing changing during it. A few
seeds run by default; `--run-slow` sweeps many.
"""

from __future__ import annotations

import random

import pytest

from ninox_core.transport.client import NinoxClient
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, run_tap, tap_config

TABLE = "D"  # Lead: small, no refs pointing at it
STREAM = "lead"


def table_state(client: NinoxClient) -> dict[int, str | None]:
    return {
        r["id"]: r["fields"].get("Nickname")
        for page in client.iter_record_pages(DEMO_TEAM, CRM_DB, TABLE)
        for r in page
    }


def random_changes(client: NinoxClient, rng: random.Random, count: int) -> None:
    for _ in range(count):
        ids = list(table_state(client))
        roll = rng.random()
        if roll < 0.4 or not ids:
            client.save_records(
                DEMO_TEAM, CRM_DB, TABLE, [{"fields": {"Nickname": f"n{rng.randrange(10**6)}"}}]
            )
        elif roll < 0.75:
            client.save_records(
                DEMO_TEAM,
                CRM_DB,
                TABLE,
                [{"id": rng.choice(ids), "fields": {"Nickname": f"u{rng.randrange(10**6)}"}}],
            )
        else:
            client.delete_records(DEMO_TEAM, CRM_DB, TABLE, [rng.choice(ids)])


def apply(replica: dict[int, str | None], rows: list[dict]) -> None:
    for row in rows:
        if row["_sdc_deleted_at"]:
            replica.pop(row["_id"], None)
        else:
            replica[row["_id"]] = row["Nickname"]


def check_seed(emulator, seed: int, runs: int) -> None:
    rng = random.Random(seed)
    client = NinoxClient(TEST_KEY, emulator.base_url)
    random_changes(client, rng, 20)
    config = tap_config(emulator, tables=[TABLE], page_size=3)
    busy = {"now": False, "tap_running": False}

    def meddle(request) -> None:
        # Only while the tap reads; the meddler's own requests come through
        # this hook too: skip them.
        if busy["now"] or not busy["tap_running"] or request.method != "GET":
            return
        if request.path.endswith(f"/tables/{TABLE}/records") and rng.random() < 0.5:
            busy["now"] = True
            try:
                with NinoxClient(TEST_KEY, emulator.base_url) as other:
                    random_changes(other, rng, rng.randint(1, 3))
            finally:
                busy["now"] = False

    emulator.on_request(meddle)
    replica: dict[int, str | None] = {}
    state = None
    for _ in range(runs):
        busy["tap_running"] = True
        try:
            out = run_tap(config, state=state)
        finally:
            busy["tap_running"] = False
        apply(replica, out.records.get(STREAM, []))
        state = out.state
        random_changes(client, rng, rng.randint(0, 5))
    # A last run with nothing changing during it must leave the replica exact.
    emulator.clear_hooks()
    out = run_tap(config, state=state)
    apply(replica, out.records.get(STREAM, []))
    assert replica == table_state(client), f"seed {seed}"
    client.close()


@pytest.mark.parametrize("seed", range(3))
def test_replica_matches_table(emulator, seed):
    check_seed(emulator, seed, runs=3)


@pytest.mark.slow
def test_replica_matches_table_sweep(emulator):
    for seed in range(3, 60):
        emulator.reset(demo=True)
        emulator.set_api_key(TEST_KEY)
        check_seed(emulator, seed, runs=6)
