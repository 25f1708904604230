"""Both connectors keep one call in flight at a time, on both backends.

The emulator refuses (429) and counts every request made while another is
in flight (`max_concurrent = 1`); its peak counter says how many ever were.
"""

from __future__ import annotations

from tests.both.conftest import Ninox
from tests.public.target_public_support import person
from tests.tap_support import run_tap
from tests.target_support import run_target, schema, state


def assert_one_call_at_a_time(ninox: Ninox) -> None:
    assert ninox.emulator.peak_in_flight == 1
    assert ninox.emulator.concurrency_violations == 0


def test_a_full_tap_run_never_has_two_calls_in_flight(ninox):
    ninox.emulator.max_concurrent = 1
    out = run_tap(ninox.tap_config_all(page_size=10))
    assert out.error is None
    assert len(out.records) >= 4  # every table of the CRM
    assert_one_call_at_a_time(ninox)


def test_a_target_run_never_has_two_calls_in_flight(ninox):
    ninox.emulator.max_concurrent = 1
    properties = {
        name: {"type": ["string", "null"]} for name in ("first_name", "last_name", "email")
    }
    messages = [schema(ninox.target_stream, properties, ["email"])]
    messages += [person(n, ninox.target_stream) for n in range(1, 121)]
    messages.append(state({"n": 120}))
    run = run_target(ninox.target_config(batch_size_rows=25), messages, ninox.emulator)
    assert run.exit_code == 0
    assert len([v for v in ninox.people().values() if v["email"].endswith("@x.test")]) == 120
    assert_one_call_at_a_time(ninox)
