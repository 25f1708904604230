"""One write in flight while the next batch is read (target_ninox/write_queue.py).

The emulator holds a POST (an `on_request` hook) while the test feeds the
target its input line by line, so each test knows which lines the target
had read while the write was in flight.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from target_ninox.write_queue import WriteQueue
from tests.target_support import (
    INTEGER,
    STRING,
    make_database,
    record,
    rows,
    run_target,
    schema,
    state,
    target_config,
)

#: How long the emulator holds a POST at most (a target that cannot read
#: while it writes gets its answer after this long, and the test fails).
HOLD_SECONDS = 5.0

PEOPLE = {"_id": INTEGER, "Name": STRING}


class HeldPost:
    """Holds the `nth` POST of the emulator until `release()`."""

    def __init__(self, emulator: Any, nth: int = 1) -> None:
        self.nth = nth
        self.posts = 0
        self.arrived = threading.Event()
        self._release = threading.Event()
        self.answered = threading.Event()
        emulator.on_request(self._hook)

    def _hook(self, entry: Any) -> None:
        if entry.method != "POST":
            return
        self.posts += 1
        if self.posts != self.nth:
            return
        self.arrived.set()
        self._release.wait(HOLD_SECONDS)
        self.answered.set()

    @property
    def in_flight(self) -> bool:
        """True when the held POST is at the emulator, unanswered.

        Waits for it to arrive: the worker may still be on its way there.
        """
        return self.arrived.wait(HOLD_SECONDS) and not self.answered.is_set()

    def release(self) -> None:
        """Let the held POST through."""
        self._release.set()


def people(first: int, last: int) -> list[dict[str, Any]]:
    """RECORDs with `_id` first..last (upserts: a full batch is written at once)."""
    return [record("people", {"_id": n, "Name": f"p{n}"}) for n in range(first, last + 1)]


def feed_until(line: int, act: Any) -> Any:
    """A feed that calls `act()` just before it gives input line `line` (1-based)."""

    def feed(lines: list[str]) -> Iterator[str]:
        for number, text in enumerate(lines, 1):
            if number == line:
                act()
            yield text

    return feed


def test_the_next_batch_is_read_while_a_post_is_in_flight(emulator):
    make_database(emulator)
    held = HeldPost(emulator)
    seen: list[bool] = []

    def at_second_batch() -> None:
        seen.append(held.in_flight)
        held.release()

    # Line 1 is the SCHEMA; records 1-100 fill the first batch, whose POST
    # is held; line 152 is record 151, in the middle of the second batch.
    messages = [schema("people", PEOPLE), *people(1, 250), state({"n": 250})]
    run = run_target(
        target_config(emulator, batch_size_rows=100),
        messages,
        emulator,
        feed=feed_until(152, at_second_batch),
    )
    assert seen == [True], "the target read no input while its first POST was in flight"
    assert run.exit_code == 0
    assert sorted(rows(emulator, "A")) == list(range(1, 251))
    assert run.states == [{"n": 250}]


def test_a_state_read_while_its_batch_is_in_flight_waits_for_it(emulator):
    make_database(emulator)
    held = HeldPost(emulator)
    messages = [schema("people", PEOPLE), *people(1, 100), state({"n": 100}), *people(101, 150)]
    # The STATE (line 102) comes while the POST of records 1-100 is held.
    run = run_target(
        target_config(emulator, batch_size_rows=100),
        messages,
        emulator,
        feed=feed_until(102, held.release),
    )
    assert run.exit_code == 0
    assert run.states == [{"n": 100}]
    # It came out once that POST was answered, not before.
    assert run.posts_at_state == [1]


def test_a_write_that_fails_in_flight_ends_the_run_with_its_own_error(emulator, caplog):
    make_database(emulator)
    # The second POST (records 101-200) is refused, and held until the
    # target has read a bad line after it: the write's failure is the run's.
    emulator.faults.add("status", status=400, method="POST", after=1)
    held = HeldPost(emulator, nth=2)
    messages: list[dict[str, Any] | str] = [schema("people", PEOPLE), *people(1, 100)]
    messages += [state({"n": 100}), *people(101, 200), "this is not JSON"]
    with caplog.at_level(logging.ERROR):
        run = run_target(
            target_config(emulator, batch_size_rows=100),
            messages,
            emulator,
            feed=feed_until(len(messages), held.release),
        )
    assert run.exit_code == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "writing to table 'People' (A) failed" in errors[0]
    assert "not valid JSON" not in errors[0]
    assert run.states == [{"n": 100}]
    assert sorted(rows(emulator, "A")) == list(range(1, 101))


def test_a_signal_while_a_write_is_in_flight_lets_it_finish(emulator):
    make_database(emulator)
    held = HeldPost(emulator)
    in_flight: list[bool] = []

    def sigterm() -> None:
        # SIGTERM while the target waits for input, the POST of records
        # 1-100 held: the target's handler stops the run there.
        in_flight.append(held.in_flight)
        held.release()
        signal.raise_signal(signal.SIGTERM)

    messages = [schema("people", PEOPLE), *people(1, 50), state({"n": 50}), *people(51, 150)]
    messages.append(state({"n": 150}))
    run = run_target(
        target_config(emulator, batch_size_rows=100),
        messages,
        emulator,
        feed=feed_until(len(messages), sigterm),
    )
    assert in_flight == [True]
    assert run.exit_code == 143
    # The write in flight was not cut and the records read after it were
    # committed too (they carry `_id`: a rerun rewrites them harmlessly).
    assert sorted(rows(emulator, "A")) == list(range(1, 151))
    assert run.states == [{"n": 50}]


# ----------------------------------------------------------- the queue itself


def test_writes_run_one_at_a_time_in_order_and_report_on_the_callers_thread():
    queue = WriteQueue()
    order: list[str] = []
    threads: list[int] = []
    gate = threading.Event()

    def write(name: str) -> Any:
        def run() -> None:
            if name == "first":
                gate.wait(HOLD_SECONDS)
            order.append(f"write {name}")

        return run

    def done(name: str) -> Any:
        def report(error: BaseException | None) -> None:
            assert error is None
            threads.append(threading.get_ident())
            order.append(f"done {name}")

        return report

    queue.submit(write("first"), done("first"))
    assert queue.in_flight
    order.append("caller goes on")
    gate.set()
    queue.submit(write("second"), done("second"))
    queue.settle()
    queue.close()
    assert order == [
        "caller goes on",
        "write first",
        "done first",
        "write second",
        "done second",
    ]
    assert threads == [threading.get_ident()] * 2
    assert not queue.in_flight


@pytest.mark.parametrize("background", [True, False])
def test_a_failed_write_is_raised_where_it_is_settled(background):
    queue = WriteQueue(background=background)
    reported: list[BaseException | None] = []

    def fail() -> None:
        raise ValueError("refused")

    def done(error: BaseException | None) -> None:
        reported.append(error)
        if error is not None:
            raise error

    started: list[str] = []

    def submit_two() -> None:
        queue.submit(fail, done)
        queue.submit(lambda: started.append("next"), done)

    with pytest.raises(ValueError, match="refused"):
        submit_two()
    queue.close()
    assert [type(e) for e in reported] == [ValueError]
    assert started == [], "a write after a failed one was started"
