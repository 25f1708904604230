"""Run tap-ninox in-process and collect what it writes."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from tap_ninox.tap import TapNinox

DEMO_TEAM = "mnPLY6DMsvq9wz4id"
CRM_DB = "gt5k36w957yt"
PROJECTS_DB = "pt53j1tburs8"
TEST_KEY = "test-key"


@dataclass
class TapOutput:
    """The Singer messages of one tap run, sorted by kind."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def records(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for m in self.messages:
            if m["type"] == "RECORD":
                out.setdefault(m["stream"], []).append(m["record"])
        return out

    @property
    def schemas(self) -> dict[str, dict[str, Any]]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1]

    def bookmark(self, stream: str) -> Any:
        return self.state["bookmarks"][stream].get("replication_key_value")

    def record_count(self) -> int:
        return sum(len(v) for v in self.records.values())


def tap_config(emulator, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "api_key": TEST_KEY,
        "base_url": emulator.base_url,
        "team_id": DEMO_TEAM,
        "database_ids": [CRM_DB],
        "max_retries": 3,
    }
    config.update(overrides)
    return config


def run_tap(
    config: dict[str, Any],
    state: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
    *,
    allow_failure: bool = False,
) -> TapOutput:
    """Sync once, in-process, and parse every line the tap wrote.

    With `allow_failure` a failing sync returns what was written before the
    failure, with the exception in `error`.
    """
    tap = TapNinox(config=config, state=state, catalog=catalog, validate_config=True)
    tap.client.backoff_base = 0.01  # keep retries fast in tests
    buffer = io.BytesIO()
    stdout, wrapper = sys.stdout, io.TextIOWrapper(buffer, encoding="utf-8")
    sys.stdout = wrapper
    error: BaseException | None = None
    try:
        tap.sync_all()
    except Exception as exc:
        if not allow_failure:
            raise
        error = exc
    finally:
        wrapper.flush()
        wrapper.detach()  # keep the buffer open when the wrapper goes away
        sys.stdout = stdout
    lines = buffer.getvalue().decode("utf-8").splitlines()
    return TapOutput([json.loads(line) for line in lines if line.strip()], error)


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The catalog the tap discovers, as a dict."""
    return TapNinox(config=config, validate_config=True).catalog_dict
