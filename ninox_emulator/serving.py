"""What both emulators (classic `/v1`, Public API `/api/v1`) share: serving and its controls.

A server on a daemon thread, the request log, the `on_request` hooks, the
fault list and the concurrency gate. Each emulator adds its store, its
routes and its own state; the controls a test uses are the same on both.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from typing_extensions import Self

from ninox_emulator.faults import ConcurrencyGate, Fault, Faults, LoggedRequest, RequestLog
from ninox_emulator.server import Exchange, HTTPServer

#: A body that starts as gzip and is not (fault `broken_gzip`).
BROKEN_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not gzip at all"


def json_bytes(data: Any) -> bytes:
    r"""`data` as compact UTF-8 JSON.

    Text Python holds but UTF-8 cannot (a lone surrogate, stored from a
    request's `"\ud83d"` escape) goes out escaped: such an answer is all
    ASCII, as valid JSON as any, instead of a 500.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, separators=(",", ":")).encode("ascii")


RequestHook = Callable[[LoggedRequest], Any]
JSON_TYPE = "application/json; charset=utf-8"
#: An answer to send: status, body, content type, extra headers.
Outcome = tuple[int, bytes, str, dict[str, str]]
Served = TypeVar("Served", bound="ServedEmulator")


class ServedEmulator:
    """Base of both emulators: listen, log, hook, fault and limit requests."""

    #: The API root under the server root (`/v1`, `/api/v1`).
    PREFIX = ""
    #: The name of the serving thread.
    THREAD_NAME = "ninox-emulator"

    def _init_serving(self, api_key: str, host: str, port: int) -> None:
        """The serving part of `__init__`: nothing listens yet."""
        self._initial_key = api_key
        self.api_key = api_key
        self.host = host
        self.port = port
        self.faults = Faults()
        self.log = RequestLog()
        self._gate = ConcurrencyGate()
        self._hooks: list[RequestHook] = []
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Listen and serve on a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = HTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        # `stop` waits until the serving loop looks at its stop flag, once
        # per poll interval: the default half second made every stop slow.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.THREAD_NAME,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (then `_stopped`)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self._stopped()

    def _stopped(self) -> None:
        """After `stop`: what an emulator does once no request comes any more."""

    def __enter__(self) -> Self:
        """Start (if not yet started)."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    @property
    def url(self) -> str:
        """The server root, e.g. `http://127.0.0.1:8080`."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:8080/v1`."""
        return self.url + self.PREFIX

    def dispatch(self, exchange: Any) -> None:
        """Answer one request (`HTTPServer` calls it per request)."""
        raise NotImplementedError

    def _answer(
        self, exchange: Exchange, entry: LoggedRequest, path: str, allowed: bool
    ) -> Outcome | None:
        """The answer to an API request (None: drop the connection); `allowed`: within the limit."""
        raise NotImplementedError

    def _take_faults(
        self,
        exchange: Exchange,
        entry: LoggedRequest,
        path: str,
        allowed: bool,
        fail: Callable[..., Outcome],
    ) -> tuple[bool, Outcome | None, bool, Fault | None]:
        """The concurrency limit, then the faults due for this request.

        Returns `(decided, answer, lost, shaped)`: when `decided`, `answer`
        is sent (None: the connection closes without one); else the route
        runs, its answer dropped when `lost`, or shaped by the fault `shaped`
        (`empty`, `broken_gzip`).
        """
        if not allowed:
            message = f"too many requests in flight (the limit is {self._gate.limit})"
            return True, fail(429, message, {"Retry-After": "1"}), False, None
        lost = False
        shaped: Fault | None = None
        for fault in self.faults.take(exchange.method, path):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
                continue
            entry.fault = fault.kind
            if fault.kind == "status":
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = f"{fault.retry_after:g}"
                message = f"injected fault: HTTP {fault.status}"
                return True, fail(fault.status, message, headers), False, None
            if fault.kind == "drop":
                return True, None, False, None
            if fault.kind == "redirect" or (fault.kind == "empty" and not fault.apply):
                entry.status = fault.status
                return True, self._unapplied(fault, path, exchange.query), False, None
            if fault.kind in ("empty", "broken_gzip"):
                shaped = fault
                continue
            lost = True
        return False, None, lost, shaped

    def _unapplied(self, fault: Fault, path: str, query: dict[str, str]) -> Outcome:
        """The answer of a `redirect` fault, or an `empty` one that applies nothing.

        A redirect points by default to the request's own path and query.
        """
        if fault.kind == "redirect":
            location = fault.location or self.PREFIX + path + (
                f"?{urlencode(query)}" if query else ""
            )
            return fault.status, b"", JSON_TYPE, {"Location": location}
        return fault.status, fault.body.encode(), JSON_TYPE, {}

    def _serve_api(self, exchange: Exchange, path: str) -> None:
        """One API request: hooks, the concurrency gate, the answer, the log, in that order.

        The log entry is written, and the request leaves the in-flight
        count, before the response is sent: a client that has its answer
        sees both already.
        """
        started = time.perf_counter()
        entry = LoggedRequest(exchange.method, path, exchange.query)
        for hook in list(self._hooks):
            hook(entry)
        allowed = self._gate.enter()
        try:
            outcome = self._answer(exchange, entry, path, allowed)
        finally:
            self._gate.leave()
        entry.duration = time.perf_counter() - started
        self.log.add(entry)
        if outcome is None:
            exchange.drop()
        else:
            status, body, content_type, headers = outcome
            exchange.send(status, body, content_type, headers)

    # -------------------------------------------------------- concurrency

    @property
    def max_concurrent(self) -> int | None:
        """Requests allowed in flight at once (None = unlimited)."""
        return self._gate.limit

    @max_concurrent.setter
    def max_concurrent(self, value: int | None) -> None:
        self._gate.limit = value

    @property
    def in_flight(self) -> int:
        """API requests being handled right now."""
        return self._gate.in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most API requests handled at once since the peak was last reset."""
        return self._gate.peak

    @property
    def concurrency_violations(self) -> int:
        """Requests refused with 429 for breaking `max_concurrent`."""
        return self._gate.violations

    # ------------------------------------------------------- log and hooks

    @property
    def requests(self) -> list[LoggedRequest]:
        """The API request log, oldest first (a copy); paths relative to `base_url`."""
        return self.log.snapshot()

    def request_count(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> int:
        """How many logged API requests match (`path_regex`: searched after the prefix)."""
        return self.log.count(method, path_regex, status)

    def request_counts(self) -> dict[str, int]:
        """Logged requests per `"METHOD /path"`."""
        return self.log.counts()

    def clear_log(self) -> None:
        """Forget the logged requests."""
        self.log.clear()

    def on_request(self, hook: RequestHook) -> RequestHook:
        """Call `hook(entry)` before each API request is handled; returns the hook.

        It runs outside the store lock: it may read or change data, even over
        HTTP, e.g. between two pages of a client's read.
        """
        self._hooks.append(hook)
        return hook

    def clear_hooks(self) -> None:
        """Remove every `on_request` hook."""
        self._hooks.clear()
