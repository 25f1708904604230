"""tap-ninox → target-ninox copies with attachments (`download_files` + `upload_files`)."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from target_ninox import commit_policy
from target_ninox.rerun_guard import without_marker
from tests.cli_support import wait_for_requests
from tests.tap_support import CRM_DB, DEMO_TEAM, tap_config
from tests.target_support import (
    PEOPLE,
    STRING,
    count,
    make_database,
    record,
    rows,
    run_target,
    run_target_cli,
    schema,
    singer_text,
    state,
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


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Every test runs in its own directory: the target's default files_path is in it."""
    monkeypatch.chdir(tmp_path)


def source_messages(emulator: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """The tap's output, attachments downloaded to `<tmp_path>/ninox-files` (the default)."""
    return tap_messages(
        tap_config(
            emulator,
            database_ids=[CRM_DB],
            include_files=True,
            download_files=True,
            files_path=str(tmp_path / "ninox-files"),
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


# ------------------------------------------------------- commits and STATE


def numbered(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tap's messages with a STATE {"n": i} after the i-th non-STATE message."""
    out: list[dict[str, Any]] = []
    for n, message in enumerate((m for m in messages if m["type"] != "STATE"), 1):
        out += [message, state({"n": n})]
    return out


def files_before(messages: list[dict[str, Any]], n: int) -> dict[tuple[str, int], dict[str, int]]:
    """The attachments (table, record) → name → size the rows before STATE n name."""
    out: dict[tuple[str, int], dict[str, int]] = {}
    for message in messages:
        if message == state({"n": n}):
            break
        if message["type"] == "RECORD" and message["stream"] == "files":
            row = message["record"]
            where = (row["_table_id"], int(row["_record_id"]))
            out.setdefault(where, {})[row["name"]] = Path(row["path"]).stat().st_size
    return out


def uploaded_sizes(emulator: Any) -> dict[tuple[str, int], dict[str, int]]:
    return {
        where: {name: len(data) for name, data in files.items()}
        for where, files in attachments(emulator, COPY_DB).items()
    }


def covers_only_uploaded(emulator: Any, messages: list[dict[str, Any]], n: int) -> bool:
    """Every file a row before STATE n names is in the copy, with its size."""
    have = uploaded_sizes(emulator)
    return all(
        have.get(where, {}).get(name) == size
        for where, files in files_before(messages, n).items()
        for name, size in files.items()
    )


def rerun_input(messages: list[dict[str, Any]], last: dict | None) -> list[dict[str, Any]]:
    """What a pipeline sends after the target emitted `last`.

    The SCHEMAs, `last` (rerun marker included, as a tap hands it back),
    then the rest of the input.
    """
    if last is None:
        return messages
    at = messages.index(state(without_marker(last)))
    schemas = {m["stream"]: m for m in messages[:at] if m["type"] == "SCHEMA"}
    return [*schemas.values(), state(last), *messages[at + 1 :]]


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_a_state_after_files_rows_comes_out_only_once_their_files_are_uploaded(
    emulator, tmp_path, monkeypatch, batch
):
    prepare(emulator)
    messages = numbered(source_messages(emulator, tmp_path))
    emitted: list[int] = []
    honest: list[bool] = []

    def spy(value: dict) -> None:
        emitted.append(value["n"])
        honest.append(covers_only_uploaded(emulator, messages, value["n"]))

    monkeypatch.setattr(commit_policy, "write_state_line", spy)
    run = run_target(copy_config(emulator, batch_size_rows=batch), messages)
    assert run.exit_code == 0
    assert emitted[-1] == len(messages) // 2
    assert all(honest), [n for n, ok in zip(emitted, honest, strict=True) if not ok]
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)


def test_a_failed_upload_ends_with_the_last_honest_state_and_reruns_without_duplicates(
    emulator, tmp_path
):
    prepare(emulator)
    messages = numbered(source_messages(emulator, tmp_path))
    total = sum(len(files) for files in attachments(emulator, CRM_DB).values())
    emulator.clear_log()
    # The third upload fails for good (retries exhausted).
    emulator.faults.add(kind="status", status=503, method="POST", path=UPLOADS, after=2, times=None)
    try:
        run = run_target(copy_config(emulator, batch_size_rows=3, max_retries=1), messages)
    finally:
        emulator.faults.clear()
    assert run.exit_code == 1
    last = run.raw_states[-1] if run.raw_states else None
    done_first = count(emulator, method="POST", path_regex=UPLOADS, status=200)
    assert done_first == 2
    if last is not None:
        assert covers_only_uploaded(emulator, messages, last["n"])
    # The STATE stops before the row of the failed upload.
    assert not covers_only_uploaded(emulator, messages, len(messages) // 2)

    rerun = run_target(copy_config(emulator), rerun_input(messages, last))
    assert rerun.exit_code == 0
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)
    # Each file uploaded once over both runs.
    assert count(emulator, method="POST", path_regex=UPLOADS, status=200) == total


def test_sigterm_during_uploads_exits_143_with_an_honest_state_and_reruns_exact(emulator, tmp_path):
    prepare(emulator)
    messages = numbered(source_messages(emulator, tmp_path))
    total = sum(len(files) for files in attachments(emulator, CRM_DB).values())
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(copy_config(emulator, batch_size_rows=2)))
    input_path = tmp_path / "input.jsonl"
    input_path.write_text(singer_text(messages))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_NINOX_")}
    env["TARGET_NINOX_LOGLEVEL"] = "WARNING"
    emulator.clear_log()
    emulator.faults.add(kind="latency", seconds=0.3, method="POST", path=UPLOADS, times=None)
    command = [sys.executable, "-m", "target_ninox.target", "--config", str(config_path)]
    process = subprocess.Popen(
        [*command, "--input", str(input_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_for_requests(emulator, 1, process, method="POST", path_regex=UPLOADS)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        emulator.faults.clear()
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr.decode()[-2000:]
    states = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    last = states[-1] if states else None
    if last is not None:
        assert covers_only_uploaded(emulator, messages, last["n"])
    rerun = run_target(copy_config(emulator), rerun_input(messages, last))
    assert rerun.exit_code == 0
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)
    assert count(emulator, method="POST", path_regex=UPLOADS, status=200) == total


# ------------------------------------------------- upload_files off


def test_without_upload_files_a_copy_leaves_the_files_rows_with_one_info_line(
    emulator, tmp_path, caplog
):
    tables = prepare(emulator)
    messages = tap_messages(tap_config(emulator, database_ids=[CRM_DB], include_files=True))
    assert any(m.get("stream") == "files" for m in messages if m["type"] == "RECORD")
    emulator.clear_log()
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator, database_id=COPY_DB), messages)
    assert run.exit_code == 0
    for table_id in tables:
        assert rows(emulator, table_id, COPY_DB) == rows(emulator, table_id, CRM_DB), table_id
    assert count(emulator, method="POST", path_regex=UPLOADS) == 0
    assert attachments(emulator, COPY_DB) == {}
    said = [r.getMessage() for r in caplog.records if "upload_files" in r.getMessage()]
    assert len(said) == 1 and "'files'" in said[0] and "upload_files: true" in said[0]
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and "files" in r.getMessage()
    ]


def test_a_files_stream_named_in_table_mapping_is_written_to_that_table(emulator):
    make_database(emulator)
    messages = [
        schema("crm__files", {"Name": STRING, "Email": STRING}),
        record("crm__files", {"Name": "a.pdf", "Email": "a@x"}),
        record("crm__files", {"Name": "b.pdf", "Email": "b@x"}),
    ]
    run = run_target(target_config(emulator, table_mapping={"crm__files": "People"}), messages)
    assert run.exit_code == 0
    assert sorted(r["Email"] for r in rows(emulator, PEOPLE).values()) == ["a@x", "b@x"]


def test_a_bug_while_uploading_is_reported_as_one_not_as_a_failed_upload(
    emulator, tmp_path, caplog, monkeypatch
):
    # docs/design.md, "Errors and logs": a defect of ours is no WriteError.
    from target_ninox.file_upload import FileUploadSink

    prepare(emulator)
    messages = source_messages(emulator, tmp_path)

    def planted(self: Any, rows: Any, *, final: bool) -> None:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(FileUploadSink, "_upload", planted)
    with caplog.at_level(logging.INFO):
        run = run_target(copy_config(emulator), messages)
    assert run.exit_code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "internal error" in error and "planted bug" in error
    assert "uploading files" in error and "'files'" in error


# ------------------------------------------------------- what may be uploaded


def files_rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "files"]


