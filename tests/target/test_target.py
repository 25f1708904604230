"""target-ninox against the emulator: mapping, write modes, batching, idempotence."""

from __future__ import annotations

import logging
import math

import pytest

from tests.target_support import (
    COMPANIES,
    CONTACT_EMAIL,
    PEOPLE,
    PEOPLE_PROPS,
    STRING,
    count,
    make_database,
    one,
    posts,
    record,
    rows,
    run_target,
    schema,
    singer_lines,
    state,
    target_config,
)


@pytest.fixture
def emu(emulator):
    """The emulator with the target tests' empty database."""
    make_database(emulator)
    emulator.clear_log()
    return emulator


def people(n: int, start: int = 0, **extra) -> list[dict]:
    return [
        record("people", {"Email": f"p{i}@example.com", "Name": f"Person {i}", **extra})
        for i in range(start, start + n)
    ]


PEOPLE_SCHEMA = schema("people", PEOPLE_PROPS)


# ------------------------------------------------------------------ mapping


def test_stream_name_matches_table_by_the_tap_naming_rule(emu):
    run = run_target(target_config(emu), singer_lines("stream_named_like_tap_table"))
    assert run.exit_code == 0
    assert list(rows(emu, CONTACT_EMAIL).values()) == [{"Address": "a@b"}]


def test_database_prefixed_stream_matches_by_its_table_part(emu):
    run = run_target(target_config(emu), singer_lines("database_prefixed_stream"))
    assert run.exit_code == 0
    assert list(rows(emu, CONTACT_EMAIL).values()) == [{"Address": "x@y"}]


def test_stream_named_by_table_id(emu):
    run = run_target(target_config(emu), singer_lines("stream_named_by_table_id"))
    assert run.exit_code == 0
    assert list(rows(emu, COMPANIES).values()) == [{"Name": "Acme"}]


@pytest.mark.parametrize("target_table", ["Companies", "B"])
def test_table_mapping_by_name_or_id(emu, target_table):
    config = target_config(emu, table_mapping={"orgs": target_table})
    run = run_target(config, singer_lines("stream_needing_table_mapping"))
    assert run.exit_code == 0
    assert list(rows(emu, COMPANIES).values()) == [{"Name": "Initech"}]


def test_properties_match_fields_by_name_else_by_id(emu):
    # "A" is the id of the People table's Email field.
    run = run_target(target_config(emu), singer_lines("properties_by_field_name_and_id"))
    assert run.exit_code == 0
    assert list(rows(emu, PEOPLE).values()) == [{"Name": "Ida", "Email": "ida@x"}]


def test_tap_columns_sdc_and_computed_fields_are_not_written(emu, caplog):
    # tap-ninox's output: `_id`, `_sequence`, `_created_*`, `_modified_*`, `_sdc_*`
    # and "Label", a formula field, besides "Name".
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emu), singer_lines("tap_columns_and_computed_field"))
    assert run.exit_code == 0
    assert sorted(r["Name"] for r in rows(emu, PEOPLE).values()) == ["Zed", "Zoe"]
    warnings = [r.getMessage() for r in caplog.records if "computed by Ninox" in r.getMessage()]
    assert len(warnings) == 1 and "'Label'" in warnings[0]


def test_unknown_field_fails_at_schema_time_before_any_write(emu, caplog):
    # Line 3 is the people SCHEMA with "Shoe size" and "Hat", which People lacks.
    with caplog.at_level(logging.ERROR):
        run = run_target(target_config(emu), singer_lines("unknown_fields_in_schema"), emu)
    assert run.exit_code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "stream 'people'" in errors[0] and "input line 3" in errors[0]
    assert "'Shoe size', 'Hat'" in errors[0] and "unknown_fields" in errors[0]
    # Records before the bad line are committed; nothing of the bad stream.
    assert list(rows(emu, COMPANIES).values()) == [{"Name": "Early"}]
    assert rows(emu, PEOPLE) == {}


def test_unknown_fields_ignore_skips_them(emu):
    config = target_config(emu, unknown_fields="ignore")
    run = run_target(config, singer_lines("undeclared_value_in_record"))
    assert run.exit_code == 0
    assert list(rows(emu, PEOPLE).values()) == [{"Name": "Al"}]


