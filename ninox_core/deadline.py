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
        """Set the deadline; use as a context manager around one request."""
        self.deadline = time.monotonic() + max(0.0, seconds)
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Watchdog:
        """Start watching the calling thread's requests."""
        _current.watchdog = self
        _TIMER.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop watching; later requests are not watched by this one."""
        _TIMER.remove(self)
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

    def fire(self) -> None:
        """The deadline passed: shut the socket down (the timer thread calls this)."""
        with self._lock:
            self.fired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)


class _Timer:
    """One daemon thread firing every active watchdog at its deadline.

    A thread per request (`threading.Timer`) cost about a millisecond per
    request on a busy machine; this costs a lock and a notify.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: set[Watchdog] = set()
        self._thread: threading.Thread | None = None
        #: When the thread wakes up by itself next (it never sleeps long).
        self._wake_at = 0.0

    def add(self, watchdog: Watchdog) -> None:
        with self._cond:
            self._active.add(watchdog)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="ninox-deadline", daemon=True
                )
                self._thread.start()
            if watchdog.deadline < self._wake_at:
                self._cond.notify()

    def remove(self, watchdog: Watchdog) -> None:
        with self._cond:
            self._active.discard(watchdog)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [w for w in self._active if w.deadline <= now]
                self._active.difference_update(due)
                nearest = min((w.deadline for w in self._active), default=now + _IDLE_WAKE)
                if not due:
                    # Wake at least every _IDLE_WAKE s, so that a new deadline
                    # further away than that needs no notify (no thread switch).
                    wait = max(0.0, min(nearest - now, _IDLE_WAKE))
                    self._wake_at = now + wait
                    self._cond.wait(wait)
            for watchdog in due:
                watchdog.fire()


_IDLE_WAKE = 1.0
_TIMER = _Timer()


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
