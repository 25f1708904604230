"""The server the live check probes: a real Ninox, or the emulator.

With `NINOX_LIVE_API_KEY`, `NINOX_LIVE_TEAM_ID`, `NINOX_LIVE_DATABASE_ID` and
`NINOX_LIVE_TABLE` (a scratch table's name or id; optional
`NINOX_LIVE_BASE_URL`) set, the checks also run against that server. They
always run against the emulator — strict, and playing a few server variants
each of which the probe must report exactly — so they are never dead code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from ninox_core.errors import NinoxNotFoundError
from ninox_core.transport.client import DEFAULT_BASE_URL, NinoxClient
from ninox_emulator import NinoxEmulator
from tests.live.probe import Scratch
from tests.live.servers import server_params

LIVE_VARS = (
    "NINOX_LIVE_API_KEY",
    "NINOX_LIVE_TEAM_ID",
    "NINOX_LIVE_DATABASE_ID",
    "NINOX_LIVE_TABLE",
)

#: Emulator variants the probe must recognise (one server per variant).
PROBED_VARIANTS = (
    "names_for_ids",
    "ignore_since_id",
    "ignore_since_sq",
    "no_schema_seq",
    "schema_seq_lag",
    "no_sequence",
    "no_created_at",
    "datetime_ms_z",
    "errors_html",
    "errors_text",
    "errors_echo_headers",
    "update_missing_creates",
    "layout_fields",
)

EMU_KEY = "live-check-key"
EMU_TEAM, EMU_DB, EMU_TABLE = "liveteam", "livedb", "A"
SCRATCH_TABLE = {
    "id": EMU_TABLE,
    "name": "Scratch",
    "fields": [
        {"id": "A", "name": "Note", "type": "string"},
        {"id": "B", "name": "Count", "type": "number"},
        {"id": "C", "name": "Day", "type": "date"},
    ],
}


def _servers() -> list[Any]:
    return server_params(PROBED_VARIANTS, LIVE_VARS, "live Ninox check")


@pytest.fixture(scope="module", params=_servers())
def scratch(request: pytest.FixtureRequest) -> Iterator[Scratch]:
    """A scratch table on the server of this parameter; what the probe wrote is deleted after."""
    if request.param == "live":
        yield from _live()
        return
    variants = request.param.split("+")[1:]
    emu = NinoxEmulator(api_key=EMU_KEY, port=0).start()
    try:
        emu.store.create_team(EMU_TEAM, "Live check")
        emu.store.create_database(EMU_TEAM, EMU_DB, "Live check", [SCRATCH_TABLE])
        for variant in variants:
            emu.variants.enable(variant)
        with NinoxClient(EMU_KEY, emu.base_url, max_retries=0) as client:
            probe = Scratch(
                client, EMU_KEY, EMU_TEAM, EMU_DB, EMU_TABLE, request.param, frozenset(variants)
            )
            yield probe
            _clean_up(probe)
    finally:
        emu.stop()


def _live() -> Iterator[Scratch]:
    env = os.environ
    base_url = env.get("NINOX_LIVE_BASE_URL") or DEFAULT_BASE_URL
    key, team, database = (
        env["NINOX_LIVE_API_KEY"],
        env["NINOX_LIVE_TEAM_ID"],
        env["NINOX_LIVE_DATABASE_ID"],
    )
    with NinoxClient(key, base_url, max_retries=3) as client:
        wanted = env["NINOX_LIVE_TABLE"]
        tables = client.list_tables(team, database)
        table = next((t for t in tables if wanted in (t.id, t.name)), None)
        assert table is not None, f"NINOX_LIVE_TABLE={wanted!r} is not a table of {database}"
        probe = Scratch(client, key, team, database, table.id, "live", None)
        yield probe
        _clean_up(probe)


def _clean_up(probe: Scratch) -> None:
    """Delete every record the probe wrote, and prove they are gone."""
    written = set(probe.created)
    probe.delete(written)
    for record_id in written:
        with pytest.raises(NinoxNotFoundError):
            probe.client.get_record(probe.team_id, probe.database_id, probe.table_id, record_id)
