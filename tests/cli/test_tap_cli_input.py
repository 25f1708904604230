"""tap-ninox as a command: files, settings, env vars, --test and secrets.

Every user mistake ends with exit code 1 and one ERROR line that names the
file, variable or setting — never a traceback, never a silent full sync.
"""

from __future__ import annotations

import json
import time

import pytest

from ninox_core.cli.inputs import CliInputError, env_config
from tap_ninox.tap import TapNinox
from tests.cli_support import env_from, run
from tests.local_server import canned_server, http_answer
from tests.tap_support import tap_config

SECRET = "tap-secret-key-16180"


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


# ------------------------------------------------------------- config file


def test_a_missing_config_file_is_named(tmp_path):
    missing = str(tmp_path / "nope.json")
    run("tap", "--config", missing).assert_one_line_failure(
        f"config file '{missing}' does not exist"
    )


def test_a_config_file_that_is_not_json_is_named(tmp_path):
    path = write(tmp_path, "config.json", '{"api_key": "x",\n  team_id: 1}')
    run("tap", "--config", path, "--discover").assert_one_line_failure(
        f"config file '{path}' is not JSON", "line 2"
    )


def test_a_config_file_holding_a_list_is_named(tmp_path):
    path = write(tmp_path, "config.json", [1, 2])
    run("tap", "--config", path).assert_one_line_failure(
        f"config file '{path}' holds JSON list, not an object"
    )


def test_a_setting_of_the_wrong_type_is_named_with_its_file(emulator, tmp_path):
    path = write(tmp_path, "config.json", tap_config(emulator, request_timeout="30", page_size=0))
    line = run("tap", "--config", path).assert_one_line_failure(
        f"setting request_timeout in config file '{path}': '30' is not of type number",
        "setting page_size",
        "is less than 1",
    )
    assert "Config validation failed" not in line


def test_a_missing_required_setting_is_named(emulator, tmp_path):
    config = tap_config(emulator)
    del config["team_id"]
    path = write(tmp_path, "config.json", config)
    run("tap", "--config", path, "--discover").assert_one_line_failure(
        "setting team_id is required"
    )


def test_a_wrong_typed_api_key_is_not_printed(emulator, tmp_path):
    path = write(tmp_path, "config.json", tap_config(emulator, api_key=["k3y-in-a-list-999"]))
    result = run("tap", "--config", path)
    result.assert_one_line_failure("setting api_key", "(hidden) is not of type string")
    assert "k3y-in-a-list-999" not in result.stderr


# -------------------------------------------------------------- state file


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ("", "is empty"),
        ('["bookmarks"]', "holds JSON list, not a Singer state"),
        ('{"lead": {"replication_key_value": 5}}', 'is not a Singer state (no "bookmarks"'),
        ('{"bookmarks": {"lead": 5}}', "is not a Singer state (bookmarks of lead are not"),
        (
            '{"type": "STATE", "value": {"bookmarks": {}}}',
            'this is a STATE message: save its "value" instead',
        ),
    ],
)
def test_a_state_file_that_is_not_a_singer_state_fails_naming_it(
    emulator, tmp_path, content, expected
):
    config = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead"]))
    state = str(tmp_path / "state.json")
    if content is not None:
        write(tmp_path, "state.json", content)
    result = run("tap", "--config", config, "--state", state)
    result.assert_one_line_failure(f"state file '{state}'", expected)
    assert '{"bookmarks": {"<stream>"' in result.errors[0] or content is None
    assert "RECORD" not in result.stdout  # no silent full sync


def test_a_valid_state_file_resumes(emulator, tmp_path):
    config = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead"]))
    first = run("tap", "--config", config)
    assert first.returncode == 0, first.stderr
    last_state = [json.loads(x) for x in first.stdout.splitlines()][-1]["value"]
    state = write(tmp_path, "state.json", last_state)
    second = run("tap", "--config", config, "--state", state)
    assert second.returncode == 0, second.stderr
    assert '"type":"RECORD"' not in second.stdout.replace(" ", "")


def test_an_empty_state_object_is_a_first_run(emulator, tmp_path):
    config = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead"]))
    state = write(tmp_path, "state.json", {})
    result = run("tap", "--config", config, "--state", state)
    assert result.returncode == 0, result.stderr
    assert '"RECORD"' in result.stdout


# ------------------------------------------------------------------- env


