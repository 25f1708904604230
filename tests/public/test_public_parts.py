"""The Public API backend's pure parts: types, value forms, checks, paging, feed, write splitting.

What the emulator cannot vary on its own (a server that lies in
`has_more`, an answer without `data`, a feed in any order) is fed to each
part directly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ninox_core.backend import ChangeSet, Cursor, ScanReport, WriteOp
from ninox_core.errors import NinoxCursorExpired, NinoxError
from ninox_core.model import fieldtypes
from ninox_core.model.schema import NinoxField, NinoxTable
from ninox_core.public import checks, feed, scan
from ninox_core.public.checks import Page
from ninox_core.public.paging import offset_pages
from ninox_core.public.records import RecordReader
from ninox_core.public.scan import scan_rows
from ninox_core.public.schema import shared_type, to_table
from ninox_core.public.writes import WireValues, batches, encoded_size, runs
from ninox_core.transport.answers import EMPTY, TextAnswer, Unchecked

# ------------------------------------------------------------------- types


@pytest.mark.parametrize(
    ("field", "shared"),
    [
        ({"type": "string", "variant": "text"}, "string"),
        ({"type": "string"}, "string"),
        ({"type": "string", "variant": "multiline-text"}, "text"),
        ({"type": "string", "variant": "email"}, "email"),
        ({"type": "string", "variant": "phone"}, "phone"),
        ({"type": "string", "variant": "url"}, "url"),
        ({"type": "string", "variant": "location"}, "location"),
        ({"type": "string", "variant": "signature"}, "string"),
        ({"type": "reference"}, "ref"),
        ({"type": "reverse"}, "rev"),
        ({"type": "function"}, "formula"),
        ({"type": "timestamp"}, "timestamp"),
        ({"type": "date"}, "date"),
        ({"type": "time"}, "time"),
        ({"type": "choice"}, "choice"),
        ({"type": "multi"}, "multi"),
        ({"type": "dchoice"}, "string"),
        ({"type": "dmulti"}, "unknown"),
        ({"type": "react"}, "unknown"),
    ],
)
def test_public_types_map_onto_the_shared_type_names(field, shared):
    assert shared_type(field) == shared


def field(table: NinoxTable, name: str) -> NinoxField:
    """The table's field `name` (the test fails when there is none)."""
    found = table.field_by_name(name)
    assert found is not None, name
    return found


def test_every_mapped_type_but_unknown_is_known_to_the_shared_model():
    for kind in ("string", "text", "email", "ref", "rev", "formula", "timestamp", "file", "user"):
        assert fieldtypes.is_known_type(kind)


def test_a_table_keeps_names_history_unique_fields_and_choices():
    table = to_table(
        {"name": "contacts", "hasHistory": True},
        [
            {"name": "email", "type": "string", "variant": "email", "unique": True},
            {
                "name": "status",
                "type": "choice",
                "options": [{"id": "1", "name": "Active", "order": 0}],
            },
            {"name": "pick", "type": "dchoice", "options": "expr"},
            {"name": "company", "type": "reference", "refTableId": "companies"},
        ],
    )
    assert (table.id, table.name, table.has_history) == ("contacts", "contacts", True)
    assert field(table, "email").unique
    assert [(c.id, c.caption) for c in field(table, "status").choices] == [("1", "Active")]
    assert field(table, "pick").choices == ()
    assert field(table, "company").ref_table_id == "companies"
    assert not to_table({"name": "t"}, []).has_history


def test_ids_given_by_the_server_become_the_handles():
    table = to_table({"name": "t", "id": "tbl_9"}, [{"name": "a", "type": "number", "id": "f_1"}])
    assert (table.id, table.name) == ("tbl_9", "t")
    assert (table.fields[0].id, table.fields[0].name) == ("f_1", "a")


# ------------------------------------------------------------- value forms

