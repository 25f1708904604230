"""Tiny local HTTP servers for behaviours the emulator cannot produce.

Each answers every request with the same canned bytes (optionally trickled
one byte at a time) and records the requests it saw.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def http_answer(status: int, body: bytes | str, content_type: str = "application/json") -> bytes:
    """A complete HTTP/1.1 answer with `Connection: close`."""
    data = body.encode() if isinstance(body, str) else body
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + data


@contextmanager
def canned_server(
    answer: bytes | None = None,
    *,
    trickle: float = 0.0,
    trickle_after: int = 0,
    echo_headers: bool = False,
    status: int = 500,
) -> Iterator[str]:
    """Serve `answer` to every request on 127.0.0.1; yields the base URL (`.../v1`).

    `trickle`: seconds between single bytes of the answer, after its first
    `trickle_after` bytes (sent at once: e.g. the head). `echo_headers`:
    answer `status` with a JSON body echoing the request's headers (as some
    proxies and servers do), the Authorization header included.
    """

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            data = answer or b""
            if echo_headers:
                lines = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
                pairs = ", ".join(
                    '"{}": "{}"'.format(*(part.strip() for part in line.split(":", 1)))
                    for line in lines
                    if ":" in line
                )
                body = '{"error": "Internal", "request": {"headers": {' + pairs + "}}}"
                data = http_answer(status, body)
            try:
                if trickle:
                    conn.sendall(data[:trickle_after])
                    for i in range(trickle_after, len(data)):
                        if stop.is_set():
                            return
                        conn.sendall(data[i : i + 1])
                        # Event.wait, not time.sleep: tests patch the latter.
                        stop.wait(trickle)
                else:
                    conn.sendall(data)
            except OSError:
                return

    with _serving(handle) as base_url:
        yield base_url


@contextmanager
def _serving(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """Accept connections on 127.0.0.1, each handled by `handle(conn, stop)` in a thread.

    Yields the base URL (`.../v1`); `stop` is set when the block ends.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn, stop), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        stop.set()
        # Wake the accept at once (an event, not its timeout): one connection.
        with contextlib.suppress(OSError):
            socket.create_connection(listener.getsockname(), timeout=1).close()
        thread.join(2)
        listener.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scripted_server(answers: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """Answer the n-th request with `answers[n]` (the last one from then on).

    Yields the base URL (`.../v1`) and the list of requests seen so far,
    each as its raw bytes (head and body).
    """
    seen: list[bytes] = []
    lock = threading.Lock()

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            while len(request) - len(head) - 4 < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                request += chunk
            with lock:
                seen.append(request)
                answer = answers[min(len(seen), len(answers)) - 1]
            with contextlib.suppress(OSError):
                conn.sendall(answer)

    with _serving(handle) as base_url:
        yield base_url, seen
