"""The stream-name rule of SPEC.md "Streams"."""

from __future__ import annotations

import pytest

from ninox_core.naming import slug, stream_names, table_part


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Contact Email", "contact_email"),
        ("  Contact -- Email!! ", "contact_email"),
        ("Table1", "table1"),
        ("2024 Orders", "2024_orders"),
        ("Übersicht Käufe", "bersicht_k_ufe"),
        ("___", ""),
        ("CRM", "crm"),
    ],
)
def test_slug(name, expected):
    assert slug(name) == expected


def test_single_database_uses_table_slug():
    names = stream_names(
        [("db1", "CRM", "A", "Contact"), ("db1", "CRM", "B", "Contact Email")],
        multi_database=False,
    )
    assert names == {("db1", "A"): "contact", ("db1", "B"): "contact_email"}


def test_several_databases_are_prefixed():
    names = stream_names(
        [("db1", "CRM", "B", "Contact Email"), ("db2", "Projects 2024", "A", "Task")],
        multi_database=True,
    )
    assert names == {("db1", "B"): "crm__contact_email", ("db2", "A"): "projects_2024__task"}


def test_collisions_get_table_ids():
    names = stream_names(
        [
            ("db1", "CRM", "A", "Contact"),
            ("db1", "CRM", "B", "contact"),
            ("db1", "CRM", "C", "Deal"),
        ],
        multi_database=False,
    )
    assert names == {("db1", "A"): "contact_a", ("db1", "B"): "contact_b", ("db1", "C"): "deal"}


def test_collision_with_a_reserved_name():
    names = stream_names([("db1", "CRM", "F", "Files")], multi_database=False, reserved={"files"})
    assert names == {("db1", "F"): "files_f"}


def test_same_table_id_in_two_databases_of_the_same_name_stays_unique():
    names = stream_names(
        [("db1", "CRM", "A", "Contact"), ("db2", "CRM", "A", "Contact")], multi_database=True
    )
    assert names == {("db1", "A"): "crm__contact_a_db1", ("db2", "A"): "crm__contact_a_db2"}
    assert len(set(names.values())) == 2


def test_table_without_letters_is_named_by_id():
    assert stream_names([("db1", "CRM", "AB", "!!!")], multi_database=False) == {
        ("db1", "AB"): "ab"
    }


@pytest.mark.parametrize(
    ("stream", "expected"),
    [("crm__contact_email", "contact_email"), ("contact", None), ("crm__", None)],
)
def test_table_part(stream, expected):
    assert table_part(stream) == expected
