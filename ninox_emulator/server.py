"""The HTTP server: auth, faults, the request log, hooks and control routes.

`/v1/...` is the Ninox API (see `routes.py`); `/_emulator/...` is the control
API for tests (no auth): `GET requests` (log + counts), `DELETE requests`,
`POST faults` (a JSON fault spec, see `faults.Faults.add`), `DELETE faults`,
`POST reset` (`{"demo": true}`), `GET snapshot`, `POST save`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ninox_emulator.demo import build_demo
from ninox_emulator.faults import Faults, LoggedRequest, RequestLog
from ninox_emulator.routes import Api, Request, Response
from ninox_emulator.store import ApiError, Store

RequestHook = Callable[[LoggedRequest], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Loopback benchmarks open many connections quickly.
    request_queue_size = 128

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        # Without this, small responses stall ~40 ms (Nagle + delayed ACK).
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class NinoxEmulator:
    """A Ninox-compatible server on a background thread.

    >>> emu = NinoxEmulator(api_key="k", demo=True, port=0).start()
    >>> emu.base_url  # doctest: +SKIP
    'http://127.0.0.1:54321/v1'
    """

    def __init__(
        self,
        api_key: str = "demo-key",
        *,
        demo: bool = False,
        data_file: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_page_size: int = 1000,
    ) -> None:
        """Build the store (demo, loaded file, or empty); nothing listens yet."""
        self.api_key = api_key
        self.host = host
        self.port = port
        self.data_file = Path(data_file) if data_file else None
        self.max_page_size = max_page_size
        if self.data_file and self.data_file.exists():
            self.store = Store.from_snapshot(json.loads(self.data_file.read_text()))
        else:
            self.store = build_demo() if demo else Store()
        self.api = Api(self.store, max_page_size)
        self.faults = Faults()
        self.log = RequestLog()
        self.max_concurrent: int | None = None
        self.concurrency_violations = 0
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self._hooks: list[RequestHook] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --------------------------------------------------------------- control

    def start(self) -> NinoxEmulator:
        """Listen and serve on a daemon thread; returns self."""
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (and save to `data_file`, if any)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.save()

    def __enter__(self) -> NinoxEmulator:
        """Start if needed; stop on exit."""
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:8080/v1`."""
        return f"http://{self.host}:{self.port}/v1"

    def save(self) -> None:
        """Write the store to `data_file`, if one was given."""
        if self.data_file is not None:
            self.data_file.write_text(json.dumps(self.store.snapshot()))

    def reset(self, demo: bool = True) -> None:
        """Fresh data (demo or empty); clear faults, hooks, the log, limits."""
        fresh = build_demo() if demo else Store()
        with self.store.lock:
            self.store.teams = fresh.teams
            self.store.users = fresh.users
        self.faults.clear()
        self.log.clear()
        self._hooks.clear()
        self.max_concurrent = None
        self.concurrency_violations = 0

    def set_api_key(self, api_key: str) -> None:
        """Accept another key from now on."""
        self.api_key = api_key

    def on_request(self, hook: RequestHook) -> None:
        """Call `hook(request)` before each /v1 request is handled.

        It runs outside the store lock, so it may change data (through the
        store or over HTTP) between two pages of a client's read.
        """
        self._hooks.append(hook)

    @property
    def requests(self) -> list[LoggedRequest]:
        """The request log, oldest first."""
        return list(self.log.entries)

    def request_count(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> int:
        """How many /v1 requests matched the filters (path without `/v1`)."""
        return self.log.count(method, path_regex, status)

    def clear_log(self) -> None:
        """Forget logged requests."""
        self.log.clear()

    # ------------------------------------------------------------- requests

    def enter(self) -> bool:
        """Count a request in flight; False when over the concurrency limit."""
        with self._in_flight_lock:
            self._in_flight += 1
            if self.max_concurrent is not None and self._in_flight > self.max_concurrent:
                self.concurrency_violations += 1
                return False
            return True

    def leave(self) -> None:
        """A request is done."""
        with self._in_flight_lock:
            self._in_flight -= 1

    def control(self, method: str, path: str, body: bytes) -> Response:
        """The `/_emulator` routes."""
        data = json.loads(body) if body.strip() else {}
        if path == "requests" and method == "GET":
            entries = [e.describe() for e in self.requests]
            counts: dict[str, int] = {}
            for e in entries:
                key = f"{e['method']} {e['path']}"
                counts[key] = counts.get(key, 0) + 1
            return Response(data={"requests": entries, "counts": counts})
        if path == "requests" and method == "DELETE":
            self.clear_log()
            return Response(data={})
        if path == "faults" and method == "POST":
            fault = self.faults.add(**data)
            return Response(data=fault.describe())
        if path == "faults" and method == "GET":
            return Response(data=[f.describe() for f in self.faults.active()])
        if path == "faults" and method == "DELETE":
            self.faults.clear()
            return Response(data={})
        if path == "reset" and method == "POST":
            self.reset(demo=bool(data.get("demo", True)))
            return Response(data={})
        if path == "snapshot" and method == "GET":
            return Response(data=self.store.snapshot())
        if path == "save" and method == "POST":
            self.save()
            return Response(data={})
        raise ApiError(404, f"No control route {method} /_emulator/{path}")


class _Handler(BaseHTTPRequestHandler):
    emulator: NinoxEmulator
    protocol_version = "HTTP/1.1"
    server_version = "ninox-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr line."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.perf_counter()
        emu = self.emulator
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parts.path

        if path.startswith("/_emulator/"):
            try:
                self._send(emu.control(self.command, path[len("/_emulator/") :], body))
            except (ApiError, TypeError, ValueError) as exc:
                self._send_error(getattr(exc, "status", 400), str(exc))
            return
        if not path.startswith("/v1/") and path != "/v1":
            self._send_error(404, f"No such endpoint: {self.command} {path}")
            return
        api_path = path[3:] or "/"
        entry = LoggedRequest(self.command, api_path, query, 0, 0.0)
        for hook in list(emu._hooks):
            hook(entry)

        allowed = emu.enter()
        try:
            status = self._answer(emu, allowed, entry, query, body)
        finally:
            emu.leave()
        entry.status = status
        entry.duration = time.perf_counter() - started
        emu.log.add(entry)

    def _answer(
        self,
        emu: NinoxEmulator,
        allowed: bool,
        entry: LoggedRequest,
        query: dict[str, str],
        body: bytes,
    ) -> int:
        if not allowed:
            return self._send_error(429, "Too many parallel requests", retry_after=1)
        if self.headers.get("Authorization") != f"Bearer {emu.api_key}":
            return self._send_error(401, "Unauthorized: missing or invalid API key")

        lost = False
        for fault in emu.faults.take(self.command, entry.path):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "status":
                return self._send_error(
                    fault.status, f"Injected HTTP {fault.status}", retry_after=fault.retry_after
                )
            elif fault.kind == "drop":
                self.close_connection = True
                return 0
            elif fault.kind == "lost_response":
                lost = True

        request = Request(
            self.command, entry.path, query, body, self.headers.get("Content-Type") or ""
        )
        try:
            response = emu.api.handle(request)
        except ApiError as exc:
            if lost:
                self.close_connection = True
                return 0
            return self._send_error(exc.status, exc.message)
        if lost:
            # Applied, but the client never hears of it.
            self.close_connection = True
            return 0
        return self._send(response)

    def _send(self, response: Response) -> int:
        if response.raw is not None:
            payload = response.raw
        else:
            payload = json.dumps(response.data, ensure_ascii=False, separators=(",", ":")).encode()
        head = (
            f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(payload)}\r\n"
            "\r\n"
        ).encode()
        # One write per response: see SDK-NOTES.md on loopback stalls.
        self.wfile.write(head + payload)
        return response.status

    def _send_error(self, status: int, message: str, retry_after: float | None = None) -> int:
        payload = json.dumps({"message": message}).encode()
        extra = f"Retry-After: {retry_after:g}\r\n" if retry_after is not None else ""
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"{extra}\r\n"
        ).encode()
        self.wfile.write(head + payload)
        return status
