r"""Checked answers: each kind of answer is checked where it enters the program.

Servers, proxies and gateways answer in ways nobody documented (an empty
200, a 204 to a POST, a page in another order). `NinoxClient.request` takes
one check per kind of answer from here and hands its caller only what the
check returned, so nothing downstream ever sees an unchecked answer
(docs/design.md, "Checked answers"):

- `records_page`: a JSON list of records, each an object with an integer
  `id`, ids strictly rising (docs/api.md §4);
- `one_record`: one record object with an integer `id`;
- `change_feed`: one object;
- `saved_records(elements)`: a POST's answer accounts for every element
  sent, in order (docs/api.md §6);
- `deleted`: a DELETE confirmed by a 200 with a JSON object.

A check raises `Unchecked`; the client turns it into a retry, a lost
answer (`NinoxWriteOutcomeUnknown`) or one error line.

Text JSON can carry but Python cannot encode (a lone surrogate, `"\ud83d"`)
is replaced here too (`replace_surrogates`), with a report naming the record
and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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


def describe(answer: Any, status: int) -> str:
    """An answer in a few words, for a message: `HTTP 204, an empty body`."""
    if answer is EMPTY:
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


def records_page(answer: Any, status: int) -> list[dict[str, Any]]:
    """A page of `GET .../records`: a list of records with strictly rising ids.

    `[]` is the end of the table; an empty body, `null` or an object never is.
    Only the order within the page is checked here: how its first id relates
    to the `sinceId` sent is the paging's business (`iter_record_pages`).
    O(n), a few comparisons per record.
    """
    if not isinstance(answer, list):
        raise Unchecked(
            f"the answer is not a page of records (a JSON list) but {describe(answer, status)}",
            transient=True,
        )
    previous: int | None = None
    for position, record in enumerate(answer, 1):
        record_id = record.get("id") if isinstance(record, dict) else None
        if type(record_id) is not int:
            what = "has no integer id" if isinstance(record, dict) else "is not a record object"
            raise Unchecked(
                f"record {position} of the page {what}; the answer is not a page of records "
                "as Ninox sends it",
                transient=False,
            )
        if previous is not None and record_id <= previous:
            raise Unchecked(
                f"the ids of a page do not rise (id {previous}, then id {record_id}); the "
                "server answers records in another order than by id, which this connector "
                "cannot page through without missing records",
                transient=False,
            )
        previous = record_id
    return answer


def one_record(answer: Any, status: int) -> dict[str, Any]:
    """`GET .../records/{id}`: one record object with an integer id."""
    if isinstance(answer, dict) and type(answer.get("id")) is int:
        return answer
    raise Unchecked(
        f"the answer is not a record as Ninox sends it but {describe(answer, status)}",
        transient=True,
    )


def change_feed(answer: Any, status: int) -> Any:
    """`GET .../changes`: one object (its `seq` is read where it is needed)."""
    if isinstance(answer, dict | msgspec.Struct):
        return answer
    raise Unchecked(
        f"the answer is not a change feed (a JSON object) but {describe(answer, status)}",
        transient=True,
    )


def deleted(answer: Any, status: int) -> Any:
    """`DELETE .../records`: confirmed only by a 200 with a JSON object (`{}`)."""
    if status == 200 and isinstance(answer, dict):
        return answer
    raise Unchecked(
        f"the server did not confirm the deletion ({describe(answer, status)}; Ninox "
        "answers HTTP 200 with {})",
        transient=True,
    )


def saved_records(elements: Sequence[Mapping[str, Any]]) -> Check:
    """The check of a `POST .../records` answer to `elements`.

    A write counts only when its answer accounts for every element sent: a
    200 or 201 with one record per element, in order, each with an integer
    `id` (or `_id`, the `_upsert` answer's form); for an element that names
    its record (`id`, `_id`) the answer names the same one. A lone record
    answers a one-element batch. Anything else (an empty body, `{}`, `[]`,
    `null`, 202, 204, another count or id) does not confirm the write.
    """
    wanted = [element.get("id", element.get("_id")) for element in elements]

    def check(answer: Any, status: int) -> list[dict[str, Any]]:
        records = [answer] if isinstance(answer, dict) and len(wanted) == 1 else answer
        if status not in (200, 201) or not isinstance(records, list) or len(records) != len(wanted):
            count = len(records) if isinstance(records, list) and status in (200, 201) else 0
            raise Unchecked(
                f"the answer accounts for {count} of the {len(wanted)} records sent "
                f"({describe(answer, status)})",
                transient=True,
            )
        seen: set[int] = set()
        for position, (record, want) in enumerate(zip(records, wanted, strict=True), 1):
            got = None
            if isinstance(record, dict):
                got = record.get("id")
                if got is None:
                    got = record.get("_id")
            if type(got) is not int or (want is not None and got != want) or got in seen:
                named = f"record {want}" if want is not None else "a new record"
                raise Unchecked(
                    f"answer element {position} of {len(wanted)} names "
                    f"{'no record id' if type(got) is not int else f'record {got}'} where "
                    f"{named} was sent ({describe(answer, status)})",
                    transient=True,
                )
            seen.add(got)
        return records

    return check


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
