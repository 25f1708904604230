"""The emulator of the SDK's standard test classes.

They are tests/tap/test_core.py and tests/target/test_target_core.py.

`get_tap_test_class`/`get_target_test_class` take their config when the
class is built, and the tap's class discovers its streams right then (to
make one test per stream): that happens at import, while pytest collects,
before any fixture can run. So these two modules share one emulator started
on first use (not when a module is merely imported by something else) and
stopped by `tests/conftest.py` when the session ends
(`pytest_sessionfinish`). Every other test uses the `emulator` fixture.
"""

from __future__ import annotations

from ninox_emulator import NinoxEmulator

#: The API key of the standard tests' emulator.
KEY = "standard-tests-key"

_started: list[NinoxEmulator] = []


def standard_tests_emulator() -> NinoxEmulator:
    """The shared emulator (demo data), started on the first call."""
    if not _started:
        _started.append(NinoxEmulator(api_key=KEY, demo=True, port=0).start())
    return _started[0]


def stop_standard_tests_emulator() -> None:
    """Stop the shared emulator if it was started."""
    while _started:
        _started.pop().stop()
