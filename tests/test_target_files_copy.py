"""tap-ninox → target-ninox copies with attachments (`download_files` + `upload_files`)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tests.tap_support import CRM_DB, DEMO_TEAM, tap_config
from tests.target_support import (
    count,
    rows,
    run_target,
    run_target_cli,
    tap_messages,
    target_config,
)

COPY_DB = "copy0files0db"
UPLOADS = r"/records/\d+/files$"


def attachments(emulator: Any, database_id: str) -> dict[tuple[str, int], dict[str, bytes]]:
    """Every record's attachments: (table, record) → name → bytes."""
    db = emulator.store.database(DEMO_TEAM, database_id)
    return {
        (table.id, rec.id): {name: entry.data for name, entry in rec.files.items()}
        for table in db.tables.values()
        for rec in table.records.values()
        if rec.files
    }


def prepare(emulator: Any) -> list[str]:
    """More attachments in the CRM, and its empty copy; returns the table ids."""
    rng = random.Random(8)
    extra = {
        ("A", 1, "contract.pdf"): rng.randbytes(2 * 1024 * 1024 + 3),
        ("A", 2, "a:b?.pdf"): b"unsafe name",
        ("B", 3, "Vertrag Nr. 7 (März) & co.pdf"): rng.randbytes(1000),
        ("D", 1, "empty.txt"): b"",
    }
    for (table, rid, name), data in extra.items():
        emulator.store.attach_file(DEMO_TEAM, CRM_DB, table, rid, name, data)
    emulator.store.empty_copy(DEMO_TEAM, CRM_DB, COPY_DB)
    return list(emulator.store.database(DEMO_TEAM, CRM_DB).tables)


def copy_config(emulator: Any, **overrides: Any) -> dict[str, Any]:
    return target_config(emulator, database_id=COPY_DB, upload_files=True, **overrides)


def source_messages(emulator: Any, files_path: Path) -> list[dict[str, Any]]:
    return tap_messages(
        tap_config(
            emulator,
            database_ids=[CRM_DB],
            include_files=True,
            download_files=True,
            files_path=str(files_path),
        )
    )


def test_copy_with_files_ends_with_equal_records_ids_and_attachments(emulator, tmp_path):
    tables = prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    source_files = attachments(emulator, CRM_DB)
    emulator.clear_log()

    run = run_target(copy_config(emulator), messages)
    assert run.exit_code == 0
    for table_id in tables:
        assert rows(emulator, table_id, COPY_DB) == rows(emulator, table_id, CRM_DB), table_id
    assert attachments(emulator, COPY_DB) == source_files  # names, sizes and bytes
    uploaded = sum(len(files) for files in source_files.values())
    assert count(emulator, method="POST", path_regex=UPLOADS) == uploaded
    # One listing per record with attachments, not one per file (plus one
    # that finds the record not written yet).
    assert count(emulator, method="GET", path_regex=UPLOADS, status=200) == len(source_files)
    assert count(emulator, method="GET", path_regex=UPLOADS, status=404) <= 1
    # Uploads do not split the tables' batches: one POST per table here.
    assert count(emulator, method="POST", path_regex=r"/tables/[A-Z]+/records$") == len(tables)

    # A re-run uploads nothing.
    emulator.clear_log()
    again = run_target(copy_config(emulator), messages)
    assert again.exit_code == 0
    assert count(emulator, method="POST", path_regex=UPLOADS) == 0
    assert attachments(emulator, COPY_DB) == source_files


def test_a_file_changed_at_the_source_is_uploaded_again(emulator, tmp_path):
    prepare(emulator)
    run_target(copy_config(emulator), source_messages(emulator, tmp_path))
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "A", 1, "contract.pdf", b"shorter now")
    emulator.clear_log()
    run = run_target(copy_config(emulator), source_messages(emulator, tmp_path))
    assert run.exit_code == 0
    assert count(emulator, method="POST", path_regex=UPLOADS) == 1
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)


def test_a_missing_file_is_one_line_naming_it_the_stream_and_the_record(emulator, tmp_path):
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    row = next(m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "files")
    Path(row["path"]).unlink()
    run = run_target_cli(copy_config(emulator), messages, tmp_path)
    assert run.exit_code == 1
    [line] = run.error_lines
    assert row["path"] in line and "'files'" in line
    assert f"record {row['_record_id']}" in line and f"table {row['_table_id']}" in line


def test_uploads_are_streamed_in_a_retried_multipart_post(emulator, tmp_path):
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    emulator.faults.add(kind="status", status=503, method="POST", path=UPLOADS)
    emulator.faults.add(kind="drop", method="POST", path=UPLOADS, after=2)
    run = run_target(copy_config(emulator), messages)
    assert run.exit_code == 0
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)


def test_dry_run_uploads_nothing(emulator, tmp_path):
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    emulator.clear_log()
    run = run_target(copy_config(emulator, dry_run=True), messages)
    assert run.exit_code == 0
    assert count(emulator, method="POST") == 0
    assert attachments(emulator, COPY_DB) == {}


def test_small_batches_wait_for_the_record_their_files_attach_to(emulator, tmp_path):
    # With one row per batch, a `files` row is uploaded before the tap has
    # even sent the record it belongs to, unless the sink waits for it.
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    run = run_target(copy_config(emulator, batch_size_rows=1), messages)
    assert run.exit_code == 0
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)


def test_files_of_records_not_in_the_target_fail_with_one_line(emulator, tmp_path):
    prepare(emulator)
    messages = [
        m
        for m in source_messages(emulator, tmp_path)
        if m["type"] == "STATE" or m["stream"] == "files"
    ]
    run = run_target_cli(copy_config(emulator), messages, tmp_path)
    assert run.exit_code == 1
    [line] = run.error_lines
    assert "'files'" in line and "does not exist" in line and "record " in line
    assert attachments(emulator, COPY_DB) == {}
