r"""Checked answers: what every check shares, whatever the API generation.

Servers, proxies and gateways answer in ways nobody documented (an empty
200, a 204 to a POST, a page in another order). `NinoxClient.request` takes
one check per kind of answer and hands its caller only what the check
returned, so nothing downstream ever sees an unchecked answer
(docs/design.md, "Checked answers"). The checks themselves belong to the
backend whose answers they read (`ninox_core.classic.checks` for the
classic API); here is what the transport needs of them: the `Check` type,
`Unchecked` (which the client turns into a retry, a lost answer
(`NinoxWriteOutcomeUnknown`) or one error line), `EMPTY` and `describe`.

Text JSON can carry but Python cannot encode (a lone surrogate, `"\ud83d"`)
is replaced here too (`replace_surrogates`), with a report naming the record
and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

#: What a check receives for an answer whose body is empty (not `null`).
EMPTY: Any = msgspec.UNSET

#: `(record id or None, field key or None)` → report one replaced value.
SurrogateReport = Callable[[Any, str | None], None]

#: A check: `(decoded answer, HTTP status)` → the checked value, or `Unchecked`.
Check = Callable[[Any, int], Any]


class Unchecked(Exception):
    """An answer that does not pass its check.

    `transient`: it may be a passing glitch of a server or proxy (an empty
    body, a body that is not JSON): a request that is safe to send again
    is retried. Otherwise (ids out of order, a record without id) the
    server does it on every try, so the read fails at once.
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        """Keep the one-line description and whether a retry may help."""
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class TextAnswer:
    """A body that is not JSON, handed to a check that asked for it.

    `NinoxClient.request(text_answers=True)`: the check judges it (a web
    page where an API answer belongs means a wrong base_url or a missing
    endpoint, never a passing glitch), instead of the transport retrying it.
    `extract` is the body in one short line (an HTML page by its title).
    """

    content_type: str
    extract: str

    @property
    def is_html(self) -> bool:
        """True for a web page (by its content type or its first character)."""
        return "html" in self.content_type.lower() or self.extract.startswith("an HTML page")


def describe(answer: Any, status: int) -> str:
    """An answer in a few words, for a message: `HTTP 204, an empty body`."""
    if isinstance(answer, TextAnswer):
        shown = answer.extract
    elif answer is EMPTY:
        shown = "an empty body"
    elif answer is None:
        shown = "null"
    elif isinstance(answer, list):
        shown = f"a list of {len(answer)}" if answer else "[]"
    elif isinstance(answer, dict):
        shown = "an object" if answer else "{}"
    else:
        shown = f"a JSON {type(answer).__name__}"
    return f"HTTP {status}, {shown}"


# ---------------------------------------------------------------- surrogates

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(value: Any, report: SurrogateReport) -> Any:
    """`value` with every lone surrogate in its text replaced by U+FFFD.

    Only answers that needed the slow JSON decoder get here (msgspec refuses
    lone surrogates), so the walk costs nothing on a well-formed answer.
    `report(record id, field)` is called once per replaced value: the record
    is the nearest enclosing object's `id` (or `_id`), the field the key
    under `fields` (or under the record itself).
    """
    return _scrub(value, None, None, report)


def _scrub(value: Any, record_id: Any, field: str | None, report: SurrogateReport) -> Any:
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        report(record_id, field)
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(item, record_id, field, report) for item in value]
    if isinstance(value, dict):
        own = value.get("id", value.get("_id", record_id))
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key == "fields" and isinstance(item, dict):
                out[key] = _scrub(item, own, None, report)
            else:
                out[key] = _scrub(item, own, field if field is not None else str(key), report)
        return out
    return value
