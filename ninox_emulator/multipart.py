"""A small multipart/form-data parser (the `cgi` module is gone in 3.13).

Enough for file uploads (docs/api.md §7): parts are split on the boundary,
each part's headers are read with the `email` package (which knows RFC 2231
`filename*=` parameters), and the bytes of the part are kept untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


@dataclass
class Part:
    """One part of a multipart body."""

    name: str | None
    filename: str | None
    content_type: str | None
    data: bytes


def _header_params(content_type: str) -> Message:
    message = Message()
    message["Content-Type"] = content_type
    return message


def _next_delimiter(body: bytes, delimiter: bytes, start: int) -> int:
    """Where the next delimiter line starts (-1: none).

    The boundary text must end there: `--`, CRLF or transport padding follows
    (RFC 2046), so data holding the boundary plus more text is not cut.
    """
    at = body.find(delimiter, start)
    while at >= 0 and body[at + len(delimiter) : at + len(delimiter) + 1] not in (
        b"-",
        b"\r",
        b" ",
        b"\t",
    ):
        at = body.find(delimiter, at + 1)
    return at


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a `multipart/form-data` body; ValueError when malformed."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("expected Content-Type multipart/form-data")
    boundary = _header_params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart/form-data without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # Parts are located with find() and each part's bytes are sliced out
    # once: an upload of hundreds of MB costs its size once more, not four times.
    if body.startswith(delimiter[2:]):
        pos, length = 0, len(delimiter) - 2  # the first delimiter's CRLF is implied
    else:
        pos, length = body.find(delimiter), len(delimiter)
        if pos < 0:
            raise ValueError("multipart body has no parts")
    parts: list[Part] = []
    while True:
        start = pos + length
        if body.startswith(b"--", start):
            break  # the closing delimiter
        following = _next_delimiter(body, delimiter, start)
        if following < 0:
            raise ValueError("multipart body without its closing delimiter")
        head_end = body.find(b"\r\n\r\n", start, following)
        if head_end < 0:
            raise ValueError("multipart part without a header block")
        message = Message()
        for line in body[start:head_end].decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                message[key.strip()] = value.strip()
        disposition = message.get("Content-Disposition")
        name = message.get_param("name", header="content-disposition") if disposition else None
        filename = message.get_filename()
        parts.append(
            Part(
                name if isinstance(name, str) else None,
                filename,
                message.get("Content-Type"),
                body[head_end + 4 : following],
            )
        )
        pos, length = following, len(delimiter)
    if not parts:
        raise ValueError("multipart body has no parts")
    return parts
