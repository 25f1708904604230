"""Checks of what the connectors assume about a Ninox server (docs/api.md).

Each check writes a few records into a scratch table through
`NinoxClient`, looks at the raw answers and either confirms the assumption
("strict" reading of docs/api.md) or records the server variant it met
(docs/api.md, "server variants": behaviours the connectors survive). An
answer that is neither fails the check: the connectors may not survive it.

Only records the probe created are ever changed or deleted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from ninox_core.errors import NinoxNotFoundError
from ninox_core.model.schema import NinoxField
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.session import segment

#: The `sinceSq` that asks the change feed for nothing but its current `seq`.
_FAR_FUTURE = 10**15
#: Variants the probe cannot see with a few text records in a scratch table.
NOT_PROBED = (
    "captions_for_ids, int_choice_ids, multi_comma, multi_bitmask_feed (need choice fields); "
    "epoch_dates (needs a date field); page_cap_100 (needs over 100 records); "
    "partial_batch, partial_batch_drop (happen under failure only)"
)
_STRICT_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
_MS_Z_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?$")


@dataclass
class Scratch:
    """A scratch table on one server, and what the probe found there."""

    client: NinoxClient
    api_key: str
    team_id: str
    database_id: str
    table_id: str
    #: "live" or "emulator[+variant]".
    label: str
    #: The variants the server plays, when known (the emulator); None live.
    expected: frozenset[str] | None
    met: set[str] = field(default_factory=set)
    confirmed: list[str] = field(default_factory=list)
    created: set[int] = field(default_factory=set)
    ran: set[str] = field(default_factory=set)
    tag: str = field(default_factory=lambda: f"ninox-live-check {int(time.time())}")

    # ------------------------------------------------------------- helpers

    @property
    def path(self) -> str:
        """The table's path under the base URL."""
        return (
            f"/teams/{segment(self.team_id)}/databases/{segment(self.database_id)}"
            f"/tables/{segment(self.table_id)}"
        )

    def text_field(self) -> NinoxField:
        """The scratch table's first text field (the probe writes only this one)."""
        table = self.client.get_table(self.team_id, self.database_id, self.table_id)
        for candidate in table.fields:
            if candidate.type in ("string", "text"):
                return candidate
        raise AssertionError(
            f"table {self.table_id} has no text field: the live check needs one "
            "(add a Text field to the scratch table)"
        )

    def create(self, count: int, what: str) -> list[dict[str, Any]]:
        """Create `count` records (text field = tag); their answers, ids remembered."""
        name = self.text_field().name
        items = [{"fields": {name: f"{self.tag} {what} {i}"}} for i in range(count)]
        answer = self.client.save_records(self.team_id, self.database_id, self.table_id, items)
        assert isinstance(answer, list) and len(answer) == count, answer
        for record in answer:
            assert isinstance(record, dict) and isinstance(record.get("id"), int), record
            self.created.add(record["id"])
        return answer

    def read(self, **params: Any) -> list[dict[str, Any]]:
        """One raw `GET .../records` with `params`."""
        answer = self.client.request("GET", f"{self.path}/records", params=params)
        assert isinstance(answer, list), f"records answer is not a list: {answer!r:.200}"
        return answer

    def current_seq(self) -> int:
        """The database's sequence: `schema.seq`, else the change feed's `seq`."""
        info = self.client.get_database(self.team_id, self.database_id)
        seq = (info.get("schema") or {}).get("seq")
        if isinstance(seq, int):
            return seq
        return self.feed_seq()

    def feed_seq(self) -> int:
        """The change feed's `seq` (asking for no changes at all)."""
        feed = self.client.table_changes(self.team_id, self.database_id, self.table_id, _FAR_FUTURE)
        return int(feed["seq"])

    def delete(self, ids: set[int]) -> None:
        """Delete records the probe created."""
        mine = sorted(ids & self.created)
        if mine:
            self.client.delete_records(self.team_id, self.database_id, self.table_id, mine)
            self.created.difference_update(mine)

    def ok(self, what: str) -> None:
        """Note an assumption confirmed."""
        self.confirmed.append(what)

    def summary(self) -> str:
        """What the probe found, for the console."""
        variants = ", ".join(sorted(self.met)) or "none (the strict reading)"
        return (
            f"Ninox live check [{self.label}]: server variants met: {variants}; "
            f"{len(self.confirmed)} assumptions confirmed: {'; '.join(self.confirmed)}; "
            f"not probed: {NOT_PROBED}"
        )


# ------------------------------------------------------------------ checks


