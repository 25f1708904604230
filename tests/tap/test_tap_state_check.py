"""A state that is not this run's fails before anything is emitted.

Another tap's state, a bookmark of another replication key, or the state of
a single-database run after a second database renamed every stream used to
read everything again in silence (docs/design.md, "Errors and logs").
"""

from __future__ import annotations

import json

from tests.cli_support import run
from tests.tap_support import CRM_DB, PROJECTS_DB, tap_config


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


def sync(tmp_path, config, state=None):
    args = ["--config", write(tmp_path, "config.json", config)]
    if state is not None:
        args += ["--state", write(tmp_path, "state.json", state)]
    return run("tap", *args)


def messages(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def last_state(result):
    return [m["value"] for m in messages(result) if m["type"] == "STATE"][-1]


def test_another_taps_state_fails_listing_both_sets_of_names(emulator, tmp_path):
    state = {"bookmarks": {"orders": {"replication_key": "updated_at", "replication_key_value": 5}}}
    result = sync(tmp_path, tap_config(emulator), state)
    result.assert_one_line_failure(
        "the state's bookmarks (orders) name none of the streams this run syncs",
        "company, contact, deal, lead",
        "run without --state",
    )
    assert result.stdout == ""


def test_a_single_database_state_after_a_second_database_was_added_fails(emulator, tmp_path):
    first = sync(tmp_path, tap_config(emulator))
    assert first.returncode == 0, first.stderr[-2000:]
    state = last_state(first)
    both = tap_config(emulator, database_ids=[CRM_DB, PROJECTS_DB])
    result = sync(tmp_path, both, state)
    line = result.assert_one_line_failure("name none of the streams this run syncs", "crm__contact")
    assert "(company, contact, deal, lead)" in line
    assert result.stdout == ""


def test_streams_without_a_bookmark_are_read_in_full_with_one_info_line_each(emulator, tmp_path):
    first = sync(tmp_path, tap_config(emulator))
    state = last_state(first)
    state["bookmarks"] = {"contact": state["bookmarks"]["contact"]}
    result = sync(tmp_path, tap_config(emulator), state)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if "has no bookmark in the state" in line]
    assert len(lines) == 3 and all("INFO" in line for line in lines), lines
    assert {line.split("'")[1] for line in lines} == {"company", "deal", "lead"}
    records = [m for m in messages(result) if m["type"] == "RECORD"]
    assert not [m for m in records if m["stream"] == "contact"]  # nothing changed
    assert [m for m in records if m["stream"] == "company"]


def test_a_bookmark_of_the_wrong_type_fails_before_anything_is_emitted(emulator, tmp_path):
    state = {
        "bookmarks": {
            "contact": {"replication_key": "_sequence", "replication_key_value": "2024-01-01"}
        }
    }
    result = sync(tmp_path, tap_config(emulator), state)
    result.assert_one_line_failure(
        "bookmark of stream 'contact' is '2024-01-01'", "a _sequence bookmark is a whole number"
    )
    assert result.stdout == ""


def test_a_bookmark_of_another_replication_key_fails(emulator, tmp_path):
    state = {
        "bookmarks": {"contact": {"replication_key": "updated_at", "replication_key_value": 7}}
    }
    result = sync(tmp_path, tap_config(emulator), state)
    result.assert_one_line_failure(
        "bookmark of stream 'contact' is for replication key 'updated_at', not '_sequence'"
    )
    assert result.stdout == ""


def test_a_meltano_state_is_unwrapped_with_an_info_line(emulator, tmp_path):
    first = sync(tmp_path, tap_config(emulator))
    result = sync(tmp_path, tap_config(emulator), {"singer_state": last_state(first)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is a Meltano state" in result.stderr
    assert not [m for m in messages(result) if m["type"] == "RECORD"]  # incremental: no changes


def test_a_ninox_4_state_given_to_the_classic_api_fails_with_one_line(emulator, tmp_path):
    state = {
        "bookmarks": {
            "contact": {
                "replication_key": "_changed_at",
                "replication_key_value": "2026-12-07T10:00:00.000Z",
                "ninox_workspace": "5rdco4s18swu",
            }
        }
    }
    result = sync(tmp_path, tap_config(emulator), state)
    result.assert_one_line_failure(
        "stream 'contact' has the state of a Ninox 4 workspace (5rdco4s18swu)",
        "this run reads the classic API (team_id)",
    )
    assert result.stdout == ""