TABLE = to_table(
    {"name": "t"},
    [
        {"name": "ref", "type": "reference"},
        {"name": "rev", "type": "reverse"},
        {
            "name": "pick",
            "type": "choice",
            "options": [{"id": "1", "name": "One"}, {"id": "2", "name": "2"}],
        },
        {
            "name": "tags",
            "type": "multi",
            "options": [{"id": "1", "name": "A, B"}, {"id": "2", "name": "C"}],
        },
        {"name": "at", "type": "timestamp"},
        {"name": "day", "type": "date"},
        {"name": "clock", "type": "time"},
        {"name": "span", "type": "timeinterval"},
        {"name": "meet", "type": "appointment"},
        {"name": "text", "type": "string"},
    ],
)


@pytest.mark.parametrize(
    ("field", "given", "read"),
    [
        ("ref", "7", 7),
        ("ref", 7, 7),
        ("ref", "", None),
        ("rev", ["1", "2"], [1, 2]),
        ("rev", "1,2", [1, 2]),
        ("pick", "One", "One"),
        ("pick", "1", "One"),
        ("pick", "2", "2"),  # a name that is also an id stays the name
        ("tags", ["A, B", "C"], ["A, B", "C"]),
        ("tags", "A, B,C", ["A, B", "C"]),
        ("tags", ["1", "2"], ["A, B", "C"]),
        # Whole seconds: Ninox's own form, as the shared writer writes it.
        ("at", "2024-02-15T13:45:30.000Z", "2024-02-15T13:45:30"),
        ("at", "2024-02-15T13:45:30", "2024-02-15T13:45:30"),
        ("at", "2024-02-15T14:45:30+01:00", "2024-02-15T13:45:30"),
        ("at", "2024-02-15T13:45:30.250Z", "2024-02-15T13:45:30.250Z"),
        ("at", 1708004730000, "2024-02-15T13:45:30"),
        ("at", 1708004730250, "2024-02-15T13:45:30.250Z"),
        ("day", "2024-02-15", "2024-02-15"),
        ("day", 1707955200000, "2024-02-15"),
        ("clock", "09:30", "09:30:00"),
        ("clock", "09:30:15", "09:30:15"),
        ("span", 1516123, "00:25:16.123"),
        ("span", "08:00:00", "08:00:00"),
        (
            "meet",
            "2024-02-15T09:00:00 - 2024-02-15T10:00:00",
            "[2024-02-15T09:00:00Z,2024-02-15T10:00:00Z)",
        ),
        (
            "meet",
            "[2024-02-15T09:00:00Z,2024-02-15T10:00:00Z)",
            "[2024-02-15T09:00:00Z,2024-02-15T10:00:00Z)",
        ),
        ("text", "as is", "as is"),
    ],
)
def test_each_value_form_reads_as_the_shared_read_form(field, given, read):
    record = RecordReader(TABLE)({"id": "3", "values": {field: given}})
    assert record.id == 3
    assert record.values[field] == read


def test_absent_fields_read_as_none_and_unknown_keys_are_kept():
    record = RecordReader(TABLE)({"id": 4, "values": {"new_field": 1}})
    assert record.values["text"] is None and record.values["ref"] is None
    assert record.values["new_field"] == 1
    assert RecordReader(TABLE)({"id": 5}).values["text"] is None


def test_the_tap_reader_takes_the_normalised_forms():
    record = RecordReader(TABLE)({"id": 1, "values": {"at": 1708004730000, "rev": "4"}})
    at = fieldtypes.reader(field(TABLE, "at"))
    assert at is not None and at(record.values["at"]) == "2024-02-15T13:45:30Z"
    rev = fieldtypes.reader(field(TABLE, "rev"))
    assert rev is not None and rev(record.values["rev"]) == [4]


# ------------------------------------------------------------------ checks


def test_a_web_page_is_never_taken_for_an_answer():
    with pytest.raises(checks.WebPage):
        checks.records_page(TextAnswer("text/html", "an HTML page: Ninox"), 200)


@pytest.mark.parametrize("answer", [EMPTY, None, [], {}, {"records": []}, {"data": {}}])
def test_an_answer_without_a_data_list_is_not_a_page(answer):
    with pytest.raises(Unchecked):
        checks.records_page(answer, 200)


def test_a_record_without_an_id_fails_the_page_at_once():
    with pytest.raises(Unchecked) as caught:
        checks.records_page({"data": [{"values": {}}]}, 200)
    assert not caught.value.transient