def test_unknown_stream_names_the_tables_that_exist(emu, caplog):
    with caplog.at_level(logging.ERROR):
        run = run_target(target_config(emu), singer_lines("schema_for_unknown_stream"))
    assert run.exit_code == 1
    (error,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'nowhere'" in error and "'People' (A)" in error and "table_mapping" in error


# -------------------------------------------------------------- write modes


@pytest.mark.parametrize(("count", "batch"), [(250, 100), (7, 3), (5, 5)])
def test_creates_cost_one_post_per_batch(emu, count, batch):
    run = run_target(target_config(emu, batch_size_rows=batch), [PEOPLE_SCHEMA, *people(count)])
    assert run.exit_code == 0
    assert posts(emu) == math.ceil(count / batch)
    assert len(rows(emu, PEOPLE)) == count


def test_records_with_id_are_upserted_keeping_their_ids(emu):
    config = target_config(emu)
    props = {"_id": {"type": "integer"}, "Name": STRING}
    messages = [schema("companies", props, ["_id"])] + [
        record("companies", {"_id": rid, "Name": f"Co {rid}"}) for rid in (7, 42, 1000)
    ]
    assert run_target(config, messages).exit_code == 0
    assert rows(emu, COMPANIES) == {
        7: {"Name": "Co 7"},
        42: {"Name": "Co 42"},
        1000: {"Name": "Co 1000"},
    }
    # Again with a change: the same ids are updated, nothing is added.
    messages[2] = record("companies", {"_id": 42, "Name": "Renamed"})
    emu.clear_log()
    assert run_target(config, messages).exit_code == 0
    # One POST, and no reads of records: `_id` needs no key index.
    assert posts(emu) == 1
    assert count(emu, method="GET", path_regex=r"/records$") == 0
    assert rows(emu, COMPANIES)[42] == {"Name": "Renamed"}
    assert len(rows(emu, COMPANIES)) == 3


def test_upsert_keys_update_existing_records_and_create_new_ones(emu):
    config = target_config(emu, upsert_keys={"people": ["Email"]}, batch_size_rows=50)
    assert run_target(config, [PEOPLE_SCHEMA, *people(30)]).exit_code == 0
    before = rows(emu, PEOPLE)
    emu.clear_log()
    changed = people(10, start=25, Notes="second run")  # 25..29 exist, 30..34 are new
    assert run_target(config, [PEOPLE_SCHEMA, *changed]).exit_code == 0
    # One POST; the key index is read once, keyset-paged (one page + the empty one).
    assert count(emu, method="POST") == 1
    assert count(emu, method="GET", path_regex=r"/records$") == 2
    after = rows(emu, PEOPLE)
    assert len(after) == 35
    for rid, fields in before.items():
        if fields["Email"] in {f"p{i}@example.com" for i in range(25, 30)}:
            assert after[rid]["Notes"] == "second run"
        else:
            assert after[rid] == fields


def test_stream_key_properties_are_upsert_keys_when_they_are_fields(emu):
    config = target_config(emu)
    keyed = schema("people", PEOPLE_PROPS, ["Email"])
    assert run_target(config, [keyed, *people(3)]).exit_code == 0
    assert run_target(config, [keyed, *people(3, Notes="x")]).exit_code == 0
    assert sorted(r["Notes"] for r in rows(emu, PEOPLE).values()) == ["x", "x", "x"]


def test_same_key_twice_in_one_batch_creates_one_record(emu):
    config = target_config(emu, upsert_keys={"people": ["Email"]})
    messages = [
        PEOPLE_SCHEMA,
        record("people", {"Email": "dup@x", "Name": "First", "Notes": "kept"}),
        record("people", {"Email": "other@x", "Name": "Other"}),
        record("people", {"Email": "dup@x", "Name": "Second"}),
    ]
    assert run_target(config, messages).exit_code == 0
    by_email = {r["Email"]: r for r in rows(emu, PEOPLE).values()}
    assert len(by_email) == 2 and len(rows(emu, PEOPLE)) == 2
    assert by_email["dup@x"] == {"Email": "dup@x", "Name": "Second", "Notes": "kept"}
    assert posts(emu) == 1


def test_second_identical_run_changes_nothing(emu):
    config = target_config(emu, upsert_keys={"people": ["Email"]}, batch_size_rows=7)
    messages = [PEOPLE_SCHEMA, *people(20, Age=3.5, Kind="Person", Tags=["red", "blue"])]
    assert run_target(config, messages).exit_code == 0
    first = rows(emu, PEOPLE)
    assert run_target(config, messages).exit_code == 0
    assert rows(emu, PEOPLE) == first


def test_records_are_written_in_batches_across_streams(emu):
    config = target_config(emu, batch_size_rows=4)
    messages = [PEOPLE_SCHEMA, schema("companies", {"Name": STRING})]
    for i in range(6):
        messages += [*people(1, start=i), record("companies", {"Name": f"C{i}"})]
    assert run_target(config, messages).exit_code == 0
    assert len(rows(emu, PEOPLE)) == 6 and len(rows(emu, COMPANIES)) == 6
    assert posts(emu) == 4  # 4 + 2 per stream


# --------------------------------------------------------- lost answers


def test_lost_answer_of_keyed_creates_never_duplicates(emu, caplog):
    config = target_config(emu, upsert_keys={"people": ["Email"]}, batch_size_rows=10)
    emu.faults.add(kind="lost_response", times=1, method="POST")
    with caplog.at_level(logging.WARNING):
        run = run_target(config, [PEOPLE_SCHEMA, *people(25)])
    assert run.exit_code == 0
    emails = sorted(r["Email"] for r in rows(emu, PEOPLE).values())
    assert emails == sorted(f"p{i}@example.com" for i in range(25))
    assert any("answer was lost" in r.getMessage() for r in caplog.records)
    # And a rerun of the same input still adds nothing.
    assert run_target(config, [PEOPLE_SCHEMA, *people(25)]).exit_code == 0
    assert len(rows(emu, PEOPLE)) == 25


def test_lost_answer_of_unkeyed_creates_finds_applied_records(emu):
    config = target_config(emu, batch_size_rows=10)
    # Identical records too: each one claims its own match.
    messages = [PEOPLE_SCHEMA, *people(12), *[record("people", {"Name": "Same"})] * 3]
    emu.faults.add(kind="lost_response", times=2, method="POST")
    assert run_target(config, messages).exit_code == 0
    names = sorted(str(r.get("Name")) for r in rows(emu, PEOPLE).values())
    assert names == sorted([f"Person {i}" for i in range(12)] + ["Same"] * 3)


def test_lost_answer_of_id_upserts_is_resent_safely(emu):
    config = target_config(emu)
    props = {"_id": {"type": "integer"}, "Name": STRING}
    messages = [schema("companies", props, ["_id"])] + [
        record("companies", {"_id": rid, "Name": f"Co {rid}"}) for rid in range(1, 6)
    ]
    emu.faults.add(kind="lost_response", times=1, method="POST")
    assert run_target(config, messages).exit_code == 0
    assert rows(emu, COMPANIES) == {rid: {"Name": f"Co {rid}"} for rid in range(1, 6)}


# ------------------------------------------------------------- deletions


def deleted(values: dict) -> dict:
    return record("people", {**values, "_sdc_deleted_at": "2024-01-01T00:00:00Z"})


PEOPLE_WITH_META = schema(
    "people", {**PEOPLE_PROPS, "_id": {"type": ["integer", "null"]}, "_sdc_deleted_at": STRING}
)


def test_hard_delete_by_id_and_by_key(emu):
    config = target_config(emu, upsert_keys={"people": ["Email"]}, hard_delete=True)
    assert run_target(config, [PEOPLE_WITH_META, *people(5)]).exit_code == 0
    ids = {r["Email"]: rid for rid, r in rows(emu, PEOPLE).items()}
    emu.clear_log()
    messages = [
        PEOPLE_WITH_META,
        deleted({"_id": ids["p0@example.com"]}),
        deleted({"Email": "p1@example.com"}),
        deleted({"Email": "nobody@example.com"}),  # no match: nothing to do
    ]
    assert run_target(config, messages).exit_code == 0
    assert sorted(r["Email"] for r in rows(emu, PEOPLE).values()) == [
        f"p{i}@example.com" for i in (2, 3, 4)
    ]
    assert count(emu, method="DELETE") == 1
    assert count(emu, method="POST") == 0


def test_deleted_records_are_skipped_and_counted_without_hard_delete(emu, caplog):
    config = target_config(emu, upsert_keys={"people": ["Email"]})
    assert run_target(config, [PEOPLE_WITH_META, *people(3)]).exit_code == 0
    emu.clear_log()
    with caplog.at_level(logging.INFO):
        run = run_target(
            config,
            [
                PEOPLE_WITH_META,
                deleted({"Email": "p0@example.com"}),
                deleted({"Email": "p1@example.com"}),
            ],
        )
    assert run.exit_code == 0
    assert len(rows(emu, PEOPLE)) == 3
    assert count(emu, method="DELETE") == 0 and count(emu, method="POST") == 0
    assert any("2 deleted records skipped" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------- dry run


def test_dry_run_writes_nothing_and_reports_what_would_change(emu, caplog):
    config = target_config(emu, upsert_keys={"people": ["Email"]}, hard_delete=True)
    assert run_target(config, [PEOPLE_WITH_META, *people(4)]).exit_code == 0
    before = rows(emu, PEOPLE)
    emu.clear_log()
    messages = [
        PEOPLE_WITH_META,
        *people(3, start=2, Notes="changed"),  # 2, 3 exist; 4 is new
        deleted({"Email": "p0@example.com"}),
        state({"s": 1}),
    ]
    with caplog.at_level(logging.INFO):
        run = run_target({**config, "dry_run": True}, messages)
    assert run.exit_code == 0
    assert count(emu, method="POST") == 0 and count(emu, method="DELETE") == 0
    assert rows(emu, PEOPLE) == before
    assert run.states == []  # nothing is in Ninox: a STATE would skip it next time
    summary = [r.getMessage() for r in caplog.records if "Dry run" in r.getMessage()]
    assert len(summary) == 1
    assert "would create 1, update 2, upsert by _id 0, delete 1" in summary[0]


# -------------------------------------------------------- values and state


def test_every_writable_type_is_converted(emu):
    with_company = run_target(
        target_config(emu),
        [schema("companies", {"Name": STRING}), record("companies", {"Name": "Acme"})],
    )
    assert with_company.exit_code == 0
    company_id = next(iter(rows(emu, COMPANIES)))
    values = {
        "Email": "t@x.org",
        "Name": "Typed",
        "Age": 41.5,
        "Active": True,
        "Born": "1983-04-05",
        "Seen": "2024-02-03T04:05:06.789+02:00",
        "Wake": "06:30:00",
        "Kind": "Company",
        "Tags": ["green", "red"],
        "Company": company_id,
        "Notes": "multi\nline",
    }
    run = run_target(target_config(emu), [PEOPLE_SCHEMA, record("people", values)])
    assert run.exit_code == 0
    (row,) = rows(emu, PEOPLE).values()
    assert sorted(row.pop("Tags")) == ["green", "red"]  # a set: Ninox may reorder
    assert row == {
        **{k: v for k, v in values.items() if k != "Tags"},
        "Seen": "2024-02-03T02:05:06",  # UTC, no zone, no fraction
        "Label": "06:30:00",  # the formula, computed by Ninox
    }


def test_state_is_emitted_only_after_its_records_are_in_ninox(emu):
    config = target_config(emu, batch_size_rows=100)
    messages = [PEOPLE_SCHEMA, *people(3), state({"at": 1}), *people(2, start=3), state({"at": 2})]
    run = run_target(config, messages, emu)
    assert run.exit_code == 0
    assert run.states == [{"at": 2}]
    assert run.posts_at_state == [1]  # the one POST was answered before STATE
    assert len(rows(emu, PEOPLE)) == 5


def test_field_named_like_another_fields_id_gets_its_own_value(emu):
    tricky = [
        {
            "id": "A",
            "name": "Codes",
            "fields": [
                {"id": "A", "name": "B", "type": "string"},
                {"id": "B", "name": "Code", "type": "string"},
            ],
        }
    ]
    make_database(emu, "tricky0db", "Tricky", tricky)
    config = target_config(emu, database_id="tricky0db", upsert_keys={"codes": ["Code"]})
    messages = one("codes", {"B": STRING, "Code": STRING}, {"B": "bee", "Code": "c1"})
    assert run_target(config, messages).exit_code == 0
    assert run_target(config, messages).exit_code == 0  # an update, by the same keys
    assert list(rows(emu, "A", "tricky0db").values()) == [{"B": "bee", "Code": "c1"}]
