"""Checks of what the connectors assume about Ninox 4's Public API (docs/api.md).

The safe probes of docs/api.md "The Public API (Ninox 4)": reads of the
workspace's metadata and of a scratch table, and writes only into that
scratch table (records the probe created, deleted again). Each check
confirms the fixed reading or records the server variant it met (the
emulator's variant names); an answer that is neither fails the check.
Not probed (they cost a month's quota or need a failure): the rate limit
and the quota (P7), a create that fails half-way (V17), retention (V16's
truncation), drift during a scan (V8).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ninox_core.errors import NinoxAPIError, NinoxNotFoundError
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.session import segment


@dataclass
class PublicScratch:
    """A scratch table of a Ninox 4 workspace, and what the probe found there."""

    client: NinoxClient
    api_key: str
    workspace_id: str
    module: str
    table: str
    label: str
    expected: frozenset[str] | None
    met: set[str] = field(default_factory=set)
    confirmed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)
    tag: str = field(default_factory=lambda: f"ninox-live-check {int(time.time())}")

    @property
    def root(self) -> str:
        """`/workspace/{id}`."""
        return f"/workspace/{segment(self.workspace_id)}"

    @property
    def path(self) -> str:
        """The scratch table's path."""
        return f"{self.root}/modules/{segment(self.module)}/tables/{segment(self.table)}"

    def get(self, path: str, **params: Any) -> Any:
        """One raw GET (JSON answer)."""
        return self.client.request("GET", path, params=params or None)

    def fields(self) -> list[dict[str, Any]]:
        """The scratch table's field objects."""
        table = self.get(self.path)["data"]
        fields = table.get("fields")
        if not isinstance(fields, list):
            fields = self.get(f"{self.path}/fields")["data"]
        return fields

    def text_field(self) -> str:
        """The name of the scratch table's first text field (the one the probe writes)."""
        for spec in self.fields():
            if spec.get("type") == "string" and spec.get("variant") in (None, "text"):
                return str(spec["name"])
        raise AssertionError(f"table {self.table} has no text field: the live check needs one")

    def create(self, count: int, what: str) -> list[int]:
        """Create `count` records (text field = tag); their ids, remembered."""
        name = self.text_field()
        body = {"records": [{name: f"{self.tag} {what} {i}"} for i in range(count)]}
        answer = self.client.request("POST", f"{self.path}/records", json=body, idempotent=False)
        ids = [int(i) for i in answer["data"]["ids"]]
        assert len(ids) == count, answer
        self.created.update(ids)
        return ids

    def delete(self, ids: set[int]) -> None:
        """Delete records the probe created (one at a time: a missing one fails a batch)."""
        for rid in sorted(ids & self.created):
            with contextlib.suppress(NinoxNotFoundError):
                self.client.request("DELETE", f"{self.path}/records", json={"records": [rid]})
            self.created.discard(rid)

    def ok(self, what: str) -> None:
        """Note an assumption confirmed."""
        self.confirmed.append(what)

    def summary(self) -> str:
        """What the probe found, for the console."""
        variants = ", ".join(sorted(self.met)) or "none (the fixed reading)"
        notes = f"; notes: {'; '.join(self.notes)}" if self.notes else ""
        return (
            f"Ninox 4 Public API live check [{self.label}]: variants met: {variants}; "
            f"{len(self.confirmed)} assumptions confirmed: {'; '.join(self.confirmed)}{notes}"
        )