def test_numbers_and_booleans_from_env_only(emulator):
    config = tap_config(emulator, tables=["Lead"])
    env = env_from(config, "TAP_NINOX_")
    env |= {
        "TAP_NINOX_REQUEST_TIMEOUT": "30",
        "TAP_NINOX_MAX_RETRIES": "3",
        "TAP_NINOX_INCLUDE_FILES": "true",
        "TAP_NINOX_PAGE_SIZE": "7",
    }
    result = run("tap", "--config", "ENV", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    streams = {json.loads(x).get("stream") for x in result.stdout.splitlines()}
    assert "files" in streams  # include_files=true was read as true
    assert emulator.request_count(path_regex=r"/records$") >= 2  # page_size 7 paged


def test_env_mixed_with_a_config_file_overrides_it(emulator, tmp_path):
    path = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead"], page_size=10_000))
    env = {"TAP_NINOX_PAGE_SIZE": "2", "TAP_NINOX_REQUEST_TIMEOUT": "12.5"}
    emulator.clear_log()
    result = run("tap", "--config", path, "--config", "ENV", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    records = sum('"type":"RECORD"' in x.replace(" ", "") for x in result.stdout.splitlines())
    assert emulator.request_count(path_regex=r"/records$") >= records // 2


def test_an_env_value_that_is_not_a_number_is_one_line(emulator, tmp_path):
    path = write(tmp_path, "config.json", tap_config(emulator))
    env = {"TAP_NINOX_MAX_RETRIES": "three"}
    run("tap", "--config", path, "--config", "ENV", env=env).assert_one_line_failure(
        "environment variable TAP_NINOX_MAX_RETRIES='three' is not a whole number"
    )


def test_env_parsing_follows_the_settings_schema():
    schema = TapNinox.config_jsonschema
    values, sources = env_config(
        schema,
        "TAP_NINOX_",
        {
            "TAP_NINOX_REQUEST_TIMEOUT": "30",
            "TAP_NINOX_MAX_RETRIES": "3",
            "TAP_NINOX_INCLUDE_FILES": "TRUE",
            "TAP_NINOX_INCLUDE_DELETES": "0",
            "TAP_NINOX_DATABASE_IDS": '["a", "b"]',
            "TAP_NINOX_TABLES": "Lead, Contact",
            "TAP_NINOX_API_KEY": "k",
        },
    )
    assert values == {
        "request_timeout": 30,
        "max_retries": 3,
        "include_files": True,
        "include_deletes": False,
        "database_ids": ["a", "b"],
        "tables": ["Lead", "Contact"],
        "api_key": "k",
    }
    assert sources["request_timeout"] == "environment variable TAP_NINOX_REQUEST_TIMEOUT"
    assert env_config(schema, "P_", {"P_REQUEST_TIMEOUT": "12.5"})[0] == {"request_timeout": 12.5}
    with pytest.raises(CliInputError, match="P_INCLUDE_FILES='maybe' is not true or false"):
        env_config(schema, "P_", {"P_INCLUDE_FILES": "maybe"})
    with pytest.raises(CliInputError, match=r"P_API_KEY=\(hidden\)"):
        env_config(
            {"properties": {"api_key": {"type": "integer", "secret": True}}},
            "P_",
            {"P_API_KEY": "secret"},
        )


# ----------------------------------------------------------------- --test


def test_test_mode_passes_with_exit_0(emulator, tmp_path):
    path = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead", "Contact"]))
    result = run("tap", "--config", path, "--test")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "every one of 2 streams could be read" in result.stderr


def test_test_mode_failures_are_one_line_each(emulator, tmp_path):
    emulator.faults.add(kind="status", status=500, times=None, path=r"/tables/D/records$")
    config = tap_config(emulator, tables=["Lead", "Contact"], max_retries=0)
    path = write(tmp_path, "config.json", config)
    result = run("tap", "--config", path, "--test")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    failed = [e for e in result.errors if "--test failed" in e]
    assert len(failed) == 1 and "table 'Lead'" in failed[0] and "HTTP 500" in failed[0]
    assert "1 of 2 streams failed" in result.errors[-1]
    assert len(result.errors) == 2


# ------------------------------------------------------- not a Ninox server


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            http_answer(200, "<html><title>Router login</title></html>", "text/html"),
            "not JSON but an HTML page: Router login",
        ),
        (http_answer(200, '{"hello": "world"}'), "is not a list of databases"),
    ],
)
def test_a_server_that_is_not_ninox_is_one_line(tmp_path, answer, expected):
    with canned_server(answer) as base:
        config = {"api_key": "k" * 8, "team_id": "t", "base_url": base}
        path = write(tmp_path, "config.json", config)
        run("tap", "--config", path, "--discover").assert_one_line_failure(
            expected, "the root of a Ninox API"
        )