def test_a_page_keeps_what_page_info_says():
    page = checks.records_page(
        {"data": [{"id": "1"}], "page_info": {"has_more": True, "limit": 10, "offset": 0}}, 200
    )
    assert (page.has_more, page.limit, len(page.rows)) == (True, 10, 1)


def test_a_create_answer_must_name_one_new_id_per_record():
    assert checks.created(2)({"data": {"ids": ["5", "6"]}}, 201) == [5, 6]
    wrongs: list[Any] = [
        {"data": {"ids": ["5"]}},
        {"data": {"ids": ["5", "5"]}},
        EMPTY,
        {"data": {}},
    ]
    for wrong in wrongs:
        with pytest.raises(Unchecked):
            checks.created(2)(wrong, 201)


def test_an_update_answer_may_list_fewer_ids_but_none_not_sent():
    assert checks.updated([1, 2])({"data": {"updatedIds": ["1"]}}, 200) == [1]
    assert checks.updated([1, 2])({"data": {}}, 200) == []
    with pytest.raises(Unchecked):
        checks.updated([1, 2])({"data": {"updatedIds": ["3"]}}, 200)
    with pytest.raises(Unchecked):
        checks.updated([1, 2])(EMPTY, 200)


def test_a_delete_answer_names_only_ids_sent():
    assert checks.deleted([1, 2])({"data": {"deletedIds": [1, "2"]}}, 200) == [1, 2]
    with pytest.raises(Unchecked):
        checks.deleted([1])({"data": {"deletedIds": [9]}}, 200)


def test_an_upsert_answer_names_no_more_records_than_sent():
    assert checks.upserted(2)({"data": {"createdIds": ["9"], "updatedIds": ["1"]}}, 200) == (
        [9],
        [1],
    )
    with pytest.raises(Unchecked):
        checks.upserted(1)({"data": {"createdIds": ["9"], "updatedIds": ["1"]}}, 200)


def test_a_feed_page_needs_its_as_of():
    with pytest.raises(Unchecked, match="asOf"):
        checks.feed_page({"data": [], "meta": {}}, 200)


# ------------------------------------------------------------------- paging


def pages_of(total: int, *, applied: int | None = None, lie: bool | None = None):
    """A fetch over `total` rows; `applied`: the limit the server uses; `lie`: has_more always."""
    calls = []

    def fetch(offset: int, limit: int) -> Page:
        calls.append(offset)
        size = min(limit, applied or limit)
        rows = [{"id": str(i + 1)} for i in range(offset, min(total, offset + size))]
        has_more = lie if lie is not None else offset + size < total
        return Page(rows, has_more, applied, {})

    return fetch, calls


@pytest.mark.parametrize(
    ("total", "kwargs", "requests"),
    [
        (0, {}, 1),
        (250, {}, 3),
        (200, {}, 3),  # a full last page: one more request
        (200, {"lie": True}, 3),  # has_more true on the last page: the empty page ends
        (200, {"lie": False}, 3),  # has_more false on full pages: go on anyway
        (50, {"applied": 10}, 6),  # a server applying 10 whatever is asked
    ],
)
def test_offset_pages_end_where_the_rows_end(total, kwargs, requests):
    fetch, calls = pages_of(total, **kwargs)
    rows = [r for _, page in offset_pages(fetch, 100) for r in page.rows]
    assert len(rows) == total
    assert len(calls) == requests


def test_a_short_page_said_to_have_more_does_not_end_the_read():
    served = iter(
        [Page([{"id": "1"}], has_more=True, limit=None, meta={}), Page([], None, None, {})]
    )
    rows = [r for _, page in offset_pages(lambda o, n: next(served), 100) for r in page.rows]
    assert rows == [{"id": "1"}]


class Table:
    """Rows by position; `delete_each_page` rows go from the start before each request past 0."""

    def __init__(self, ids, *, delete_each_page=0, shuffle=False):
        self.ids = list(ids)
        self.delete_each_page = delete_each_page
        self.shuffle = shuffle
        self.requests = []

    def fetch(self, offset, limit, sort):
        self.requests.append((offset, sort))
        if offset > 0:
            del self.ids[: self.delete_each_page]
        ids = list(self.ids)
        if self.shuffle and sort is None:
            ids.reverse()
        rows = [{"id": i} for i in ids[offset : offset + limit]]
        return Page(rows, offset + limit < len(ids), None, {})


