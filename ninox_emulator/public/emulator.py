"""`PublicEmulator`: the Ninox 4 Public API served over real HTTP.

The same control surface as the classic `NinoxEmulator` (start/stop,
context manager, faults, variants, request log, hooks, concurrency limit),
its HTTP server, fault injection and request log reused; the API under
`/api/v1` instead of `/v1`.

For each `/api/v1` request, in this order: the `on_request` hooks run
(outside the store lock); the concurrency limit is checked (429 with
`Retry-After: 1`); faults fire (latency, then at most one of status, drop,
lost response, redirect, empty, broken gzip; `path` regexes are searched in
the path after `/api/v1`); the key is checked (401: V1 `text/plain`
`Workspace orchestrator error`, else the JSON envelope); the monthly quota
is counted (`quota`; exhausted → 429 without `Retry-After`, V21 403, until
the server clock enters the next month);
V22 refuses every 4th call; the route runs. Errors answer
`{"error": {"message"}}` (V3: a 400 in NestJS form); a path no route knows
answers 200 with the web app's HTML shell (V2; strict: a JSON 404).

`/_emulator/...` is the control API (`control.py` lists its routes).
"""

from __future__ import annotations

import json
import re
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from ninox_emulator.faults import Fault, LoggedRequest
from ninox_emulator.model import ApiError
from ninox_emulator.public.clock import DAY_MS, Clock
from ninox_emulator.public.control import control
from ninox_emulator.public.demo import DEMO_WORKSPACE_ID, build_public_demo
from ninox_emulator.public.model import Workspace
from ninox_emulator.public.routes import RATE_LIMIT_EVERY, PublicApi, UnknownPath
from ninox_emulator.public.store import RETENTION_DAYS, PublicStore
from ninox_emulator.public.variants import PublicVariants
from ninox_emulator.routes import Request
from ninox_emulator.server import Exchange
from ninox_emulator.serving import BROKEN_GZIP, JSON_TYPE, Outcome, ServedEmulator, json_bytes

PREFIX = "/api/v1"
WORKSPACE_ID = re.compile(r"^[a-z0-9]{12}$")
#: V1: what the gateway answers to a missing or wrong key.
ORCHESTRATOR_ERROR = "Workspace orchestrator error"
#: V2: the web app's shell, answered with 200 for a path the API does not know.
HTML_SHELL = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Ninox</title>'
    b'<script type="module" src="/assets/index.js"></script></head>'
    b'<body><div id="root"></div></body></html>'
)
QUOTA_MESSAGE = (
    "Monthly API call quota exceeded for this workspace; calls resume next month "
    "or after a plan upgrade"
)


