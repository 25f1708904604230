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

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import msgspec
import requests

from ninox_core.errors import (
    NinoxAPIError,
    NinoxAuthError,
    NinoxBadRequestError,
    NinoxConnectionError,
    NinoxNotFoundError,
    NinoxRetryableError,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.schema import NinoxTable

DEFAULT_BASE_URL = "https://api.ninox.com/v1"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 8
#: Longest wait between two tries, whatever `Retry-After` asks for.
MAX_BACKOFF_SECONDS = 300.0

# Decimal numbers reach the client from the SDK's parsing; encode them as JSON
# numbers, not strings (msgspec's default).
_encode_json = msgspec.json.Encoder(decimal_format="number").encode
_decode_json = msgspec.json.decode

logger = logging.getLogger("ninox_core.client")


def segment(value: object) -> str:
    """Quote one path segment (ids, file names) for a URL."""
    return quote(str(value), safe="")


class NinoxClient:
    """A synchronous client for one Ninox API key and base URL.

    Typed helpers cover the calls of CONTRACT.md §2-7 the connectors use;
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
        """Prepare a session; nothing is sent until the first call."""
        if not api_key:
            raise ValueError("The api_key setting is empty: set it to your Ninox API key.")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        if backoff_base is not None:
            self.backoff_base = backoff_base
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "User-Agent": user_agent,
                "Accept": "application/json",
            }
        )
        #: Requests sent, retries included (for logs and tests).
        self.request_count = 0

    def __repr__(self) -> str:
        """Show the base URL only: the key must never be printed."""
        return f"NinoxClient(base_url={self.base_url!r})"

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
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON answer.

        `path` is relative to the base URL and already quoted (see `segment`).
        With `idempotent=False` a lost answer raises `NinoxWriteOutcomeUnknown`
        instead of resending. With `raw=True` the body's bytes are returned.
        """
        url = self.base_url + path
        body = _encode_json(json) if json is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        with self._lock:
            attempt = 0
            while True:
                attempt += 1
                started = time.monotonic()
                self.request_count += 1
                try:
                    response = self._session.request(
                        method,
                        url,
                        params=params,
                        data=body,
                        headers=headers,
                        files=files,
                        timeout=self.timeout,
                    )
                except (requests.ConnectionError, requests.Timeout) as exc:
                    reason = _describe_connection_error(exc)
                    sent = not isinstance(exc, requests.ConnectTimeout) and not _refused(exc)
                    if sent and not idempotent:
                        raise NinoxWriteOutcomeUnknown(method, path, reason) from exc
                    if attempt > self.max_retries:
                        raise NinoxConnectionError(
                            method,
                            path,
                            f"{reason} (gave up after {attempt} tries; check base_url "
                            f"{self.base_url} and that the server is reachable)",
                        ) from exc
                    self._wait(attempt, None, method, path, reason)
                    continue

                elapsed_ms = (time.monotonic() - started) * 1000
                logger.debug(
                    "%s %s -> %s in %.0f ms", method, path, response.status_code, elapsed_ms
                )
                status = response.status_code
                if status < 400:
                    if raw:
                        return response.content
                    return _decode_body(response)
                if status == 429 or status >= 500:
                    message = _error_message(response)
                    if status >= 500 and not idempotent:
                        raise NinoxWriteOutcomeUnknown(method, path, f"HTTP {status}: {message}")
                    if attempt > self.max_retries:
                        raise NinoxRetryableError(
                            status, method, path, f"{message} (gave up after {attempt} tries)"
                        )
                    self._wait(attempt, response, method, path, f"HTTP {status}")
                    continue
                raise _api_error(status, method, path, _error_message(response))

    def _wait(
        self,
        attempt: int,
        response: requests.Response | None,
        method: str,
        path: str,
        reason: str,
    ) -> None:
        """Sleep before the next try: `Retry-After` if given, else backoff."""
        delay = _retry_after(response) if response is not None else None
        if delay is None:
            # Full exponential backoff with jitter, so that several clients
            # hitting the same limit do not retry in lockstep.
            delay = self.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        delay = min(delay, MAX_BACKOFF_SECONDS)
        logger.warning(
            "%s %s: %s; retrying in %.1f s (try %d of %d)",
            method,
            path,
            reason,
            delay,
            attempt + 1,
            self.max_retries + 1,
        )
        time.sleep(delay)

    # -------------------------------------------------------------- metadata

    def list_teams(self) -> list[dict[str, Any]]:
        """`GET /teams`: every team (workspace) the key can see."""
        return list(self.request("GET", "/teams"))

    def get_team(self, team_id: str) -> dict[str, Any]:
        """`GET /teams/{team}`: one team's id and name."""
        return dict(self.request("GET", f"/teams/{segment(team_id)}"))

    def list_databases(self, team_id: str) -> list[dict[str, Any]]:
        """`GET /teams/{team}/databases`: `[{"id", "name"}]`."""
        return list(self.request("GET", f"/teams/{segment(team_id)}/databases"))

    def get_database(self, team_id: str, database_id: str) -> dict[str, Any]:
        """`GET .../databases/{db}`: settings and schema (with `schema.seq`)."""
        return dict(self.request("GET", _db_path(team_id, database_id)))

    def database_sequence(self, team_id: str, database_id: str) -> int:
        """The database's current change sequence number (`schema.seq`)."""
        info = self.get_database(team_id, database_id)
        try:
            return int(info["schema"]["seq"])
        except (KeyError, TypeError, ValueError) as exc:
            raise NinoxAPIError(
                200,
                "GET",
                _db_path(team_id, database_id),
                "the answer has no schema.seq (is this a Ninox API base_url?)",
            ) from exc

    def list_tables(self, team_id: str, database_id: str) -> list[NinoxTable]:
        """`GET .../tables`: every table with its fields."""
        answer = self.request("GET", f"{_db_path(team_id, database_id)}/tables")
        return [NinoxTable.from_api(t) for t in answer]

    def get_table(self, team_id: str, database_id: str, table_id: str) -> NinoxTable:
        """`GET .../tables/{table}`: one table with its fields."""
        return NinoxTable.from_api(self.request("GET", _table_path(team_id, database_id, table_id)))

    # --------------------------------------------------------------- records

    def iter_record_pages(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        *,
        since_id: int = 0,
        since_sq: int | None = None,
        page_size: int = 500,
        choice_style: str = "names",
        style: str = "names",
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of records in ascending id order, keyset-paged.

        Each page asks for `sinceId` = the last id seen, so records created
        or deleted during the read do not shift pages. The read ends on an
        empty page only: the server may cap the page size, so a short page
        proves nothing.
        """
        path = f"{_table_path(team_id, database_id, table_id)}/records"
        params: dict[str, Any] = {
            "perPage": page_size,
            "choiceStyle": choice_style,
            "style": style,
        }
        if since_sq is not None:
            params["sinceSq"] = since_sq
        last_id = since_id
        while True:
            params["sinceId"] = last_id
            page = _as_list(self.request("GET", path, params=params))
            if not page:
                return
            page_last = int(page[-1]["id"])
            if page_last <= last_id:
                raise NinoxAPIError(
                    200,
                    "GET",
                    path,
                    f"the server ignored sinceId={last_id} (it answered ids up to "
                    f"{page_last}); keyset paging is not possible on this server",
                )
            last_id = page_last
            yield page

    def get_record(
        self, team_id: str, database_id: str, table_id: str, record_id: int
    ) -> dict[str, Any]:
        """`GET .../records/{id}`: one record (404 → `NinoxNotFoundError`)."""
        path = f"{_table_path(team_id, database_id, table_id)}/records/{segment(record_id)}"
        return dict(self.request("GET", path))

    def find_records(
        self,
        team_id: str,
        database_id: str,
        table_id: str,
        filters: Mapping[str, Any],
        *,
        page_size: int = 500,
    ) -> list[dict[str, Any]]:
        """`GET .../records?filters=...`: records whose fields equal `filters`.

        A server may answer one lone object for this form; it becomes a list.
        """
        path = f"{_table_path(team_id, database_id, table_id)}/records"
        params = {"filters": _encode_json(dict(filters)).decode(), "perPage": page_size}
        return _as_list(self.request("GET", path, params=params))

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
        return _as_list(self.request("POST", path, json=list(records), idempotent=idempotent))

    def delete_records(
        self, team_id: str, database_id: str, table_id: str, record_ids: Iterable[int]
    ) -> None:
        """`DELETE .../records` with a list of ids; absent ids are ignored."""
        path = f"{_table_path(team_id, database_id, table_id)}/records"
        self.request("DELETE", path, json=[int(i) for i in record_ids])

    # ----------------------------------------------------------- change feed

    def table_changes(
        self, team_id: str, database_id: str, table_id: str, since_sq: int
    ) -> dict[str, Any]:
        """`GET .../tables/{table}/changes?sinceSq=N`: updates, removes, seq."""
        path = f"{_table_path(team_id, database_id, table_id)}/changes"
        return dict(self.request("GET", path, params={"sinceSq": since_sq}))

    def database_changes(self, team_id: str, database_id: str, since_sq: int) -> dict[str, Any]:
        """`GET .../databases/{db}/changes?sinceSq=N`: the whole database's changes."""
        path = f"{_db_path(team_id, database_id)}/changes"
        return dict(self.request("GET", path, params={"sinceSq": since_sq}))

    # ----------------------------------------------------------------- files

    def list_files(
        self, team_id: str, database_id: str, table_id: str, record_id: int
    ) -> list[dict[str, Any]]:
        """`GET .../records/{id}/files`: metadata of a record's attachments."""
        path = f"{_table_path(team_id, database_id, table_id)}/records/{segment(record_id)}/files"
        return _as_list(self.request("GET", path))


# ---------------------------------------------------------------- helpers


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


def _decode_body(response: requests.Response) -> Any:
    content = response.content
    if not content.strip():
        return None
    try:
        return _decode_json(content)
    except msgspec.DecodeError as exc:
        raise NinoxAPIError(
            response.status_code,
            response.request.method or "?",
            _path_of(response),
            f"the answer is not JSON: {content[:200]!r}",
        ) from exc


def _error_message(response: requests.Response) -> str:
    """The server's `message`, else its raw text (CONTRACT.md §1)."""
    text = response.text.strip()
    try:
        body = _decode_json(response.content)
    except msgspec.DecodeError:
        return text[:500] or response.reason or "no message"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return text[:500] or response.reason or "no message"


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


def _refused(exc: Exception) -> bool:
    """True when the connection could not be opened (nothing was sent)."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _describe_connection_error(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if _refused(exc):
        return "connection refused"
    return "connection dropped"


def _path_of(response: requests.Response) -> str:
    url = response.request.url or ""
    return url.split("?", 1)[0]
