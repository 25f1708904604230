"""`NinoxEmulator`: the store, the API routes and the HTTP server in one object.

For each `/v1` request, in this order: the `on_request` hooks run (outside
the store lock, so they may change data, over HTTP too); the concurrency
limit is checked (over the limit → 429 with `Retry-After: 1`, counted in
`concurrency_violations`); faults fire (latency, then at most one of status,
drop, lost response); the key is checked (401); the route runs. The log
entry is written, and the request leaves the in-flight count, before the
response is sent, so a client that has its answer sees both already.

`/_emulator/...` is the control API (JSON, no auth), for tools outside Python:
- `GET requests` → `{"requests": [...], "counts": {"GET /teams": 3}}`;
  `DELETE requests` clears the log;
- `GET faults`, `POST faults` (the keyword arguments of `Faults.add` as an
  object), `DELETE faults`;
- `GET concurrency` → `{"max", "inFlight", "violations", "peak"}` (`peak`:
  the most requests in flight at once); `POST concurrency` with `{"max": N}`
  (null = unlimited); `DELETE concurrency` starts counting the peak afresh;
- `GET variants` → `{"enabled": [...], "available": {name: description}}`;
  `POST variants` with `{"clear": true, "enable": [...], "disable": [...]}`
  (each optional, applied in that order; an unknown name is a 400 and
  changes nothing) → `{"enabled": [...]}`;
- `POST empty-copy` with `{"team", "database", "id", "name"?, "toTeam"?}`:
  a new database `id` with the tables and fields of `database` and no
  records (`Store.empty_copy`) → `{"team", "id", "name"}`;
- `POST backup` with `{"team", "database"}` → that database's data;
  `POST restore` with `{"team", "backup"}` puts such data back (records,
  files and the sequence go back: `Store.restore_database`);
- `POST reset` with `{"demo": true}`; `GET snapshot`; `POST save` (to the
  `--data` file; 400 without one).

Server variants (`variants.py`) are read once per request. The error-body
variants apply to every `/v1` error answer, whatever produced it (auth,
routes, faults, the concurrency limit); `errors_html` wins over
`errors_text`, which wins over `errors_echo_headers`.
"""

from __future__ import annotations

import html
import json
import traceback
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ninox_emulator.demo import build_demo
from ninox_emulator.faults import Fault, LoggedRequest
from ninox_emulator.model import ApiError
from ninox_emulator.routes import Api, Request
from ninox_emulator.server import Exchange
from ninox_emulator.serving import BROKEN_GZIP, JSON_TYPE, Outcome, ServedEmulator, json_bytes
from ninox_emulator.store import Store
from ninox_emulator.variants import VARIANTS, Variants, check_names


def _reshaped(
    fault: Fault, entry: LoggedRequest, status: int, content_type: str, headers: dict[str, str]
) -> tuple[int, bytes, str, dict[str, str]]:
    """The answer of an applied request an `empty` or `broken_gzip` fault replaces."""
    if fault.kind == "empty":
        entry.status = fault.status
        return fault.status, fault.body.encode(), JSON_TYPE, {}
    entry.status = status
    return status, BROKEN_GZIP, content_type, {**headers, "Content-Encoding": "gzip"}


def _error(message: str) -> bytes:
    return json.dumps({"message": message}).encode("utf-8")


def error_answer(
    status: int, message: str, variants: frozenset[str], request_headers: Any
) -> tuple[bytes, str]:
    """An error's body and content type: `{"message"}` JSON, or as a variant shapes it."""
    if "errors_html" in variants:
        reason = html.escape(f"{status} {_reason(status)}")
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
            f"{reason}</title></head>\n<body><h1>{reason}</h1>\n"
            f"<p>{html.escape(message)}</p>\n</body></html>\n"
        )
        return page.encode("utf-8"), "text/html; charset=utf-8"
    if "errors_text" in variants:
        return message.encode("utf-8"), "text/plain; charset=utf-8"
    if "errors_echo_headers" in variants:
        headers = dict(request_headers.items()) if request_headers is not None else {}
        body = {"message": message, "request": {"headers": headers}}
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), JSON_TYPE
    return _error(message), JSON_TYPE


