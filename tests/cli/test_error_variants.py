"""Error bodies of real servers (emulator variants errors_html, errors_text,
errors_echo_headers): one bounded line, and never the API key."""

from __future__ import annotations

import json

import pytest

from ninox_core.errors import NinoxAPIError, NinoxNotFoundError
from ninox_core.transport.client import NinoxClient
from tests.cli_support import run
from tests.tap_support import DEMO_TEAM, TEST_KEY, tap_config
from tests.target_support import make_database, record, schema, singer_text, target_config

WRONG_KEY = "wrong-but-secret-key-2236"


def test_an_html_error_page_is_title_and_message_on_one_line(emulator):
    emulator.variants.enable("errors_html")
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=0) as client:
        with pytest.raises(NinoxNotFoundError) as info:
            client.get_team("nope")
    message = str(info.value)
    assert "HTTP 404: an HTML page: 404 Not Found - " in message
    assert "nope" in message  # the server's message survived
    assert "<" not in message and "\n" not in message


def test_a_text_error_body_is_the_message(emulator):
    emulator.variants.enable("errors_text")
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=0) as client:
        with pytest.raises(NinoxAPIError) as info:
            client.get_team("nope")
    assert "HTTP 404" in str(info.value) and "nope" in str(info.value)


def test_an_echoed_authorization_header_is_masked_in_the_client(emulator, caplog):
    emulator.variants.enable("errors_echo_headers")
    emulator.set_api_key(TEST_KEY)
    with NinoxClient(WRONG_KEY, emulator.base_url, max_retries=0) as client:
        with pytest.raises(NinoxAPIError) as info:
            client.list_teams()
    assert "HTTP 401" in str(info.value)
    assert WRONG_KEY not in str(info.value) + caplog.text


@pytest.mark.parametrize("args", [[], ["--discover"], ["--test"]])
def test_tap_never_prints_an_echoed_key_at_debug(emulator, tmp_path, args):
    emulator.variants.enable("errors_echo_headers")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(tap_config(emulator, api_key=WRONG_KEY)))
    result = run("tap", "--config", str(path), *args, env={"TAP_NINOX_LOGLEVEL": "DEBUG"})
    assert result.returncode == 1
    assert "HTTP 401" in result.errors[-1]
    assert "urllib3" in result.stderr or "connectionpool" in result.stderr
    assert WRONG_KEY not in result.stderr + result.stdout


@pytest.mark.parametrize("variant", ["errors_echo_headers", "errors_html"])
def test_target_never_prints_an_echoed_key_at_debug(emulator, tmp_path, variant):
    make_database(emulator)
    emulator.variants.enable(variant)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(target_config(emulator, api_key=WRONG_KEY)))
    messages = [
        schema("people", {"Email": {"type": ["string", "null"]}}, key_properties=["Email"]),
        record("people", {"Email": "a@b.org"}),
    ]
    result = run(
        "target",
        "--config",
        str(path),
        input=singer_text(messages),
        env={"TARGET_NINOX_LOGLEVEL": "DEBUG"},
    )
    assert result.returncode == 1
    assert "HTTP 401" in result.errors[-1]
    assert "<" not in result.errors[-1]
    assert WRONG_KEY not in result.stderr + result.stdout


def test_demo_team_is_readable_with_every_error_variant_on(emulator):
    # The variants change error bodies only: good answers stay as they were.
    emulator.variants.enable("errors_echo_headers")
    emulator.variants.enable("errors_html")
    with NinoxClient(TEST_KEY, emulator.base_url) as client:
        assert client.get_team(DEMO_TEAM)["id"] == DEMO_TEAM
