"""The live check: what tap-ninox and target-ninox assume of a Ninox server.

Run against your own server before trusting the connectors with it (see
README, "Checking your Ninox server"):

    NINOX_LIVE_API_KEY=... NINOX_LIVE_TEAM_ID=... NINOX_LIVE_DATABASE_ID=... \\
    NINOX_LIVE_TABLE=Scratch uv run pytest tests/live -k "live and not emulator"

Each check confirms an assumption or records the server variant it met
(tests/live/probe.py); the last test prints the summary.
"""

from __future__ import annotations

import pytest

from tests.live.probe import CHECKS, Scratch, run_check


def test_answer_shapes(scratch: Scratch) -> None:
    run_check(scratch, "answer_shapes")


def test_keyset_paging_with_since_id(scratch: Scratch) -> None:
    run_check(scratch, "keyset_paging")


def test_style_ids_keys_fields_by_id(scratch: Scratch) -> None:
    run_check(scratch, "style_ids")


def test_schema_seq(scratch: Scratch) -> None:
    run_check(scratch, "schema_seq")


def test_since_sq(scratch: Scratch) -> None:
    run_check(scratch, "since_sq")


def test_change_feed_removes(scratch: Scratch) -> None:
    run_check(scratch, "change_feed_removes")


def test_upsert_keeps_ids(scratch: Scratch) -> None:
    run_check(scratch, "upsert_keeps_ids")


def test_update_of_a_missing_id(scratch: Scratch) -> None:
    run_check(scratch, "update_of_missing_id")


def test_error_bodies(scratch: Scratch) -> None:
    run_check(scratch, "error_bodies")


def test_report_names_the_server_variants_met(
    scratch: Scratch, capsys: pytest.CaptureFixture
) -> None:
    for name in CHECKS:  # whatever was deselected runs here
        run_check(scratch, name)
    if scratch.expected is None:  # a live server: always show what was found
        with capsys.disabled():
            print("\n" + scratch.summary())
    else:
        print(scratch.summary())
    if scratch.expected is not None:
        assert scratch.met == set(scratch.expected), scratch.summary()