def check_answer_shapes(s: Scratch) -> None:
    """Metadata and record answers have the shapes the connectors read."""
    assert any(t["id"] == s.team_id for t in s.client.list_teams()), "team not listed"
    assert any(d["id"] == s.database_id for d in s.client.list_databases(s.team_id))
    info = s.client.get_database(s.team_id, s.database_id)
    assert isinstance(info.get("schema"), dict), f"no schema in {list(info)}"
    tables = s.client.list_tables(s.team_id, s.database_id)
    table = next(t for t in tables if t.id == s.table_id)
    if any(f.type in ("tab", "button", "line") for f in table.fields):
        s.met.add("layout_fields")
    s.ok("teams, databases, database schema and tables answer as documented")

    (created,) = s.create(1, "shape")
    assert isinstance(created.get("fields"), dict), created
    record = s.client.get_record(s.team_id, s.database_id, s.table_id, created["id"])
    assert record["id"] == created["id"]
    if "sequence" not in record:
        s.met.add("no_sequence")
    else:
        assert isinstance(record["sequence"], int), record
    if "createdAt" not in record or "modifiedAt" not in record:
        s.met.add("no_created_at")
    else:
        stamp = str(record["createdAt"])
        if not _STRICT_DATETIME.match(stamp):
            assert _MS_Z_DATETIME.match(stamp), f"createdAt {stamp!r} has an unknown form"
            s.met.add("datetime_ms_z")
    if record.get("createdBy") in (0, "0"):
        s.met.add("created_by_zero")
    s.ok("a created record reads back with id, fields and its metadata")


def check_keyset_paging(s: Scratch) -> None:
    """`sinceId` = N answers only ids above N, in ascending id order."""
    first, second, third = (r["id"] for r in s.create(3, "keyset"))
    page = s.read(sinceId=first, perPage=2)
    ids = [r["id"] for r in page]
    if not ids or ids[0] <= first:
        s.met.add("ignore_since_id")
        return
    assert ids == sorted(ids), f"records not in ascending id order: {ids}"
    assert ids == [second, third], f"sinceId={first}&perPage=2 answered {ids}"
    s.ok("keyset paging: sinceId answers the next ids in ascending order")


def check_style_ids(s: Scratch) -> None:
    """`style=ids` keys `fields` by field id."""
    text = s.text_field()
    (created,) = s.create(1, "style")
    page = s.read(sinceId=created["id"] - 1, perPage=1, style="ids")
    assert (page and page[0]["id"] == created["id"]) or "ignore_since_id" in s.met, page
    record = next((r for r in page if r["id"] == created["id"]), None)
    if record is None:  # a server ignoring sinceId: find it by id
        record = s.client.get_record(s.team_id, s.database_id, s.table_id, created["id"])
        if text.id not in (record.get("fields") or {}):
            return  # a single-record read has no style: nothing to conclude
    fields = record.get("fields") or {}
    if text.name in fields and text.id not in fields and text.name != text.id:
        s.met.add("names_for_ids")
        return
    assert text.id in fields, f"style=ids answered fields {list(fields)}"
    s.ok("style=ids keys fields by id")


def check_schema_seq(s: Scratch) -> None:
    """`schema.seq` is the database's sequence: no record has a larger one."""
    info = s.client.get_database(s.team_id, s.database_id)
    seq = (info.get("schema") or {}).get("seq")
    if not isinstance(seq, int):
        s.met.add("no_schema_seq")
        return
    (created,) = s.create(1, "seq")
    seq_after = (s.client.get_database(s.team_id, s.database_id)["schema"]).get("seq")
    feed = s.feed_seq()
    record = s.client.get_record(s.team_id, s.database_id, s.table_id, created["id"])
    newest = max(feed, int(record.get("sequence") or 0))
    if seq_after < newest:
        s.met.add("schema_seq_lag")
        return
    assert seq_after > seq, f"schema.seq did not move after a write ({seq} → {seq_after})"
    s.ok("schema.seq grows with every write and matches the change feed's seq")


def check_since_sq(s: Scratch) -> None:
    """`sinceSq` = N answers only records changed after N."""
    old, changed = (r["id"] for r in s.create(2, "sincesq"))
    mark = _sequence_now(s, changed)
    text = s.text_field()
    s.client.save_records(
        s.team_id,
        s.database_id,
        s.table_id,
        [{"id": changed, "fields": {text.name: f"{s.tag} sincesq changed"}}],
    )
    page = s.read(sinceSq=mark, sinceId=old - 1, perPage=1000)
    ids = {r["id"] for r in page}
    if old in ids:
        s.met.add("ignore_since_sq")
        return
    if "ignore_since_id" not in s.met:
        assert changed in ids, f"sinceSq={mark} did not answer the changed record {changed}"
    s.ok("sinceSq answers only records changed since")


