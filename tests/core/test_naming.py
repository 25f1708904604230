"""The stream-name rule of docs/spec.md "Streams"."""

from __future__ import annotations

import itertools

import pytest

from ninox_core.model.naming import database_part, slug, stream_names, table_part


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Contact Email", "contact_email"),
        ("contact_email", "contact_email"),
        ("  Contact -- Email!! ", "contact_email"),
        ("Contact__Email", "contact_email"),
        ("Table1", "table1"),
        ("2024 Orders", "2024_orders"),
        ("Übersicht Käufe", "bersicht_k_ufe"),
        ("Straße", "stra_e"),
        ("___", ""),
        ("日本", ""),
        ("", ""),
        ("CRM", "crm"),
    ],
)
def test_slug(name, expected):
    assert slug(name) == expected


@pytest.mark.parametrize(
    ("db_id", "db_name", "expected"),
    [("db1", "CRM", "crm"), ("x7k2", "Ventes 2024!", "ventes_2024"), ("x7k2", "€€", "x7k2")],
)
def test_database_part(db_id, db_name, expected):
    assert database_part(db_id, db_name) == expected


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


def test_same_table_name_in_two_databases_does_not_collide_when_prefixed():
    names = stream_names(
        [("db1", "CRM", "A", "Contact"), ("db2", "Shop", "A", "Contact")], multi_database=True
    )
    assert names == {("db1", "A"): "crm__contact", ("db2", "A"): "shop__contact"}


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


def test_a_name_that_collides_after_the_table_id_is_resolved_by_table_id_again():
    # "Contact A" slugs to the name "Contact" (id A) gets from the first round.
    names = stream_names(
        [
            ("db1", "CRM", "A", "Contact"),
            ("db1", "CRM", "B", "contact"),
            ("db1", "CRM", "C", "Contact A"),
        ],
        multi_database=False,
    )
    assert names == {
        ("db1", "A"): "contact_a_a",
        ("db1", "B"): "contact_b",
        ("db1", "C"): "contact_a_c",
    }


def test_same_table_id_in_two_databases_of_the_same_name_gets_database_ids():
    names = stream_names(
        [("db1", "CRM", "A", "Contact"), ("db2", "CRM", "A", "Contact")], multi_database=True
    )
    assert names == {("db1", "A"): "crm__contact_a_db1", ("db2", "A"): "crm__contact_a_db2"}


def test_database_ids_that_slug_alike_are_numbered_in_key_order():
    names = stream_names(
        [("x-1", "CRM", "A", "Contact"), ("x_1", "CRM", "A", "Contact")], multi_database=True
    )
    assert names == {("x-1", "A"): "crm__contact_a", ("x_1", "A"): "crm__contact_a_2"}


def test_numbering_skips_names_already_taken():
    names = stream_names(
        [
            ("x-1", "CRM", "A", "Contact"),
            ("x_1", "CRM", "A", "Contact"),
            ("y", "CRM", "B", "Contact A 2"),
        ],
        multi_database=True,
    )
    assert names[("y", "B")] == "crm__contact_a_2"
    assert names[("x-1", "A")] == "crm__contact_a"
    assert names[("x_1", "A")] == "crm__contact_a_3"


ENTRIES = [
    ("db1", "CRM", "A", "Contact"),
    ("db1", "CRM", "B", "contact"),
    ("db1", "CRM", "C", "Contact A"),
    ("db2", "CRM", "A", "Contact"),
    ("db2", "CRM", "F", "Files"),
    ("db2", "CRM", "G", "!!!"),
    ("db3", "???", "A", "Contact"),
]


@pytest.mark.parametrize("multi", [True, False])
def test_names_are_unique_and_independent_of_order(multi):
    reserved = {"crm__files", "files"}
    first = stream_names(ENTRIES, multi_database=multi, reserved=reserved)
    assert len(set(first.values())) == len(ENTRIES)
    assert not set(first.values()) & reserved
    for order in itertools.islice(itertools.permutations(ENTRIES), 0, None, 97):
        assert stream_names(order, multi_database=multi, reserved=reserved) == first


def test_table_without_letters_is_named_by_id():
    assert stream_names([("db1", "CRM", "AB", "!!!")], multi_database=False) == {
        ("db1", "AB"): "ab"
    }
    assert stream_names(
        [("db1", "€", "AB", "!!!"), ("db2", "CRM", "A", "x")], multi_database=True
    ) == {("db1", "AB"): "db1__ab", ("db2", "A"): "crm__x"}


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("crm__contact_email", "contact_email"),
        ("crm__contact_a_db1", "contact_a_db1"),
        ("contact", None),
        ("contact_email", None),
        ("crm__", None),
        ("__contact", "contact"),
    ],
)
def test_table_part(stream, expected):
    assert table_part(stream) == expected


def test_table_part_inverts_the_prefix():
    names = stream_names(
        [("db1", "CRM", "B", "Contact Email"), ("db2", "Shop", "A", "Orders 2024")],
        multi_database=True,
    )
    assert [table_part(n) for n in names.values()] == ["contact_email", "orders_2024"]
