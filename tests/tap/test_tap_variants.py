"""tap-ninox against every server variant the emulator plays (docs/api.md).

For each variant that touches reading, a full run, an incremental run that
dies and is resumed from its last STATE, and a further incremental run (with
creates, updates and deletes before each) build a replica from the tap's
output; it must equal what a strict server shows afterwards. Then, per
variant, what the tap must do beyond being exact: warnings, bookmarks,
incremental reads that stay incremental.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest

from ninox_core.transport.client import NinoxClient
from ninox_emulator.variants import VARIANTS
from tests.replica_support import apply, computed_columns, random_changes
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY, run_tap, tap_config

#: Variants that only change how writes are answered: nothing for the tap.
WRITE_ONLY = {"partial_batch", "partial_batch_drop", "update_missing_creates"}
#: Variants no read survives: the read fails with one line (tests/core/test_trust_answers.py).
FAILING = {"pages_reversed", "pages_by_sequence"}
READ_VARIANTS = sorted(set(VARIANTS) - WRITE_ONLY - FAILING)
#: Contact (every field type), Deal, Lead.
TABLES = {"A": "contact", "C": "deal", "D": "lead"}
#: Columns a variant leaves null because the server does not send them.
NULLED = {
    "no_created_at": {"_created_at", "_modified_at"},
    "created_by_zero": {"_created_by"},
    "no_sequence": {"_sequence"},
}
#: The strict server drops the milliseconds of these; this variant sends them.
TO_SECONDS = {"datetime_ms_z": {"_created_at", "_modified_at"}}


def compared_columns(out, stream: str, skipped: set[str]) -> list[str]:
    properties = out.schemas[stream]["schema"]["properties"]
    return [c for c in properties if c not in skipped]


def value(row: dict, column: str, seconds: set[str]) -> Any:
    found = row.get(column)
    if column in seconds and found is not None:
        assert found.endswith("Z")
        return found[:19]
    return found


def check_variant(emulator, api, variant: str, seed: int, choice_style: str = "names") -> None:
    rng = random.Random(seed)
    config = tap_config(emulator, tables=list(TABLES), page_size=5, choice_style=choice_style)
    emulator.variants.enable(variant)
    replica: dict[str, dict[int, dict]] = {}

    full = run_tap(config)
    apply(replica, full)
    random_changes(api, rng, 6)

    # An incremental run that dies on its third page read, resumed from its STATE.
    emulator.faults.add(kind="status", status=500, times=None, path=r"/records$", after=2)
    interrupted = run_tap(dict(config, max_retries=0), state=full.state, allow_failure=True)
    emulator.faults.clear()
    apply(replica, interrupted)
    resumed = run_tap(config, state=interrupted.state)
    apply(replica, resumed)
    random_changes(api, rng, 6)

    last = run_tap(config, state=resumed.state)
    apply(replica, last)
    # Nothing changed since: a further run emits nothing.
    assert run_tap(config, state=last.state).record_count() == 0, variant

    emulator.variants.clear()
    strict = run_tap(config)
    nulled = NULLED.get(variant, set())
    seconds = TO_SECONDS.get(variant, set())
    for stream in TABLES.values():
        expected = {r["_id"]: r for r in strict.records.get(stream, [])}
        got = replica.get(stream, {})
        assert set(got) == set(expected), (variant, stream)
        columns = compared_columns(strict, stream, nulled | computed_columns(api))
        for record_id, row in expected.items():
            mine = got[record_id]
            assert {c: value(mine, c, seconds) for c in columns} == {
                c: value(row, c, seconds) for c in columns
            }, (
                variant,
                stream,
                record_id,
            )
            for column in nulled:
                assert mine[column] is None, (variant, stream, column)


@pytest.mark.parametrize("variant", READ_VARIANTS)
def test_full_incremental_and_resumed_runs_are_exact(emulator, api, variant):
    check_variant(emulator, api, variant, seed=1)


#: Variants that change how choices and fields are keyed, for `choice_style` ids.
CHOICE_VARIANTS = ["captions_for_ids", "int_choice_ids", "multi_comma", "names_for_ids"]


@pytest.mark.parametrize("variant", CHOICE_VARIANTS)
def test_runs_with_choice_ids_are_exact(emulator, api, variant):
    check_variant(emulator, api, variant, seed=2, choice_style="ids")


@pytest.mark.slow
@pytest.mark.parametrize("variant", READ_VARIANTS)
def test_full_incremental_and_resumed_runs_are_exact_sweep(emulator, api, variant):
    for seed in range(2, 12):
        emulator.reset(demo=True)
        emulator.set_api_key(TEST_KEY)
        style = "ids" if variant in CHOICE_VARIANTS and seed % 2 else "names"
        check_variant(emulator, api, variant, seed, style)


# ------------------------------------------------------- what each variant needs


def lead_config(emulator, **overrides):
    return tap_config(emulator, tables=["D"], **overrides)


def warnings_about(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_server_ignoring_since_id_is_read_by_page_number_with_one_warning(emulator, api, caplog):
    api.save_records(DEMO_TEAM, CRM_DB, "D", [{"fields": {}} for _ in range(40)])
    emulator.variants.enable("ignore_since_id")
    with caplog.at_level(logging.WARNING):
        out = run_tap(lead_config(emulator, page_size=7))
    ids = [r["_id"] for r in out.records["lead"]]
    assert len(ids) == len(set(ids)) == 48
    assert len(warnings_about(caplog, "ignored sinceId")) == 1
    # Page by page, not the whole table again for every page.
    assert emulator.request_count(method="GET", path_regex=r"/tables/D/records$") < 20


def test_deletions_during_a_page_number_read_lose_no_record(emulator, api):
    """A deletion shifts later records onto pages already read: the tap reads again."""
    api.save_records(DEMO_TEAM, CRM_DB, "D", [{"fields": {}} for _ in range(20)])
    emulator.variants.enable("ignore_since_id")
    deleted: list[int] = []

    def delete_once(request) -> None:
        if deleted or request.query.get("page") != "2" or not request.path.endswith("/records"):
            return
        with NinoxClient(TEST_KEY, emulator.base_url) as other:
            first = next(other.iter_record_pages(DEMO_TEAM, CRM_DB, "D"))[0]["id"]
            other.delete_records(DEMO_TEAM, CRM_DB, "D", [first])
        deleted.append(first)

    emulator.on_request(delete_once)
    out = run_tap(lead_config(emulator, page_size=5))
    emulator.clear_hooks()
    assert deleted
    live = {r["id"] for p in api.iter_record_pages(DEMO_TEAM, CRM_DB, "D") for r in p}
    assert live <= {r["_id"] for r in out.records["lead"]}


def test_server_ignoring_since_id_and_page_fails_with_one_line(emulator, api, monkeypatch):
    """No endless loop when the answer never moves on."""
    from ninox_core.errors import NinoxError
    from ninox_emulator import query

    original = query.read_page

    def first_page_only(db, table, params, *args, **kwargs):
        return original(db, table, {**params, "page": "0"}, *args, **kwargs)

    monkeypatch.setattr(query, "read_page", first_page_only)
    emulator.variants.enable("ignore_since_id")
    out = run_tap(lead_config(emulator, page_size=3), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    assert "ignores both sinceId and page" in str(out.error)
    assert "stream 'lead'" in str(out.error)


def test_server_ignoring_since_sq_still_reads_only_changes(emulator, api, caplog):
    emulator.variants.enable("ignore_since_sq")
    config = lead_config(emulator, page_size=3)
    first = run_tap(config)
    ids = sorted(r["_id"] for r in first.records["lead"])
    api.save_records(DEMO_TEAM, CRM_DB, "D", [{"id": ids[2], "fields": {"E": "changed"}}])
    with caplog.at_level(logging.WARNING):
        second = run_tap(config, state=first.state)
    assert [r["_id"] for r in second.records["lead"]] == [ids[2]]
    assert len(warnings_about(caplog, "ignored sinceSq")) == 1


@pytest.mark.parametrize("variant", ["no_schema_seq", "schema_seq_lag"])
def test_bookmark_is_the_databases_sequence_without_a_true_schema_seq(emulator, api, variant):
    true_seq = api.database_sequence(DEMO_TEAM, CRM_DB)
    emulator.variants.enable(variant)
    out = run_tap(lead_config(emulator))
    assert out.bookmark("lead") == true_seq
    assert run_tap(lead_config(emulator), state=out.state).record_count() == 0


def test_page_cap_below_the_page_size_reads_everything(emulator, api):
    api.save_records(DEMO_TEAM, CRM_DB, "D", [{"fields": {}} for _ in range(250)])
    emulator.variants.enable("page_cap_100")
    out = run_tap(lead_config(emulator, page_size=500))
    assert len({r["_id"] for r in out.records["lead"]}) == 258


@pytest.mark.parametrize("variant", ["epoch_dates", "datetime_ms_z"])
def test_dates_and_datetimes_are_emitted_in_singer_form(emulator, api, variant):
    emulator.variants.enable(variant)
    out = run_tap(tap_config(emulator, tables=["A"]))
    rows = out.records["contact"]
    birthdays = [r["Birthday"] for r in rows if r["Birthday"] is not None]
    contacts = [r["Last contact"] for r in rows if r["Last contact"] is not None]
    assert birthdays and contacts
    assert all(isinstance(v, str) and len(v) == 10 and v[4] == "-" for v in birthdays)
    assert all(isinstance(v, str) and v.endswith("Z") and ".000" not in v for v in contacts)
    assert all(r["_created_at"] is None or r["_created_at"].endswith("Z") for r in rows)
