"""Helpers for target-ninox tests against the Public API emulator (Ninox 4)."""

from __future__ import annotations

from typing import Any

from ninox_emulator.public import PublicEmulator
from tests.public.conftest import PUBLIC_TEST_KEY
from tests.target_support import record, schema

#: The demo workspace's module the tests write into.
MODULE = "crm"
#: Its tables: `contacts` (history, `email` unique), `leads` (no history,
#: `email` unique), `companies` (history, nothing unique).
CONTACTS, LEADS, COMPANIES = "contacts", "leads", "companies"
OPTIONAL = {"type": ["string", "null"]}


def public_config(emu: PublicEmulator, **overrides: Any) -> dict[str, Any]:
    """A config writing into module `crm` of the emulator's workspace."""
    config: dict[str, Any] = {
        "api_key": PUBLIC_TEST_KEY,
        "base_url": emu.base_url,
        "workspace_id": emu.workspace_id,
        "module": MODULE,
        "max_retries": 2,
    }
    config.update(overrides)
    return config


def rows(emu: PublicEmulator, table: str, module: str = MODULE) -> dict[int, dict[str, Any]]:
    """Every record of a table as the emulator holds it: id → values by field name."""
    with emu.store.lock:
        return {rid: dict(values) for rid, values in emu.store.table(module, table).records.items()}


def people_schema(stream: str = CONTACTS, key: list[str] | None = None) -> dict[str, Any]:
    """SCHEMA of a stream of people (first/last name, email)."""
    properties = {"first_name": OPTIONAL, "last_name": OPTIONAL, "email": OPTIONAL}
    return schema(stream, properties, key or [])


def person(n: int, stream: str = CONTACTS, **extra: Any) -> dict[str, Any]:
    """RECORD of person `n`."""
    values = {"first_name": f"F{n}", "last_name": f"L{n}", "email": f"p{n}@x.test", **extra}
    return record(stream, values)


def new_rows(
    before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]]
) -> list[tuple[Any, Any, Any]]:
    """(first_name, last_name, email) of the records in `after` but not `before`, sorted."""
    return sorted(
        (v.get("first_name"), v.get("last_name"), v.get("email"))
        for rid, v in after.items()
        if rid not in before
    )


def people(numbers: range | list[int]) -> list[tuple[str, str, str]]:
    """The (first, last, email) rows of persons `numbers`, sorted."""
    return sorted((f"F{n}", f"L{n}", f"p{n}@x.test") for n in numbers)


def writes(emu: PublicEmulator, table: str = CONTACTS) -> int:
    """Record writes (POST, PATCH, DELETE under `…/tables/<table>/records`) logged so far."""
    return sum(
        emu.request_count(method, rf"/tables/{table}/records")
        for method in ("POST", "PATCH", "DELETE")
    )


def table_reads(emu: PublicEmulator, table: str = CONTACTS) -> int:
    """GETs of a table's records (pages, single records, the change feed)."""
    return emu.request_count("GET", rf"/tables/{table}/record")
