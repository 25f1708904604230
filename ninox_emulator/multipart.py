"""A small multipart/form-data parser (the `cgi` module is gone in 3.13).

Enough for file uploads (CONTRACT.md §7): parts are split on the boundary,
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


def parse_multipart(content_type: str, body: bytes) -> list[Part]:
    """The parts of a `multipart/form-data` body; ValueError when malformed."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("expected Content-Type multipart/form-data")
    boundary = _header_params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart/form-data without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    chunks = (b"\r\n" + body).split(delimiter)
    if len(chunks) < 3:
        raise ValueError("multipart body has no parts")
    parts: list[Part] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without a header block")
        message = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
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
                data,
            )
        )
    return parts
