"""The classic API's calls (docs/api.md §2-7), on top of the shared transport.

`ClassicCalls` is the part of `NinoxClient` that knows the classic paths,
parameters and answers: letter ids (`/teams/{team}/databases/{db}/tables/
{table}`), keyset paging by `sinceId`, the integer sequence, the POST of
creates, updates and `_upsert`s. The transport under it (`NinoxClient.send`
and `request`: one request at a time, retries, deadline, redaction) is
shared by every API generation (docs/design.md "Layers"). Each answer is
checked by its `ninox_core.classic.checks` check where it enters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ninox_core.classic import checks
from ninox_core.errors import NinoxAPIError
from ninox_core.model.schema import NinoxTable
from ninox_core.transport.answers import SurrogateReport
from ninox_core.transport.session import segment

#: Records per page of every read, tap and target (docs/decisions/0015-page-size-default.md).
PAGE_SIZE = 1000
#: Scans of a table read by page number before deletions during them fail the read.
_MAX_SCANS = 5

# The client's logger: the warnings about server differences keep their name.
logger = logging.getLogger("ninox_core.transport.client")


class ClassicCalls:
    """Typed helpers for the classic calls the connectors make (mixed into `NinoxClient`)."""

    if TYPE_CHECKING:
        # Provided by `NinoxClient` (the transport).
        base_url: str
        _warned: set[tuple[str, str]]
        request: Callable[..., Any]
        _objects: Callable[[str, tuple[str, ...], str], list[dict[str, Any]]]
        _object: Callable[[str, str], dict[str, Any]]
        _not_ninox: Callable[[str, str, Any], NinoxAPIError]
        request_count: int

    #: The last `schema.seq` read: team, database, the client's `request_count`
    #: right after it, and the value (see `_schema_seq`).
    _last_schema_seq: tuple[str, str, int, int | None] | None = None

    def list_teams(self) -> list[dict[str, Any]]:
        """`GET /teams`: every team (workspace) the key can see."""
        return self._objects("/teams", ("id",), "a list of teams")

    def get_team(self, team_id: str) -> dict[str, Any]:
        """`GET /teams/{team}`: one team's id and name."""
        return self._object(f"/teams/{segment(team_id)}", "a team")

    def list_databases(self, team_id: str) -> list[dict[str, Any]]:
        """`GET /teams/{team}/databases`: `[{"id", "name"}]`."""
        return self._objects(f"/teams/{segment(team_id)}/databases", ("id",), "a list of databases")

    def get_database(self, team_id: str, database_id: str) -> dict[str, Any]:
        """`GET .../databases/{db}`: settings and schema (with `schema.seq`)."""
        return self._object(_db_path(team_id, database_id), "a database")

    def database_sequence(self, team_id: str, database_id: str) -> int:
        """The database's current change sequence number (`schema.seq`)."""
        seq = self._schema_seq(team_id, database_id)
        if seq is None:
            raise NinoxAPIError(
                200,
                "GET",
                _db_path(team_id, database_id),
                "the answer has no schema.seq (is this a Ninox API base_url?)",
            )
        return seq

    def _schema_seq(self, team_id: str, database_id: str) -> int | None:
        """`schema.seq` of `GET .../databases/{db}`; None when the answer has none.

        Read again only if the client sent anything since the last read of
        the same database: the target asks twice in a row before its first
        write (the rerun marker's sequence, then the lost-answer read-back
        point), and the second `GET` would cost a request for nothing
        (docs/design.md, "At realistic latency"). Reusing it is safe: no
        request of this run came between, and a value that another client's
        write has since overtaken is lower, which every caller takes on the
        safe side (a few records read again; `read_sequence` also takes the
        change feed's `seq`, read fresh).
        """
        last = self._last_schema_seq
        if last is not None and last[:3] == (team_id, database_id, self.request_count):
            return last[3]
        info = self.get_database(team_id, database_id)
        try:
            seq: int | None = int(info["schema"]["seq"])
        except (KeyError, TypeError, ValueError):
            seq = None
        self._last_schema_seq = (team_id, database_id, self.request_count, seq)
        return seq

    def read_sequence(
        self, team_id: str, database_id: str, table_id: str, *, since_sq: int | None = None
    ) -> int:
        """The sequence to bookmark before reading a table: the database's sequence now.

        Servers may leave `schema.seq` out or report one that lags behind
        (docs/api.md, server variants), so it is checked against the table's
        change feed, whose `seq` is the database's current sequence, and the
        larger is taken. Safe: both values are read before the table is, and
        neither exceeds the database's sequence at that moment; every change
        made after it takes a larger number, so the next run's `sinceSq` read
        includes it, and every change up to it is already in the records this
        read will see. A lagging value alone would only make the next run
        read a few records again.

        The feed is asked from `schema.seq` (a few changes at most); without
        one, from `since_sq` (the stream's bookmark), else from 0 (the whole
        table's changes, once, on a first run against such a server).
        """
        schema_seq = self._schema_seq(team_id, database_id)
        probe = schema_seq if schema_seq is not None else (since_sq or 0)
        feed = self.table_changes(team_id, database_id, table_id, probe, updates=False)
        try:
            feed_seq: int | None = int(feed["seq"])
        except (KeyError, TypeError, ValueError):
            feed_seq = None
        known = [seq for seq in (schema_seq, feed_seq) if seq is not None]
        if not known:
            raise NinoxAPIError(
                200,
                "GET",
                _db_path(team_id, database_id),
                "neither the database's schema.seq nor the change feed's seq is in the "
                "answer, so no bookmark can be taken (is this a Ninox API base_url?)",
            )
        return max(known)

    def list_tables(self, team_id: str, database_id: str) -> list[NinoxTable]:
        """`GET .../tables`: every table with its fields."""
        path = f"{_db_path(team_id, database_id)}/tables"
        return [NinoxTable.from_api(t) for t in self._objects(path, ("id",), "a list of tables")]

    def get_table(self, team_id: str, database_id: str, table_id: str) -> NinoxTable:
        """`GET .../tables/{table}`: one table with its fields."""
        path = table_path(team_id, database_id, table_id)
        table = self._object(path, "a table")
        if "id" not in table:
            raise self._not_ninox(path, "a table", table)
        return NinoxTable.from_api(table)

    # --------------------------------------------------------------- records

    def iter_record_pages(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        *,
        since_id: int = 0,
        since_sq: int | None = None,
        page_size: int = PAGE_SIZE,
        choice_style: str = "names",
        style: str = "names",
        on_replaced: SurrogateReport | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of records in ascending id order, keyset-paged.

        Each page asks for `sinceId` = the last id seen, so records created
        or deleted during the read do not shift pages. The read ends on an
        empty page only: the server may cap the page size, so a short page
        proves nothing. Pages are never empty.

        Servers that differ (docs/api.md, server variants): one that ignores
        `sinceId` is read by page number instead (`_pages_by_number`); one
        that ignores `sinceSq` has its answers filtered by `sequence` here.
        Each is warned about once per table.

        Every page is checked (`checks.records_page`): an empty body,
        `null` or an object is never the end of the table, and a page whose
        ids do not rise fails the read. `on_replaced(record id, field id)`
        hears of each lone surrogate replaced (by default: one warning).
        """
        path = f"{table_path(team_id, database_id, table_id)}/records"
        params: dict[str, Any] = {
            "perPage": page_size,
            "choiceStyle": choice_style,
            "style": style,
        }
        if since_sq is not None:
            params["sinceSq"] = since_sq
        report = on_replaced
        last_id = since_id
        while True:
            params["sinceId"] = last_id
            page = self._page(path, params, report)
            if not page:
                return
            if last_id and int(page[0]["id"]) <= last_id:
                self._warn_once(
                    path,
                    "ignores sinceId",
                    "the server ignored sinceId (it answered from the first record): "
                    "this table is read by page number, with a check for deletions "
                    "during the read",
                )
                del params["sinceId"]
                yield from self._pages_by_number(
                    (team_id, database_id, table_id), path, params, last_id, since_sq, report
                )
                return
            # The page's ids rise (checked), and its first is above sinceId.
            last_id = page[-1]["id"]
            page = self._changed_only(path, page, since_sq)
            if page:
                yield page

    def _page(
        self, path: str, params: dict[str, Any], report: SurrogateReport | None
    ) -> list[dict[str, Any]]:
        """One checked page of records (`checks.records_page`)."""
        page: list[dict[str, Any]] = self.request(
            "GET", path, params=params, check=checks.records_page, on_replaced=report
        )
        return page

    def _changed_only(
        self, path: str, page: list[dict[str, Any]], since_sq: int | None
    ) -> list[dict[str, Any]]:
        """The records of `page` changed after `since_sq` (all when it is None).

        A server that honours `sinceSq` answers only those; one that ignores
        it answers every record, which would re-emit the whole table on each
        incremental run. Records without `sequence` are kept (no way to tell).
        """
        if since_sq is None:
            return page
        kept = [
            r for r in page if not isinstance(r.get("sequence"), int) or r["sequence"] > since_sq
        ]
        if len(kept) < len(page):
            self._warn_once(
                path,
                "ignores sinceSq",
                f"the server ignored sinceSq={since_sq} (it answered records not changed "
                "since): they are filtered out by their sequence here",
            )
        return kept

    def _pages_by_number(
        self,
        where: tuple[str, str, str],
        path: str,
        params: dict[str, Any],
        after_id: int,
        since_sq: int | None,
        report: SurrogateReport | None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of the records with ids above `after_id`, read by page number.

        Page numbers shift when records are deleted during the read (a
        record moves onto a page already read and would be missed; creates
        get the largest ids and land on the last pages). So after each scan
        the table's change feed tells whether anything was deleted since the
        scan began; if so the table is scanned again, yielding only records
        not yielded yet. Bounded: after `_MAX_SCANS` scans that each saw
        deletions the read fails with one line. A server that ignores `page`
        too (the same page twice) fails at once.
        """
        team_id, database_id, table_id = where
        yielded: set[int] = set()
        start_seq = self.read_sequence(team_id, database_id, table_id)
        for _ in range(_MAX_SCANS):
            previous: list[int] | None = None
            number = 0
            while True:
                params["page"] = number
                page = self._page(path, params, report)
                if not page:
                    break
                ids = [r["id"] for r in page]
                if ids == previous:
                    raise NinoxAPIError(
                        200,
                        "GET",
                        path,
                        "the server ignores both sinceId and page (the same records for "
                        f"page {number - 1} and {number}); this table cannot be read in full",
                    )
                previous = ids
                fresh = [r for r in page if after_id < r["id"] and r["id"] not in yielded]
                yielded.update(r["id"] for r in fresh)
                fresh = self._changed_only(path, fresh, since_sq)
                if fresh:
                    yield fresh
                number += 1
            feed = self.table_changes(team_id, database_id, table_id, start_seq, updates=False)
            if not feed.get("removes"):
                return
            start_seq = int(feed.get("seq") or start_seq)
        raise NinoxAPIError(
            200,
            "GET",
            path,
            f"records were deleted during each of {_MAX_SCANS} reads of this table, which "
            "the server lets page only by page number (it ignores sinceId), so a record "
            "may have been missed; run again when the table changes less",
        )

    def _warn_once(self, path: str, kind: str, message: str) -> None:
        """Log one warning per table and kind of server difference, per client."""
        if (path, kind) in self._warned:
            return
        self._warned.add((path, kind))
        logger.warning("GET %s: %s", path, message)

    def get_record(
        self, team_id: str, database_id: str, table_id: str, record_id: int
    ) -> dict[str, Any]:
        """`GET .../records/{id}`: one record (404 → `NinoxNotFoundError`)."""
        path = f"{table_path(team_id, database_id, table_id)}/records/{segment(record_id)}"
        found: dict[str, Any] = self.request("GET", path, check=checks.one_record)
        return found

    def save_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        records: Sequence[Mapping[str, Any]],
        *,
        resend: bool | None = None,
    ) -> list[dict[str, Any]]:
        """`POST .../records`: create, update and `_upsert` records in one batch.

        Ninox answers with every saved record, values included; the answer
        counts only when it accounts for every element, in order
        (`checks.saved_records`), else the write's outcome is unknown
        (`NinoxWriteOutcomeUnknown`), as after a lost answer.

        The batch is resent on a lost answer only when it creates nothing
        (every element has `id` or `_id`); otherwise a lost answer raises
        `NinoxWriteOutcomeUnknown` for the caller to reconcile. `resend=False`
        raises it for any batch (a server may apply part of a batch and then
        fail: resending all of it would fail the same way).
        """
        path = f"{table_path(team_id, database_id, table_id)}/records"
        idempotent = all("id" in r or "_id" in r for r in records)
        if resend is not None:
            idempotent = idempotent and resend
        saved: list[dict[str, Any]] = self.request(
            "POST",
            path,
            json=list(records),
            idempotent=idempotent,
            check=checks.saved_records(records),
        )
        return saved

    def delete_records(
        self, team_id: str, database_id: str, table_id: str, record_ids: Iterable[int]
    ) -> None:
        """`DELETE .../records` with a list of ids; absent ids are ignored.

        Confirmed only by Ninox's own answer (`checks.deleted`); an
        unconfirmed deletion is sent again (deleting is idempotent), then fails.
        """
        path = f"{table_path(team_id, database_id, table_id)}/records"
        self.request("DELETE", path, json=[int(i) for i in record_ids], check=checks.deleted)

    # ----------------------------------------------------------- change feed

    def table_changes(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        since_sq: int,
        *,
        updates: bool = True,
    ) -> dict[str, Any]:
        """`GET .../tables/{table}/changes?sinceSq=N`: updates, removes, seq.

        Ninox has no lighter call for deleted ids (docs/api.md): the answer
        carries every changed record's values too. With `updates=False` only
        `seq` and `removes` are decoded; the updates are skipped unparsed.
        """
        path = f"{table_path(team_id, database_id, table_id)}/changes"
        params = {"sinceSq": since_sq}
        if updates:
            full: dict[str, Any] = self.request(
                "GET", path, params=params, check=checks.change_feed
            )
            return full
        feed = self.request(
            "GET", path, params=params, answer_type=_Removes, check=checks.change_feed
        )
        if isinstance(feed, _Removes):
            out: dict[str, Any] = {}
            if feed.seq is not msgspec.UNSET:
                out["seq"] = feed.seq
            if feed.removes is not msgspec.UNSET:
                out["removes"] = feed.removes
            return out
        return dict(feed)

    # ----------------------------------------------------------------- files

    def list_files(
        self, team_id: str, database_id: str, table_id: str, record_id: int
    ) -> list[dict[str, Any]]:
        """`GET .../records/{id}/files`: metadata of a record's attachments."""
        path = f"{table_path(team_id, database_id, table_id)}/records/{segment(record_id)}/files"
        listed: list[dict[str, Any]] = self.request("GET", path, check=checks.file_list)
        return listed


# ---------------------------------------------------------------- helpers


class _Removes(msgspec.Struct):
    """What is read of a change feed for deletions: `seq` and `removes`."""

    seq: Any = msgspec.UNSET
    removes: Any = msgspec.UNSET


def _db_path(team_id: str, database_id: str) -> str:
    return f"/teams/{segment(team_id)}/databases/{segment(database_id)}"


def table_path(team_id: str, database_id: str, table_id: str) -> str:
    """The path of a table under the base URL, each id quoted."""
    return f"{_db_path(team_id, database_id)}/tables/{segment(table_id)}"
