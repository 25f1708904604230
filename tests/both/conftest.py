"""The `ninox` fixture: one behavioural suite, run against both backends.

`ninox` is a `Ninox` for the classic API (`emulator`, the CRM database of the
demo team) or for Ninox 4's Public API (`public_emulator`, module `crm` of
the demo workspace). The tests see only what the two have in common: the
tap reads the demo's contacts (the same records, ids and values on both,
under each backend's field names); the target writes people (`first_name`,
`last_name`, `email`, and typed fields named as on Ninox 4) into a table
named `contacts` (classic: a test database made for it; Ninox 4: the demo's
`crm.contacts`, `email` unique), which the tap can read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ninox_emulator import NinoxEmulator
from ninox_emulator.public import PublicEmulator
from ninox_emulator.public.demo import machine_name
from ninox_emulator.serving import ServedEmulator

# The Public API emulator's fixtures live beside its own tests.
from tests.public.conftest import public_emulator, public_emulator_server  # noqa: F401
from tests.public.tap_public_support import PAST_LOOKBACK
from tests.public.tap_public_support import public_config as public_tap_config
from tests.public.target_public_support import public_config as public_target_config
from tests.tap_support import CRM_DB, DEMO_TEAM, tap_config
from tests.target_support import api, make_database, target_config

#: Field types whose stored value is the Singer value itself (no conversion).
CLASSIC_PLAIN_TYPES = {
    "string",
    "text",
    "email",
    "phone",
    "url",
    "number",
    "boolean",
    "date",
    "choice",
    "multi",
}
PUBLIC_PLAIN_TYPES = {"string", "number", "boolean", "date", "choice", "multi"}


def _choices(*captions: str) -> list[dict[str, Any]]:
    return [{"id": str(i), "caption": c} for i, c in enumerate(captions, 1)]


#: The target's table, `contacts`, and what the tests write into it.
PEOPLE_FIELDS = ("first_name", "last_name", "email")
CLASSIC_PEOPLE_DB = "bothpeople01"
CLASSIC_PEOPLE_TABLE = "A"
CLASSIC_PEOPLE_TABLES: list[dict[str, Any]] = [
    {
        "id": CLASSIC_PEOPLE_TABLE,
        "name": "contacts",
        "fields": [
            {"id": "A", "name": "first_name", "type": "string"},
            {"id": "B", "name": "last_name", "type": "string"},
            {"id": "C", "name": "email", "type": "email"},
            # Typed fields under the names `crm.contacts` has on Ninox 4.
            {"id": "D", "name": "score", "type": "number"},
            {"id": "E", "name": "active", "type": "boolean"},
            {"id": "F", "name": "birthday", "type": "date"},
            {"id": "G", "name": "last_contact", "type": "datetime"},
            {"id": "H", "name": "call_time", "type": "time"},
            {"id": "I", "name": "kind", "type": "choice", "choices": _choices("Person", "Company")},
            {
                "id": "J",
                "name": "tags",
                "type": "multi",
                "choices": _choices("VIP", "Newsletter", "Partner", "Smith, Jones & Co"),
            },
            {"id": "K", "name": "next_meeting", "type": "appointment"},
            {"id": "L", "name": "time_spent", "type": "timeinterval"},
        ],
    }
]


class Ninox:
    """One backend under test, as the behavioural suite sees it."""

    #: `classic` or `public` (the test id).
    name: str
    #: The stream the tap emits the contacts as.
    stream: str
    #: The stream (and table) name the target writes people into.
    target_stream = "contacts"
    #: The backend's emulator (the controls both have: faults, log, concurrency).
    emulator: ServedEmulator

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """A tap config reading the contacts table only."""
        raise NotImplementedError

    def tap_config_all(self, **overrides: Any) -> dict[str, Any]:
        """A tap config reading every table of the CRM (database or module)."""
        raise NotImplementedError

    def target_config(self, **overrides: Any) -> dict[str, Any]:
        """A target config writing into the people table."""
        raise NotImplementedError

    def people_tap_config(self, **overrides: Any) -> dict[str, Any]:
        """A tap config reading the people table (the stream `contacts`)."""
        raise NotImplementedError

    def column(self, name: str) -> str:
        """The contacts column of a logical field (`first_name`, `last_name`, …)."""
        return name

    def source_rows(self) -> dict[int, dict[str, Any]]:
        """The contacts as the emulator holds them: id → values of the plain fields."""
        raise NotImplementedError

    def plain_fields(self) -> list[str]:
        """Contacts columns whose emulator value is the value the tap emits."""
        raise NotImplementedError

    def create(self, values: dict[str, Any]) -> int:
        """Create a contact as another user (logical field names); its id."""
        raise NotImplementedError

    def update(self, record_id: int, values: dict[str, Any]) -> None:
        """Change a contact as another user (logical field names)."""
        raise NotImplementedError

    def delete(self, record_id: int) -> None:
        """Delete a contact as another user."""
        raise NotImplementedError

    def let_time_pass(self) -> None:
        """Let the server's time move on past the tap's look-back.

        Changes made before are then read by the next run and behind the
        bookmark it leaves (Ninox 4 reads again what changed in the last
        60 s before its bookmark; the classic sequence needs no time).
        """

    def records_path(self) -> str:
        """A regex of the path of a contacts page request (`GET`)."""
        raise NotImplementedError

    def reads_path(self) -> str:
        """A regex of the path of any read of the contacts (pages, changes, one record)."""
        raise NotImplementedError

    def create_path(self) -> str:
        """A regex of the path the target's creates of people are `POST`ed to."""
        raise NotImplementedError

    def upsert_path(self) -> str:
        """A regex of the path the target's upserts of people by `email` are `POST`ed to."""
        raise NotImplementedError

    def people(self) -> dict[int, dict[str, Any]]:
        """The people table: id → (first_name, last_name, email) values."""
        raise NotImplementedError