def uploaded_bytes(emulator: Any) -> set[bytes]:
    return {data for files in attachments(emulator, COPY_DB).values() for data in files.values()}


SECRET = b'{"api_key": "the key of another system"}'


def plant(tmp_path: Path, how: str) -> str:
    """A path a files row could name that lies outside the target's files_path."""
    secret = tmp_path / "secret-config.json"
    secret.write_bytes(SECRET)
    inside = tmp_path / "ninox-files"
    if how == "absolute":
        return str(secret)
    if how == "dot-dot":
        return "ninox-files/../secret-config.json"
    if how == "symlink":
        link = inside / "looks-downloaded.pdf"
        link.symlink_to(secret)
        return str(link)
    if how == "prefix":  # shares the prefix of the name only
        sibling = tmp_path / "ninox-files-other"
        sibling.mkdir()
        (sibling / "x.pdf").write_bytes(SECRET)
        return str(sibling / "x.pdf")
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink", "prefix"])
def test_upload_files_refuses_a_path_outside_files_path(emulator, tmp_path, how):
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    row = files_rows(messages)[0]
    row["path"] = plant(tmp_path, how)
    run = run_target(copy_config(emulator), messages)
    assert run.exit_code == 1
    assert SECRET not in uploaded_bytes(emulator)


def test_a_refused_path_is_one_line_naming_stream_record_and_path(emulator, tmp_path):
    prepare(emulator)
    messages = source_messages(emulator, tmp_path)
    row = files_rows(messages)[0]
    row["path"] = plant(tmp_path, "absolute")
    run = run_target_cli(copy_config(emulator), messages, tmp_path)
    assert run.exit_code == 1
    [line] = run.error_lines
    assert "'files'" in line and f"record {row['_record_id']}" in line
    assert row["path"] in line and "files_path" in line
    assert SECRET not in uploaded_bytes(emulator)


def test_files_under_another_files_path_upload_when_the_setting_names_it(emulator, tmp_path):
    prepare(emulator)
    elsewhere = tmp_path / "backup" / "attachments"
    messages = tap_messages(
        tap_config(
            emulator,
            database_ids=[CRM_DB],
            include_files=True,
            download_files=True,
            files_path=str(elsewhere),
        )
    )
    refused = run_target(copy_config(emulator), messages)
    assert refused.exit_code == 1
    run = run_target(copy_config(emulator, files_path=str(elsewhere)), messages)
    assert run.exit_code == 0
    assert attachments(emulator, COPY_DB) == attachments(emulator, CRM_DB)
