"""A config key that is not a setting: a near miss fails, anything else is warned.

A typo used to be ignored in silence: `databse_ids` read every database,
`hard_deletes: true` skipped every deletion (docs/design.md, "Errors and logs").
"""

from __future__ import annotations

import json

import pytest

from tests.cli_support import env_from, run
from tests.conftest import TEST_KEY
from tests.tap_support import tap_config
from tests.target_support import make_database, target_config


def write(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(content))
    return str(path)


@pytest.mark.parametrize(
    ("typo", "value", "setting"),
    [("databse_ids", ["x"], "database_ids"), ("page_sise", 10, "page_size")],
)
def test_a_tap_setting_misspelt_fails_naming_the_setting_meant(
    emulator, tmp_path, typo, value, setting
):
    path = write(tmp_path, {**tap_config(emulator), typo: value})
    result = run("tap", "--config", path)
    result.assert_one_line_failure(
        f"{typo} in config file '{path}' is not a setting of tap-ninox",
        f"did you mean `{setting}`?",
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("typo", "value", "setting"),
    [("hard_deletes", True, "hard_delete"), ("upsert_key", {"people": ["Email"]}, "upsert_keys")],
)
def test_a_target_setting_misspelt_fails_naming_the_setting_meant(
    emulator, tmp_path, typo, value, setting
):
    path = write(tmp_path, {**target_config(emulator), typo: value})
    run("target", "--config", path, input="").assert_one_line_failure(
        f"{typo} in config file '{path}' is not a setting of target-ninox",
        f"did you mean `{setting}`?",
    )


def test_a_misspelt_setting_fails_discovery_too(emulator, tmp_path):
    path = write(tmp_path, {**tap_config(emulator), "Tabels": ["Contact"]})
    run("tap", "--config", path, "--discover").assert_one_line_failure("did you mean `tables`?")


def test_an_unknown_key_far_from_any_setting_is_one_warning(emulator, tmp_path):
    path = write(tmp_path, {**tap_config(emulator), "comment": "my CRM copy"})
    result = run("tap", "--config", path, "--discover")
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if "comment" in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0], result.stderr[-2000:]
    assert "not a setting of tap-ninox and is ignored" in warnings[0]


def test_the_sdk_settings_are_accepted_without_a_word(emulator, tmp_path):
    make_database(emulator)
    config = target_config(
        emulator,
        add_record_metadata=False,
        validate_records=True,
        stream_maps={},
        flattening_enabled=False,
        faker_config={},
    )
    result = run("target", "--config", write(tmp_path, config), input="")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not a setting" not in result.stderr


def test_an_env_var_that_names_no_setting_is_warned_with_the_name_meant(emulator):
    env = env_from(tap_config(emulator), "TAP_NINOX_")
    env["TAP_NINOX_PAGE_SISE"] = "10"
    env["TAP_NINOX_LOGLEVEL"] = "INFO"  # the SDK's, not a setting: no warning
    result = run("tap", "--config", "ENV", "--discover", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if "WARNING" in line] == [
        line for line in result.stderr.splitlines() if "TAP_NINOX_PAGE_SISE" in line
    ]
    warned = [line for line in result.stderr.splitlines() if "TAP_NINOX_PAGE_SISE" in line]
    assert len(warned) == 1 and "WARNING" in warned[0], result.stderr[-2000:]
    assert "did you mean TAP_NINOX_PAGE_SIZE?" in warned[0]


def test_the_sdk_does_not_say_it_skipped_the_environment_it_read(emulator):
    result = run(
        "tap", "--config", "ENV", "--discover", env=env_from(tap_config(emulator), "TAP_NINOX_")
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Settings read from environment variables" in result.stderr
    assert "Skipping parse of env var settings" not in result.stderr


def test_the_ids_tool_fails_on_a_misspelt_connection_setting(emulator, tmp_path):
    path = write(tmp_path, {"api_key": TEST_KEY, "base_ulr": emulator.base_url})
    done = run("ids", "--config", path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"tap-ninox ids: base_ulr in config file '{path}' is not a setting; "
        "did you mean `base_url`?"
    ]


def test_the_ids_tool_reads_a_target_config_too(emulator, tmp_path):
    path = write(tmp_path, target_config(emulator, table_mapping={}))
    done = run("ids", "--config", path)
    assert done.returncode == 0, done.stderr
    assert "team_id " in done.stdout


def test_two_edits_and_a_swap_count_as_typos():
    from ninox_core.cli.inputs import closest_setting, edit_distance

    known = ["database_ids", "tables", "page_size"]
    assert closest_setting("databse_ids", known) == "database_ids"
    assert closest_setting("DATABASE-IDS", known) == "database_ids"
    assert closest_setting("tabels", known) == "tables"
    assert closest_setting("pagesize_", known) == "page_size"
    assert closest_setting("comment", known) is None
    assert edit_distance("tabels", "tables") == 1
    assert edit_distance("abc", "xyz") == 3
