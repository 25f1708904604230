"""Appointments and time intervals of either API generation, on both backends (decision 0027).

The two servers read appointments differently (`A - B` classic, `[A,B)`
Ninox 4) and each refuses the other's form; time intervals differ in the
padding of their hours. target-ninox takes either generation's form on
both backends and writes its own backend's, so a copy between the
generations keeps them, and what it wrote is what it reads back (a lost
answer is reconciled by comparing the two).
"""

from __future__ import annotations

import logging
from typing import Any

from tests.both.conftest import Ninox
from tests.both.test_target_behaviour import by_email, people_schema
from tests.public.target_public_support import OPTIONAL, person
from tests.tap_support import run_tap
from tests.target_support import record, run_target, state

CLASSIC_APPOINTMENT = "2024-02-15T09:00:00 - 2024-02-15T10:30:00"
PUBLIC_APPOINTMENT = "[2024-02-15T09:00:00Z,2024-02-15T10:30:00Z)"
#: The same appointment written with an offset: each server stores it in UTC.
ZONED_APPOINTMENT = "[2024-02-15T10:00:00+01:00,2024-02-15T11:30:00+01:00)"
CLASSIC_INTERVAL, PUBLIC_INTERVAL = "0:25:16.123", "00:25:16.123"
FORMS: dict[str, Any] = {"next_meeting": OPTIONAL, "time_spent": OPTIONAL}


def read_back(ninox: Ninox) -> dict[str, dict[str, Any]]:
    """The test's people as the tap reads them back, by email."""
    out = run_tap(ninox.people_tap_config())
    assert out.error is None
    records = out.records[ninox.target_stream]
    return {r["email"]: r for r in records if str(r["email"]).endswith("@x.test")}


def test_either_generation_s_forms_are_stored_as_this_backend_reads_them(ninox):
    stream = ninox.target_stream
    given = {
        1: (CLASSIC_APPOINTMENT, CLASSIC_INTERVAL),
        2: (PUBLIC_APPOINTMENT, PUBLIC_INTERVAL),
        3: (ZONED_APPOINTMENT, CLASSIC_INTERVAL),
    }
    messages = [people_schema(ninox, ["email"], **FORMS)]
    messages += [
        person(n, stream, next_meeting=meeting, time_spent=spent)
        for n, (meeting, spent) in given.items()
    ]
    messages.append(state({"n": 3}))
    assert run_target(ninox.target_config(), messages, ninox.emulator).exit_code == 0
    read = read_back(ninox)
    meetings = {read[f"p{n}@x.test"]["next_meeting"] for n in given}
    spent = {read[f"p{n}@x.test"]["time_spent"] for n in given}
    # One value each, whichever form was written: the backend's own.
    assert len(meetings) == 1 and meetings <= {CLASSIC_APPOINTMENT, PUBLIC_APPOINTMENT}
    assert len(spent) == 1 and spent <= {CLASSIC_INTERVAL, PUBLIC_INTERVAL}
    # And it is the form this backend's tap emits for the demo's contacts.
    own = run_tap(ninox.tap_config()).records[ninox.stream]
    column = ninox.column("next_meeting")
    shapes = {str(r[column])[:1] for r in own if r.get(column)}
    assert shapes == {next(iter(meetings))[:1]}


def test_a_lost_answer_to_creates_in_the_other_generation_s_forms_leaves_each_record_once(
    ninox,
):
    before = by_email(ninox.people())
    lost = ninox.emulator.faults.add(
        "lost_response", method="POST", path=ninox.create_path(), after=1
    )
    stream = ninox.target_stream
    messages: list[Any] = [people_schema(ninox, **FORMS)]
    for n in range(1, 31):
        # Half in each generation's form: on either backend, half are the other one's.
        meeting = CLASSIC_APPOINTMENT if n % 2 else PUBLIC_APPOINTMENT
        spent = CLASSIC_INTERVAL if n % 2 else PUBLIC_INTERVAL
        messages.append(person(n, stream, next_meeting=meeting, time_spent=spent))
        if n % 10 == 0:
            messages.append(state({"n": n}))
    run = run_target(ninox.target_config(batch_size_rows=10), messages, ninox.emulator)
    assert run.exit_code == 0
    assert lost.fired == 1
    after = by_email(ninox.people())
    assert sorted(set(after) - set(before)) == sorted(f"p{n}@x.test" for n in range(1, 31))
    assert run.states == [{"n": 10}, {"n": 20}, {"n": 30}]
    read = read_back(ninox)
    assert len({read[f"p{n}@x.test"]["next_meeting"] for n in range(1, 31)}) == 1


def test_a_malformed_appointment_fails_the_run_with_one_line_naming_stream_record_field(
    ninox, caplog
):
    stream = ninox.target_stream
    messages = [people_schema(ninox, ["email"], **FORMS)]
    messages += [
        person(1, stream, next_meeting=PUBLIC_APPOINTMENT),
        record(stream, {"email": "p2@x.test", "next_meeting": "2024-02-15 9:00 to 10:30"}),
        state({"n": 2}),
    ]
    with caplog.at_level(logging.ERROR):
        run = run_target(ninox.target_config(), messages, ninox.emulator)
    assert run.exit_code == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "stream 'contacts'" in line
    assert "email='p2@x.test'" in line  # the record, by its key
    assert "'next_meeting' (appointment)" in line
    assert "'2024-02-15 9:00 to 10:30'" in line
    assert "[2021-01-23T12:30:00Z,2021-01-23T13:30:00Z)" in line  # what it takes
    assert "p2@x.test" not in by_email(ninox.people())
    assert run.states == []
