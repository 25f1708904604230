"""The SDK's standard tap tests, run against the emulator's demo database."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_ninox.tap import TapNinox
from tests.standard_emulator import KEY, standard_tests_emulator
from tests.tap_support import CRM_DB, DEMO_TEAM, PROJECTS_DB

# The standard test class needs a running server when it is built (see
# tests/standard_emulator.py).
_EMULATOR = standard_tests_emulator()

CONFIG = {
    "api_key": KEY,
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