def _raw(s: PublicScratch, method: str, path: str, *, key: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {key if key is not None else s.api_key}"}
    return requests.request(method, s.client.base_url + path, headers=headers, timeout=30)


# ------------------------------------------------------------------ checks


def check_gateway(s: PublicScratch) -> None:
    """A wrong key and an unknown path: how the gateway answers (V1, V2)."""
    wrong = _raw(s, "GET", s.root, key="not-a-key")
    assert wrong.status_code == 401, wrong.status_code
    if "json" not in wrong.headers.get("Content-Type", ""):
        assert "orchestrator" in wrong.text.lower() or wrong.text, wrong.text[:80]
        s.met.add("orchestrator_401")
    else:
        s.ok("a wrong key is a JSON 401")
    unknown = _raw(s, "GET", f"{s.root}/no-such-endpoint")
    if unknown.status_code == 200 and "html" in unknown.headers.get("Content-Type", "").lower():
        s.met.add("html_shell")
    else:
        assert unknown.status_code == 404, unknown.status_code
        s.ok("an unknown path is a 404")


def check_metadata(s: PublicScratch) -> None:
    """The workspace root nests modules, tables and fields, by name (V25, V26)."""
    root = s.get(s.root)["data"]
    modules = {m["name"]: m for m in root["modules"]}
    assert s.module in modules, f"module {s.module} not in {list(modules)}"
    module = modules[s.module]
    if "id" in module:
        s.met.add("metadata_ids")
    tables = module.get("tables")
    if not isinstance(tables, list):
        tables = s.get(f"{s.root}/modules/{segment(s.module)}/tables")["data"]
    table = next(t for t in tables if t["name"] == s.table)
    assert "hasHistory" in table, list(table)
    if not isinstance(table.get("fields"), list):
        s.met.add("root_without_fields")
    s.ok("the workspace root lists modules and tables by name with hasHistory")


def check_limits(s: PublicScratch) -> None:
    """`limit` > 100 is refused (V5 clamps); the last full page says has_more false (V7)."""
    s.create(2, "limit")
    try:
        answer = s.get(f"{s.path}/records", limit=101)
    except NinoxAPIError as refused:
        assert refused.status == 400, refused  # noqa: PT017 (a probe, not a test of ours)
        s.ok("limit 101 is refused with 400")
    else:
        assert len(answer["data"]) <= 100
        s.met.add("limit_clamped")
    everything = []
    offset = 0
    while True:
        page = s.get(f"{s.path}/records", limit=100, offset=offset)["data"]
        everything += page
        if len(page) < 100:
            break
        offset += 100
    count = len(everything)
    last = s.get(f"{s.path}/records", limit=min(count, 100), offset=max(0, count - 100))
    if last["page_info"]["has_more"]:
        s.met.add("has_more_on_full_page")
    else:
        s.ok("the last full page says has_more false")
    ids = [r["id"] for r in everything]
    if all(isinstance(i, str) for i in ids):
        s.ok("record ids are strings")
    else:
        s.met.add("numeric_ids")
    as_numbers = [int(i) for i in ids]
    if as_numbers != sorted(as_numbers):
        s.notes.append("records are not listed in id order without sort (V6)")


def check_values(s: PublicScratch) -> None:
    """Empty fields read as null (V11); timestamp forms (V12) where the table has one."""
    (rid,) = s.create(1, "values")
    record = s.get(f"{s.path}/record/{rid}")["data"]
    names = {f["name"]: f for f in s.fields()}
    values = record["values"]
    if set(names) - set(values):
        s.met.add("omit_empty")
    else:
        s.ok("every field is in values, empty ones as null")
    forms = {n: type(values.get(n)).__name__ for n, f in names.items() if values.get(n) is not None}
    s.notes.append(f"value types of a fresh record: {forms}")


def check_change_feed(s: PublicScratch) -> None:
    """The record change feed: ids, changeType, asOf, retentionCutoff (V15, V16, V27)."""
    since = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    try:
        first = s.get(f"{s.path}/records/changes", since=since, limit=1)
    except NinoxAPIError as refused:
        assert refused.status == 400, refused  # noqa: PT017 (a probe, not a test of ours)
        s.notes.append(f"no change feed on this table: {refused.server_message}")
        return
    assert isinstance(first["meta"]["asOf"], str), first
    (rid,) = s.create(1, "feed")
    s.delete({rid})
    feed = s.get(f"{s.path}/records/changes", since=since, limit=100)
    kinds = {e["changeType"] for e in feed["data"] if int(e["id"]) == rid}
    assert kinds, f"record {rid} created and deleted is not in the feed"
    if kinds & {"insert", "remove"}:
        s.met.add("loose_change_feed")
    else:
        assert kinds <= {"create", "update", "delete"}, kinds
        s.ok("the feed lists create/delete of a record with meta.asOf")
    if feed["meta"].get("retentionCutoff") is None:
        s.met.add("silent_retention")


def check_writes(s: PublicScratch) -> None:
    """PATCH answers every id (V18); DELETE of a missing id is a 404 (V19)."""
    text = s.text_field()
    a, b = s.create(2, "patch")
    body = {"records": [{"id": a, text: f"{s.tag} a"}, {"id": b, text: f"{s.tag} b"}]}
    answer = s.client.request("PATCH", f"{s.path}/records", json=body)
    if len(answer["data"].get("updatedIds") or []) < 2:
        s.met.add("short_updated_ids")
    else:
        s.ok("PATCH lists every id updated")
    missing = max(s.created) + 100_000
    try:
        s.client.request("DELETE", f"{s.path}/records", json={"records": [a, missing]})
    except NinoxNotFoundError:
        gone = s.get(f"{s.path}/record/{a}")["data"]
        assert int(gone["id"]) == a, "a failed batch deleted a record anyway"
        s.ok("DELETE naming a missing id fails whole (404)")
    else:
        s.created.discard(a)
        s.met.add("lenient_delete")


def check_upsert(s: PublicScratch) -> None:
    """`records/upsert` by a unique field exists (V20); notes when the table has none."""
    unique = [f["name"] for f in s.fields() if f.get("unique") and f.get("type") == "string"]
    answer = _raw(s, "POST", f"{s.path}/records/upsert")
    if answer.status_code == 200 and "html" in answer.headers.get("Content-Type", "").lower():
        s.met.add("no_upsert")
        return
    if not unique:
        s.notes.append("no unique text field in the scratch table: upsert not written")
        return
    body = {"matchField": unique[0], "records": [{unique[0]: f"{s.tag} upsert"}]}
    created = s.client.request("POST", f"{s.path}/records/upsert", json=body)
    made = [int(i) for i in created["data"].get("createdIds") or []]
    s.created.update(made)
    again = s.client.request("POST", f"{s.path}/records/upsert", json=body)
    assert [int(i) for i in again["data"].get("updatedIds") or []] == made, again
    s.ok("upsert by a unique field creates, then updates the same record")


def check_error_bodies(s: PublicScratch) -> None:
    """A 400 has the documented body (V3: NestJS's form)."""
    answer = requests.post(
        s.client.base_url + f"{s.path}/records",
        headers={"Authorization": f"Bearer {s.api_key}", "Content-Type": "application/json"},
        data=json.dumps({"records": [{"no_such_field_xyz": 1}]}),
        timeout=30,
    )
    assert answer.status_code == 400, answer.status_code
    body = answer.json()
    if isinstance(body.get("error"), dict):
        s.ok("a 400 is {error: {message}}")
    else:
        assert "statusCode" in body, body
        s.met.add("nest_errors")


#: Every check, in the order a full probe runs them.
CHECKS: dict[str, Callable[[PublicScratch], None]] = {
    "gateway": check_gateway,
    "metadata": check_metadata,
    "limits": check_limits,
    "values": check_values,
    "change_feed": check_change_feed,
    "writes": check_writes,
    "upsert": check_upsert,
    "error_bodies": check_error_bodies,
}


def run_check(s: PublicScratch, name: str) -> None:
    """Run one check once per scratch table."""
    if name not in s.ran:
        s.ran.add(name)
        CHECKS[name](s)