def _names(data: dict[str, Any], key: str) -> list[str]:
    """A control request's list of variant names (a lone string counts as one)."""
    value = data.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{key!r} must be a list of variant names")
    return check_names(value)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class NinoxEmulator(ServedEmulator):
    """A Ninox-compatible API server (docs/api.md) on a background thread.

    `port=0` picks a free port; `base_url` is known after `start()`.
    `NinoxEmulator(api="public", ...)` builds the Ninox 4 Public API server
    instead (`ninox_emulator.public.PublicEmulator`, the same control surface).
    """

    PREFIX = "/v1"

    def __new__(cls, *args: Any, api: str = "classic", **kwargs: Any) -> Any:
        """The classic server, or with `api="public"` a `PublicEmulator`."""
        if api == "public":
            from ninox_emulator.public.emulator import PublicEmulator  # noqa: PLC0415 - cycle

            return PublicEmulator(*args, **kwargs)
        if api != "classic":
            raise ValueError(f"unknown api {api!r}; use 'classic' or 'public'")
        return super().__new__(cls)

    def __init__(
        self,
        api_key: str = "demo-key",
        *,
        api: str = "classic",
        demo: bool = False,
        max_page_size: int = 1000,
        host: str = "127.0.0.1",
        port: int = 0,
        data_file: str | Path | None = None,
        strict_refs: bool = True,
        variants: Iterable[str] = (),
    ) -> None:
        """Prepare the data (a `data_file` that exists wins over `demo`); nothing listens yet.

        `variants`: server variants to play from the start (`variants.py`;
        ValueError listing the valid names on an unknown one). `api`: see the class.
        """
        del api  # chosen in __new__
        self._init_serving(api_key, host, port)
        self.variants = Variants(variants)
        self._initial_page_size = max_page_size
        self.data_file = Path(data_file) if data_file else None
        self.store = Store(strict_refs=strict_refs)
        if self.data_file is not None and self.data_file.exists():
            self.store.load(json.loads(self.data_file.read_text(encoding="utf-8")))
        elif demo:
            build_demo(self.store)
        self.api = Api(self.store, max_page_size)

    # ------------------------------------------------------------ lifecycle

    def _stopped(self) -> None:
        """Save to `data_file` when one was given."""
        if self.data_file is not None:
            self.save()

    # ---------------------------------------------------------------- state

    def reset(self, demo: bool = True) -> None:
        """Fresh data (demo or empty); clear faults, variants, hooks, log, limits; initial key."""
        with self.store.lock:
            self.store.clear()
            if demo:
                build_demo(self.store)
        self.faults.clear()
        self.variants.clear()
        self.log.clear()
        self._hooks.clear()
        self._gate.reset()
        self.api_key = self._initial_key
        self.api.max_page_size = self._initial_page_size

    def save(self, path: str | Path | None = None) -> Path:
        """Write the store's snapshot to `path` (default: `data_file`)."""
        target = Path(path) if path is not None else self.data_file
        if target is None:
            raise ValueError("no data file: start with data_file=... (--data) or pass a path")
        data = json_bytes(self.store.snapshot())
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)  # never leave a half-written file behind
        return target

    def set_api_key(self, api_key: str) -> None:
        """Accept `api_key` (only) from now on."""
        self.api_key = api_key

    @property
    def max_page_size(self) -> int:
        """The largest page `GET .../records` answers."""
        return self.api.max_page_size

    @max_page_size.setter
    def max_page_size(self, value: int) -> None:
        self.api.max_page_size = value

    # ------------------------------------------------------------- serving

    def dispatch(self, exchange: Exchange) -> None:
        """Answer one HTTP request (the server's entry point)."""
        path = exchange.path
        if path == "/v1" or path.startswith("/v1/"):
            self._serve_api(exchange, path[3:] or "/")
        elif path.startswith("/_emulator/"):
            try:
                status, data = self._control(exchange, path[len("/_emulator/") :])
            except (ApiError, TypeError, ValueError) as exc:
                status, data = getattr(exc, "status", 400), {"message": str(exc)}
            exchange.send_json(status, data)
        else:
            exchange.send(
                404, _error(f"no such endpoint: {exchange.method} {path} (the API is under /v1)")
            )

    def _answer(
        self, exchange: Exchange, entry: LoggedRequest, path: str, allowed: bool
    ) -> Outcome | None:
        """The response to send, or None to close without one."""
        variants = self.variants.enabled

        def fail(
            status: int, message: str, headers: dict[str, str] | None = None
        ) -> tuple[int, bytes, str, dict[str, str]]:
            entry.status = status
            body, content_type = error_answer(status, message, variants, exchange.headers)
            return status, body, content_type, headers or {}

        decided, answer, lost, shaped = self._take_faults(exchange, entry, path, allowed, fail)
        if decided:
            return answer
        auth = exchange.headers.get("Authorization")
        if auth != f"Bearer {self.api_key}":
            message = (
                "missing Authorization header: send 'Authorization: Bearer <API key>'"
                if not auth
                else "invalid API key"
            )
            return fail(401, message)
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
        except ApiError as exc:
            if lost:
                return None
            return fail(exc.status, exc.message)
        except Exception as exc:
            traceback.print_exc()
            if lost:
                return None
            return fail(500, f"emulator error: {exc!r}")
        if lost or response.drop:
            return None  # applied, but the client never hears of it
        if shaped is not None:
            return _reshaped(
                shaped, entry, response.status, response.content_type, response.headers
            )
        entry.status = response.status
        return response.status, body, response.content_type, response.headers

    # -------------------------------------------------------------- control

    def _backup(self, data: Any) -> Any:
        """`POST backup` of the control API (see the module docstring)."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("team", "database")
        ):
            raise ValueError('expected {"team", "database"}')
        return self.store.backup_database(data["team"], data["database"])

    def _restore(self, data: Any) -> Any:
        """`POST restore` of the control API (see the module docstring)."""
        if not isinstance(data, dict) or not isinstance(data.get("backup"), dict):
            raise ValueError('expected {"team", "backup"}')
        db = self.store.restore_database(str(data.get("team")), data["backup"])
        return {"team": data.get("team"), "id": db.id, "seq": db.seq}

    def _reset(self, data: Any) -> Any:
        """`POST reset` of the control API."""
        self.reset(demo=bool(data.get("demo", True)))
        return {}

    def _concurrency_control(self, method: str, data: Any) -> tuple[int, Any]:
        """`GET`, `POST` and `DELETE /_emulator/concurrency` (module docstring)."""
        gate = self._gate
        if method == "POST":
            self.max_concurrent = data.get("max")
            return 200, {"max": self.max_concurrent}
        if method == "DELETE":
            gate.reset_peak()
            return 200, {}
        return 200, {
            "max": gate.limit,
            "inFlight": gate.in_flight,
            "violations": gate.violations,
            "peak": gate.peak,
        }

    def _control(self, exchange: Exchange, route: str) -> tuple[int, Any]:
        method = exchange.method
        data = json.loads(exchange.body) if exchange.body.strip() else {}
        if route == "requests" and method == "GET":
            return 200, {
                "requests": [e.describe() for e in self.requests],
                "counts": self.request_counts(),
            }
        if route == "requests" and method == "DELETE":
            self.clear_log()
            return 200, {}
        if route == "faults" and method == "GET":
            return 200, [f.describe() for f in self.faults.active()]
        if route == "faults" and method == "POST":
            return 200, self.faults.add(**data).describe()
        if route == "faults" and method == "DELETE":
            self.faults.clear()
            return 200, {}
        if route == "concurrency" and method in ("GET", "POST", "DELETE"):
            return self._concurrency_control(method, data)
        if route == "variants" and method == "GET":
            return 200, {"enabled": sorted(self.variants.enabled), "available": dict(VARIANTS)}
        if route == "variants" and method == "POST":
            if not isinstance(data, dict):
                raise ValueError('expected {"clear": true, "enable": [...], "disable": [...]}')
            enable, disable = _names(data, "enable"), _names(data, "disable")
            if data.get("clear"):
                self.variants.clear()
            self.variants.enable(*enable)
            self.variants.disable(*disable)
            return 200, {"enabled": sorted(self.variants.enabled)}
        if route == "empty-copy" and method == "POST":
            if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) and data.get(k) for k in ("team", "database", "id")
            ):
                raise ValueError('expected {"team", "database", "id", "name"?, "toTeam"?}')
            target_team = data.get("toTeam") or data["team"]
            db = self.store.empty_copy(
                data["team"], data["database"], data["id"], data.get("name"), to_team=target_team
            )
            return 200, {"team": target_team, "id": db.id, "name": db.name}
        simple = {"backup": self._backup, "restore": self._restore, "reset": self._reset}
        if method == "POST" and route in simple:
            return 200, simple[route](data)
        if route == "snapshot" and method == "GET":
            return 200, self.store.snapshot()
        if route == "save" and method == "POST":
            return 200, {"saved": str(self.save())}
        raise ApiError(404, f"no control route {method} /_emulator/{route}")