def read(table, limit=10, *, overlap=False):
    pages = scan_rows(table.fetch, limit, "/t", overlap=overlap)
    return [int(r["id"]) for _, _, rows in pages for r in rows]


def test_a_scan_reads_pages_end_to_end_and_a_full_last_page_said_last_ends_it():
    table = Table(range(1, 31))
    assert read(table) == list(range(1, 31))
    # ⌈30/10⌉ pages: the third is full and says has_more false (the contract's end).
    assert [offset for offset, _ in table.requests] == [0, 10, 20]


def test_a_scan_without_overlap_may_skip_a_record_when_one_before_the_cursor_is_deleted():
    # What the caller catches (docs/decisions/0023): each deletion skips one record.
    table = Table(range(1, 31), delete_each_page=1)
    got = read(table)
    assert len(got) == len(set(got))
    assert set(table.ids) - set(got) == {11, 22}


def test_a_scan_reports_the_largest_id_read_before_its_last_request():
    report = ScanReport()
    list(scan_rows(Table(range(1, 26)).fetch, 10, "/t", report=report))
    assert report.read_before_last == 20  # the short page at offset 20 was the last
    one_page = ScanReport()
    list(scan_rows(Table(range(1, 6)).fetch, 10, "/t", report=one_page))
    assert one_page.read_before_last == 0  # no deletion can have hidden anything


def test_a_full_last_page_that_says_more_reports_every_id_read():
    # V7: the empty page after the full last one is the last request.
    served = iter(
        [
            Page([{"id": str(i)} for i in range(1, 11)], has_more=True, limit=10, meta={}),
            Page([], has_more=False, limit=10, meta={}),
        ]
    )
    report = ScanReport()
    rows = [
        r
        for _, _, page in scan_rows(lambda o, n, s: next(served), 10, "/t", report=report)
        for r in page
    ]
    assert len(rows) == 10 and report.read_before_last == 10


def test_a_scan_with_overlap_overlaps_pages_by_one_record():
    table = Table(range(1, 26))
    assert read(table, overlap=True) == list(range(1, 26))
    assert [offset for offset, _ in table.requests] == [0, 9, 18]


def test_records_deleted_before_the_cursor_do_not_hide_a_record_with_overlap():
    table = Table(range(1, 61), delete_each_page=1)
    got = read(table, overlap=True)
    assert set(got) >= set(table.ids)  # every record that outlived the read was read
    assert len(got) == len(set(got))
    assert len(table.ids) < 60


def test_a_table_emptied_faster_than_it_is_read_fails_with_one_line():
    with pytest.raises(NinoxError, match="deleted faster than it could be read"):
        read(Table(range(1, 200), delete_each_page=3), overlap=True)


@pytest.mark.parametrize("overlap", [False, True])
def test_records_in_another_order_are_read_again_sorted_by_id(overlap):
    table = Table(range(1, 26), shuffle=True)
    assert sorted(read(table, overlap=overlap)) == list(range(1, 26))
    assert any(sort == "id" for _, sort in table.requests)


class InterleavedTable(Table):
    """Each page in id order, the pages not: odd ids first, then even ones (unless sorted)."""

    def fetch(self, offset, limit, sort):
        self.requests.append((offset, sort))
        ids = list(self.ids)
        if sort is None:
            ids = ids[::2] + ids[1::2]
        rows = [{"id": i} for i in ids[offset : offset + limit]]
        rows.sort(key=lambda row: row["id"])
        return Page(rows, offset + limit < len(ids), None, {})


@pytest.mark.parametrize("overlap", [False, True])
def test_pages_in_order_one_by_one_but_not_together_are_read_again_sorted_each_record_once(
    overlap,
):
    table = InterleavedTable(range(1, 41))
    got = read(table, overlap=overlap)
    assert sorted(got) == list(range(1, 41))
    assert len(got) == len(set(got))
    assert any(sort == "id" for _, sort in table.requests)


