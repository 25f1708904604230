"""Fault injection, the concurrency limit and the request log.

Fault kinds (`Faults.add`):
- `status`: answer `status` (e.g. 429, 500, 502, 503) with a JSON message,
  plus `Retry-After: retry_after` when given;
- `drop`: close the connection without any response (nothing is applied);
- `lost_response`: handle the request (a write is applied), then close the
  connection without a response;
- `latency`: sleep `seconds` before handling (combines with one other fault);
- `redirect`: answer `status` (301, 302, 303, 307 or 308; default 302) with
  `Location: location` (default: the request's own path and query, so a
  client that follows it reaches the emulator again, as a GET after a
  301/302/303 POST); nothing is applied;
- `empty`: answer `status` (a 2xx; default 200) with `body` (`""`, `"{}"`,
  `"[]"` or `"null"`) instead of the route's answer; the request is applied
  unless `apply` is false (a proxy that answers without passing it on);
- `broken_gzip`: handle the request (a write is applied), then answer with
  `Content-Encoding: gzip` and a body that is not valid gzip.

Each fault fires `times` times (None = until cleared) on requests matching
its optional `method` and `path` (a regex searched in the path after `/v1`),
after letting the first `after` matching requests through.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "drop", "lost_response", "latency", "redirect", "empty", "broken_gzip")
#: The status each kind answers when none is given (`status=0`).
_DEFAULT_STATUS = {"redirect": 302, "empty": 200}
#: What an `empty` fault may answer as its body.
EMPTY_BODIES = ("", "{}", "[]", "null")


@dataclass
class Fault:
    """One injected fault."""

    kind: str
    times: int | None = 1
    status: int = 0
    retry_after: float | None = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None
    after: int = 0
    location: str | None = None
    body: str = ""
    apply: bool = True
    fired: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Check the options; compile the path filter."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if not self.status:
            self.status = _DEFAULT_STATUS.get(self.kind, 503)
        if self.kind == "status" and not 400 <= int(self.status) <= 599:
            raise ValueError(f"a status fault needs an HTTP error status, got {self.status!r}")
        if self.kind == "redirect" and int(self.status) not in (301, 302, 303, 307, 308):
            raise ValueError(
                f"a redirect fault needs 301, 302, 303, 307 or 308, got {self.status!r}"
            )
        if self.kind == "empty" and not 200 <= int(self.status) <= 299:
            raise ValueError(f"an empty fault needs a 2xx status, got {self.status!r}")
        if self.kind == "empty" and self.body not in EMPTY_BODIES:
            raise ValueError(f"an empty fault's body is one of {EMPTY_BODIES!r}, got {self.body!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every request)")
        self._pattern = re.compile(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        """True when the method and path filters accept this request."""
        if self.method and self.method.upper() != method.upper():
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def describe(self) -> dict[str, Any]:
        """The fault as JSON (control route)."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


class Faults:
    """The armed faults; `take()` picks what a request triggers."""

    def __init__(self) -> None:
        """No faults."""
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        status: int = 0,
        retry_after: float | None = None,
        times: int | None = 1,
        method: str | None = None,
        path: str | None = None,
        after: int = 0,
        seconds: float = 0.0,
        location: str | None = None,
        body: str = "",
        apply: bool = True,
    ) -> Fault:
        """Arm a fault (see the module docstring); returns it.

        `status=0`: the kind's default (503; 302 for `redirect`, 200 for `empty`).
        """
        fault = Fault(
            kind=kind,
            times=times,
            status=status,
            retry_after=retry_after,
            seconds=seconds,
            method=method,
            path=path,
            after=after,
            location=location,
            body=body,
            apply=apply,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults this request triggers: latencies plus at most one other."""
        fired: list[Fault] = []
        terminal = False
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.kind != "latency" and terminal:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fired.append(fault)
                terminal = terminal or fault.kind != "latency"
                fault.fired += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return fired


class ConcurrencyGate:
    """Counts requests in flight; over `limit` they are refused (and counted).

    `peak` is the most requests seen in flight at once since the last
    `reset_peak` (the benchmarks check a connector keeps one call in flight).
    """

    def __init__(self) -> None:
        """Unlimited."""
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.in_flight = 0
        self.violations = 0
        self.peak = 0

    def enter(self) -> bool:
        """Count one more request in flight; False when that breaks the limit."""
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.limit is not None and self.in_flight > self.limit:
                self.violations += 1
                return False
            return True

    def leave(self) -> None:
        """One request less in flight."""
        with self._lock:
            self.in_flight -= 1

    def reset(self) -> None:
        """Unlimited again, no violations counted, no peak."""
        with self._lock:
            self.limit = None
            self.violations = 0
            self.peak = 0

    def reset_peak(self) -> None:
        """Start counting the peak afresh."""
        with self._lock:
            self.peak = 0


@dataclass
class LoggedRequest:
    """One /v1 request: what was asked and how it ended.

    `path` is relative to `/v1` and still URL-encoded; `query` maps each
    parameter to its (last) value; `status` is None when no response was sent
    (`drop`, `lost_response`); `fault` names the fault that fired, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None = None
    duration: float = 0.0
    fault: str | None = None

    def describe(self) -> dict[str, Any]:
        """The entry as JSON (control route)."""
        return dict(self.__dict__)


class RequestLog:
    """Every /v1 request in order."""

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
            self.entries = []

    def snapshot(self) -> list[LoggedRequest]:
        """A copy of the entries."""
        with self._lock:
            return list(self.entries)

    def count(
        self, method: str | None = None, path_regex: str | None = None, status: int | None = None
    ) -> int:
        """How many entries match every filter given."""
        pattern = re.compile(path_regex) if path_regex else None
        return sum(
            1
            for e in self.snapshot()
            if (method is None or e.method == method.upper())
            and (pattern is None or pattern.search(e.path))
            and (status is None or e.status == status)
        )

    def counts(self) -> dict[str, int]:
        """Entries per `"METHOD /path"`."""
        out: dict[str, int] = {}
        for e in self.snapshot():
            key = f"{e.method} {e.path}"
            out[key] = out.get(key, 0) + 1
        return out