# ---------------------------------------------------------------- secrets


def test_the_key_echoed_by_a_server_never_reaches_output_at_debug(tmp_path):
    with canned_server(echo_headers=True, status=400) as base:
        config = {"api_key": SECRET, "team_id": "t", "base_url": base}
        path = write(tmp_path, "config.json", config)
        for args in ([], ["--discover"], ["--test"]):
            result = run("tap", "--config", path, *args, env={"TAP_NINOX_LOGLEVEL": "DEBUG"})
            # At DEBUG the traceback is logged too: masked as well.
            assert result.returncode == 1
            assert "HTTP 400" in result.errors[-1] and "Bearer ***" in result.errors[-1]
            assert "DEBUG" in result.stderr
            assert SECRET not in result.stderr + result.stdout


def test_a_key_in_base_url_never_reaches_output_at_debug(tmp_path, sleeps):
    # `sleeps`: the retry happens (and logs), its wait is recorded.
    with canned_server(http_answer(503, "down", "text/plain")) as base:
        host = base.split("//", 1)[1]
        config = {
            "api_key": SECRET,
            "team_id": "t",
            "base_url": f"http://{host}?token={SECRET}",
            "max_retries": 1,
        }
        path = write(tmp_path, "config.json", config)
        result = run("tap", "--config", path, env={"TAP_NINOX_LOGLEVEL": "DEBUG"})
    assert result.returncode == 1
    assert "HTTP 503" in result.errors[-1]
    assert "urllib3" in result.stderr or "connectionpool" in result.stderr
    assert SECRET not in result.stderr + result.stdout


# ------------------------------------------------------------ unreachable


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "no-such-host.invalid"])
def test_an_unreachable_base_url_fails_within_15_s_naming_it(tmp_path, host, sleeps):
    from tests.local_server import free_port

    base = f"http://{host.format(port=free_port())}/v1"
    # Default retries (8): before, this took minutes of backoff.
    config = {"api_key": SECRET, "team_id": "t", "base_url": base}
    path = write(tmp_path, "config.json", config)
    started = time.monotonic()
    result = run("tap", "--config", path)
    # Back-off waits are recorded, not slept: elapsed + waits is what a user waits.
    assert time.monotonic() - started + sum(sleeps) < 15
    result.assert_one_line_failure(f"cannot reach the server at base_url {base}", "check base_url")


def test_about_needs_no_config():
    result = run("tap", "--about", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "tap-ninox"


# ---------------------------------------------------------------- catalog


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("{oops", "is not JSON"),
        ('{"tables": []}', "not a Singer catalog"),
    ],
)
def test_a_catalog_file_that_is_not_a_catalog_is_named(emulator, tmp_path, content, expected):
    config = write(tmp_path, "config.json", tap_config(emulator))
    catalog = str(tmp_path / "catalog.json")
    if content is not None:
        write(tmp_path, "catalog.json", content)
    run("tap", "--config", config, "--catalog", catalog).assert_one_line_failure(
        f"catalog file '{catalog}'", expected
    )


def test_a_discovered_catalog_is_accepted(emulator, tmp_path):
    config = write(tmp_path, "config.json", tap_config(emulator, tables=["Lead"]))
    discovered = run("tap", "--config", config, "--discover")
    assert discovered.returncode == 0, discovered.stderr
    catalog = write(tmp_path, "catalog.json", discovered.stdout)
    result = run("tap", "--config", config, "--catalog", catalog)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_trickling_server_times_out_at_request_timeout(tmp_path, sleeps):
    answer = http_answer(200, "[" + " " * 200 + "]")
    with canned_server(answer, trickle=0.1) as base:
        config = {
            "api_key": SECRET,
            "team_id": "t",
            "base_url": base,
            "request_timeout": 0.5,
            "max_retries": 1,
        }
        path = write(tmp_path, "config.json", config)
        started = time.monotonic()
        result = run("tap", "--config", path, "--discover")
        elapsed = time.monotonic() - started
    result.assert_one_line_failure("no complete answer within request_timeout (0.5 s)")
    assert len(sleeps) == 1  # one backoff between the two tries (recorded, not slept)
    assert elapsed + sum(sleeps) < 12  # two tries of 0.5 s and one backoff, plus start-up
