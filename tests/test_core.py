"""The SDK's standard tap tests, run against the emulator's demo database."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from ninox_emulator import NinoxEmulator
from tap_ninox.tap import TapNinox
from tests.tap_support import CRM_DB, DEMO_TEAM, PROJECTS_DB

# The standard test class needs its config when it is built, so this module
# runs an emulator of its own, started at import.
_EMULATOR = NinoxEmulator(api_key="core-test-key", demo=True, port=0).start()
atexit.register(_EMULATOR.stop)

CONFIG = {
    "api_key": "core-test-key",
    "base_url": _EMULATOR.base_url,
    "team_id": DEMO_TEAM,
    "database_ids": [CRM_DB],
}

TestTapNinox = get_tap_test_class(
    TapNinox,
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=500),
)

# Two databases (prefixed names) and the files stream.
TestTapNinoxAllDatabasesWithFiles = get_tap_test_class(
    TapNinox,
    config={**CONFIG, "database_ids": [CRM_DB, PROJECTS_DB], "include_files": True},
    suite_config=SuiteConfig(max_records_limit=500),
)
