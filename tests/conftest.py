"""Shared fixtures: one emulator per session, reset to the demo for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ninox_emulator import NinoxEmulator

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


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[NinoxEmulator]:
    """One emulator for the whole session, on a free port of 127.0.0.1."""
    emu = NinoxEmulator(api_key=TEST_KEY, demo=True, port=0).start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(emulator_server: NinoxEmulator) -> Iterator[NinoxEmulator]:
    """The session's emulator with a fresh demo database for this test."""
    emulator_server.reset(demo=True)
    emulator_server.set_api_key(TEST_KEY)
    yield emulator_server
    emulator_server.reset(demo=True)
