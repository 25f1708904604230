"""The client against servers that misbehave as real ones do.

Where the emulator cannot play the behaviour (trickled bytes, a server that
is not Ninox, error bodies echoing headers before the emulator's variants),
a tiny local server does (tests/local_server.py).
"""

from __future__ import annotations

import logging
import time

import pytest
import requests

from ninox_core.errors import (
    NinoxAPIError,
    NinoxConfigError,
    NinoxConnectionError,
    NinoxRetryableError,
)
from ninox_core.transport import client as client_module
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.redaction import redact_url
from tests.local_server import canned_server, free_port, http_answer
from tests.tap_support import DEMO_TEAM, TEST_KEY

SECRET = "field-secret-key-3141"


# ----------------------------------------------------------------- secrets


def test_an_error_body_echoing_the_authorization_header_is_masked(caplog):
    with canned_server(echo_headers=True, status=400) as base:
        with caplog.at_level(logging.DEBUG):
            with NinoxClient(SECRET, base, max_retries=0) as client:
                with pytest.raises(NinoxAPIError) as info:
                    client.list_teams()
    assert "HTTP 400" in str(info.value)
    assert "Bearer ***" in str(info.value)  # the echo is there, masked
    assert SECRET not in str(info.value)
    assert SECRET not in caplog.text


def test_a_key_in_base_url_is_masked_in_messages_and_urllib3_debug_lines(caplog):
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1?apikey={SECRET}x"
    with caplog.at_level(logging.DEBUG):
        with NinoxClient("another-key-2718", base, max_retries=0) as client:
            with pytest.raises(NinoxConnectionError) as info:
                client.list_teams()
            assert SECRET not in repr(client)
    assert "127.0.0.1" in str(info.value)
    assert SECRET not in str(info.value)
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 DEBUG captured"
    assert SECRET not in caplog.text


def test_credentials_in_base_url_are_refused_and_masked(caplog):
    base = f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1"
    with pytest.raises(NinoxConfigError) as info:
        NinoxClient("another-key-2718", base)
    assert "remove them from base_url" in str(info.value)
    assert SECRET not in str(info.value)


def test_redact_url_drops_user_info_and_query_values():
    assert redact_url("https://u:pw@host/v1?key=abc&x") == "https://***@host/v1?key=***&x"


# --------------------------------------------------------- HTML and text


def test_an_html_error_page_becomes_one_short_line():
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title>"
        "<style>body{color:red}</style></head><body><h1>Bad Gateway</h1>"
        + "<p>lorem ipsum</p>" * 500
        + "</body></html>"
    )
    with canned_server(http_answer(404, page, "text/html")) as base:
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(NinoxAPIError) as info:
                client.list_teams()
    message = str(info.value)
    assert "HTTP 404" in message
    assert "an HTML page: 502 Bad Gateway" in message
    assert "<" not in message
    assert "\n" not in message
    assert len(message) < 400


def test_an_html_page_without_title_is_reduced_to_its_text():
    page = "<html><body><div>Upstream <b>down</b></div>" + "<p>x</p>" * 2000 + "</body></html>"
    with canned_server(http_answer(400, page, "text/html")) as base:
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(NinoxAPIError) as info:
                client.list_teams()
    message = str(info.value)
    assert "an HTML page: Upstream down x x" in message
    assert "<" not in message
    assert len(message) < 450


def test_a_long_plain_text_error_is_bounded_and_on_one_line():
    text = "line one\nline two\n" + "blah " * 5000
    with canned_server(http_answer(400, text, "text/plain")) as base:
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(NinoxAPIError) as info:
                client.list_teams()
    message = str(info.value)
    assert "line one line two blah" in message
    assert "\n" not in message
    assert len(message) < 450


# ---------------------------------------------------------- not Ninox


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            http_answer(200, "<html><title>Welcome to nginx!</title></html>", "text/html"),
            "not JSON but an HTML page: Welcome to nginx!",
        ),
        (http_answer(200, '{"status": "ok"}'), "is not a list of teams"),
        (http_answer(200, "[1, 2, 3]"), "is not a list of teams"),
    ],
)
def test_a_server_that_is_not_ninox_is_named_as_such(answer, expected):
    with canned_server(answer) as base:
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(NinoxAPIError) as info:
                client.list_teams()
    message = str(info.value)
    assert expected in message
    assert f"is base_url {base} the root of a Ninox API" in message


def test_wrong_shapes_of_databases_and_tables_are_named(emulator):
    emulator.faults.clear()
    with canned_server(http_answer(200, '{"databases": []}')) as base:
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(NinoxAPIError, match="not a list of databases"):
                client.list_databases(DEMO_TEAM)
            with pytest.raises(NinoxAPIError, match="not a list of tables"):
                client.list_tables(DEMO_TEAM, "db")


# ------------------------------------------------------------ deadline


def test_request_timeout_bounds_the_whole_answer_of_a_trickling_server(sleeps):
    # One byte every 0.1 s: no single read ever waits 0.5 s, the answer takes ~20 s.
    answer = http_answer(200, '[{"id": "t", "name": "x"}]' + " " * 100)
    with canned_server(answer, trickle=0.1) as base:
        with NinoxClient(TEST_KEY, base, timeout=0.5, max_retries=1) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError) as info:
                client.list_teams()
            elapsed = time.monotonic() - started
    assert "no complete answer within request_timeout (0.5 s)" in str(info.value)
    assert "gave up after 2 tries" in str(info.value)
    assert len(sleeps) == 1  # the retry policy applied
    assert elapsed < 3.5


def test_request_timeout_bounds_a_trickled_body_after_quick_headers(sleeps):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    # Headers arrive at once (sent byte by byte too, 0.05 s apart: ~4 s) ...
    with canned_server(head + b" " * 400, trickle=0.05) as base:
        with NinoxClient(TEST_KEY, base, timeout=0.75, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError, match="within request_timeout"):
                client.list_teams()
            assert time.monotonic() - started < 3.0


def test_a_slow_but_whole_answer_within_the_deadline_is_read(emulator):
    emulator.faults.add(kind="latency", seconds=0.3, times=1)
    with NinoxClient(TEST_KEY, emulator.base_url, timeout=2.0, max_retries=0) as client:
        assert client.list_teams()


# ------------------------------------------------------- unreachable


def test_an_unreachable_server_on_first_contact_fails_fast_naming_base_url(sleeps):
    # Waits are recorded, not slept: elapsed + waits is what a user would wait.
    base = f"http://127.0.0.1:{free_port()}/v1"
    with NinoxClient(TEST_KEY, base, max_retries=8) as client:
        started = time.monotonic()
        with pytest.raises(NinoxConnectionError) as info:
            client.list_teams()
        elapsed = time.monotonic() - started
    message = str(info.value)
    assert f"cannot reach the server at base_url {base} (connection refused)" in message
    assert "check base_url" in message
    assert elapsed + sum(sleeps) < 15


def test_an_unknown_host_on_first_contact_fails_fast(sleeps):
    with NinoxClient(TEST_KEY, "http://no-such-host.invalid/v1", max_retries=8) as client:
        started = time.monotonic()
        with pytest.raises(NinoxConnectionError, match=r"\(unknown host\)"):
            client.list_teams()
        assert time.monotonic() - started + sum(sleeps) < 15


def test_after_first_contact_a_refused_connection_follows_the_retry_policy(emulator, sleeps):
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=5) as client:
        assert client.list_teams()
        client.base_url = f"http://127.0.0.1:{free_port()}/v1"  # the server went away
        with pytest.raises(NinoxConnectionError) as info:
            client.list_teams()
    assert len(sleeps) == 5
    assert "connection refused (gave up after 6 tries" in str(info.value)


def test_refusal_is_told_from_a_dropped_answer_by_type_not_text():
    # A dropped connection whose text mentions "Connection refused" is still a drop.
    err = requests.ConnectionError("Connection refused by peer (text only)")
    assert not client_module._unreachable(err)
    assert client_module._describe_transport_error(err) == "connection dropped"


def test_gives_up_on_429_as_before(emulator, sleeps):
    emulator.faults.add(kind="status", status=429, times=5)
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=2) as client:
        with pytest.raises(NinoxRetryableError):
            client.list_teams()
    assert len(sleeps) == 2


def test_redact_masks_known_secrets_bearer_tokens_and_url_passwords():
    from ninox_core.transport.redaction import add_secret, redact

    add_secret("s3cr3t/with space")
    assert redact("key s3cr3t/with space here") == "key *** here"
    assert redact("url ?k=s3cr3t%2Fwith%20space") == "url ?k=***"
    assert redact('"Authorization": "Bearer abc.def-123"') == '"Authorization": "Bearer ***"'
    assert redact("see https://me:pw@host/v1") == "see https://***@host/v1"
    add_secret("ab")  # too short to be a key: masking it would garble every line
    assert redact("ab cd") == "ab cd"


def test_a_traceback_logged_with_the_key_in_its_message_is_masked(caplog):
    from ninox_core.transport import redaction

    redaction.add_secret("traceback-secret-777")
    redaction.install()
    try:
        raise RuntimeError("failed with key traceback-secret-777")
    except RuntimeError:
        logging.getLogger("some.library").exception("oops %s", "traceback-secret-777")
    assert "traceback-secret-777" not in caplog.text
    assert "failed with key ***" in caplog.text
