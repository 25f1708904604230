"""tap-ninox reading a Ninox 4 workspace (docs/design.md "Reading Ninox 4 tables").

Black-box: the tap object runs against the Public API emulator over HTTP.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from ninox_core.errors import NinoxConfigError, NinoxError
from tests.cli_support import run
from tests.public.conftest import PUBLIC_TEST_KEY
from tests.public.tap_public_support import (
    DEMO_STREAMS,
    Replica,
    full_read,
    pages_for,
    public_config,
    quiet,
    record_requests,
    run_public,
    table_ids,
)

# ------------------------------------------------------------------ full run


def test_a_full_run_emits_every_record_of_every_table_of_every_module(public_emulator):
    out = run_public(public_config(public_emulator))
    assert out.error is None
    assert set(out.records) == set(DEMO_STREAMS)
    for stream, (module, table) in DEMO_STREAMS.items():
        emitted = [r["_id"] for r in out.records[stream]]
        assert sorted(emitted) == sorted(table_ids(public_emulator, module, table)), stream
        assert len(emitted) == len(set(emitted)), stream


def test_records_carry_their_values_by_field_name_and_the_ninox_4_columns(public_emulator):
    out = run_public(public_config(public_emulator, modules=["crm"]))
    tim = next(r for r in out.records["contacts"] if r["_id"] == 1)
    assert tim["first_name"] == "Tim"
    assert tim["email"] == "tim.becker@example.com"
    assert tim["tags"] == ["VIP", "Smith, Jones & Co"]
    assert tim["_changed_at"] is None  # a full read: no feed reported it
    assert tim["_sdc_deleted_at"] is None
    properties = out.schemas["contacts"]["schema"]["properties"]
    assert {"_id", "_changed_at", "_sdc_deleted_at"} <= set(properties)
    assert not {"_sequence", "_created_at", "_modified_at", "_created_by"} & set(properties)
    assert out.schemas["contacts"]["key_properties"] == ["_id"]


def test_one_module_names_streams_without_a_prefix(public_emulator):
    out = run_public(public_config(public_emulator, modules=["projects"]))
    assert set(out.records) == {"projects", "contacts", "tasks"}


def test_the_tables_setting_filters_by_table_name(public_emulator):
    out = run_public(public_config(public_emulator, modules=["crm"], tables=["leads"]))
    assert set(out.records) == {"leads"}


def test_a_history_table_bookmarks_the_servers_as_of_and_a_table_without_keeps_its_ids(
    public_emulator,
):
    out = run_public(public_config(public_emulator, modules=["crm"]))
    contacts = out.state["bookmarks"]["contacts"]
    assert contacts["replication_key"] == "_changed_at"
    assert contacts["replication_key_value"].endswith("Z")
    assert contacts["ninox_workspace"] == public_emulator.workspace_id
    leads = out.state["bookmarks"]["leads"]
    assert "replication_key_value" not in leads
    assert leads["ninox_ids"] == "r1:1+7"  # ids 1-8


# --------------------------------------------------------- history: the feed


def test_an_incremental_run_emits_exactly_the_creates_updates_and_deletes(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    quiet(public_emulator)
    first = run_public(config)
    replica = Replica().apply(first)
    quiet(public_emulator)
    [new] = public_emulator.create_records(
        "crm", "contacts", [{"first_name": "Nina", "last_name": "N"}]
    )
    public_emulator.store.update("crm", "contacts", [{"id": 5, "last_name": "Changed"}])
    public_emulator.delete_records("crm", "contacts", [9])
    second = run_public(config, state=first.state)
    rows = {r["_id"]: r for r in second.records["contacts"]}
    assert set(rows) == {new, 5, 9}
    assert rows[new]["first_name"] == "Nina"
    assert rows[5]["last_name"] == "Changed"
    assert rows[5]["_changed_at"].endswith("Z")
    assert rows[9]["_sdc_deleted_at"] == rows[9]["_changed_at"]  # the feed's changedAt
    assert all(rows[9][k] is None for k in ("first_name", "email"))
    replica.apply(second)
    assert replica.rows("contacts") == full_read(
        public_emulator, modules=["crm"], tables=["contacts"]
    ).rows("contacts")


def test_running_twice_with_no_change_emits_nothing_and_still_moves_the_bookmark(
    public_emulator,
):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts", "deals"])
    quiet(public_emulator)
    first = run_public(config)
    quiet(public_emulator)
    second = run_public(config, state=first.state)
    assert second.records == {}
    for stream in ("contacts", "deals"):
        assert second.bookmark(stream) > first.bookmark(stream)  # a quiet table advances


def test_include_deletes_false_emits_no_deleted_records(public_emulator):
    config = public_config(
        public_emulator, modules=["crm"], tables=["contacts", "leads"], include_deletes=False
    )
    quiet(public_emulator)
    first = run_public(config)
    assert "ninox_ids" not in first.state["bookmarks"]["leads"]
    quiet(public_emulator)
    public_emulator.delete_records("crm", "contacts", [4])
    public_emulator.delete_records("crm", "leads", [2])
    second = run_public(config, state=first.state)
    for records in second.records.values():
        assert not [r for r in records if r["_sdc_deleted_at"]]


def test_an_expired_bookmark_reads_the_table_again_in_full_with_one_warning(
    public_emulator, caplog
):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    first = run_public(config)
    # As if the first run was 31 days ago: the feed keeps 30 days.
    state = copy.deepcopy(first.state)
    bookmark = datetime.fromisoformat(first.bookmark("contacts").replace("Z", "+00:00"))
    older = (bookmark - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    state["bookmarks"]["contacts"]["replication_key_value"] = older
    public_emulator.store.update("crm", "contacts", [{"id": 2, "last_name": "Later"}])
    second = run_public(config, state=state)
    assert second.error is None
    assert sorted(r["_id"] for r in second.records["contacts"]) == sorted(
        table_ids(public_emulator, "crm", "contacts")
    )
    warnings = [r.getMessage() for r in caplog.records if "no longer covers" in r.getMessage()]
    assert len(warnings) == 1
    assert "'contacts'" in warnings[0]
    assert second.bookmark("contacts") > first.bookmark("contacts")


def test_more_changed_records_than_the_threshold_are_read_by_one_scan(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    quiet(public_emulator)
    first = run_public(config)
    quiet(public_emulator)
    created = public_emulator.create_records(
        "crm", "contacts", [{"last_name": f"n{i}"} for i in range(1001)]
    )
    public_emulator.delete_records("crm", "contacts", [3])
    public_emulator.clear_log()
    second = run_public(config, state=first.state)
    counts = record_requests(public_emulator, "contacts")
    assert counts["by_id"] == 0
    total = len(table_ids(public_emulator, "crm", "contacts"))
    # The feed (11 pages of 100 changes), one scan, the deletion check after it.
    assert counts["pages"] == pages_for(total)
    rows = second.records["contacts"]
    assert {r["_id"] for r in rows if not r["_sdc_deleted_at"]} >= set(created)
    # What the feed reported carries its time; the rest of the table does not.
    assert all(r["_changed_at"] for r in rows if r["_id"] in set(created))
    assert next(r for r in rows if r["_id"] == 1)["_changed_at"] is None
    assert [r["_id"] for r in rows if r["_sdc_deleted_at"]] == [3]


def test_a_record_deleted_after_the_feed_was_read_is_emitted_as_deleted(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    quiet(public_emulator)
    first = run_public(config)
    quiet(public_emulator)
    public_emulator.store.update("crm", "contacts", [{"id": 6, "last_name": "x"}])

    def delete_six_once(request):
        if request.path.endswith("/records/changes") and 6 in table_ids(
            public_emulator, "crm", "contacts"
        ):
            public_emulator.delete_records("crm", "contacts", [6])

    public_emulator.on_request(delete_six_once)
    second = run_public(config, state=first.state)
    [row] = second.records["contacts"]
    assert row["_id"] == 6
    assert row["_sdc_deleted_at"]


# ------------------------------------------------------ no history: id sets


def test_a_table_without_history_reports_deletions_by_comparing_ids(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"])
    first = run_public(config)
    public_emulator.delete_records("crm", "leads", [2, 5])
    [new] = public_emulator.create_records("crm", "leads", [{"first_name": "Neu"}])
    second = run_public(config, state=first.state)
    deleted = sorted(r["_id"] for r in second.records["leads"] if r["_sdc_deleted_at"])
    live = sorted(r["_id"] for r in second.records["leads"] if not r["_sdc_deleted_at"])
    assert deleted == [2, 5]
    assert live == sorted(table_ids(public_emulator, "crm", "leads"))
    assert new in live
    third = run_public(config, state=second.state)  # nothing deleted since
    assert not [r for r in third.records["leads"] if r["_sdc_deleted_at"]]
    assert Replica().apply(first).apply(second).apply(third).rows("leads") == full_read(
        public_emulator, modules=["crm"], tables=["leads"]
    ).rows("leads")


def test_an_interrupted_read_without_history_reports_no_false_deletions(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"], page_size=3)
    first = run_public(config)
    public_emulator.delete_records("crm", "leads", [7])
    public_emulator.faults.add(
        "status", status=500, times=None, path=r"/tables/leads/records$", after=1
    )
    broken = run_public(config, state=first.state, allow_failure=True)
    assert broken.error is not None
    # The failed run's last state still holds the ids of the last complete read.
    assert broken.state["bookmarks"]["leads"]["ninox_ids"] == "r1:1+7"
    assert not [r for r in broken.records.get("leads", []) if r["_sdc_deleted_at"]]
    public_emulator.faults.clear()
    resumed = run_public(config, state=broken.state)
    assert [r["_id"] for r in resumed.records["leads"] if r["_sdc_deleted_at"]] == [7]
    replica = Replica().apply(first).apply(broken).apply(resumed)
    assert replica.rows("leads") == full_read(
        public_emulator, modules=["crm"], tables=["leads"]
    ).rows("leads")


def test_an_interrupted_incremental_run_loses_nothing(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"])
    quiet(public_emulator)
    first = run_public(config)
    quiet(public_emulator)
    public_emulator.store.update("crm", "contacts", [{"id": i, "nickname": "n"} for i in (1, 2)])
    public_emulator.delete_records("crm", "contacts", [8])
    public_emulator.faults.add("status", status=500, times=None, path=r"/record/2$")
    broken = run_public(config, state=first.state, allow_failure=True)
    assert broken.error is not None
    assert broken.bookmark("contacts") == first.bookmark("contacts")
    public_emulator.faults.clear()
    resumed = run_public(config, state=broken.state)
    assert {r["_id"] for r in resumed.records["contacts"]} == {1, 2, 8}
    replica = Replica().apply(first).apply(broken).apply(resumed)
    assert replica.rows("contacts") == full_read(
        public_emulator, modules=["crm"], tables=["contacts"]
    ).rows("contacts")


# ------------------------------------------------------------ request counts


def test_a_full_read_costs_a_page_per_100_records_plus_the_cursor(public_emulator):
    public_emulator.create_records("crm", "contacts", [{"last_name": "x"} for _ in range(250)])
    total = len(table_ids(public_emulator, "crm", "contacts"))
    public_emulator.clear_log()
    run_public(
        public_config(public_emulator, modules=["crm"], tables=["contacts", "deals", "leads"])
    )
    # ⌈N/100⌉ pages (no overlap), plus the cursor taken before (history).
    contacts = record_requests(public_emulator, "contacts")
    assert contacts == {"pages": math.ceil(total / 100), "feed": 1, "by_id": 0}
    assert record_requests(public_emulator, "deals") == {"pages": 1, "feed": 1, "by_id": 0}
    assert record_requests(public_emulator, "leads") == {"pages": 1, "feed": 0, "by_id": 0}


@pytest.mark.parametrize("size", [300, 3000])
def test_an_incremental_run_costs_the_same_whatever_the_table_size(public_emulator, size):
    public_emulator.create_records("crm", "deals", [{"title": "x"} for _ in range(size)])
    config = public_config(public_emulator, modules=["crm"], tables=["deals"])
    quiet(public_emulator)
    first = run_public(config)
    quiet(public_emulator)
    public_emulator.store.update("crm", "deals", [{"id": i, "notes": "k"} for i in (1, 2, 3)])
    public_emulator.delete_records("crm", "deals", [4])
    public_emulator.clear_log()
    run_public(config, state=first.state)
    # One feed page, one read per changed record: independent of the table's size.
    assert record_requests(public_emulator, "deals") == {"pages": 0, "feed": 1, "by_id": 3}


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"database_ids": ["crm"]}, "database_ids is a classic API setting"),
        ({"include_files": True}, "include_files: the API that workspace_id selects"),
        ({"modules": ["crm", "sales"]}, "no module 'sales'"),
    ],
)
def test_a_setting_that_does_not_fit_ninox_4_fails_with_one_line(public_emulator, settings, words):
    with pytest.raises(NinoxConfigError) as failed:
        run_public(public_config(public_emulator, **settings))
    message = str(failed.value)
    assert words in message
    assert "\n" not in message
    if "sales" in words:
        assert "the workspace has: crm, projects" in message


def test_modules_without_workspace_id_fails_with_one_line(public_emulator):
    config = {
        "api_key": "k",
        "base_url": "http://127.0.0.1:9/v1",
        "team_id": "t",
        "modules": ["crm"],
    }
    with pytest.raises(NinoxConfigError, match="modules is a Ninox 4 setting"):
        run_public(config)


def test_page_size_is_capped_at_what_the_api_answers(public_emulator):
    public_emulator.clear_log()
    run_public(public_config(public_emulator, modules=["crm"], tables=["leads"], page_size=1000))
    limits = {r.query.get("limit") for r in public_emulator.requests if r.path.endswith("/records")}
    assert limits == {"100"}


# ------------------------------------------------------------------ catalog


def discovered(public_emulator) -> dict:
    from tap_ninox.tap import TapNinox

    tap = TapNinox(config=public_config(public_emulator, modules=["crm"]), validate_config=True)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
    return catalog


def test_a_stale_catalog_naming_a_renamed_table_fails_with_one_line(public_emulator):
    catalog = discovered(public_emulator)
    public_emulator.rename_table("crm", "leads", "prospects")
    out = run_public(
        public_config(public_emulator, modules=["crm"]), catalog=catalog, allow_failure=True
    )
    assert isinstance(out.error, NinoxConfigError)
    message = str(out.error)
    assert "stream 'leads'" in message
    assert "table 'leads' no longer exists" in message
    assert "run --discover" in message


def test_a_stale_catalog_naming_a_renamed_field_fails_with_one_line(public_emulator):
    catalog = discovered(public_emulator)
    public_emulator.rename_field("crm", "leads", "nickname", "alias")
    out = run_public(
        public_config(public_emulator, modules=["crm"]), catalog=catalog, allow_failure=True
    )
    assert isinstance(out.error, NinoxConfigError)
    assert "field 'nickname' (column 'nickname') no longer exists" in str(out.error)


def test_a_fresh_catalog_reads_as_discovery_does(public_emulator):
    catalog = discovered(public_emulator)
    out = run_public(public_config(public_emulator, modules=["crm"]), catalog=catalog)
    assert set(out.records) == {"contacts", "companies", "deals", "leads"}


# -------------------------------------------------------------------- state


def test_a_classic_state_is_refused_with_one_line(public_emulator):
    state = {
        "bookmarks": {"contacts": {"replication_key": "_sequence", "replication_key_value": 7}}
    }
    with pytest.raises(NinoxError, match="has a classic API state"):
        run_public(public_config(public_emulator, modules=["crm"]), state)


def test_another_workspaces_state_is_refused_with_one_line(public_emulator):
    first = run_public(public_config(public_emulator, modules=["crm"]))
    state = first.state
    for bookmark in state["bookmarks"].values():
        bookmark["ninox_workspace"] = "otherworkspc"
    with pytest.raises(NinoxError, match="state of Ninox 4 workspace otherworkspc"):
        run_public(public_config(public_emulator, modules=["crm"]), state)


# ------------------------------------------------------------- the ids tool


def test_the_ids_tool_lists_a_workspaces_modules_and_tables(public_emulator, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_key": PUBLIC_TEST_KEY, "base_url": public_emulator.base_url}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tap_ninox.ids",
            "--config",
            str(config),
            "--workspace-id",
            public_emulator.workspace_id,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"workspace_id {public_emulator.workspace_id}  Demo Workspace"
    assert "  module crm" in lines
    assert "  module projects" in lines
    crm = lines.index("  module crm")
    assert sorted(lines[crm + 1 : crm + 5]) == [
        "    table companies",
        "    table contacts",
        "    table deals",
        "    table leads  (no history: read in full every run)",
    ]
    assert PUBLIC_TEST_KEY not in done.stdout + done.stderr


def test_the_command_ends_an_unknown_module_with_one_line_and_no_output(public_emulator, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(public_config(public_emulator, modules=["sales"])), encoding="utf-8"
    )
    result = run("tap", "--config", str(config))
    result.assert_one_line_failure(
        "modules: no module 'sales' in workspace", "the workspace has: crm, projects"
    )
    assert result.stdout == ""
    assert PUBLIC_TEST_KEY not in result.stderr


def test_ids_in_the_state_that_tap_ninox_did_not_write_fail_with_one_line(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["leads"])
    state = run_public(config).state
    state["bookmarks"]["leads"]["ninox_ids"] = "1,2,3"
    out = run_public(config, state=state, allow_failure=True)
    message = str(out.error)
    assert "stream 'leads' (table 'leads', module crm): state: ninox_ids is not" in message
    assert "\n" not in message
    assert "leads" not in out.records  # nothing emitted before the check


def test_an_interrupted_first_read_of_a_history_table_bookmarks_nothing(public_emulator):
    config = public_config(public_emulator, modules=["crm"], tables=["contacts"], page_size=10)
    public_emulator.faults.add(
        "status", status=500, times=None, path=r"/tables/contacts/records$", after=2
    )
    broken = run_public(config, allow_failure=True)
    assert broken.error is not None
    assert "replication_key_value" not in (broken.state["bookmarks"].get("contacts") or {})
    public_emulator.faults.clear()
    again = run_public(config, state=broken.state)
    assert {r["_id"] for r in again.records["contacts"]} == table_ids(
        public_emulator, "crm", "contacts"
    )
    assert again.bookmark("contacts")


def test_ids_too_large_for_the_state_are_not_kept_and_the_run_says_so(
    public_emulator, monkeypatch, caplog
):
    monkeypatch.setattr("tap_ninox.public_reads.IDS_STATE_LIMIT_BYTES", 5)
    public_emulator.delete_records("crm", "leads", [2, 4, 6])  # ids in four runs
    config = public_config(public_emulator, modules=["crm"], tables=["leads"])
    first = run_public(config)
    assert "ninox_ids" not in first.state["bookmarks"]["leads"]
    assert any("deletions in this table are not reported" in r.getMessage() for r in caplog.records)
    public_emulator.delete_records("crm", "leads", [7])
    second = run_public(config, state=first.state)
    assert not [r for r in second.records["leads"] if r["_sdc_deleted_at"]]
