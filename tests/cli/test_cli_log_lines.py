"""Log lines that match what happened: no noise that hides the signal.

An expected computed field is INFO, a dry run says what would be written,
and the demo's change script reports only a deletion it made.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
from pathlib import Path

from ninox_core.transport.client import NinoxClient
from tests.tap_support import CRM_DB, DEMO_TEAM, tap_config
from tests.target_support import (
    api,
    make_database,
    run_target,
    singer_lines,
    tap_messages,
    target_config,
)

REPO = Path(__file__).resolve().parents[2]


def change(emulator) -> str:
    """What `python demo/change.py BASE_URL` prints (run in this process)."""
    spec = importlib.util.spec_from_file_location("demo_change", REPO / "demo" / "change.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(emulator.base_url)
    return out.getvalue().strip()


def contact_ids(api) -> set[int]:
    table = next(t.id for t in api.list_tables(DEMO_TEAM, CRM_DB) if t.name == "Contact")
    return {int(r["id"]) for page in api.iter_record_pages(DEMO_TEAM, CRM_DB, table) for r in page}


def test_each_demo_change_deletes_a_contact_that_was_there(emulator):
    # demo/change.py sends the demo's key; the fixture puts the test key back.
    emulator.set_api_key("demo-key")
    with NinoxClient("demo-key", emulator.base_url, max_retries=0) as client:
        changes_delete_one_contact_each(emulator, client)


def changes_delete_one_contact_each(emulator, api):
    before = contact_ids(api)
    first = change(emulator)
    after_first = contact_ids(api)
    second = change(emulator)
    after_second = contact_ids(api)
    assert first.endswith("contact 3 deleted.") and before - after_first == {3}
    assert second.endswith("contact 4 deleted.") and after_first - after_second == {4}


def test_a_computed_field_of_a_ninox_copy_is_info_not_a_warning(emulator, caplog):
    make_database(emulator)
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator), singer_lines("tap_columns_and_computed_field"))
    assert run.exit_code == 0
    computed = [r for r in caplog.records if "computed by Ninox" in r.getMessage()]
    assert [r.levelno for r in computed] == [logging.INFO]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_dry_run_says_how_many_properties_would_be_written(emulator, caplog):
    make_database(emulator)
    config = target_config(emulator, dry_run=True)
    with caplog.at_level(logging.INFO):
        run = run_target(config, singer_lines("tap_columns_and_computed_field"))
    assert run.exit_code == 0
    lines = [r.getMessage() for r in caplog.records if "properties" in r.getMessage()]
    assert len(lines) == 1 and "properties would be written (dry run)" in lines[0], lines


def test_a_correct_ninox_to_ninox_copy_logs_no_warning(emulator, caplog):
    with api(emulator) as client:
        tables = client.request("GET", f"/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables")
    make_database(emulator, "copy0crm0db", "CRM copy", tables)
    messages = tap_messages(tap_config(emulator, database_ids=[CRM_DB]))
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator, database_id="copy0crm0db"), messages)
    assert run.exit_code == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    computed = [r for r in caplog.records if "computed by Ninox" in r.getMessage()]
    assert computed and all(r.levelno == logging.INFO for r in computed)
