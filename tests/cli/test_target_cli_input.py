"""target-ninox as a command: config files, settings, env vars and secrets.

The same one-line rules as tap-ninox (tests/cli/test_tap_cli_input.py), through
the shared ninox_core.cli.inputs wired into the target's CLI.
"""

from __future__ import annotations

import json

import pytest

from tests.cli_support import env_from, run
from tests.local_server import canned_server, http_answer
from tests.target_support import make_database, record, schema, singer_text, target_config

SECRET = "target-secret-key-1414"
PEOPLE = {"Email": {"type": ["string", "null"]}, "Name": {"type": ["string", "null"]}}


def people(n):
    return singer_text(
        [schema("people", PEOPLE, key_properties=["Email"])]
        + [record("people", {"Email": f"p{i}@x.org", "Name": f"P {i}"}) for i in range(n)]
    )


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_a_missing_config_file_is_named(tmp_path):
    missing = str(tmp_path / "nope.json")
    run("target", "--config", missing, input="").assert_one_line_failure(
        f"config file '{missing}' does not exist"
    )


def test_a_config_file_that_is_not_json_is_named(tmp_path):
    path = write(tmp_path, "config.json", "api_key = 1")
    run("target", "--config", path, input="").assert_one_line_failure(
        f"config file '{path}' is not JSON"
    )


def test_a_setting_of_the_wrong_type_is_one_line(emulator, tmp_path):
    path = write(tmp_path, "config.json", target_config(emulator, batch_size_rows="500"))
    run("target", "--config", path, input=people(1)).assert_one_line_failure(
        f"setting batch_size_rows in config file '{path}': '500' is not of type integer"
    )


def test_numbers_and_booleans_from_env(emulator, tmp_path):
    make_database(emulator)
    env = env_from(target_config(emulator), "TARGET_NINOX_")
    env |= {
        "TARGET_NINOX_BATCH_SIZE_ROWS": "2",
        "TARGET_NINOX_REQUEST_TIMEOUT": "30",
        "TARGET_NINOX_DRY_RUN": "false",
        "TARGET_NINOX_LOGLEVEL": "INFO",
    }
    emulator.clear_log()
    result = run("target", "--config", "ENV", env=env, input=people(5))
    assert result.returncode == 0, result.stderr[-3000:]
    assert emulator.request_count(method="POST") == 3  # 5 records in batches of 2


def test_env_mixed_with_a_config_file(emulator, tmp_path):
    make_database(emulator)
    path = write(tmp_path, "config.json", target_config(emulator, batch_size_rows=100))
    emulator.clear_log()
    result = run(
        "target",
        "--config",
        path,
        "--config",
        "ENV",
        env={"TARGET_NINOX_BATCH_SIZE_ROWS": "500", "TARGET_NINOX_DRY_RUN": "true"},
        input=people(3),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert emulator.request_count(method="POST") == 0  # dry_run=true from the env


def test_an_env_boolean_that_is_not_one_is_one_line(emulator, tmp_path):
    path = write(tmp_path, "config.json", target_config(emulator))
    env = {"TARGET_NINOX_HARD_DELETE": "sometimes"}
    run("target", "--config", path, "--config", "ENV", env=env, input="").assert_one_line_failure(
        "environment variable TARGET_NINOX_HARD_DELETE='sometimes' is not true or false"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            http_answer(200, "<html><title>It works!</title></html>", "text/html"),
            "not JSON but an HTML page: It works!",
        ),
        (http_answer(200, '"ok"'), "is not a list of tables"),
    ],
)
def test_a_server_that_is_not_ninox_is_one_line(tmp_path, answer, expected):
    with canned_server(answer) as base:
        config = {
            "api_key": "k" * 8,
            "team_id": "t",
            "database_id": "d",
            "base_url": base,
            "max_retries": 0,
        }
        path = write(tmp_path, "config.json", config)
        run("target", "--config", path, input=people(1)).assert_one_line_failure(
            expected, "the root of a Ninox API"
        )


def test_the_key_echoed_by_a_server_never_reaches_output_at_debug(tmp_path):
    with canned_server(echo_headers=True, status=400) as base:
        config = {
            "api_key": SECRET,
            "team_id": "t",
            "database_id": "d",
            "base_url": f"{base}?key={SECRET}",
        }
        path = write(tmp_path, "config.json", config)
        result = run(
            "target", "--config", path, input=people(1), env={"TARGET_NINOX_LOGLEVEL": "DEBUG"}
        )
    assert result.returncode == 1
    assert "HTTP 400" in result.errors[-1] and "Bearer ***" in result.errors[-1]
    assert "connectionpool" in result.stderr  # urllib3's DEBUG lines were there
    assert SECRET not in result.stderr + result.stdout


def test_an_unreachable_base_url_fails_within_15_s_naming_it(tmp_path, sleeps):
    import time

    from tests.local_server import free_port

    base = f"http://127.0.0.1:{free_port()}/v1"
    config = {"api_key": SECRET, "team_id": "t", "database_id": "d", "base_url": base}
    path = write(tmp_path, "config.json", config)
    started = time.monotonic()
    result = run("target", "--config", path, input=people(1))
    # Back-off waits are recorded, not slept: elapsed + waits is what a user waits.
    assert time.monotonic() - started + sum(sleeps) < 15
    result.assert_one_line_failure(f"cannot reach the server at base_url {base}")
