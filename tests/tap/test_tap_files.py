"""tap-ninox `download_files`: backups of attachments, no second download, safe names."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ninox_core.backend import Attachment
from ninox_core.errors import NinoxConfigError, NinoxError
from tap_ninox.file_store import (
    MAX_NAME_BYTES,
    PART_SUFFIX,
    SIDECAR_SUFFIX,
    FileStore,
    safe_component,
    safe_name,
    safe_names,
)
from tests.tap_support import (
    CRM_DB,
    DEMO_TEAM,
    PROJECTS_DB,
    TEST_KEY,
    discover,
    run_tap,
    tap_config,
)

FILE_GETS = r"/files/[^/]+$"


def add_files(emulator: Any) -> dict[tuple[str, int, str], bytes]:
    """Attachments beyond the demo's: binary, multi-MB, awkward names."""
    rng = random.Random(5)
    extra = {
        ("A", 1, "contract.pdf"): rng.randbytes(3 * 1024 * 1024 + 17),
        ("A", 1, "con.txt"): b"device name on Windows",
        ("A", 2, "a:b?.pdf"): b"first",
        ("A", 2, "a_b_.pdf"): b"already safe, must not collide",
        ("A", 2, "a|b*.pdf"): b"second, sanitises like the first",
        ("B", 3, "trailing dots. . "): b"dots",
        ("B", 3, "tab\there.txt"): b"control char",
        ("B", 3, "x" * 300 + ".txt"): b"long",
        ("B", 3, "Vertrag Nr. 7 (März).pdf"): "ü".encode() * 1000,
        ("C", 2, "notes.ninox.json"): b"looks like a sidecar",
        ("C", 3, "Scan.PDF"): b"upper case",
        ("C", 3, "scan.pdf"): b"lower case, one file on Windows and macOS",
        ("C", 3, "caf\u00e9.txt"): b"composed",
        ("C", 3, "cafe\u0301.txt"): b"decomposed",
    }
    for (table, rid, name), data in extra.items():
        emulator.store.attach_file(DEMO_TEAM, CRM_DB, table, rid, name, data)
    return extra


def emulator_bytes(emulator: Any, row: dict[str, Any]) -> bytes:
    return emulator.store.file(
        DEMO_TEAM, row["_database_id"], row["_table_id"], row["_record_id"], row["name"]
    ).data


def backup_config(emulator: Any, files_path: Path, **overrides: Any) -> dict[str, Any]:
    return tap_config(
        emulator,
        include_files=True,
        download_files=True,
        files_path=str(files_path),
        **overrides,
    )


# ------------------------------------------------------------------ backups


def test_backup_of_the_crm_with_attachments_equals_the_emulators_bytes(emulator, tmp_path):
    extra = add_files(emulator)
    out = run_tap(backup_config(emulator, tmp_path))
    rows = out.records["files"]
    stored = {
        (t.id, r.id, name)
        for t in emulator.store.database(DEMO_TEAM, CRM_DB).tables.values()
        for r in t.records.values()
        for name in r.files
    }
    assert {(r["_table_id"], r["_record_id"], r["name"]) for r in rows} == stored
    assert set(extra) <= stored and len(stored) > len(extra)
    for row in rows:
        data = Path(row["path"]).read_bytes()
        assert data == emulator_bytes(emulator, row), row["name"]
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        assert row["size"] == len(data)
        relative = Path(row["path"]).relative_to(tmp_path)
        assert relative.parts[:3] == (CRM_DB, row["_table_id"], str(row["_record_id"]))
    # Exactly the files and their sidecars: no part files, nothing else.
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    paths = {Path(r["path"]).relative_to(tmp_path) for r in rows}
    assert written == paths | {p.with_name(p.name + SIDECAR_SUFFIX) for p in paths}
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == len(rows)
    # One state for the stream, not one partition per record.
    assert "partitions" not in out.state["bookmarks"].get("files", {})
    # One SCHEMA for the stream, not one before every record's files.
    assert [m["stream"] for m in out.messages if m["type"] == "SCHEMA"].count("files") == 1


