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
import sys
import threading
import traceback
from types import TracebackType
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
    """Mask `value` (and its URL-quoted form) in everything from now on.

    The value without surrounding whitespace is masked too: a key pasted
    with a newline shows up escaped (a backslash and an n) in reprs and headers.
    """
    if not isinstance(value, str):
        return
    forms = {value, value.strip()}
    with _lock:
        for form in forms:
            if len(form) >= _MIN_SECRET_LENGTH:
                _secrets.update({form, quote(form, safe=""), quote(form)})


def swap_secrets(secrets: set[str]) -> set[str]:
    """Mask exactly `secrets` from now on; returns the set masked until now.

    For tests that run a connector in-process: each run starts, like a new
    process, with no secret known, so a secret an earlier run registered
    cannot hide one this run forgot to register.
    """
    with _lock:
        before = set(_secrets)
        _secrets.clear()
        _secrets.update(secrets)
    return before


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
    """Redact every log record and uncaught traceback of this process (idempotent)."""
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
    # `extra` fields are set on a record after the factory made it: they are
    # masked where `Logger.makeRecord` sets them (no hook exists for that).
    make_logger_record = logging.Logger.makeRecord

    def make_record_with_extra(
        self: logging.Logger, *args: Any, **kwargs: Any
    ) -> logging.LogRecord:
        record = make_logger_record(self, *args, **kwargs)
        _redact_extra(record)
        return record

    logging.Logger.makeRecord = make_record_with_extra  # type: ignore[method-assign]
    sys.excepthook = _redacting_excepthook


#: The attributes every log record has; any other is an `extra` field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def _redact_record(record: logging.LogRecord) -> None:
    """Mask secrets in everything a formatter may print of `record`.

    Not only the message: formatters such as the SDK's structured (JSON)
    one print `extra` fields and build exception messages (and their
    causes) from the exception objects themselves, not from `exc_text`.
    """
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: let logging report it as usual
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None:
        if not record.exc_text:
            # Formatters reuse `exc_text` when set: format the traceback once, masked.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        exc_type, value, tb = record.exc_info
        masked = _masked_exception(value)
        if masked is not value:
            record.exc_info = (exc_type, masked, tb)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    _redact_extra(record)


def _redact_extra(record: logging.LogRecord) -> None:
    """Mask the string `extra` fields of `record` (formatters may print them all)."""
    for name, extra in vars(record).items():
        if name not in _RECORD_ATTRS and isinstance(extra, str):
            clean = redact(extra)
            if clean != extra:
                setattr(record, name, clean)


def _masked_exception(exc: BaseException) -> BaseException:
    """`exc` itself when nothing in its chain shows a secret, else a masked stand-in.

    The stand-in is an instance of a class named like the original (the
    original object is left alone: code up the stack may still use it),
    whose text is masked and whose cause, context and traceback are those
    of the original, masked in turn.
    """
    chain = []
    seen: set[int] = set()
    item: BaseException | None = exc
    while item is not None and id(item) not in seen:
        seen.add(id(item))
        chain.append(item)
        item = item.__cause__ or item.__context__
    if all(redact(_text(e)) == _text(e) for e in chain):
        return exc
    return _stand_in(exc, set())


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__: nothing of it can be printed either
        return ""


def _stand_in(exc: BaseException, seen: set[int]) -> BaseException:
    seen.add(id(exc))
    cls = type(exc)
    masked_cls: type[_MaskedException] = type(
        cls.__name__, (_MaskedException,), {"__module__": cls.__module__}
    )
    masked: BaseException = masked_cls(redact(_text(exc)))
    masked.__traceback__ = exc.__traceback__
    masked.__suppress_context__ = exc.__suppress_context__
    for link in ("__cause__", "__context__"):
        linked = getattr(exc, link)
        if linked is not None and id(linked) not in seen:
            setattr(masked, link, _stand_in(linked, seen))
    return masked


class _MaskedException(Exception):
    """An exception whose text was masked, standing in for the original in logs."""


def _redacting_excepthook(
    exc_type: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """Print an uncaught exception's traceback, masked (not a log record)."""
    text = "".join(traceback.format_exception(exc_type, value, tb))
    sys.stderr.write(redact(text))
