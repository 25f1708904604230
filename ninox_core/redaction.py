"""Keep the API key out of every output (see docs/design.md, "Secrets").

A server may echo the request's headers in an error body, a user may put the
key into `base_url`, and urllib3 logs every URL at DEBUG. So the key is
masked in two places: in every message the client builds (`redact`), and in
every log record of the process, whatever logger made it (`install`, a log
record factory, which also covers handlers added later and tracebacks).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

MASK = "***"

#: Values shorter than this are not treated as secrets (masking "v1" or "a"
#: everywhere would garble every message and protect nothing).
_MIN_SECRET_LENGTH = 4

_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;}\]]+")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@]+@")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed: list[bool] = []  # non-empty once the factory is installed


def add_secret(value: Any) -> None:
    """Mask `value` (and its URL-quoted form) in everything from now on."""
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.update({value, quote(value, safe=""), quote(value)})


def protect_url(url: Any) -> None:
    """Treat the credentials a URL carries (user info, query values) as secrets."""
    if not isinstance(url, str):
        return
    parts = urlsplit(url)
    if parts.username:
        add_secret(unquote(parts.username))
    if parts.password:
        add_secret(unquote(parts.password))
    for pair in parts.query.split("&"):
        _, _, value = pair.partition("=")
        add_secret(unquote(value))


def redact(text: str) -> str:
    """`text` with every known secret, bearer token and URL password masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _BEARER.sub(rf"\g<1>{MASK}", text)
    return _URL_USERINFO.sub(rf"\g<1>{MASK}@", text)


def redact_url(url: str) -> str:
    """A URL fit for messages: no user info, no query string values."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{name}={MASK}" if sep else name
        for name, sep, _ in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def install() -> None:
    """Redact every log record of this process from now on (idempotent)."""
    with _lock:
        if _installed:
            return
        _installed.append(True)
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_factory)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: let logging report it as usual
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        # Formatters reuse `exc_text` when set: format the traceback once,
        # masked, so that an exception message echoing the key is covered.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