def test_pages_read_ahead_never_overlap_the_files_streams_requests(emulator, tmp_path):
    # The next records page is read while the files of this one are listed
    # and downloaded; Ninox must still see one request at a time.
    extra = add_files(emulator)
    emulator.max_concurrent = 1
    emulator.faults.add(kind="latency", seconds=0.005, times=None, path=r"/records$")
    out = run_tap(backup_config(emulator, tmp_path, page_size=3))
    assert emulator.concurrency_violations == 0
    assert {(r["_table_id"], r["_record_id"], r["name"]) for r in out.records["files"]} >= set(
        extra
    )
    assert emulator.request_count(method="GET", path_regex=r"/records$") > 10


def test_a_second_run_downloads_nothing_and_a_changed_file_only(emulator, tmp_path):
    add_files(emulator)
    config = backup_config(emulator, tmp_path)
    first = run_tap(config)
    emulator.clear_log()
    again = run_tap(config)  # a full run again: every record listed, nothing fetched
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == 0
    assert again.records["files"] == first.records["files"]

    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "A", 1, "contract.pdf", b"version 2")
    emulator.clear_log()
    third = run_tap(config, state=again.state)  # incremental: only record A1 changed
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == 1
    changed = next(r for r in third.records["files"] if r["name"] == "contract.pdf")
    assert Path(changed["path"]).read_bytes() == b"version 2"
    assert changed["sha256"] == hashlib.sha256(b"version 2").hexdigest()


def test_a_file_without_its_sidecar_or_with_other_bytes_is_fetched_again(emulator, tmp_path):
    config = backup_config(emulator, tmp_path)
    rows = run_tap(config).records["files"]
    first, second = Path(rows[0]["path"]), Path(rows[1]["path"])
    # As if a run died between moving the bytes and writing the sidecar.
    first.with_name(first.name + SIDECAR_SUFFIX).unlink()
    second.write_bytes(b"truncated")  # size no longer matches
    emulator.clear_log()
    rows = run_tap(config).records["files"]
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == 2
    for row in rows:
        assert Path(row["path"]).read_bytes() == emulator_bytes(emulator, row)


def test_downloads_retry_server_errors_and_dropped_connections(emulator, tmp_path):
    emulator.faults.add(kind="status", status=503, method="GET", path=FILE_GETS)
    emulator.faults.add(kind="drop", method="GET", path=FILE_GETS, after=1)
    rows = run_tap(backup_config(emulator, tmp_path)).records["files"]
    for row in rows:
        assert Path(row["path"]).read_bytes() == emulator_bytes(emulator, row)


def test_a_failed_download_names_the_file_and_leaves_no_half_file(emulator, tmp_path):
    emulator.faults.add(kind="status", status=500, times=None, method="GET", path=FILE_GETS)
    out = run_tap(backup_config(emulator, tmp_path, max_retries=1), allow_failure=True)
    message = str(out.error)
    assert "downloading file" in message and "of record" in message and "500" in message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_killed_mid_download_no_file_looks_complete(tmp_path):
    store = FileStore(str(tmp_path))
    meta = Attachment(name="big.bin", size=10, seq=3)

    def broken_fetch(consume: Any) -> str:
        def chunks() -> Any:
            yield b"12345"
            raise KeyboardInterrupt  # the run is killed midway

        return consume(chunks())

    with pytest.raises(KeyboardInterrupt):
        store.store(("db", "A", 1), meta, broken_fetch)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]

    stored = store.store(("db", "A", 1), meta, lambda consume: consume(iter([b"1234567890"])))
    assert stored.downloaded and Path(stored.path).read_bytes() == b"1234567890"
    sidecar = json.loads(Path(stored.path + SIDECAR_SUFFIX).read_text())
    assert sidecar == {"name": "big.bin", "size": 10, "seq": 3, "sha256": stored.sha256}
    assert not Path(stored.path + PART_SUFFIX).exists()


def test_files_path_may_be_an_fsspec_url(emulator):
    import fsspec

    rows = run_tap(backup_config(emulator, "memory://backup")).records["files"]  # type: ignore[arg-type]
    fs = fsspec.filesystem("memory")
    try:
        for row in rows:
            assert row["path"].startswith("memory://backup/" + CRM_DB + "/")
            with fsspec.open(row["path"], "rb") as handle:
                assert handle.read() == emulator_bytes(emulator, row)
    finally:
        fs.rm("/backup", recursive=True)


# ------------------------------------------------------------- safe names


