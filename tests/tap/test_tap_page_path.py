"""The tap's per-page path writes exactly what the SDK's per-record path writes."""

from __future__ import annotations

import datetime
import io
import json
import sys
from typing import Any

import pytest
import singer_sdk.streams.core as sdk_core

from ninox_core.transport.client import NinoxClient
from tap_ninox import _sdk_compat
from tap_ninox import streams as tap_streams
from tap_ninox._sdk_compat import CompatStream
from tap_ninox.streams import NinoxStream
from tap_ninox.tap import TapNinox
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, tap_config

FIXED = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)


def raw_sync(config: dict[str, Any], state: dict[str, Any] | None = None) -> bytes:
    """The bytes one in-process sync writes to stdout."""
    tap = TapNinox(config=config, state=state, validate_config=True)
    buffer = io.BytesIO()
    stdout, wrapper = sys.stdout, io.TextIOWrapper(buffer, encoding="utf-8")
    sys.stdout = wrapper
    try:
        tap.sync_all()
    finally:
        wrapper.flush()
        wrapper.detach()
        sys.stdout = stdout
    return buffer.getvalue()


@pytest.fixture
def fixed_clock(monkeypatch):
    """Every RECORD's time_extracted the same, in both paths."""
    monkeypatch.setattr(_sdk_compat, "_utc_now", lambda: FIXED)
    monkeypatch.setattr(sdk_core, "utc_now", lambda: FIXED)


@pytest.fixture
def page_writes(monkeypatch):
    """Count whole-page writes."""
    calls: list[int] = []
    original = NinoxStream.write_lines

    def counting(self, data):
        calls.append(data.count(b"\n"))
        original(self, data)

    monkeypatch.setattr(NinoxStream, "write_lines", counting)
    return calls


def each_path(monkeypatch, config, state=None) -> dict[str, bytes]:
    """The output of the page path, the per-record seam path and the SDK's own path."""
    out = {"page": raw_sync(config, state)}
    with monkeypatch.context() as m:
        m.setattr(CompatStream, "page_path_active", lambda self, context: False)
        out["record"] = raw_sync(config, state)
        m.setattr(NinoxStream, "every_property_selected", False)
        out["sdk"] = raw_sync(config, state)
    return out


def last_state(output: bytes) -> dict[str, Any]:
    states = [json.loads(line) for line in output.splitlines() if b'"STATE"' in line]
    return states[-1]["value"]


def test_page_path_bytes_match_the_sdk_path_full_and_incremental(
    emulator, monkeypatch, fixed_clock, page_writes
):
    # A small page and STATE frequency, so that pages split at the SDK's
    # every-N-records STATE and every page ends with a resumable STATE.
    monkeypatch.setattr(NinoxStream, "STATE_MSG_FREQUENCY", 4)
    config = tap_config(emulator, page_size=3)
    full = each_path(monkeypatch, config)
    assert page_writes, "the page path was not taken"
    assert max(page_writes) <= 3
    assert full["page"] == full["record"] == full["sdk"]
    assert full["page"].count(b'"type":"RECORD"') > 10
    # A resumable STATE after every page, the SDK's every-4-records ones too.
    kinds = [line.split(b'"type":"', 1)[1][:6] for line in full["page"].splitlines()]
    runs = b"".join(k[:1] for k in kinds).replace(b"H", b"").split(b"S")
    assert max(len(run) for run in runs) <= 3

    # Changes and a deletion since: the incremental run (deleted ids last).
    with NinoxClient(TEST_KEY, emulator.base_url) as api:
        table = api.list_tables(DEMO_TEAM, CRM_DB)[0]
        ids = [r["id"] for page in api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id) for r in page]
        api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"id": ids[0], "fields": {}}])
        api.delete_records(DEMO_TEAM, CRM_DB, table.id, [ids[1]])
    state = last_state(full["page"])
    # Deletions are stamped with the run's start: the same in every run here.
    monkeypatch.setattr(tap_streams, "epoch_ms_to_singer", lambda ms: "2024-05-06T07:08:09Z")
    page_writes.clear()
    incremental = each_path(monkeypatch, config, state)
    assert page_writes
    assert incremental["page"] == incremental["record"] == incremental["sdk"]
    assert b"_sdc_deleted_at" in incremental["page"]


def test_stream_maps_and_deselected_columns_take_the_sdk_path(
    emulator, monkeypatch, fixed_clock, page_writes
):
    config = tap_config(emulator, stream_maps={"contact": {"__alias__": "people"}})
    output = raw_sync(config)
    assert b'"stream":"people"' in output
    assert b'"stream":"contact","record"' not in output
    # Only streams without a map took the page path.
    assert page_writes
    page_writes.clear()
    monkeypatch.setattr(NinoxStream, "every_property_selected", False)
    raw_sync(tap_config(emulator))
    assert page_writes == []
