"""`request_timeout` bounds every answer: attachment downloads, and behind a proxy.

The servers and proxies here trickle their answers a byte at a time, so no
single socket read ever waits as long as `request_timeout`: only the
whole-answer deadline (ninox_core/transport/deadline.py) can end them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from ninox_core.errors import NinoxConnectionError
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.files import download_file, upload_file
from tests.local_server import canned_server, free_port, http_answer
from tests.tap_support import TEST_KEY

#: A 40-byte attachment whose head comes at once and whose bytes trickle
#: (0.2 s apart: 8 s in all).
FILE = b"x" * 40
HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: 40\r\nConnection: close\r\n\r\n"
)


def test_a_trickled_download_ends_at_request_timeout(sleeps):
    with canned_server(HEAD + FILE, trickle=0.2, trickle_after=len(HEAD)) as base:
        with NinoxClient(TEST_KEY, base, timeout=1.0, max_retries=1) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError) as info:
                download_file(client, "t", "d", "A", 1, "a.bin", b"".join, expected_size=40)
            elapsed = time.monotonic() - started
    assert "no complete answer within 1 s" in str(info.value)
    assert "gave up after 2 tries" in str(info.value)
    assert len(sleeps) == 1  # the retry policy applied
    assert elapsed < 4.0  # two tries of ~1 s each, not 2 x 8 s


def test_a_slow_download_within_the_deadline_is_read(sleeps):
    with canned_server(HEAD + FILE, trickle=0.01, trickle_after=len(HEAD)) as base:
        with NinoxClient(TEST_KEY, base, timeout=2.0, max_retries=0) as client:
            body = download_file(client, "t", "d", "A", 1, "a.bin", b"".join, expected_size=40)
    assert body == FILE


def test_request_timeout_bounds_an_answer_through_an_http_proxy(monkeypatch, sleeps):
    # The proxy (a plain HTTP forward proxy: it gets the absolute URL) trickles.
    answer = http_answer(200, '[{"id": "t", "name": "x"}]' + " " * 100)
    with canned_server(answer, trickle=0.1) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        base = f"http://127.0.0.1:{free_port()}/v1"  # never reached: the proxy answers
        with NinoxClient(TEST_KEY, base, timeout=0.5, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError, match="within request_timeout"):
                client.list_teams()
            elapsed = time.monotonic() - started
    assert elapsed < 3.0


def test_request_timeout_bounds_a_tunnel_through_an_https_proxy(monkeypatch, sleeps):
    # The proxy trickles its answer to CONNECT: the tunnel never opens in time.
    answer = b"HTTP/1.1 200 Connection established\r\n" + b"X-Pad: " + b"p" * 60 + b"\r\n\r\n"
    with canned_server(answer, trickle=0.1) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        base = f"https://127.0.0.1:{free_port()}/v1"
        with NinoxClient(TEST_KEY, base, timeout=0.5, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError):
                client.list_teams()
            elapsed = time.monotonic() - started
    assert elapsed < 3.0


@pytest.mark.parametrize("via_proxy", [False, True], ids=["direct", "http-proxy"])
def test_request_timeout_bounds_an_upload_to_a_server_that_reads_slowly(
    tmp_path, monkeypatch, sleeps, via_proxy
):
    # The server (or proxy) takes 4 KB every 0.1 s: no single write waits
    # long, the whole upload of 8 MB would take minutes.
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                while not stop.is_set() and conn.recv(4096):
                    stop.wait(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    data = tmp_path / "big.bin"
    data.write_bytes(b"\0" * (8 * 1024 * 1024))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    if via_proxy:
        monkeypatch.setenv("HTTP_PROXY", base.removesuffix("/v1"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        base = f"http://127.0.0.1:{free_port()}/v1"
    try:
        with NinoxClient(TEST_KEY, base, timeout=0.5, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(NinoxConnectionError, match="within request_timeout"):
                upload_file(
                    client, "t", "d", "A", 1, "big.bin", lambda: data.open("rb"), 8 * 1024 * 1024
                )
            elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
        thread.join(2)
    assert elapsed < 3.0
