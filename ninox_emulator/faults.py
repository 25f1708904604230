"""Fault injection and the request log, for tests that need a misbehaving Ninox."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

#: Fault kinds: answer with a status, close the socket without answering,
#: apply a write then close without answering, or wait before answering.
KINDS = ("status", "drop", "lost_response", "latency")


@dataclass
class Fault:
    """One injected fault; fires on matching requests, `times` times."""

    kind: str
    times: int | None = 1
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None
    after: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Check the kind; compile the path filter."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {KINDS}")
        self._pattern = re.compile(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        """True when the method and path filters accept this request."""
        if self.method and self.method.upper() != method:
            return False
        return not (self._pattern and not self._pattern.search(path))

    def describe(self) -> dict[str, Any]:
        """The fault as the control route lists it."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Faults:
    """The active faults; `take()` picks the one a request triggers."""

    def __init__(self) -> None:
        """No faults."""
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, kind: str, **options: Any) -> Fault:
        """Add a fault of `kind` (one of `KINDS`).

        Options: `times` (None = forever), `status`, `retry_after` (seconds,
        status faults), `seconds` (latency), `method`, `path` (a regex searched in the path), `after` (let this
        many matching requests through first).
        """
        fault = Fault(kind=kind, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults this request triggers (a latency may come with another)."""
        fired: list[Fault] = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if any(f.kind != "latency" for f in fired) and fault.kind != "latency":
                    continue
                fired.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return fired


@dataclass
class LoggedRequest:
    """One request the emulator answered (or dropped)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    duration: float

    def describe(self) -> dict[str, Any]:
        """The entry as the control route lists it."""
        return dict(self.__dict__)


class RequestLog:
    """Every /v1 request, in order, with counts."""

    def __init__(self) -> None:
        """An empty log."""
        self._lock = threading.Lock()
        self.entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        """Append one entry."""
        with self._lock:
            self.entries.append(entry)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self.entries.clear()

    def count(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> int:
        """How many logged requests match all the given filters."""
        pattern = re.compile(path_regex) if path_regex else None
        with self._lock:
            return sum(
                1
                for e in self.entries
                if (method is None or e.method == method.upper())
                and (pattern is None or pattern.search(e.path))
                and (status is None or e.status == status)
            )
