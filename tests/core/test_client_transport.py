"""The client's one transport: proxies resolved at start, lean write answers."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from ninox_core.errors import NinoxRedirectError
from ninox_core.transport.client import NinoxClient
from tests.local_server import http_answer, scripted_server
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    """A forward proxy stand-in: records the request line, answers `[]`."""

    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.requestline)
        body = json.dumps([{"id": "t1", "name": "via proxy"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    _ProxyHandler.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _ProxyHandler.seen
    finally:
        server.shutdown()
        server.server_close()


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_http_proxy_set_at_start_still_applies(monkeypatch, proxy):
    address, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", address)
    with NinoxClient(TEST_KEY, "http://ninox.invalid/v1", max_retries=0) as client:
        # The environment is read once: changing it later changes nothing.
        monkeypatch.delenv("HTTP_PROXY")
        assert client.list_teams() == [{"id": "t1", "name": "via proxy"}]
    assert seen == ["GET http://ninox.invalid/v1/teams HTTP/1.1"]


def test_no_proxy_set_at_start_still_applies(monkeypatch, emulator, proxy):
    address, seen = proxy
    _clear_proxy_env(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", address)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=0) as client:
        assert any(team["id"] == DEMO_TEAM for team in client.list_teams())
    assert seen == []


def test_session_does_not_read_the_environment_per_request(emulator):
    with NinoxClient(TEST_KEY, emulator.base_url) as client:
        assert client._session.trust_env is False


def test_change_feed_without_updates_keeps_seq_and_removes(emulator):
    with NinoxClient(TEST_KEY, emulator.base_url) as client:
        table = "A"
        seq = client.database_sequence(DEMO_TEAM, CRM_DB)
        ids = [r["id"] for page in client.iter_record_pages(DEMO_TEAM, CRM_DB, table) for r in page]
        client.save_records(DEMO_TEAM, CRM_DB, table, [{"id": ids[0], "fields": {}}])
        client.delete_records(DEMO_TEAM, CRM_DB, table, [ids[1]])
        full = client.table_changes(DEMO_TEAM, CRM_DB, table, seq)
        lean = client.table_changes(DEMO_TEAM, CRM_DB, table, seq, updates=False)
        assert full["updates"]
        assert lean == {"seq": full["seq"], "removes": full["removes"]}
        assert lean["removes"] == [f"{table}{ids[1]}"]


# ------------------------------------------- the session (session.py)


def test_a_redirect_answer_is_never_followed_and_names_the_new_base_url():
    moved = (
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /api/v1/teams/t/databases/d/tables/T/"
        b"records\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    with scripted_server([moved]) as (base, seen):
        with NinoxClient(TEST_KEY, base, max_retries=3) as client:
            with pytest.raises(NinoxRedirectError) as info:
                client.save_records("t", "d", "T", [{"_id": 7, "_upsert": True}])
    assert len(seen) == 1  # neither followed nor retried
    root = base.removesuffix("/v1")
    assert f"(base_url {root}/api/v1)" in str(info.value)


def test_a_cookie_a_server_sets_is_sent_back():
    first = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: lb=node-2; Path=/\r\nContent-Type: application/json"
        b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    with scripted_server([first, http_answer(200, "{}")]) as (base, seen):
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            client.delete_records("t", "d", "T", [1])
            client.delete_records("t", "d", "T", [2])
    assert b"lb=node-2" not in seen[0]
    assert b"Cookie: lb=node-2" in seen[1]