def test_unsafe_names_are_made_safe_and_kept_in_the_name_column(emulator, tmp_path):
    extra = add_files(emulator)
    rows = run_tap(backup_config(emulator, tmp_path)).records["files"]
    by_name = {r["name"]: r for r in rows}
    assert set(n for _, _, n in extra) <= set(by_name)
    paths = [r["path"] for r in rows]
    assert len(set(paths)) == len(paths)  # no two attachments share a file
    case_twins = {"Scan.PDF", "scan.pdf", "caf\u00e9.txt", "cafe\u0301.txt"}
    for name in (n for _, _, n in extra):
        file_name = Path(by_name[name]["path"]).name
        assert file_name == safe_name(name, tagged=name in case_twins)
        assert len(file_name.encode()) <= MAX_NAME_BYTES
        assert not set(file_name) & set('<>:"/\\|?*\t')
        assert not file_name.endswith((".", " ", SIDECAR_SUFFIX))
    assert Path(by_name["contract.pdf"]["path"]).name == "contract.pdf"  # safe names stay
    # Names that one case-insensitive filesystem would store as one file.
    twins = {
        unicodedata.normalize("NFC", Path(by_name[n]["path"]).name).casefold() for n in case_twins
    }
    assert len(twins) == len(case_twins)


def test_safe_names_tag_case_twins_whatever_their_order():
    names = ["Report.pdf", "photo.jpg", "report.PDF"]
    forward, backward = safe_names(names), safe_names(reversed(names))
    assert forward == backward
    assert forward["photo.jpg"] == "photo.jpg"
    assert forward["Report.pdf"] != forward["report.PDF"]
    assert forward["Report.pdf"].startswith("Report~") and forward["report.PDF"].endswith(".PDF")


@pytest.mark.parametrize(
    ("name", "expected_start"),
    [
        ("report.pdf", "report.pdf"),
        ("Vertrag (März).pdf", "Vertrag (März).pdf"),
        ("a/b\\c:d.txt", "a_b_c_d~"),
        ("CON", "_CON~"),
        ("lpt1.txt", "_lpt1~"),
        ("com¹.log", "_com¹~"),
        ("dots...", "dots_~"),
        ("space ", "space_~"),
        ("..", "_~"),
        ("", "~"),
        ("bell\x07.txt", "bell_~"),
        ("x.ninox.json", "x.ninox~"),
        ("y.ninox-part", "y~"),
    ],
)
def test_safe_name(name, expected_start):
    safe = safe_name(name)
    assert safe.startswith(expected_start)
    if safe != name:
        # The original name's hash, then the extension when there is a short one.
        assert "~" + hashlib.sha256(name.encode()).hexdigest()[:8] in safe


def test_safe_name_of_long_names_keeps_the_extension_within_the_limit():
    long = "é" * 300 + ".jpeg"
    safe = safe_name(long)
    assert len(safe.encode()) <= MAX_NAME_BYTES and safe.endswith(".jpeg")
    assert safe_name("é" * 299 + ".jpeg") != safe  # different long names stay apart


# ------------------------------------------------------ stream and settings


def test_only_files_selected_lists_every_record_and_leaves_table_state_alone(emulator, tmp_path):
    config = backup_config(emulator, tmp_path)
    first = run_tap(config)
    catalog = discover(config)
    for entry in catalog["streams"]:
        selected = entry["tap_stream_id"] == "files"
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = selected
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "D", 1, "new.txt", b"new")
    emulator.clear_log()
    out = run_tap(config, state=first.state, catalog=catalog)
    assert set(out.records) == {"files"}
    # A full read of every table (no bookmark used), one listing per record.
    records = sum(
        len(t.records) for t in emulator.store.database(DEMO_TEAM, CRM_DB).tables.values()
    )
    assert emulator.request_count(method="GET", path_regex=r"/files$") == records
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == 1  # only the new one
    names = {(r["_table_id"], r["_record_id"], r["name"]) for r in out.records["files"]}
    assert ("D", 1, "new.txt") in names
    assert {r["name"] for r in first.records["files"]} < {r["name"] for r in out.records["files"]}
    # The table streams' bookmarks are those of the first run.
    assert out.state["bookmarks"] == {
        k: v for k, v in first.state["bookmarks"].items() if k != "files"
    } | {k: v for k, v in out.state["bookmarks"].items() if k == "files"}


