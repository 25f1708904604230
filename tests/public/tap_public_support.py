"""Run tap-ninox against the Public API emulator and keep a replica of what it emits."""

from __future__ import annotations

import math
import re
from typing import Any

from ninox_emulator.public import PublicEmulator
from tests.public.conftest import PUBLIC_TEST_KEY
from tests.tap_support import TapOutput, run_tap

#: Every stream of the demo workspace with both modules synced.
DEMO_STREAMS = {
    "crm__contacts": ("crm", "contacts"),
    "crm__companies": ("crm", "companies"),
    "crm__deals": ("crm", "deals"),
    "crm__leads": ("crm", "leads"),
    "projects__projects": ("projects", "projects"),
    "projects__contacts": ("projects", "contacts"),
    "projects__tasks": ("projects", "tasks"),
}
#: Longer than the backend's look-back (the bookmark is the feed's `asOf` less 60 s).
PAST_LOOKBACK = 120


def public_config(emulator: PublicEmulator, **overrides: Any) -> dict[str, Any]:
    """A tap config for the emulator's workspace."""
    config: dict[str, Any] = {
        "api_key": PUBLIC_TEST_KEY,
        "base_url": emulator.base_url,
        "workspace_id": emulator.workspace_id,
        "max_retries": 2,
    }
    config.update(overrides)
    return config


def run_public(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    *,
    allow_failure: bool = False,
) -> TapOutput:
    """One in-process run of the tap."""
    return run_tap(config, state, catalog, allow_failure=allow_failure)


def quiet(emulator: PublicEmulator) -> None:
    """Let the server's clock pass the look-back, so earlier changes are behind every cursor."""
    emulator.clock.advance(PAST_LOOKBACK)


def table_ids(emulator: PublicEmulator, module: str, table: str) -> set[int]:
    """The ids the emulator holds for a table."""
    return set(emulator.store.table(module, table).records)


class Replica:
    """What a target keyed by `_id` holds after applying the tap's runs."""

    def __init__(self) -> None:
        """Empty."""
        self.streams: dict[str, dict[int, dict[str, Any]]] = {}

    def apply(self, out: TapOutput) -> Replica:
        """Apply one run's records (a deleted record removes its id)."""
        for stream, records in out.records.items():
            rows = self.streams.setdefault(stream, {})
            for record in records:
                if record.get("_sdc_deleted_at"):
                    rows.pop(record["_id"], None)
                else:
                    rows[record["_id"]] = record
        return self

    def rows(self, stream: str) -> dict[int, dict[str, Any]]:
        """A stream's rows by id, without `_changed_at` (full reads leave it null)."""
        return {
            record_id: {k: v for k, v in row.items() if k != "_changed_at"}
            for record_id, row in self.streams.get(stream, {}).items()
        }


def full_read(emulator: PublicEmulator, **overrides: Any) -> Replica:
    """A fresh full read of the workspace (no state), as a replica."""
    return Replica().apply(run_public(public_config(emulator, **overrides)))


def record_requests(emulator: PublicEmulator, table: str) -> dict[str, int]:
    """Requests for one table's records, by kind: pages, feed, one-record reads."""
    counts = {"pages": 0, "feed": 0, "by_id": 0}
    for request in emulator.requests:
        path = request.path
        if re.search(rf"/tables/{table}/records$", path):
            counts["pages"] += 1
        elif re.search(rf"/tables/{table}/records/changes$", path):
            counts["feed"] += 1
        elif re.search(rf"/tables/{table}/record/\d+$", path):
            counts["by_id"] += 1
    return counts


def pages_for(records: int, page_size: int = 100) -> int:
    """Record pages a full read of `records` takes when nothing changes meanwhile.

    Pages do not overlap (docs/decisions/0022): ⌈N/page_size⌉, at least
    one; a full last page says `has_more: false`, which ends the read.
    """
    return max(1, math.ceil(records / page_size))
