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
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import msgspec
import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from ninox_core import termination
from ninox_core.classic.calls import ClassicCalls
from ninox_core.errors import (
    NinoxAPIError,
    NinoxAuthError,
    NinoxBadRequestError,
    NinoxConfigError,
    NinoxConnectionError,
    NinoxNotFoundError,
    NinoxQuotaExhausted,
    NinoxRedirectError,
    NinoxRetryableError,
    NinoxWriteOutcomeUnknown,
)
from ninox_core.transport import answers, session
from ninox_core.transport.answers import Check, SurrogateReport, Unchecked
from ninox_core.transport.deadline import DeadlineAdapter, Watchdog
from ninox_core.transport.redaction import add_secret, install, protect_url, redact, redact_url

DEFAULT_BASE_URL = "https://api.ninox.com/v1"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 8
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

logger = logging.getLogger("ninox_core.transport.client")


class NinoxClient(ClassicCalls):
    """A synchronous client for one Ninox API key and base URL.

    This class is the shared transport (`send`, `request`: one request at
    a time, retries, deadline, redaction, checked answers). The typed
    helpers for the classic calls of docs/api.md §2-7 come from
    `ninox_core.classic.calls.ClassicCalls`; `request()` reaches any other.
    The connectors reach them through the backend seam
    (`ninox_core.classic.backend.ClassicBackend`, docs/design.md "Layers").
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
        # Reentrant: a streamed download holds it across its tries (ninox_core.transport.files).
        self._lock = threading.RLock()
        self._session = session.new_session(self.base_url)
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
        text_answers: bool = False,
    ) -> Any:
        """Send one request (with retries) and return the decoded JSON answer.

        `path` is relative to the base URL and already quoted (`session.segment`).
        With `idempotent=False` a lost answer raises `NinoxWriteOutcomeUnknown`
        instead of resending. With `raw=True` the body's bytes are returned.
        `answer_type` (a msgspec type) decodes only what it names: the rest of
        the answer is skipped without building Python objects.

        `check` (a backend's, e.g. `ninox_core.classic.checks`) turns the decoded answer and
        its status into the value returned; an empty body reaches it as
        `answers.EMPTY`. An answer that fails its check is, for a POST, a
        lost answer (`NinoxWriteOutcomeUnknown`: the caller reconciles);
        for other requests it is sent again when the failure may be passing
        (up to `max_retries`), else one error line. `on_replaced(record,
        field)` hears of each lone surrogate replaced in the answer.
        `text_answers=True`: a body that is not JSON reaches the check as an
        `answers.TextAnswer` (the Public API answers unknown paths with its
        web page and status 200) instead of being retried as a glitch.
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
                    response,
                    self.base_url,
                    answer_type,
                    on_replaced,
                    checked=True,
                    text_answers=text_answers,
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
                            response = session.send(
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
                if status == 429 and _is_quota(message) and _retry_after(response) is None:
                    raise NinoxQuotaExhausted(status, method, path, _quota_line(message))
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


# ---------------------------------------------------------------- helpers


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


def _decode_body(
    response: requests.Response,
    base_url: str,
    answer_type: Any = None,
    on_replaced: SurrogateReport | None = None,
    *,
    checked: bool = False,
    text_answers: bool = False,
) -> Any:
    """The answer's JSON; an empty body is None (`answers.EMPTY` when `checked`).

    A body that is not JSON raises `NinoxAPIError`, or `Unchecked` (a
    passing glitch, retried where safe) when `checked`, or is returned as
    an `answers.TextAnswer` with `text_answers`.
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
            if checked and text_answers:
                return answers.TextAnswer(
                    response.headers.get("Content-Type", ""), _body_extract(response)
                )
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
        path = path.removeprefix(base_url)
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
    """The server's message, else a short extract of its body.

    Classic `{"message": "…"}` (docs/api.md §1); the Public API's
    `{"error": {"message": "…"}}` and NestJS's `{"message": ["…", …],
    "error": "Bad Request"}` (docs/api.md, "The Public API (Ninox 4)").
    """
    try:
        body = _decode_json(response.content)
    except msgspec.DecodeError:
        return _body_extract(response)
    if isinstance(body, dict):
        message = body.get("message")
        error = body.get("error")
        if not message and isinstance(error, dict):
            message = error.get("message")
        if isinstance(message, list):
            message = "; ".join(str(part) for part in message if part)
        if message:
            return _one_line(str(message))
    return _body_extract(response)


_QUOTA = re.compile(r"quota|monthly|per month|usage limit", re.IGNORECASE)


def _is_quota(message: str) -> bool:
    """True when an error message speaks of the plan's API call quota, not a rate."""
    return _QUOTA.search(message) is not None


def _quota_line(message: str) -> str:
    return (
        f"{message}: the monthly API call quota of the Ninox plan is exhausted; calls "
        "work again when it renews (see the usage screen of the Ninox organization) or "
        "with a larger plan"
    )


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
    if status == 403 and _is_quota(message):
        return NinoxQuotaExhausted(status, method, path, _quota_line(message))
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