def test_deleted_records_on_an_incremental_run_list_no_files(emulator, tmp_path):
    config = backup_config(emulator, tmp_path)
    first = run_tap(config)
    emulator.store.delete_records(DEMO_TEAM, CRM_DB, "A", [5])
    emulator.clear_log()
    out = run_tap(config, state=first.state)
    assert any(r.get("_sdc_deleted_at") for r in out.records["contact"])
    assert emulator.request_count(method="GET", path_regex=r"/files$") == 0
    assert "files" not in out.records


def test_several_databases_have_one_files_stream_each(emulator, tmp_path):
    emulator.store.attach_file(DEMO_TEAM, PROJECTS_DB, "A", 1, "plan.txt", b"plan")
    out = run_tap(backup_config(emulator, tmp_path, database_ids=[CRM_DB, PROJECTS_DB]))
    files_streams = {name for name in out.records if name.endswith("__files")}
    assert len(files_streams) == 2
    for name in files_streams:
        databases = {r["_database_id"] for r in out.records[name]}
        assert len(databases) == 1
    project_rows = [r for n in files_streams for r in out.records[n] if r["name"] == "plan.txt"]
    assert len(project_rows) == 1 and Path(project_rows[0]["path"]).read_bytes() == b"plan"
    listed = emulator.request_count(method="GET", path_regex=r"/files$")
    emitted = sum(len(v) for n, v in out.records.items() if not n.endswith("__files"))
    assert listed == emitted  # each record listed once, by its own database's stream
    schemas = [m["stream"] for m in out.messages if m["type"] == "SCHEMA"]
    assert sorted(s for s in schemas if s.endswith("__files")) == sorted(files_streams)


def test_download_files_needs_include_files(emulator, tmp_path):
    with pytest.raises(NinoxConfigError, match="include_files"):
        run_tap(tap_config(emulator, download_files=True, files_path=str(tmp_path)))


def test_without_download_files_rows_have_no_path(emulator, tmp_path):
    out = run_tap(tap_config(emulator, include_files=True, files_path=str(tmp_path)))
    assert out.records["files"] and all(r["path"] is None for r in out.records["files"])
    assert emulator.request_count(method="GET", path_regex=FILE_GETS) == 0
    assert not list(tmp_path.iterdir())


def test_a_file_deleted_between_listing_and_download_is_left_out(emulator, tmp_path, caplog):
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "A", 1, "gone.txt", b"soon gone")

    def delete_before_download(entry: Any) -> None:
        if entry.method == "GET" and entry.path.endswith("/records/1/files/gone.txt"):
            emulator.store.delete_file(DEMO_TEAM, CRM_DB, "A", 1, "gone.txt")

    emulator.on_request(delete_before_download)
    rows = run_tap(backup_config(emulator, tmp_path)).records["files"]
    assert "gone.txt" not in {r["name"] for r in rows}
    assert any("gone.txt" in r.message and "deleted" in r.message for r in caplog.records)
    assert not list(tmp_path.rglob("gone.txt*"))
    for row in rows:
        assert Path(row["path"]).read_bytes() == emulator_bytes(emulator, row)


def test_a_404_for_a_file_still_listed_fails_the_run(emulator, tmp_path):
    emulator.faults.add(kind="status", status=404, method="GET", path=FILE_GETS)
    out = run_tap(backup_config(emulator, tmp_path), allow_failure=True)
    assert "downloading file" in str(out.error) and "404" in str(out.error)


# ------------------------------------------------------- paths from server data

EVIL_DB, EVIL_TABLE = "../../escape", ".."


def evil_database(emulator) -> None:
    """A database and table whose ids climb out of any directory they are joined to."""
    fields = [{"id": "A", "name": "Name", "type": "string"}]
    emulator.store.create_database(
        DEMO_TEAM, EVIL_DB, "Escape", [{"id": EVIL_TABLE, "name": "T", "fields": fields}]
    )
    emulator.store.save_records(DEMO_TEAM, EVIL_DB, EVIL_TABLE, [{"fields": {"A": "one"}}])
    emulator.store.attach_file(DEMO_TEAM, EVIL_DB, EVIL_TABLE, 1, "x.txt", b"from the server")


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_server_ids_never_lead_a_download_out_of_files_path(emulator, tmp_path):
    evil_database(emulator)
    files_path = tmp_path / "a" / "b" / "files"
    out = run_tap(backup_config(emulator, files_path, database_ids=[EVIL_DB]))
    (row,) = out.records["files"]
    path = Path(row["path"])
    assert path.read_bytes() == b"from the server"
    # Encoded, not dropped: the layout keeps one directory per id.
    relative = path.relative_to(files_path)
    assert len(relative.parts) == 4
    assert relative.parts[3] == "x.txt"
    assert ".." not in relative.parts and "." not in relative.parts
    # Nothing was written anywhere else.
    assert files_under(tmp_path) == files_under(files_path)


