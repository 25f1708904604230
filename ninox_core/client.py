"""The Ninox REST API client shared by tap-ninox and target-ninox.

What it takes care of, so the connectors don't have to:

- one `requests.Session` (connections are reused) with bearer auth;
- one request at a time per client: Ninox asks clients not to call it in
  parallel, so a lock spans each request and its retries;
- retries on 429, 5xx, timeouts and dropped connections with exponential
  backoff and jitter, honouring `Retry-After` when the server sends it;
- writes that are not idempotent (creating records) are never resent blindly:
  when their answer is lost the client raises `NinoxWriteOutcomeUnknown` and
  the caller reconciles (see target-ninox);
- errors become exceptions naming method, path and the server's message,
  never the API key.
"""

from __future__ import annotations

import html
import json as stdjson
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import msgspec
import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from ninox_core import answers, termination, transport
from ninox_core.answers import Check, SurrogateReport, Unchecked
from ninox_core.deadline import DeadlineAdapter, Watchdog
from ninox_core.errors import (
    NinoxAPIError,
    NinoxAuthError,
    NinoxBadRequestError,
    NinoxConfigError,
    NinoxConnectionError,
    NinoxNotFoundError,
    NinoxRedirectError,
    NinoxRetryableError,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.redaction import add_secret, install, protect_url, redact, redact_url
from ninox_core.schema import NinoxTable

DEFAULT_BASE_URL = "https://api.ninox.com/v1"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 8
#: Records per page of every read, tap and target (docs/decisions/0015-page-size-default.md).
PAGE_SIZE = 1000
#: Scans of a table read by page number before deletions during them fail the read.
_MAX_SCANS = 5
#: Longest wait between two tries, whatever `Retry-After` asks for.
MAX_BACKOFF_SECONDS = 300.0
#: Until the server has answered once, a server that cannot be reached fails
#: the run within this many seconds (docs/design.md, "Unreachable server")...
FIRST_CONTACT_BUDGET = 12.0
#: ...after at most this many retries, each connect waiting at most:
FIRST_CONTACT_RETRIES = 2
FIRST_CONNECT_TIMEOUT = 4.0
#: Connect timeout once the server has answered (a connect is quick or lost).
CONNECT_TIMEOUT = 30.0
#: Longest extract of an error body (HTML title, text) put in a message.
MAX_MESSAGE_CHARS = 300

# Decimal numbers reach the client from the SDK's parsing; encode them as JSON
# numbers, not strings (msgspec's default).
_encode_json = msgspec.json.Encoder(decimal_format="number").encode
_decode_json = msgspec.json.decode

logger = logging.getLogger("ninox_core.client")


def segment(value: object) -> str:
    """Quote one path segment (ids, file names) for a URL.

    `.` and `..` are encoded too (`%2E`): as they are, servers and proxies
    read them as "this" and "parent" directory, so a file named `..` would
    name its record (docs/api.md §7).
    """
    text = str(value)
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return quote(text, safe="")


class NinoxClient:
    """A synchronous client for one Ninox API key and base URL.

    Typed helpers cover the calls of docs/api.md §2-7 the connectors use;
    `request()` reaches any other.
    """

    #: First backoff wait in seconds; doubles with each try (tests lower it).
    backoff_base: float = 1.0

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        user_agent: str = "ninox-core",
        backoff_base: float | None = None,
    ) -> None:
        """Prepare a session; nothing is sent until the first call.

        The key is used without surrounding whitespace (a copy-pasted key
        often ends in a newline). Credentials in `base_url` are refused.
        """
        # Mask the key (and any credentials in base_url) in every log line of
        # the process from now on, urllib3's DEBUG lines included.
        add_secret(api_key)
        protect_url(base_url)
        install()
        api_key = api_key.strip() if isinstance(api_key, str) else api_key
        if not api_key:
            raise NinoxConfigError("The api_key setting is empty: set it to your Ninox API key.")
        if not api_key.isprintable() or not api_key.isascii():
            raise NinoxConfigError(
                "The api_key setting holds characters no Ninox API key has (a line break, "
                "a control or non-ASCII character): copy the key again from Ninox."
            )
        _refuse_credentials(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        if backoff_base is not None:
            self.backoff_base = backoff_base
        # Reentrant: a streamed download holds it across its tries (ninox_core.files).
        self._lock = threading.RLock()
        self._session = transport.new_session(self.base_url)
        adapter = DeadlineAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        #: True once the server answered anything (see FIRST_CONTACT_BUDGET).
        self._reached = False
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "User-Agent": user_agent,
                "Accept": "application/json",
            }
        )
        #: Requests sent, retries included (for logs and tests).
        self.request_count = 0
        #: (path, kind) of the server differences already warned about.
        self._warned: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        """Show the base URL only: the key must never be printed."""
        return f"NinoxClient(base_url={redact_url(self.base_url)!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def __enter__(self) -> NinoxClient:
        """Use as a context manager that closes the session."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the session."""
        self.close()

    # ------------------------------------------------------------------ core

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        raw: bool = False,
        files: Mapping[str, Any] | None = None,
        answer_type: Any = None,
        check: Check | None = None,
        on_replaced: SurrogateReport | None = None,
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON answer.

        `path` is relative to the base URL and already quoted (see `segment`).
        With `idempotent=False` a lost answer raises `NinoxWriteOutcomeUnknown`
        instead of resending. With `raw=True` the body's bytes are returned.
        `answer_type` (a msgspec type) decodes only what it names: the rest of
        the answer is skipped without building Python objects.

        `check` (one of `ninox_core.answers`) turns the decoded answer and
        its status into the value returned; an empty body reaches it as
        `answers.EMPTY`. An answer that fails its check is, for a POST, a
        lost answer (`NinoxWriteOutcomeUnknown`: the caller reconciles);
        for other requests it is sent again when the failure may be passing
        (up to `max_retries`), else one error line. `on_replaced(record,
        field)` hears of each lone surrogate replaced in the answer.
        """
        body = _encode_json(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        tries = 0
        while True:
            tries += 1
            response = self.send(
                method,
                path,
                params=params,
                data=body,
                headers=headers,
                files=files,
                idempotent=idempotent,
            )
            if raw:
                return response.content
            if check is None:
                return _decode_body(response, self.base_url, answer_type, on_replaced)
            status = response.status_code
            try:
                answer = _decode_body(
                    response, self.base_url, answer_type, on_replaced, checked=True
                )
                return check(answer, status)
            except Unchecked as problem:
                if method == "POST" or not idempotent:
                    raise NinoxWriteOutcomeUnknown(method, path, problem.message) from None
                if not problem.transient or tries > self.max_retries:
                    gave_up = f" (gave up after {tries} tries)" if tries > 1 else ""
                    raise NinoxAPIError(status, method, path, problem.message + gave_up) from None
                self._wait(tries, None, method, path, problem.message)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        stream: bool = False,
        open_body: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> requests.Response:
        """The transport under every call: send until a successful answer, return it.

        One retry policy (429, 5xx, timeouts, dropped connections; `Retry-After`),
        one deadline (`request_timeout` for the whole answer, or for its
        headers with `stream=True`, whose body the caller reads and closes)
        and one redaction path for errors. `data` may be bytes or an object
        with `read` (streamed); it must give the same bytes on each try. The
        client's lock is held for the call and its retries (it is reentrant,
        so a caller may hold it across several sends).
        """
        url = self.base_url + path
        with self._lock:
            attempt = 0
            first_try_at = time.monotonic()
            while True:
                attempt += 1
                started = time.monotonic()
                self.request_count += 1
                try:
                    with (
                        open_body() if open_body is not None else nullcontext(data) as payload,
                        Watchdog(self.timeout) as watchdog,
                    ):
                        try:
                            response = transport.send(
                                self._session,
                                method,
                                url,
                                params=params,
                                data=payload,
                                headers=headers,
                                files=files,
                                stream=stream,
                                timeout=(self._connect_timeout(), self.timeout),
                            )
                        except _TRANSPORT_ERRORS as exc:
                            if watchdog.fired:
                                raise _DeadlinePassed(self.timeout) from exc
                            raise
                        # A socket shut down mid-headers can read as a whole,
                        # empty answer: only an answer before the deadline counts.
                        if watchdog.fired:
                            response.close()
                            raise _DeadlinePassed(self.timeout)
                except (_DeadlinePassed, *_TRANSPORT_ERRORS) as exc:
                    unreachable = _unreachable(exc)
                    reason = _describe_transport_error(exc)
                    if unreachable and not self._reached:
                        # The run's first contact: a wrong base_url or a server
                        # that is down should not cost minutes of backoff.
                        spent = time.monotonic() - first_try_at
                        if (
                            attempt > min(self.max_retries, FIRST_CONTACT_RETRIES)
                            or spent + FIRST_CONNECT_TIMEOUT > FIRST_CONTACT_BUDGET
                        ):
                            raise NinoxConnectionError(
                                method,
                                path,
                                f"cannot reach the server at base_url "
                                f"{redact_url(self.base_url)} ({reason}); check base_url "
                                "(e.g. https://api.ninox.com/v1) and that this machine can "
                                "reach that server",
                            ) from exc
                        self._wait(attempt, None, method, path, reason, cap=2.0)
                        continue
                    sent = not unreachable
                    if sent and not idempotent:
                        raise NinoxWriteOutcomeUnknown(method, path, reason) from exc
                    if attempt > self.max_retries:
                        raise NinoxConnectionError(
                            method,
                            path,
                            f"{reason} (gave up after {attempt} tries; check base_url "
                            f"{redact_url(self.base_url)} and that the server is reachable)",
                        ) from exc
                    self._wait(attempt, None, method, path, reason)
                    continue

                self._reached = True
                status = response.status_code
                if logger.isEnabledFor(logging.DEBUG):
                    elapsed_ms = (time.monotonic() - started) * 1000
                    logger.debug("%s %s -> %s in %.0f ms", method, path, status, elapsed_ms)
                if status < 300:
                    return response
                if status < 400:
                    response.close()
                    raise _redirect_error(response, method, path, url)
                # Error bodies are small: read them whole, even when streaming.
                message = _error_message(response)
                response.close()
                if status == 429 or status >= 500:
                    if status >= 500 and not idempotent:
                        raise NinoxWriteOutcomeUnknown(method, path, f"HTTP {status}: {message}")
                    if attempt > self.max_retries:
                        raise NinoxRetryableError(
                            status, method, path, f"{message} (gave up after {attempt} tries)"
                        )
                    self._wait(attempt, response, method, path, f"HTTP {status}")
                    continue
                raise _api_error(status, method, path, message)

    def _connect_timeout(self) -> float:
        """Seconds to wait for a connection: short until the server has answered once."""
        limit = FIRST_CONNECT_TIMEOUT if not self._reached else CONNECT_TIMEOUT
        return min(self.timeout, limit)

    def _wait(
        self,
        attempt: int,
        response: requests.Response | None,
        method: str,
        path: str,
        reason: str,
        *,
        cap: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        """Sleep before the next try: `Retry-After` if given, else backoff.

        A SIGTERM/SIGINT cuts the wait short: it raises
        `ninox_core.termination.Interrupted` (docs/design.md, "Signals").
        """
        delay = _retry_after(response) if response is not None else None
        if delay is None:
            # Full exponential backoff with jitter, so that several clients
            # hitting the same limit do not retry in lockstep.
            delay = self.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        delay = min(delay, cap)
        logger.warning(
            "%s %s: %s; retrying in %.1f s (try %d of %d)",
            method,
            path,
            reason,
            delay,
            attempt + 1,
            self.max_retries + 1,
        )
        termination.pause(delay)

    # -------------------------------------------------------------- metadata

    def _objects(self, path: str, keys: tuple[str, ...], what: str) -> list[dict[str, Any]]:
        """`GET path`, which must answer a list of objects with `keys`."""
        answer = self.request("GET", path)
        if isinstance(answer, list) and all(
            isinstance(item, dict) and all(k in item for k in keys) for item in answer
        ):
            return answer
        raise self._not_ninox(path, what, answer)

    def _object(self, path: str, what: str) -> dict[str, Any]:
        """`GET path`, which must answer one JSON object."""
        answer = self.request("GET", path)
        if isinstance(answer, dict):
            return answer
        raise self._not_ninox(path, what, answer)

    def _not_ninox(self, path: str, what: str, answer: Any) -> NinoxAPIError:
        """The error for an answer whose shape no Ninox server gives."""
        shown = _one_line(_encode_json(answer).decode(errors="replace"))[:80]
        return NinoxAPIError(
            200,
            "GET",
            path,
            f"the answer is not {what} as Ninox sends it (got {shown}); is base_url "
            f"{redact_url(self.base_url)} the root of a Ninox API (ending in /v1)?",
        )

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
        info = self.get_database(team_id, database_id)
        try:
            return int(info["schema"]["seq"])
        except (KeyError, TypeError, ValueError):
            return None

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
        path = _table_path(team_id, database_id, table_id)
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

        Every page is checked (`answers.records_page`): an empty body,
        `null` or an object is never the end of the table, and a page whose
        ids do not rise fails the read. `on_replaced(record id, field id)`
        hears of each lone surrogate replaced (by default: one warning).
        """
        path = f"{_table_path(team_id, database_id, table_id)}/records"
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
        """One checked page of records (`answers.records_page`)."""
        page: list[dict[str, Any]] = self.request(
            "GET", path, params=params, check=answers.records_page, on_replaced=report
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
        path = f"{_table_path(team_id, database_id, table_id)}/records/{segment(record_id)}"
        found: dict[str, Any] = self.request("GET", path, check=answers.one_record)
        return found

    def save_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        records: Sequence[Mapping[str, Any]],
        *,
        resend: bool | None = None,
        full_answer: bool = True,
    ) -> list[dict[str, Any]]:
        """`POST .../records`: create, update and `_upsert` records in one batch.

        Ninox answers with every saved record, values included; the answer
        counts only when it accounts for every element, in order
        (`answers.saved_records`), else the write's outcome is unknown
        (`NinoxWriteOutcomeUnknown`), as after a lost answer. With
        `full_answer=False` only each record's `id`, `_id` and `sequence`
        are decoded (the values are skipped unparsed): what a loader needs,
        at a fraction of the CPU for wide records.

        The batch is resent on a lost answer only when it creates nothing
        (every element has `id` or `_id`); otherwise a lost answer raises
        `NinoxWriteOutcomeUnknown` for the caller to reconcile. `resend=False`
        raises it for any batch (a server may apply part of a batch and then
        fail: resending all of it would fail the same way).
        """
        path = f"{_table_path(team_id, database_id, table_id)}/records"
        idempotent = all("id" in r or "_id" in r for r in records)
        if resend is not None:
            idempotent = idempotent and resend
        check = answers.saved_records(records)
        if full_answer:
            saved: list[dict[str, Any]] = self.request(
                "POST", path, json=list(records), idempotent=idempotent, check=check
            )
            return saved
        lean: list[dict[str, Any]] = self.request(
            "POST",
            path,
            json=list(records),
            idempotent=idempotent,
            answer_type=_SaveAnswer,
            check=lambda answer, status: check(_lean_dicts(answer), status),
        )
        return lean

    def delete_records(
        self, team_id: str, database_id: str, table_id: str, record_ids: Iterable[int]
    ) -> None:
        """`DELETE .../records` with a list of ids; absent ids are ignored.

        Confirmed only by Ninox's own answer (`answers.deleted`); an
        unconfirmed deletion is sent again (deleting is idempotent), then fails.
        """
        path = f"{_table_path(team_id, database_id, table_id)}/records"
        self.request("DELETE", path, json=[int(i) for i in record_ids], check=answers.deleted)

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
        path = f"{_table_path(team_id, database_id, table_id)}/changes"
        params = {"sinceSq": since_sq}
        if updates:
            full: dict[str, Any] = self.request(
                "GET", path, params=params, check=answers.change_feed
            )
            return full
        feed = self.request(
            "GET", path, params=params, answer_type=_Removes, check=answers.change_feed
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
        path = f"{_table_path(team_id, database_id, table_id)}/records/{segment(record_id)}/files"
        return _as_list(self.request("GET", path))


# ---------------------------------------------------------------- helpers


class _Saved(msgspec.Struct):
    """What a loader reads of one record in a POST answer; the rest is skipped."""

    id: Any = msgspec.UNSET
    rid: Any = msgspec.field(default=msgspec.UNSET, name="_id")
    sequence: Any = msgspec.UNSET


class _Removes(msgspec.Struct):
    """What is read of a change feed for deletions: `seq` and `removes`."""

    seq: Any = msgspec.UNSET
    removes: Any = msgspec.UNSET


#: A POST answer: a list of saved records, or one lone record (docs/api.md).
_SaveAnswer = list[_Saved] | _Saved | None


def _lean_dicts(answer: Any) -> Any:
    """A lean POST answer (`_SaveAnswer`) as plain dicts, for its check."""
    if isinstance(answer, _Saved):
        return _saved_dict(answer)
    if isinstance(answer, list):
        return [_saved_dict(r) if isinstance(r, _Saved) else r for r in answer]
    return answer


def _saved_dict(saved: _Saved) -> dict[str, Any]:
    """The keys of `saved` the server sent, as a plain dict."""
    out: dict[str, Any] = {}
    if saved.id is not msgspec.UNSET:
        out["id"] = saved.id
    if saved.rid is not msgspec.UNSET:
        out["_id"] = saved.rid
    if saved.sequence is not msgspec.UNSET:
        out["sequence"] = saved.sequence
    return out


def _refuse_credentials(base_url: str) -> None:
    """Refuse a `base_url` carrying `user:password@`: Ninox takes only the API key.

    `requests` would send them as Basic auth on some requests (with a
    query), and the server's 401 would then blame the API key.
    """
    netloc = urlsplit(base_url).netloc
    if "@" in netloc:
        raise NinoxConfigError(
            f"base_url {redact_url(base_url)} carries credentials (user:password@ before "
            "the host): remove them from base_url; the api_key setting is the only "
            "credential a Ninox server takes"
        )


def _db_path(team_id: str, database_id: str) -> str:
    return f"/teams/{segment(team_id)}/databases/{segment(database_id)}"


def _table_path(team_id: str, database_id: str, table_id: str) -> str:
    return f"{_db_path(team_id, database_id)}/tables/{segment(table_id)}"


def _as_list(answer: Any) -> list[dict[str, Any]]:
    """A JSON answer as a list: a lone object becomes a one-element list."""
    if answer is None:
        return []
    if isinstance(answer, dict):
        return [answer]
    return list(answer)


def _decode_body(
    response: requests.Response,
    base_url: str,
    answer_type: Any = None,
    on_replaced: SurrogateReport | None = None,
    *,
    checked: bool = False,
) -> Any:
    """The answer's JSON; an empty body is None (`answers.EMPTY` when `checked`).

    A body that is not JSON raises `NinoxAPIError`, or `Unchecked` (a
    passing glitch, retried where safe) when `checked`.
    """
    content = response.content
    if not content.strip():
        return answers.EMPTY if checked else None
    if answer_type is not None:
        try:
            return msgspec.json.decode(content, type=answer_type)
        except msgspec.DecodeError:
            pass  # Not the expected shape: decode it whole, as any answer.
    try:
        return _decode_json(content)
    except msgspec.DecodeError as exc:
        try:
            # msgspec refuses lone surrogates ("\ud83d"), which JSON allows.
            value = stdjson.loads(content.decode("utf-8", "surrogatepass"))
        except ValueError:
            message = (
                f"the answer is not JSON but {_body_extract(response)}; is base_url "
                f"{redact_url(base_url)} the root of a Ninox API (ending in /v1)?"
            )
            if checked:
                raise Unchecked(message, transient=True) from None
            raise NinoxAPIError(
                response.status_code, response.request.method or "?", _path_of(response), message
            ) from exc
        method, path = response.request.method or "?", _path_of(response)
        path = path[len(base_url) :] if path.startswith(base_url) else path
        return answers.replace_surrogates(
            value, on_replaced or (lambda rid, field: _warn_surrogate(method, path, rid, field))
        )


def _warn_surrogate(method: str, path: str, record_id: Any, field: str | None) -> None:
    logger.warning(
        "%s %s: record %s, field %r holds text that is not valid Unicode (a lone surrogate); "
        "it is replaced by U+FFFD",
        method,
        path,
        record_id,
        field,
    )


def _redirect_error(
    response: requests.Response, method: str, path: str, url: str
) -> NinoxRedirectError:
    """One line naming where a redirect points, and the base_url that would fit it.

    No request ever follows a redirect (docs/design.md, "Checked answers"):
    `requests` would send a redirected POST on as a GET, and the API key
    along to wherever the redirect points.
    """
    status = response.status_code
    location = response.headers.get("Location")
    if not location:
        return NinoxRedirectError(
            status,
            method,
            path,
            f"the server answered a redirect (HTTP {status}) without saying where to; "
            "check base_url",
        )
    target = urljoin(url, location)
    parts = urlsplit(target)
    bare = target.split("?", 1)[0].split("#", 1)[0]
    own = urlsplit(url).path
    suggestion = ""
    if parts.scheme in ("http", "https") and bare.endswith(own) and len(bare) > len(own):
        base = redact_url(bare[: len(bare) - len(own)] + _base_path(url, path))
        suggestion = f" (base_url {base})"
    return NinoxRedirectError(
        status,
        method,
        path,
        f"the server redirects this request to {_one_line(redact_url(target))}; requests "
        "are never sent on to another address (a POST would arrive as a GET, and the API "
        f"key would go along): set base_url to the new address{suggestion}",
    )


def _base_path(url: str, path: str) -> str:
    """The part of the request URL's path that the base URL holds (`/v1`)."""
    full = urlsplit(url).path
    return full[: len(full) - len(path)] if path and full.endswith(path) else full


def _error_message(response: requests.Response) -> str:
    """The server's `message`, else a short extract of its body (docs/api.md §1)."""
    try:
        body = _decode_json(response.content)
    except msgspec.DecodeError:
        return _body_extract(response)
    if isinstance(body, dict) and body.get("message"):
        return _one_line(str(body["message"]))
    return _body_extract(response)


_TAGS = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title\s*>")


def _body_extract(response: requests.Response) -> str:
    """A body described in one short line: an HTML page by its title or text."""
    text = response.content.decode(response.encoding or "utf-8", errors="replace").strip()
    if not text:
        return f"an empty body ({response.reason or 'no message'})"
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type.lower() or text[:1] == "<":
        # The title, then the page's text (often the same heading, then the
        # server's message), cut to one short line.
        match = _TITLE.search(text)
        title = " ".join(html.unescape(match.group(1)).split()) if match else ""
        body = " ".join(html.unescape(_TAGS.sub(" ", _HIDDEN.sub(" ", text))).split())
        if title and body.startswith(title):
            body = body[len(title) :].strip()
        extract = " - ".join(part for part in (title, body) if part)
        return f"an HTML page: {_one_line(extract) or '(no text)'}"
    return _one_line(text)


def _one_line(text: str) -> str:
    """`text` on one line, masked and cut to MAX_MESSAGE_CHARS."""
    flat = redact(" ".join(text.split()))
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[: MAX_MESSAGE_CHARS - 1] + "…"
    return flat


def _api_error(status: int, method: str, path: str, message: str) -> NinoxAPIError:
    cls: type[NinoxAPIError]
    if status in (401, 403):
        cls = NinoxAuthError
    elif status == 404:
        cls = NinoxNotFoundError
    elif status == 400:
        cls = NinoxBadRequestError
    else:
        cls = NinoxAPIError
    return cls(status, method, path, message)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: What `requests` raises when no complete (readable) answer arrived; a
#: body whose gzip is broken counts as no answer (retried where safe).
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class _DeadlinePassed(Exception):
    """The whole answer did not arrive within request_timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within request_timeout ({seconds:g} s)")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: args, urllib3's `reason`, causes and contexts."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend((item.__cause__, item.__context__, getattr(item, "reason", None)))
        todo.extend(item.args)


def _unreachable(exc: BaseException) -> bool:
    """True when no connection could be opened (nothing was sent).

    Refused, unknown host, no route, or a connect timeout — found by the
    exception types `requests` wraps, not by their text.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return any(
        isinstance(
            cause,
            (
                NewConnectionError,
                ConnectTimeoutError,
                ConnectionRefusedError,
                socket.gaierror,
            ),
        )
        for cause in _causes(exc)
    )


def _describe_transport_error(exc: BaseException) -> str:
    if isinstance(exc, _DeadlinePassed):
        return str(exc)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the answer's body could not be decoded (broken gzip or deflate)"
    causes = list(_causes(exc))
    if any(isinstance(c, (NameResolutionError, socket.gaierror)) for c in causes):
        return "unknown host"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if isinstance(exc, requests.ConnectTimeout) or any(
        isinstance(c, ConnectTimeoutError) and not isinstance(c, NewConnectionError) for c in causes
    ):
        return "connect timed out"
    if any(isinstance(c, NewConnectionError) for c in causes):
        return "cannot connect"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return "connection dropped"


def _path_of(response: requests.Response) -> str:
    url = response.request.url or ""
    return url.split("?", 1)[0]
