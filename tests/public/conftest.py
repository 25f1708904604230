"""Fixtures for the Public API (Ninox 4): one emulator per session, reset per test.

`public_emulator_server` is the session's `PublicEmulator` (the demo
workspace, key `PUBLIC_TEST_KEY`, on a free port of 127.0.0.1);
`public_emulator` is that server reset to the demo for one test (faults,
variants back to V1+V2, clock, quota, hooks and log cleared).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ninox_emulator.public import PublicEmulator

PUBLIC_TEST_KEY = "public-test-key"


@pytest.fixture(scope="session")
def public_emulator_server() -> Iterator[PublicEmulator]:
    """One Public API emulator for the whole session."""
    emu = PublicEmulator(api_key=PUBLIC_TEST_KEY, demo=True, port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def public_emulator(public_emulator_server: PublicEmulator) -> Iterator[PublicEmulator]:
    """The session's Public API emulator with a fresh demo workspace for this test.

    A request a client gave up on (a timeout against a latency fault) ends
    before the reset, so it neither counts against this test nor changes its data.
    """
    settled = threading.Event()
    deadline = time.monotonic() + 10
    while public_emulator_server.in_flight and time.monotonic() < deadline:
        settled.wait(0.01)
    public_emulator_server.reset(demo=True)
    yield public_emulator_server
    # Emptied, not rebuilt: the next test's set-up builds the demo anyway.
    public_emulator_server.reset(demo=False)