def test_attachments_named_dot_and_dot_dot_are_fetched_as_themselves(emulator, tmp_path):
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "B", 1, ".", b"named dot")
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "B", 1, "..", b"named dot dot")
    out = run_tap(backup_config(emulator, tmp_path, tables=["B"], max_retries=0))
    rows = {r["name"]: r for r in out.records["files"] if r["_record_id"] == 1}
    assert Path(rows["."]["path"]).read_bytes() == b"named dot"
    assert Path(rows[".."]["path"]).read_bytes() == b"named dot dot"
    for row in rows.values():
        assert Path(row["path"]).parent == tmp_path / CRM_DB / "B" / "1"


def test_a_symlink_planted_at_a_partial_downloads_name_is_not_written_through(emulator, tmp_path):
    files_path = tmp_path / "files"
    record_dir = files_path / CRM_DB / "B" / "1"
    record_dir.mkdir(parents=True)
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "B", 1, "logo.png", b"the real bytes")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    (record_dir / ("logo.png" + PART_SUFFIX)).symlink_to(outside)
    (record_dir / ("logo.png" + SIDECAR_SUFFIX)).symlink_to(tmp_path / "sidecar-outside.json")
    out = run_tap(backup_config(emulator, files_path, tables=["B"]))
    row = next(r for r in out.records["files"] if r["name"] == "logo.png")
    assert Path(row["path"]).read_bytes() == b"the real bytes"
    assert outside.read_bytes() == b"keep me"
    assert not (tmp_path / "sidecar-outside.json").exists()
    assert not Path(row["path"]).is_symlink()


def test_a_symlinked_directory_inside_files_path_is_refused_with_one_line(emulator, tmp_path):
    files_path = tmp_path / "files"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files_path.mkdir()
    (files_path / CRM_DB).symlink_to(elsewhere, target_is_directory=True)
    out = run_tap(backup_config(emulator, files_path, tables=["B"]), allow_failure=True)
    assert isinstance(out.error, NinoxError)
    message = str(out.error)
    assert "\n" not in message and "symlink" in message and CRM_DB in message
    assert not any(elsewhere.rglob("*"))


def test_files_path_itself_may_be_a_symlink(emulator, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    rows = run_tap(backup_config(emulator, tmp_path / "link", tables=["B"])).records["files"]
    assert rows
    for row in rows:
        assert Path(row["path"]).read_bytes() == emulator_bytes(emulator, row)


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ("gt5k36w957yt", "gt5k36w957yt"),
        ("AB", "AB"),
        ("12", "12"),
        ("a_b-c", "a_b-c"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("../../x", "%2E%2E%2F%2E%2E%2Fx"),
        ("a%2Fb", "a%252Fb"),
        ("C:\\x", "C%3A%5Cx"),
        ("", "%"),
    ],
)
def test_path_components_from_server_ids_are_kept_or_percent_encoded(component, expected):
    assert safe_component(component) == expected


def test_long_unsafe_components_stay_within_a_file_names_limit():
    first, second = safe_component("." * 300), safe_component("." * 301)
    assert first != second
    assert len(first.encode()) <= MAX_NAME_BYTES and len(second.encode()) <= MAX_NAME_BYTES


def test_the_emulator_resolves_literal_dot_segments_as_web_servers_do(emulator):
    # Why the client must encode them: `.../files/..` is the record itself.
    base = urlsplit(emulator.base_url)
    emulator.store.attach_file(DEMO_TEAM, CRM_DB, "B", 1, "..", b"named dot dot")
    record = f"{base.path}/teams/{DEMO_TEAM}/databases/{CRM_DB}/tables/B/records/1"
    answers = {}
    for path in (f"{record}/files/..", f"{record}/files/%2E%2E"):
        connection = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
        connection.request("GET", path, headers={"Authorization": f"Bearer {TEST_KEY}"})
        answers[path] = connection.getresponse().read()
        connection.close()
    assert json.loads(answers[f"{record}/files/.."])["id"] == 1
    assert answers[f"{record}/files/%2E%2E"] == b"named dot dot"
