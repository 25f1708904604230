"""A deadline for a whole HTTP answer, not for each socket read.

`requests`' read timeout bounds each `recv`: a server that sends a byte
every half second never trips it. Here a watchdog timer shuts the request's
socket down when the deadline passes, whatever phase the request is in
(sending, waiting for headers, reading the body); the blocked read then
fails and the client reports a timeout (docs/design.md, "Timeouts").

The sockets are found through urllib3 connection classes that register the
socket of the request in flight with the calling thread's watchdog.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Watchdog:
    """Shuts down the registered socket once `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        """Arm the timer; use as a context manager around one request."""
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        """Start watching the calling thread's requests."""
        _current.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the timer; later requests are not watched by this one."""
        self._timer.cancel()
        _current.watchdog = None
        with self._lock:
            self._sock = None

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        """Make `sock` the socket to shut down at the deadline."""
        if sock is None:
            return
        with self._lock:
            self._sock = sock
            fired = self.fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # shutdown (unlike close) wakes a recv blocked in another thread.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _register(sock: Any) -> None:
    watchdog: Watchdog | None = getattr(_current, "watchdog", None)
    if watchdog is not None and isinstance(sock, socket.socket):
        watchdog.watch(sock)


class _Watched:
    """Mixin for urllib3 connections: hand each request's socket to the watchdog."""

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _register(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections obey the thread's `Watchdog`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with watched connection classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }
