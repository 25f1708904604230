"""A batch the server refuses as too large is sent in halves: no record lost or doubled."""

from __future__ import annotations

from ninox_core.errors import NinoxAPIError, NinoxBadRequestError
from target_ninox.writer import _refused_as_too_large
from tests.target_support import (
    PEOPLE,
    PEOPLE_PROPS,
    count,
    make_database,
    record,
    rows,
    run_target,
    schema,
    target_config,
)

LOAD = [
    schema("people", PEOPLE_PROPS, []),
    *(record("people", {"Email": f"p{i}@x", "Name": f"p{i}"}) for i in range(8)),
]


def _names(emulator) -> list[str]:
    return sorted(r.get("Name", "") for r in rows(emulator, PEOPLE).values())


def test_413_halves_the_batch_and_keeps_the_smaller_size(emulator):
    make_database(emulator)
    emulator.faults.add(kind="status", status=413, method="POST", times=1)
    run = run_target(target_config(emulator, batch_size_rows=4), LOAD, emulator)
    assert run.exit_code == 0
    assert _names(emulator) == sorted(f"p{i}" for i in range(8))
    # The refused batch of 4 went as 2 + 2, the next batch of 4 as 2 + 2 too.
    assert count(emulator, method="POST", status=413) == 1
    assert count(emulator, method="POST", status=200) == 4


def test_only_413_or_a_400_saying_so_counts_as_too_large():
    path = "/teams/t/databases/d/tables/A/records"
    assert _refused_as_too_large(NinoxAPIError(413, "POST", path, "Payload Too Large"))
    assert _refused_as_too_large(NinoxBadRequestError(400, "POST", path, "request too large"))
    assert not _refused_as_too_large(NinoxBadRequestError(400, "POST", path, "unknown field X"))
    assert not _refused_as_too_large(NinoxAPIError(500, "POST", path, "too many requests"))


def test_a_400_not_about_size_fails_without_halving(emulator):
    make_database(emulator)
    emulator.faults.add(kind="status", status=400, method="POST", times=1)
    run = run_target(target_config(emulator, batch_size_rows=4), LOAD, emulator)
    assert run.exit_code != 0
    assert count(emulator, method="POST") == 1


def test_a_single_record_refused_as_too_large_fails_loudly(emulator):
    make_database(emulator)
    emulator.faults.add(kind="status", status=413, method="POST", times=None)
    run = run_target(target_config(emulator, batch_size_rows=4), LOAD[:2], emulator)
    assert run.exit_code != 0
    assert _names(emulator) == []