def _sequence_now(s: Scratch, record_id: int) -> int:
    """The sequence after `record_id`'s last write (the record's own, if it tells)."""
    record = s.client.get_record(s.team_id, s.database_id, s.table_id, record_id)
    if isinstance(record.get("sequence"), int):
        return int(record["sequence"])
    return s.feed_seq()


def check_change_feed_removes(s: Scratch) -> None:
    """A deleted record shows in the change feed's `removes` as table id + record id."""
    (created,) = s.create(1, "remove")
    mark = s.feed_seq()
    s.delete({created["id"]})
    feed = s.client.table_changes(s.team_id, s.database_id, s.table_id, mark)
    assert isinstance(feed.get("seq"), int) and feed["seq"] > mark, feed
    removes = feed.get("removes")
    assert isinstance(removes, list), f"the change feed has no removes list: {list(feed)}"
    assert f"{s.table_id}{created['id']}" in removes, f"{created['id']} not in {removes}"
    s.ok("the change feed lists deletions as table id + record id with a newer seq")


def check_upsert_keeps_ids(s: Scratch) -> None:
    """`_upsert` updates record N in place, and re-creates a deleted N under N."""
    text = s.text_field()
    (created,) = s.create(1, "upsert")
    rid = created["id"]
    item = {"_upsert": True, "_id": rid, text.id: f"{s.tag} upserted"}
    answer = s.client.save_records(s.team_id, s.database_id, s.table_id, [item])
    assert len(answer) == 1, answer
    if "_id" in answer[0]:
        assert answer[0]["_id"] == rid, answer
        if text.id not in answer[0] and text.name in answer[0]:
            s.met.add("names_for_ids")
    else:
        assert answer[0].get("id") == rid, f"an upsert answered {answer}"
    record = s.client.get_record(s.team_id, s.database_id, s.table_id, rid)
    assert record["fields"].get(text.name) == f"{s.tag} upserted", record
    s.delete({rid})
    s.client.save_records(s.team_id, s.database_id, s.table_id, [item])
    s.created.add(rid)
    again = s.client.get_record(s.team_id, s.database_id, s.table_id, rid)
    assert again["id"] == rid
    s.ok("_upsert updates in place and re-creates a deleted record under its id")


def check_update_of_missing_id(s: Scratch) -> None:
    """`{"id": N, "fields"}` of a missing N is a 404 (or, as a variant, creates N)."""
    text = s.text_field()
    (created,) = s.create(1, "missing")
    missing = created["id"] + 1000
    item = {"id": missing, "fields": {text.name: f"{s.tag} missing"}}
    try:
        s.client.save_records(s.team_id, s.database_id, s.table_id, [item])
    except NinoxNotFoundError:
        s.ok("an update of a missing id is refused with 404")
        return
    s.created.add(missing)
    s.met.add("update_missing_creates")


def check_error_bodies(s: Scratch) -> None:
    """Errors are JSON `{"message"}` (variants: text, HTML, headers echoed)."""
    url = f"{s.client.base_url}{s.path}/records/999999999"
    answer = requests.get(
        url, headers={"Authorization": f"Bearer {s.api_key}"}, timeout=s.client.timeout
    )
    assert answer.status_code == 404, answer.status_code
    content_type = answer.headers.get("Content-Type", "")
    if "html" in content_type:
        s.met.add("errors_html")
    elif "json" not in content_type:
        s.met.add("errors_text")
    else:
        body = answer.json()
        assert isinstance(body, dict) and body.get("message"), body
        if s.api_key in answer.text or "authorization" in answer.text.lower():
            s.met.add("errors_echo_headers")
        else:
            s.ok("errors are JSON with a message")


#: Every check, in the order a full probe runs them.
CHECKS: dict[str, Callable[[Scratch], None]] = {
    "answer_shapes": check_answer_shapes,
    "keyset_paging": check_keyset_paging,
    "style_ids": check_style_ids,
    "schema_seq": check_schema_seq,
    "since_sq": check_since_sq,
    "change_feed_removes": check_change_feed_removes,
    "upsert_keeps_ids": check_upsert_keeps_ids,
    "update_of_missing_id": check_update_of_missing_id,
    "error_bodies": check_error_bodies,
}


def run_check(s: Scratch, name: str) -> None:
    """Run one check once per scratch table."""
    if name not in s.ran:
        s.ran.add(name)
        CHECKS[name](s)
