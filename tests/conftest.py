"""Shared fixtures: one emulator per session, reset to the demo for each test.

Every emulator of the default suite comes from here: `emulator_server` (the
session's) and `standard_tests_emulator()` (the SDK standard test classes',
see there). Test modules add fixtures only for what is theirs alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ninox_core import termination
from ninox_core.transport.client import NinoxClient
from ninox_emulator import NinoxEmulator
from tests.standard_emulator import stop_standard_tests_emulator

TEST_KEY = "test-key"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run long sweeps marked @pytest.mark.slow"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long sweep: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_standard_tests_emulator()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[NinoxEmulator]:
    """One emulator for the whole session, on a free port of 127.0.0.1."""
    emu = NinoxEmulator(api_key=TEST_KEY, demo=True, port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(emulator_server: NinoxEmulator) -> Iterator[NinoxEmulator]:
    """The session's emulator with a fresh demo database for this test.

    Afterwards it is emptied (faults, hooks and a big test's data go).
    A request a client gave up on (a timeout against a latency fault) may
    still be in the emulator: it ends before the reset, so that it neither
    counts against this test's concurrency limit nor changes its data.
    """
    settled = threading.Event()
    deadline = time.monotonic() + 10
    while emulator_server.in_flight and time.monotonic() < deadline:
        settled.wait(0.01)
    emulator_server.reset(demo=True)
    emulator_server.set_api_key(TEST_KEY)
    yield emulator_server
    # Emptied, not rebuilt: the next test's set-up builds the demo anyway.
    emulator_server.reset(demo=False)


@pytest.fixture
def api(emulator: NinoxEmulator) -> Iterator[NinoxClient]:
    """A client of the test's emulator that does not retry (failures show at once)."""
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=0) as client:
        yield client


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's backoff waits instead of sleeping."""
    waits: list[float] = []
    # The client waits through `termination.pause` (the module attribute).
    monkeypatch.setattr(termination, "pause", waits.append)
    return waits