class ClassicNinox(Ninox):
    """The classic API: the CRM database; people go into database `CLASSIC_PEOPLE_DB`."""

    name = "classic"
    stream = "contact"
    emulator: NinoxEmulator
    TABLE = "A"

    def __init__(self, emulator: NinoxEmulator) -> None:
        """Over the test's emulator; makes the people database."""
        self.emulator = emulator
        make_database(emulator, CLASSIC_PEOPLE_DB, "People", CLASSIC_PEOPLE_TABLES)

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return tap_config(self.emulator, tables=["Contact"], **overrides)

    def tap_config_all(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return tap_config(self.emulator, **overrides)

    def target_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return target_config(self.emulator, database_id=CLASSIC_PEOPLE_DB, **overrides)

    def people_tap_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return tap_config(self.emulator, database_ids=[CLASSIC_PEOPLE_DB], **overrides)

    def column(self, name: str) -> str:
        """See `Ninox`: the Contact field whose machine name (Ninox 4's) is `name`."""
        [field] = [f.name for f in self._table().fields.values() if machine_name(f.name) == name]
        return field

    def _table(self) -> Any:
        return self.emulator.store.table(DEMO_TEAM, CRM_DB, self.TABLE)

    def plain_fields(self) -> list[str]:
        """See `Ninox`."""
        return [f.name for f in self._table().fields.values() if f.type in CLASSIC_PLAIN_TYPES]

    def source_rows(self) -> dict[int, dict[str, Any]]:
        """See `Ninox`: read over the emulator's API (field values by name)."""
        plain = self.plain_fields()
        with api(self.emulator) as client:
            return {
                int(r["id"]): {name: (r.get("fields") or {}).get(name) for name in plain}
                for page in client.iter_record_pages(DEMO_TEAM, CRM_DB, self.TABLE)
                for r in page
            }

    def _save(self, item: dict[str, Any]) -> int:
        with api(self.emulator) as client:
            [saved] = client.save_records(DEMO_TEAM, CRM_DB, self.TABLE, [item])
        return int(saved["id"])

    def create(self, values: dict[str, Any]) -> int:
        """See `Ninox`."""
        return self._save({"fields": {self.column(k): v for k, v in values.items()}})

    def update(self, record_id: int, values: dict[str, Any]) -> None:
        """See `Ninox`."""
        self._save({"id": record_id, "fields": {self.column(k): v for k, v in values.items()}})

    def delete(self, record_id: int) -> None:
        """See `Ninox`."""
        with api(self.emulator) as client:
            client.delete_records(DEMO_TEAM, CRM_DB, self.TABLE, [record_id])

    def records_path(self) -> str:
        """See `Ninox`."""
        return rf"/databases/{CRM_DB}/tables/{self.TABLE}/records$"

    def reads_path(self) -> str:
        """See `Ninox`."""
        return rf"/databases/{CRM_DB}/tables/{self.TABLE}/(records|changes)$"

    def create_path(self) -> str:
        """See `Ninox`: creates and updates share the route."""
        return rf"/databases/{CLASSIC_PEOPLE_DB}/tables/{CLASSIC_PEOPLE_TABLE}/records$"

    def upsert_path(self) -> str:
        """See `Ninox`: the key index gives the ids, creates and updates share the route."""
        return self.create_path()

    def people(self) -> dict[int, dict[str, Any]]:
        """See `Ninox`."""
        with api(self.emulator) as client:
            return {
                int(r["id"]): {k: (r.get("fields") or {}).get(k) for k in PEOPLE_FIELDS}
                for page in client.iter_record_pages(
                    DEMO_TEAM, CLASSIC_PEOPLE_DB, CLASSIC_PEOPLE_TABLE
                )
                for r in page
            }


class PublicNinox(Ninox):
    """Ninox 4's Public API: module `crm` of the demo workspace."""

    name = "public"
    stream = "contacts"
    emulator: PublicEmulator
    MODULE, TABLE = "crm", "contacts"

    def __init__(self, emulator: PublicEmulator) -> None:
        """Over the test's emulator."""
        self.emulator = emulator

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return public_tap_config(
            self.emulator, modules=[self.MODULE], tables=[self.TABLE], **overrides
        )

    def tap_config_all(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return public_tap_config(self.emulator, modules=[self.MODULE], **overrides)

    def target_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`."""
        return public_target_config(self.emulator, **overrides)

    def people_tap_config(self, **overrides: Any) -> dict[str, Any]:
        """See `Ninox`: the people table is the contacts table."""
        return self.tap_config(**overrides)

    def _table(self) -> Any:
        return self.emulator.store.table(self.MODULE, self.TABLE)

    def plain_fields(self) -> list[str]:
        """See `Ninox`."""
        return [f.name for f in self._table().fields.values() if f.type in PUBLIC_PLAIN_TYPES]

    def source_rows(self) -> dict[int, dict[str, Any]]:
        """See `Ninox`: the store's records (values by field name)."""
        plain = self.plain_fields()
        with self.emulator.store.lock:
            return {
                rid: {name: values.get(name) for name in plain}
                for rid, values in self._table().records.items()
            }

    def create(self, values: dict[str, Any]) -> int:
        """See `Ninox`."""
        [rid] = self.emulator.create_records(self.MODULE, self.TABLE, [values])
        return rid

    def update(self, record_id: int, values: dict[str, Any]) -> None:
        """See `Ninox`."""
        self.emulator.store.update(self.MODULE, self.TABLE, [{"id": record_id, **values}])

    def delete(self, record_id: int) -> None:
        """See `Ninox`."""
        self.emulator.delete_records(self.MODULE, self.TABLE, [record_id])

    def let_time_pass(self) -> None:
        """See `Ninox`: past the tap's look-back (a bookmark is the feed's `asOf` less 60 s)."""
        self.emulator.clock.advance(PAST_LOOKBACK)

    def records_path(self) -> str:
        """See `Ninox`."""
        return rf"/modules/{self.MODULE}/tables/{self.TABLE}/records$"

    def reads_path(self) -> str:
        """See `Ninox`."""
        return rf"/modules/{self.MODULE}/tables/{self.TABLE}/(records|records/changes|record/\d+)$"

    def create_path(self) -> str:
        """See `Ninox`."""
        return rf"/modules/{self.MODULE}/tables/{self.TABLE}/records$"

    def upsert_path(self) -> str:
        """See `Ninox`: the server matches `email` (unique)."""
        return rf"/modules/{self.MODULE}/tables/{self.TABLE}/records/upsert$"

    def people(self) -> dict[int, dict[str, Any]]:
        """See `Ninox`."""
        with self.emulator.store.lock:
            return {
                rid: {k: values.get(k) for k in PEOPLE_FIELDS}
                for rid, values in self._table().records.items()
            }


@pytest.fixture(params=["classic", "public"])
def ninox(request: pytest.FixtureRequest) -> Iterator[Ninox]:
    """The backend under test, its emulator reset to the demo."""
    if request.param == "classic":
        yield ClassicNinox(request.getfixturevalue("emulator"))
    else:
        yield PublicNinox(request.getfixturevalue("public_emulator"))
