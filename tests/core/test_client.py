"""The shared Ninox API client over real HTTP: retries, errors, paging, secrecy."""

from __future__ import annotations

import http.server
import logging
import threading

import pytest

from ninox_core.errors import (
    NinoxAuthError,
    NinoxBadRequestError,
    NinoxConnectionError,
    NinoxNotFoundError,
    NinoxRetryableError,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.transport.client import NinoxClient
from tests.tap_support import CRM_DB, DEMO_TEAM, TEST_KEY


@pytest.fixture
def api(emulator):
    with NinoxClient(TEST_KEY, emulator.base_url, max_retries=4, backoff_base=0.5) as client:
        yield client


def first_table(api):
    return api.list_tables(DEMO_TEAM, CRM_DB)[0]


# -------------------------------------------------------------------- retries


def test_429_with_retry_after_waits_as_told(emulator, api, sleeps):
    emulator.faults.add(kind="status", status=429, retry_after=7, times=2)
    assert api.list_teams()
    assert sleeps == [7.0, 7.0]
    assert emulator.request_count(path_regex=r"/teams$") == 3


def test_429_without_retry_after_backs_off_exponentially(emulator, api, sleeps):
    emulator.faults.add(kind="status", status=429, times=3)
    assert api.list_teams()
    assert len(sleeps) == 3
    # 0.5 · 2^k, each scaled by a jitter in [0.5, 1].
    for k, wait in enumerate(sleeps):
        assert 0.25 * 2**k <= wait <= 0.5 * 2**k


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried(emulator, api, sleeps, status):
    emulator.faults.add(kind="status", status=status, times=2)
    assert api.get_database(DEMO_TEAM, CRM_DB)["schema"]["seq"] >= 0
    assert len(sleeps) == 2


def test_dropped_connection_is_retried_for_reads(emulator, api, sleeps):
    emulator.faults.add(kind="drop", times=2)
    assert api.list_databases(DEMO_TEAM)
    assert len(sleeps) == 2


def test_timeout_is_retried(emulator, sleeps):
    emulator.faults.add(kind="latency", seconds=0.5, times=1)
    with NinoxClient(TEST_KEY, emulator.base_url, timeout=0.1, max_retries=2) as client:
        assert client.list_teams()
    assert len(sleeps) == 1


def test_gives_up_after_max_retries_with_a_clear_message(emulator, api, sleeps):
    emulator.faults.add(kind="status", status=503, times=50)
    with pytest.raises(NinoxRetryableError) as info:
        api.list_teams()
    assert len(sleeps) == 4  # max_retries
    assert "GET /teams" in str(info.value)
    assert "503" in str(info.value)
    assert "gave up after 5 tries" in str(info.value)


def test_connection_refused_is_retried_then_reported(sleeps):
    with NinoxClient(TEST_KEY, "http://127.0.0.1:9/v1", max_retries=2) as client:
        with pytest.raises(NinoxConnectionError, match="connection refused"):
            client.list_teams()
    assert len(sleeps) == 2


def test_lost_answer_of_a_create_is_not_resent(emulator, api, sleeps):
    table = first_table(api)
    before = len([r for p in api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id) for r in p])
    emulator.faults.add(kind="lost_response", times=1, method="POST")
    with pytest.raises(NinoxWriteOutcomeUnknown, match="may or may not have been applied"):
        api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}}])
    after = len([r for p in api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id) for r in p])
    assert after == before + 1  # applied once, not twice
    assert sleeps == []


def test_lost_answer_of_an_upsert_batch_is_resent(emulator, api, sleeps):
    table = first_table(api)
    emulator.faults.add(kind="lost_response", times=1, method="POST")
    answer = api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"_upsert": True, "_id": 9001}])
    assert answer[0]["_id"] == 9001
    assert len(sleeps) == 1
    assert api.get_record(DEMO_TEAM, CRM_DB, table.id, 9001)["id"] == 9001


def test_one_request_at_a_time_across_threads(emulator, api):
    emulator.max_concurrent = 1
    emulator.faults.add(kind="latency", seconds=0.02, times=20)
    errors: list[Exception] = []

    def work() -> None:
        try:
            for _ in range(5):
                api.list_teams()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert emulator.request_count(status=429) == 0


# --------------------------------------------------------------------- errors


def test_wrong_key_is_an_auth_error_without_the_key(emulator, sleeps):
    with NinoxClient("not-the-key-987", emulator.base_url) as client:
        with pytest.raises(NinoxAuthError) as info:
            client.list_teams()
    assert info.value.status == 401
    assert "not-the-key-987" not in str(info.value)
    assert "api_key" in str(info.value)
    assert sleeps == []


def test_404_carries_the_server_message(api):
    with pytest.raises(NinoxNotFoundError) as info:
        api.get_table(DEMO_TEAM, CRM_DB, "ZZZ")
    assert info.value.status == 404
    assert info.value.server_message
    assert "/tables/ZZZ" in str(info.value)


def test_400_names_record_and_field(api):
    table = first_table(api)
    with pytest.raises(NinoxBadRequestError) as info:
        api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}}, {"fields": {"Nope": 1}}])
    assert "Nope" in info.value.server_message
    assert "POST" in str(info.value)


class _PlainTextErrorHandler(http.server.BaseHTTPRequestHandler):
    """A server answering errors in plain text (some Ninox servers do)."""

    def do_GET(self) -> None:
        body = b"Service temporarily down for maintenance"
        self.send_response(418)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_plain_text_error_bodies_become_the_message():
    # The emulator always answers JSON errors; this one answers text.
    server = http.server.HTTPServer(("127.0.0.1", 0), _PlainTextErrorHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        with NinoxClient(TEST_KEY, base, max_retries=0) as client:
            with pytest.raises(Exception, match="temporarily down for maintenance"):
                client.list_teams()
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------- paging


def test_keyset_paging_stops_on_the_empty_page(emulator, api):
    table = first_table(api)
    total = len(list(r for p in api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id) for r in p))
    emulator.clear_log()
    pages = list(api.iter_record_pages(DEMO_TEAM, CRM_DB, table.id, page_size=3))
    assert sum(len(p) for p in pages) == total
    assert all(len(p) <= 3 for p in pages)
    assert emulator.request_count(method="GET") == len(pages) + 1


def test_api_key_not_logged_at_debug(emulator, caplog, sleeps):
    secret = "very-secret-key-42"
    emulator.set_api_key(secret)
    emulator.faults.add(kind="status", status=429, times=1)
    emulator.faults.add(kind="drop", times=1)
    with caplog.at_level(logging.DEBUG):
        with NinoxClient(secret, emulator.base_url, max_retries=3) as client:
            client.list_teams()
            assert secret not in repr(client)
            with pytest.raises(NinoxNotFoundError) as info:
                client.get_team("nope")
    assert caplog.records, "DEBUG logging was captured"
    assert secret not in caplog.text
    assert secret not in str(info.value)


def test_schema_seq_is_read_again_only_after_another_request(emulator, api):
    """Two reads of a database's sequence in a row are one `GET`; any request between re-reads."""
    database = f"/teams/{DEMO_TEAM}/databases/{CRM_DB}$"
    first = api.database_sequence(DEMO_TEAM, CRM_DB)
    assert api.database_sequence(DEMO_TEAM, CRM_DB) == first
    assert emulator.request_count(path_regex=database) == 1
    table = first_table(api)
    api.save_records(DEMO_TEAM, CRM_DB, table.id, [{"fields": {}}])
    assert api.database_sequence(DEMO_TEAM, CRM_DB) > first
    assert emulator.request_count(path_regex=database) == 2
