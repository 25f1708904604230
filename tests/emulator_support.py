"""A small HTTP client of the emulator, shared by the emulator's own tests."""

from __future__ import annotations

from typing import Any

import requests

from ninox_emulator import NinoxEmulator

TEAM, CRM, PROJECTS = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "pt53j1tburs8"
KEY = "test-key"


class Http:
    """A small client of the emulator: paths relative to /v1/teams/TEAM/databases/CRM."""

    def __init__(self, emulator: NinoxEmulator) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {KEY}"

    def url(self, path: str) -> str:
        """The full URL; a path starting with /teams is taken from the API root."""
        if path.startswith("/teams"):
            return self.emulator.base_url + path
        return f"{self.emulator.base_url}/teams/{TEAM}/databases/{CRM}{path}"

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        """The answer's JSON (or raw bytes when not JSON), after checking its status."""
        response = self.session.request(method, self.url(path), timeout=10, **kwargs)
        assert response.status_code == expect, (response.status_code, response.text[:400])
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.json()
        return response.content

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        """`GET path` with query parameters."""
        return self.call("GET", path, expect, params=params)

    def post(self, path: str, body: Any, expect: int = 200, **params: Any) -> Any:
        """`POST path` with a JSON body."""
        return self.call("POST", path, expect, json=body, params=params)

    def seq(self, db: str = CRM) -> int:
        """The database's current `schema.seq`."""
        return int(self.get(f"/teams/{TEAM}/databases/{db}")["schema"]["seq"])

    def count(self, table: str) -> int:
        """How many records the table holds (up to 1000)."""
        return len(self.get(f"/tables/{table}/records", perPage=1000))
