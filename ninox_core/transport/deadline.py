"""A deadline for a whole HTTP answer, not for each socket read.

`requests`' read timeout bounds each `recv`: a server that sends a byte
every half second never trips it. Here a watchdog timer shuts the request's
socket down when the deadline passes, whatever phase the request is in
(sending, waiting for headers, reading the body); the blocked read then
fails and the client reports a timeout (docs/design.md, "Timeouts").

The sockets are found through urllib3 connection classes that register the
socket of the request in flight with the calling thread's watchdog, from
the moment it is created (a proxy's CONNECT tunnel and the TLS handshake
are watched too). Requests through an HTTP(S) proxy use the proxy
manager's pools: those get the watched classes as well.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

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
        _current.last = weakref.ref(sock)


def last_socket() -> socket.socket | None:
    """The socket this thread's last watched request used (None if gone).

    A streamed answer's body is read after its request's watchdog ended:
    the reader watches this socket with a watchdog of its own (the socket
    is not reachable from the response once urllib3 hands it to the body).
    """
    ref: weakref.ref[socket.socket] | None = getattr(_current, "last", None)
    return ref() if ref is not None else None


class _Watched:
    """Mixin for urllib3 connections: hand each request's socket to the watchdog."""

    sock: Any

    def _new_conn(self) -> Any:
        # The new socket, before a proxy tunnel or TLS handshake uses it.
        sock = super()._new_conn()  # type: ignore[misc]
        _register(sock)
        return sock

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


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections obey the thread's `Watchdog`, proxied or not."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with watched connection classes."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The proxy's pool manager, with watched connection classes too.

        `requests` builds one `ProxyManager` per proxy, whose pools are
        urllib3's plain ones: without this, nothing behind a proxy would be
        bounded by the deadline. (A SOCKS proxy's manager keeps its own
        connection classes: its connect is bounded by the connect timeout.)
        """
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):
            manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager
