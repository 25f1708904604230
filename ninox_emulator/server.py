"""The HTTP layer: a threading HTTP/1.1 server that hands requests to an app.

Why it is written by hand on top of `http.server`:
- each response (status line, headers, body) goes out in one `write` (a body
  over 1 MiB in a second one, to spare a copy of a large file), and
  accepted sockets get `TCP_NODELAY`: split writes stall ~40 ms per response
  on loopback (Nagle meeting delayed ACKs, docs/sdk-notes.md);
- keep-alive (HTTP/1.1, always a `Content-Length`);
- a response can be withheld entirely (fault injection closes the socket);
- no per-request line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import socket
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

#: Bodies above this size go out in two writes (head, body) instead of a copy.
LARGE_BODY = 1 << 20


class App(Protocol):
    """What the server calls for each request."""

    def dispatch(self, exchange: Exchange) -> None:
        """Answer (or deliberately not answer) one request."""


class HTTPServer(ThreadingHTTPServer):
    """A threading server whose handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # benchmarks open connections quickly

    def __init__(self, address: tuple[str, int], app: App) -> None:
        """Bind `address`; requests go to `app.dispatch`."""
        self.app = app
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection with Nagle's algorithm off."""
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


def remove_dot_segments(path: str) -> str:
    """`path` with its literal `.` and `..` segments resolved (RFC 3986 §5.2.4).

    As web servers and proxies in front of Ninox do: a file named `..` only
    reaches its route when the client encodes it (`%2E%2E`).
    """
    out: list[str] = []
    segments = path.split("/")
    for index, part in enumerate(segments):
        last = index == len(segments) - 1
        if part == ".":
            if last:
                out.append("")
        elif part == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(part)
    return "/".join(out)


class Exchange:
    """One request as the app sees it, and the means to answer it."""

    def __init__(self, handler: _Handler, body: bytes) -> None:
        """Parse the request line's path and query."""
        self._handler = handler
        self.method = handler.command
        split = urlsplit(handler.path)
        self.path = remove_dot_segments(split.path)
        self.query = dict(parse_qsl(split.query, keep_blank_values=True))
        self.headers = handler.headers
        self.body = body
        self.answered = False

    def send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send the whole response in one write."""
        handler = self._handler
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        if handler.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.answered = True
        try:
            if len(body) > LARGE_BODY:
                handler.wfile.write(head)  # no copy of a large file into one buffer
                handler.wfile.write(body)
            else:
                handler.wfile.write(head + body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client went away (e.g. its timeout)

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        """Send `data` as compact UTF-8 JSON."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        try:
            body = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escaped, all ASCII
            body = json.dumps(data, separators=(",", ":")).encode("ascii")
        self.send(status, body, headers=headers)

    def drop(self) -> None:
        """Close the connection without any response."""
        handler = self._handler
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
        self.answered = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ninox-emulator"
    server: HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request stderr line."""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            exchange = Exchange(self, b"")
            exchange.send_json(400, {"message": str(exc)})
            return
        exchange = Exchange(self, body)
        try:
            self.server.app.dispatch(exchange)
        except Exception as exc:
            if not exchange.answered:
                exchange.send_json(500, {"message": f"emulator error: {exc!r}"})
            raise

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    raise ValueError("malformed chunked request body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ValueError(f"invalid Content-Length {length!r}") from None
        return self.rfile.read(size) if size > 0 else b""

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
