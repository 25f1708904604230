"""Attachment bytes: streamed downloads and uploads (docs/api.md §7).

`NinoxClient.request()` reads whole answers into memory; attachments can be
hundreds of MB, so these two calls stream instead: a download hands the
body to the caller in chunks, an upload reads the file from disk while it
sends. Both go through the client's one transport (`NinoxClient.send` with
`stream=True`): its lock (one call at a time), retry policy (429, 5xx,
timeouts, dropped connections), deadline and error redaction. Both are safe to repeat:
a download restarts from the first byte, an upload of the same name
replaces the file.

Bounds: a download's deadline grows with its size (`request_timeout` plus
one second per `MIN_BYTES_PER_SECOND`), because a fixed whole-answer bound
would fail every large file on a slow line. It bounds the whole answer,
head and body, like every answer's (a watchdog shuts the socket down, so a
server trickling bytes cannot stretch it); a small file gets little more
than `request_timeout`. An upload is one request: `request_timeout` bounds
it whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Any, TypeVar

import requests
from urllib3.fields import format_multipart_header_param

from ninox_core.classic import checks
from ninox_core.classic.calls import table_path
from ninox_core.errors import NinoxConnectionError, NinoxWriteOutcomeUnknown
from ninox_core.transport.answers import Unchecked
from ninox_core.transport.client import NinoxClient, _decode_body, _describe_transport_error
from ninox_core.transport.deadline import Watchdog, last_socket
from ninox_core.transport.session import segment

#: Bytes read from the socket (and written to disk) at a time.
CHUNK_SIZE = 1024 * 1024
#: Slowest transfer a download's deadline allows for, after `request_timeout`.
MIN_BYTES_PER_SECOND = 64 * 1024

T = TypeVar("T")
_ANY_TYPE = {"Accept": "*/*"}


class _BrokenTransfer(Exception):
    """The answer's body stopped early, took too long, or had the wrong size."""


def file_path(team_id: str, database_id: str, table_id: str, record_id: int, name: str) -> str:
    """The API path of one attachment (`name` URL-encoded)."""
    return (
        f"{table_path(team_id, database_id, table_id)}/records/{segment(record_id)}"
        f"/files/{segment(name)}"
    )


def download_file(
    client: NinoxClient,
    team_id: str,
    database_id: str,
    table_id: str,
    record_id: int,
    name: str,
    consume: Callable[[Iterator[bytes]], T],
    *,
    expected_size: int | None = None,
) -> T:
    """`GET .../files/{name}`: pass the bytes, in chunks, to `consume`; return its result.

    `consume` is called once per try with a fresh iterator: when a try fails
    midway (dropped connection, deadline, fewer bytes than `expected_size`),
    it is called again from the first byte, so it must start over (open its
    output anew). Errors `consume` raises itself are not retried.
    """
    path = file_path(team_id, database_id, table_id, record_id, name)
    deadline_seconds = client.timeout + (expected_size or 0) / MIN_BYTES_PER_SECOND
    # Held across the tries, so a retried download is still one call at a time.
    with client._lock:
        attempt = 0
        while True:
            attempt += 1
            # The session asks for JSON; the bytes may be of any type.
            response = client.send("GET", path, stream=True, headers=_ANY_TYPE)
            # The whole answer, head and body, within the deadline: what is
            # left of it once the head is in bounds the body's reading.
            left = deadline_seconds - response.elapsed.total_seconds()
            try:
                with Watchdog(left) as watchdog:
                    watchdog.watch(last_socket())
                    chunks = _checked_chunks(response, expected_size, deadline_seconds, watchdog)
                    return consume(chunks)
            except _BrokenTransfer as exc:
                reason = str(exc)
            finally:
                response.close()
            # The answer began but broke: the same policy as a dropped connection.
            if attempt > client.max_retries:
                raise NinoxConnectionError("GET", path, f"{reason} (gave up after {attempt} tries)")
            client._wait(attempt, None, "GET", path, reason)


def upload_file(
    client: NinoxClient,
    team_id: str,
    database_id: str,
    table_id: str,
    record_id: int,
    name: str,
    open_file: Callable[[], AbstractContextManager[IO[bytes]]],
    size: int,
    content_type: str | None = None,
) -> dict[str, Any]:
    """`POST .../files`: upload one attachment as multipart field `file`, streamed.

    `open_file` is called once per try and must return a context manager
    giving the file at its start; `size` is its length in bytes (the body's Content-Length
    is computed from it, so nothing is buffered). Returns the server's
    metadata of the stored file, checked to name it (`checks.stored_file`);
    an answer that does not raises `NinoxWriteOutcomeUnknown`.
    """
    path = f"{table_path(team_id, database_id, table_id)}/records/{segment(record_id)}/files"
    boundary = f"ninox-{time.time_ns():x}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; '
        f"{format_multipart_header_param('filename', name)}\r\n"
        f"Content-Type: {content_type or 'application/octet-stream'}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

    def open_body() -> Iterator[_MultipartBody]:
        with open_file() as handle:
            yield _MultipartBody(head, handle, size, tail)

    response = client.send("POST", path, open_body=contextmanager(open_body), headers=headers)
    try:
        answer = _decode_body(response, client.base_url, checked=True)
        stored: dict[str, Any] = checks.stored_file(name)(answer, response.status_code)
    except Unchecked as problem:
        # Sent, but not confirmed: the caller looks whether the file is there.
        raise NinoxWriteOutcomeUnknown("POST", path, problem.message) from None
    return stored


# ---------------------------------------------------------------- helpers


def _checked_chunks(
    response: requests.Response,
    expected_size: int | None,
    deadline_seconds: float,
    watchdog: Watchdog,
) -> Iterator[bytes]:
    """The body in chunks; a dropped connection, the deadline or a short body breaks it.

    `watchdog` shuts the socket down at the deadline, which ends a read
    blocked on a server that trickles bytes (docs/design.md, "Timeouts").
    """
    too_slow = f"no complete answer within {deadline_seconds:.0f} s"
    received = 0
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            received += len(chunk)
            yield chunk
            if watchdog.fired:
                raise _BrokenTransfer(too_slow)
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as exc:
        if watchdog.fired:
            raise _BrokenTransfer(too_slow) from exc
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            raise _BrokenTransfer("connection dropped") from exc
        raise _BrokenTransfer(_describe_transport_error(exc)) from exc
    if watchdog.fired and received != expected_size:
        raise _BrokenTransfer(too_slow)
    if expected_size is not None and received != expected_size:
        raise _BrokenTransfer(f"got {received} bytes of {expected_size}")


class _MultipartBody:
    """A multipart body read from disk as it is sent (requests streams objects with `read`)."""

    def __init__(self, head: bytes, handle: IO[bytes], size: int, tail: bytes) -> None:
        self._parts: list[Any] = [head, handle, tail]
        self._length = len(head) + size + len(tail)

    def __len__(self) -> int:
        """The whole body's length (sent as Content-Length)."""
        return self._length

    def read(self, amount: int = -1) -> bytes:
        """Up to `amount` bytes of the body (the whole rest for -1)."""
        out = bytearray()
        while self._parts and (amount < 0 or len(out) < amount):
            part = self._parts[0]
            want = -1 if amount < 0 else amount - len(out)
            if isinstance(part, bytes):
                taken = part if want < 0 else part[:want]
                rest = b"" if want < 0 else part[want:]
                out += taken
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                data = part.read(CHUNK_SIZE if want < 0 else min(want, CHUNK_SIZE))
                if data:
                    out += data
                else:
                    self._parts.pop(0)
        return bytes(out)