def test_a_read_keeps_runs_of_ids_not_every_id():
    # Memory stays flat: what a first attempt passed on is kept as runs of
    # consecutive ids, a handful of numbers for a dense table.
    runs = scan._Runs()
    for record_id in [*range(1, 100_001), *range(100_010, 100_020)]:
        runs.add(record_id)
    assert runs.starts == [1, 100_010] and runs.ends == [100_000, 100_019]
    assert 5 in runs and 100_015 in runs
    assert 100_005 not in runs and 0 not in runs and 100_020 not in runs


# --------------------------------------------------------------------- feed


def test_the_feed_collapses_to_the_last_change_per_record_in_any_order():
    entries = [
        {"id": "9", "changeType": "remove", "changedAt": "2026-12-01T09:00:00.000Z"},
        {"id": "9", "changeType": "insert", "changedAt": "2026-12-01T08:00:00.000Z"},
        {"id": "3", "changeType": "update", "changedAt": "2026-12-01T08:30:00.000Z"},
        {"id": "4", "changeType": "delete", "changedAt": "2026-12-01T07:00:00.000Z"},
        {"id": "4", "changeType": "create", "changedAt": "2026-12-01T07:30:00.000Z"},
    ]
    changes = feed.collapse(entries, Cursor("c"))
    assert isinstance(changes, ChangeSet)
    assert changes.removed == (9,)
    assert set(changes.changed) == {3, 4}
    assert changes.changed_at[9] == "2026-12-01T09:00:00Z"
    assert changes.cursor == Cursor("c")


def test_the_cursor_is_as_of_less_the_lookback():
    assert feed.cursor_at("2026-12-07T10:00:00.000Z") == Cursor("2026-12-07T09:59:00.000Z")
    with pytest.raises(NinoxCursorExpired):
        feed.cursor_at("yesterday")


def test_the_feed_must_reach_back_to_the_bookmark():
    since = datetime(2026, 11, 1, tzinfo=timezone.utc)
    feed.check_reach(since, {"asOf": "2026-11-20T00:00:00Z", "retentionCutoff": None}, "t")
    with pytest.raises(NinoxCursorExpired, match="older than"):
        feed.check_reach(since, {"asOf": "x", "retentionCutoff": "2026-11-02T00:00:00Z"}, "t")
    with pytest.raises(NinoxCursorExpired, match="30 days"):
        feed.check_reach(since, {"asOf": "2026-12-07T00:00:00Z"}, "t")


def test_the_probe_asks_from_an_hour_back():
    now = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)
    assert feed.probe_since(now) == "2026-12-07T09:00:00.000Z"


# ------------------------------------------------------------------- writes


def test_a_plan_runs_by_kind_and_match_field_in_plan_order():
    plan = [
        WriteOp("create", {}),
        WriteOp("create", {}),
        WriteOp("update", {}, 1),
        WriteOp("upsert_by", {}, match_field="a"),
        WriteOp("upsert_by", {}, match_field="b"),
        WriteOp("create", {}),
    ]
    assert list(runs(plan)) == [
        ("create", None, [0, 1]),
        ("update", None, [2]),
        ("upsert_by", "a", [3]),
        ("upsert_by", "b", [4]),
        ("create", None, [5]),
    ]


def test_batches_stay_under_the_limit_and_keep_order():
    items = [{"v": "x" * 100} for _ in range(10)]
    size = encoded_size(items[0]) + 1
    cut = list(batches(items, "POST /t", envelope=10, limit=10 + 3 * size))
    assert cut == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    with pytest.raises(NinoxError, match="record 2 of the batch"):
        list(batches([{"v": 1}, {"v": "x" * 1000}], "POST /t", limit=500))


def test_wire_values_are_by_name_and_date_times_carry_their_zone():
    table = to_table(
        {"name": "t"},
        [
            {"name": "at", "type": "timestamp", "id": "f1"},
            {"name": "text", "type": "string", "id": "f2"},
        ],
    )
    wire = WireValues(table)
    assert wire({"f1": "2024-01-02T03:04:05", "f2": "2024-01-02T03:04:05"}) == {
        "at": "2024-01-02T03:04:05Z",
        "text": "2024-01-02T03:04:05",
    }
    assert wire.name("f1") == "at" and wire.name("other") == "other"