def _envelope(status: int, message: str, variants: frozenset[str]) -> bytes:
    """An error body: `{"error": {"message"}}`, or NestJS's form for a 400 under V3."""
    if status == 400 and "nest_errors" in variants:
        body: dict[str, Any] = {"statusCode": 400, "message": [message], "error": "Bad Request"}
    else:
        body = {"error": {"message": message}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class PublicEmulator(ServedEmulator):
    """A Ninox 4 Public API server on a background thread (its README section says what it plays).

    `port=0` picks a free port; `base_url` (`http://127.0.0.1:PORT/api/v1`)
    is known after `start()`.
    """

    PREFIX = PREFIX
    THREAD_NAME = "ninox-public-emulator"

    def __init__(
        self,
        api_key: str = "demo-key",
        *,
        demo: bool = False,
        workspace_id: str = DEMO_WORKSPACE_ID,
        host: str = "127.0.0.1",
        port: int = 0,
        variants: Iterable[str] = (),
    ) -> None:
        """Prepare the data; nothing listens yet. `variants` add to V1 and V2 (on by default).

        `workspace_id`: 12 characters `^[a-z0-9]+$` as in Ninox 4 (ValueError otherwise).
        """
        if not WORKSPACE_ID.match(workspace_id):
            raise ValueError(f"a workspace id is 12 characters a-z 0-9, got {workspace_id!r}")
        self._init_serving(api_key, host, port)
        self.variants = PublicVariants(variants)
        self.clock = Clock()
        self.store = PublicStore(self.clock, workspace_id)
        if demo:
            build_public_demo(self.store)
        self.api = PublicApi(self.store)
        self._counter_lock = threading.Lock()
        self.quota: int | None = None
        self.quota_used = 0
        self._quota_month = self.clock.now_iso()[:7]
        self._key_calls_left: int | None = None
        self._rate_calls = 0
        self.backups: dict[str, Workspace] = {}  # named backups of the control API

    # ------------------------------------------------------------ lifecycle

    @property
    def workspace_id(self) -> str:
        """The id of the one workspace served."""
        return self.store.workspace.id

    @property
    def workspace_url(self) -> str:
        """`base_url` + `/workspace/{id}`: the prefix of every API path."""
        return f"{self.base_url}/workspace/{self.workspace_id}"

    # ---------------------------------------------------------------- state

    def reset(self, demo: bool = True) -> None:
        """Fresh data; faults, variants (to V1+V2), hooks, log, limits, clock, quota, key reset."""
        self.clock.reset()
        with self.store.lock:
            self.store.workspace = Workspace(self.store.workspace.id, "Demo Workspace")
            self.store.retention_ms = RETENTION_DAYS * DAY_MS
            if demo:
                build_public_demo(self.store)
        self.faults.clear()
        self.variants.clear()
        self.log.clear()
        self._hooks.clear()
        self._gate.reset()
        self.api_key = self._initial_key
        self.quota = None
        self.quota_used = 0
        self._quota_month = self.clock.now_iso()[:7]
        self._key_calls_left = None
        self._rate_calls = 0
        self.backups.clear()

    def set_api_key(self, api_key: str) -> None:
        """Accept `api_key` (only) from now on."""
        self.api_key = api_key
        self._key_calls_left = None

    def expire_key(self, after: int = 0) -> None:
        """V28: the key answers 401 after `after` more accepted calls (0: from now on)."""
        self._key_calls_left = after

    @property
    def retention_days(self) -> float:
        """How long the record change feed remembers a change (default 30 days)."""
        return self.store.retention_ms / DAY_MS

    @retention_days.setter
    def retention_days(self, days: float) -> None:
        self.store.retention_ms = round(days * DAY_MS)

    # ------------------------------------------------------- data helpers

    def set_history(self, module: str, table: str, *, enabled: bool) -> None:
        """V27: turn a table's history on (logging from now) or off (log forgotten)."""
        self.store.set_history(module, table, enabled=enabled)

    def set_unique(self, module: str, table: str, field: str, *, unique: bool = True) -> None:
        """Mark a field unique or not (existing values are not checked)."""
        self.store.set_unique(module, table, field, unique=unique)

    def rename_table(self, module: str, table: str, new_name: str) -> None:
        """V23: rename a table (nothing else identifies it)."""
        self.store.rename_table(module, table, new_name)

    def rename_field(self, module: str, table: str, field: str, new_name: str) -> None:
        """V23: rename a field; its values follow."""
        self.store.rename_field(module, table, field, new_name)

    def create_records(self, module: str, table: str, records: list[dict[str, Any]]) -> list[int]:
        """Create records as another user would (no request logged); their ids."""
        return self.store.create(module, table, records)

    def delete_records(self, module: str, table: str, ids: list[int]) -> list[int]:
        """Delete records as another user would (no request logged)."""
        return self.store.delete(module, table, ids)

    def backup(self) -> Workspace:
        """A copy of the whole workspace, for `restore`."""
        return self.store.backup()

    def restore(self, backup: Workspace) -> None:
        """Put a `backup()` back."""
        self.store.restore(backup)

    # ------------------------------------------------------------- serving

    def dispatch(self, exchange: Exchange) -> None:
        """Answer one HTTP request (the server's entry point)."""
        path = exchange.path
        if path == PREFIX or path.startswith(PREFIX + "/"):
            self._serve_api(exchange, path[len(PREFIX) :] or "/")
        elif path.startswith("/_emulator/"):
            try:
                status, data = control(self, exchange, path[len("/_emulator/") :])
            except (ApiError, TypeError, ValueError, KeyError) as exc:
                status, data = getattr(exc, "status", 400), {"message": str(exc)}
            exchange.send_json(status, data)
        else:
            message = f"no such endpoint: {exchange.method} {path} (the API is under {PREFIX})"
            exchange.send(404, _envelope(404, message, frozenset()))

    def _gatekeeper(
        self, exchange: Exchange, variants: frozenset[str], fail: Callable[..., Outcome]
    ) -> Outcome | None:
        """Key, quota and rate limit: the refusal to send, or None to go on."""
        key_ok = exchange.headers.get("Authorization") == f"Bearer {self.api_key}"
        with self._counter_lock:
            if key_ok and self._key_calls_left is not None:
                key_ok = self._key_calls_left > 0
                self._key_calls_left = max(0, self._key_calls_left - 1)
            month = self.clock.now_iso()[:7]
            if month != self._quota_month:  # a new month: the count starts afresh
                self._quota_month, self.quota_used = month, 0
            if key_ok and self.quota is not None:
                if self.quota_used >= self.quota:
                    return fail(403 if "quota_403" in variants else 429, QUOTA_MESSAGE)
                self.quota_used += 1
            rate_call = 0
            if key_ok and "rate_limited" in variants:
                self._rate_calls += 1
                rate_call = self._rate_calls
        if not key_ok:
            if "orchestrator_401" in variants:
                return 401, ORCHESTRATOR_ERROR.encode(), "text/plain; charset=utf-8", {}
            return fail(401, "Unauthorized: missing, wrong or expired API key")
        if rate_call and rate_call % RATE_LIMIT_EVERY == 0:
            with_header = (rate_call // RATE_LIMIT_EVERY) % 2 == 1
            return fail(429, "Too many requests", {"Retry-After": "1"} if with_header else {})
        return None

    def _answer(
        self, exchange: Exchange, entry: LoggedRequest, path: str, allowed: bool
    ) -> Outcome | None:
        """The response to send, or None to close without one."""
        variants = self.variants.enabled

        def fail(status: int, message: str, headers: dict[str, str] | None = None) -> Outcome:
            return status, _envelope(status, message, variants), JSON_TYPE, headers or {}

        outcome = self._run(exchange, path, allowed, variants, fail, entry)
        if outcome is not None and entry.status is None:
            entry.status = outcome[0]
        return outcome

    def _run(
        self,
        exchange: Exchange,
        path: str,
        allowed: bool,
        variants: frozenset[str],
        fail: Callable[..., Outcome],
        entry: LoggedRequest,
    ) -> Outcome | None:
        decided, answer, lost, shaped = self._take_faults(exchange, entry, path, allowed, fail)
        if decided:
            return answer
        refused = self._gatekeeper(exchange, variants, fail)
        if refused is not None:
            return refused
        return self._route(exchange, path, variants, fail, lost, shaped)

    def _route(
        self,
        exchange: Exchange,
        path: str,
        variants: frozenset[str],
        fail: Callable[..., Outcome],
        lost: bool,
        shaped: Fault | None,
    ) -> Outcome | None:
        """Run the route; shape its answer as a fault or variant says."""
        request = Request(
            exchange.method,
            path,
            exchange.query,
            exchange.body,
            exchange.headers.get("Content-Type") or "",
            variants,
        )
        try:
            response = self.api.handle(request)
            body = response.raw if response.raw is not None else json_bytes(response.data)
        except UnknownPath:
            if lost:
                return None
            if "html_shell" in variants:
                return 200, HTML_SHELL, "text/html; charset=utf-8", {}
            return fail(404, f"Cannot {exchange.method} {PREFIX}{path}")
        except ApiError as exc:
            return None if lost else fail(exc.status, exc.message)
        except Exception as exc:
            traceback.print_exc()
            return None if lost else fail(500, f"emulator error: {exc!r}")
        if lost or response.drop:
            return None
        if shaped is not None and shaped.kind == "empty":
            return shaped.status, shaped.body.encode(), JSON_TYPE, {}
        if shaped is not None:
            headers = {**response.headers, "Content-Encoding": "gzip"}
            return response.status, BROKEN_GZIP, response.content_type, headers
        return response.status, body, response.content_type, response.headers
