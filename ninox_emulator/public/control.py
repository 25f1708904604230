"""The control API of the Public API emulator: `/_emulator/...` (JSON, no auth).

For tools outside Python (the same as the `PublicEmulator` methods):
- `GET requests` → `{"requests": [...], "counts": {...}}`; `DELETE requests`;
- `GET`/`POST`/`DELETE faults` (`POST` takes `Faults.add`'s keywords);
- `GET concurrency` → `{"max", "inFlight", "violations", "peak"}`; `POST
  {"max": N|null}`; `DELETE` starts counting the peak afresh;
- `GET variants` → `{"enabled", "available"}`; `POST {"clear", "strict",
  "enable", "disable"}` (names or V-numbers; applied in that order);
- `GET clock` → `{"now", "offsetMs"}`; `POST {"advance": seconds}` or
  `{"set": "2026-12-07T10:00:00Z"}`;
- `GET quota` → `{"limit", "used"}`; `POST {"limit": N|null, "used"?}`;
- `POST reset {"demo": true}`; `POST retention {"days"}`; `POST history
  {"module", "table", "enabled"}`; `POST rename-table {"module", "table",
  "name"}`; `POST rename-field {"module", "table", "field", "name"}`;
- `POST records {"module", "table", "records"}` creates as another user,
  `DELETE records {"module", "table", "ids"}` deletes;
- `POST expire-key {"after": N}`;
- `POST backup {"name"}` / `POST restore {"name"}`: a named copy of the
  whole workspace, kept in memory.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ninox_emulator.model import ApiError
from ninox_emulator.public.variants import PUBLIC_VARIANTS, resolve
from ninox_emulator.server import Exchange

if TYPE_CHECKING:  # the emulator imports this module
    from ninox_emulator.public.emulator import PublicEmulator


def control(emu: PublicEmulator, exchange: Exchange, route: str) -> tuple[int, Any]:
    """Answer one control request: (status, JSON data)."""
    method = exchange.method
    data = json.loads(exchange.body) if exchange.body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("a control request's body is a JSON object")
    answer = _observation(emu, method, route, data)
    if answer is None:
        answer = _settings(emu, method, route, data)
    if answer is None:
        answer = _data(emu, method, route, data)
    if answer is None:
        raise ApiError(404, f"no control route {method} /_emulator/{route}")
    return 200, answer


def _observation(emu: PublicEmulator, method: str, route: str, data: dict[str, Any]) -> Any:
    """Requests, faults and concurrency; None when the route is not one of them."""
    if route == "requests" and method == "GET":
        return {"requests": [e.describe() for e in emu.requests], "counts": emu.request_counts()}
    if route == "requests" and method == "DELETE":
        emu.clear_log()
        return {}
    if route == "faults" and method == "GET":
        return [f.describe() for f in emu.faults.active()]
    if route == "faults" and method == "POST":
        return emu.faults.add(**data).describe()
    if route == "faults" and method == "DELETE":
        emu.faults.clear()
        return {}
    if route == "concurrency" and method == "POST":
        emu.max_concurrent = data.get("max")
    if route == "concurrency" and method == "DELETE":
        emu._gate.reset_peak()
    if route == "concurrency":
        gate = emu._gate
        return {
            "max": gate.limit,
            "inFlight": gate.in_flight,
            "violations": gate.violations,
            "peak": gate.peak,
        }
    return None


def _settings(emu: PublicEmulator, method: str, route: str, data: dict[str, Any]) -> Any:
    """Variants, clock, quota, retention; None when the route is not one of them."""
    if route == "variants":
        if method == "POST":
            enable, disable = resolve(data.get("enable") or []), resolve(data.get("disable") or [])
            if data.get("strict"):
                emu.variants.strict()
            if data.get("clear"):
                emu.variants.clear()
            emu.variants.enable(*enable)
            emu.variants.disable(*disable)
        return {
            "enabled": sorted(emu.variants.enabled),
            "available": {
                name: f"{alias}: {text}" for name, (alias, text) in PUBLIC_VARIANTS.items()
            },
        }
    if route == "clock":
        if method == "POST" and "set" in data:
            emu.clock.set(data["set"])
        if method == "POST" and "advance" in data:
            emu.clock.advance(float(data["advance"]))
        return {"now": emu.clock.now_iso(), "offsetMs": emu.clock.offset_ms}
    if route == "quota":
        if method == "POST":
            emu.quota = data.get("limit")
            emu.quota_used = int(data.get("used", emu.quota_used))
        return {"limit": emu.quota, "used": emu.quota_used}
    if route == "retention" and method == "POST":
        emu.retention_days = float(data["days"])
        return {"days": emu.retention_days}
    return None


def _data(emu: PublicEmulator, method: str, route: str, data: dict[str, Any]) -> Any:
    """The routes that change data; None when the route is not one of them."""
    if method == "POST" and route == "reset":
        emu.reset(demo=bool(data.get("demo", True)))
    elif method == "POST" and route == "history":
        emu.set_history(data["module"], data["table"], enabled=bool(data["enabled"]))
    elif method == "POST" and route == "rename-table":
        emu.rename_table(data["module"], data["table"], data["name"])
    elif method == "POST" and route == "rename-field":
        emu.rename_field(data["module"], data["table"], data["field"], data["name"])
    elif method == "POST" and route == "records":
        return {"ids": emu.create_records(data["module"], data["table"], data["records"])}
    elif method == "DELETE" and route == "records":
        return {"ids": emu.delete_records(data["module"], data["table"], data["ids"])}
    elif method == "POST" and route == "expire-key":
        emu.expire_key(int(data.get("after", 0)))
    elif method == "POST" and route == "backup":
        emu.backups[str(data.get("name", "default"))] = emu.backup()
    elif method == "POST" and route == "restore":
        emu.restore(emu.backups[str(data.get("name", "default"))])
    else:
        return None
    return {}
