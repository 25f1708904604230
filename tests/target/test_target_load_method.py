"""`load_method`: upsert (the default), append-only and overwrite."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from target_ninox import target as target_module
from target_ninox.writer import TableWriter
from tests.target_support import (
    DEMO_TEAM,
    PEOPLE,
    PEOPLE_PROPS,
    TEST_DB,
    make_database,
    record,
    rows,
    run_target,
    schema,
    target_config,
)

PROPS = {**PEOPLE_PROPS, "_id": {"type": ["integer", "null"]}}


def _seed(emulator: Any) -> None:
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM,
        TEST_DB,
        PEOPLE,
        [{"fields": {"Email": f"old{i}@x", "Name": f"old{i}"}} for i in range(1, 6)],
    )


def _names(emulator: Any) -> dict[int, str]:
    return {i: r.get("Name", "") for i, r in rows(emulator, PEOPLE).items()}


LOAD = [
    schema("people", PROPS, ["Email"]),
    record("people", {"Email": "old1@x", "Name": "changed1"}),
    record("people", {"_id": 2, "Email": "old2@x", "Name": "changed2"}),
    record("people", {"Email": "new@x", "Name": "new"}),
]


def test_upsert_is_the_default(emulator):
    _seed(emulator)
    assert run_target(target_config(emulator), LOAD).exit_code == 0
    names = _names(emulator)
    assert names == {1: "changed1", 2: "changed2", 3: "old3", 4: "old4", 5: "old5", 6: "new"}


def test_append_only_creates_every_record(emulator):
    _seed(emulator)
    run = run_target(target_config(emulator, load_method="append-only"), LOAD)
    assert run.exit_code == 0
    names = _names(emulator)
    assert names == {
        1: "old1",
        2: "old2",
        3: "old3",
        4: "old4",
        5: "old5",
        6: "changed1",
        7: "changed2",
        8: "new",
    }


def test_overwrite_deletes_what_the_run_did_not_write(emulator, caplog):
    _seed(emulator)
    config = target_config(emulator, load_method="overwrite", batch_size_rows=2)
    with caplog.at_level(logging.INFO):
        run = run_target(config, LOAD)
    assert run.exit_code == 0
    assert _names(emulator) == {1: "changed1", 2: "changed2", 6: "new"}
    assert any("deleted 3 records of table 'People'" in r.getMessage() for r in caplog.records)


def test_overwrite_deletes_nothing_after_a_failed_run(emulator):
    _seed(emulator)
    config = target_config(emulator, load_method="overwrite")
    run = run_target(config, [*LOAD, record("people", {"Email": "x@x", "Age": "old"})])
    assert run.exit_code == 1
    assert len(rows(emulator, PEOPLE)) == 6  # written, nothing deleted


def test_overwrite_dry_run_reports_how_many_and_deletes_nothing(emulator, caplog):
    _seed(emulator)
    config = target_config(emulator, load_method="overwrite", dry_run=True)
    with caplog.at_level(logging.INFO):
        run = run_target(config, LOAD)
    assert run.exit_code == 0
    assert len(rows(emulator, PEOPLE)) == 5
    assert any("would delete 3 records of table 'People'" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(("load_method", "kept"), [("append-only", 0), ("overwrite", 250)])
def test_only_overwrite_keeps_the_ids_written(emulator, monkeypatch, load_method, kept):
    # A set of every id written costs tens of MB on a large load; only
    # `overwrite` needs it (target_ninox/writer.py, `remember_written`).
    make_database(emulator)
    writers: list[TableWriter] = []

    class Recorded(TableWriter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            writers.append(self)

    monkeypatch.setattr(target_module, "TableWriter", Recorded)
    messages = [schema("people", PEOPLE_PROPS)]
    messages += [record("people", {"Email": f"p{i}@x", "Name": "p"}) for i in range(250)]
    run = run_target(target_config(emulator, load_method=load_method), messages, emulator)
    assert run.exit_code == 0
    assert len(rows(emulator, PEOPLE)) == 250
    assert [len(w.written_ids) for w in writers] == [kept]


def test_overwrite_reads_the_table_1000_records_a_page(emulator):
    # docs/decisions/0015-page-size-default.md: 1000 per page, the most Ninox answers.
    make_database(emulator)
    emulator.store.save_records(
        DEMO_TEAM, TEST_DB, PEOPLE, [{"fields": {"Name": f"old{i}"}} for i in range(2500)]
    )
    emulator.clear_log()
    config = target_config(emulator, load_method="overwrite")
    run = run_target(config, [schema("people", PROPS), record("people", {"Name": "new"})])
    assert run.exit_code == 0
    reads = [
        r
        for r in emulator.requests
        if r.method == "GET" and r.path.endswith("/records") and "sinceSq" not in r.query
    ]
    assert {r.query.get("perPage") for r in reads} == {"1000"}
    assert len(reads) == 4  # ⌈2501 / 1000⌉ pages and the empty one that ends the read
    assert _names(emulator) == {2501: "new"}


def test_append_only_reads_three_things_before_its_posts(emulator):
    """The tables, the database's sequence once and the change feed; then one POST a batch.

    The rerun marker and the lost-answer read-back point both want the
    sequence before the first write: one `GET` of the database serves both
    (docs/design.md, "At realistic latency").
    """
    make_database(emulator)
    emulator.clear_log()
    people = [record("people", {"Email": f"n{i}@x", "Name": f"n{i}"}) for i in range(250)]
    config = target_config(emulator, load_method="append-only", batch_size_rows=100)
    assert run_target(config, [schema("people", PROPS, ["Email"]), *people]).exit_code == 0
    assert emulator.request_counts() == {
        f"GET /teams/{DEMO_TEAM}/databases/{TEST_DB}/tables": 1,
        f"GET /teams/{DEMO_TEAM}/databases/{TEST_DB}": 1,
        f"GET /teams/{DEMO_TEAM}/databases/{TEST_DB}/tables/{PEOPLE}/changes": 1,
        f"POST /teams/{DEMO_TEAM}/databases/{TEST_DB}/tables/{PEOPLE}/records": 3,
    }
