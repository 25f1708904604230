"""The checks of the classic API's answers, one per kind (docs/api.md).

Each is handed to `NinoxClient.request` by the classic calls, so an answer
is checked where it enters the program (docs/design.md, "Checked answers"):

- `records_page`: a JSON list of records, each an object with an integer
  `id`, ids strictly rising (docs/api.md §4);
- `one_record`: one record object with an integer `id`;
- `change_feed`: one object;
- `saved_records(elements)`: a POST's answer accounts for every element
  sent, in order (docs/api.md §6);
- `deleted`: a DELETE confirmed by a 200 with a JSON object;
- `file_list`: a record's attachments, a list of objects with a `name`;
- `stored_file(name)`: an upload's answer describes the file sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ninox_core.transport.answers import Check, Unchecked, describe


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


def file_list(answer: Any, status: int) -> list[dict[str, Any]]:
    """`GET .../records/{id}/files`: a JSON list of objects, each with a text `name`.

    `[]` is a record without attachments; an empty body, `null` or `{}` never
    is (a `files` stream would silently lose the record's files). A lone
    file object is taken as a list of one.
    """
    files = [answer] if isinstance(answer, dict) and "name" in answer else answer
    if not isinstance(files, list):
        raise Unchecked(
            f"the answer is not a list of attachments (a JSON list) but {describe(answer, status)}",
            transient=True,
        )
    for position, meta in enumerate(files, 1):
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise Unchecked(
                f"attachment {position} of the list has no file name; the answer is not a "
                "list of attachments as Ninox sends it",
                transient=False,
            )
    return files


def stored_file(name: str) -> Check:
    """The check of an upload's answer: the metadata of the file named `name`.

    Anything else (an empty body, `{}`, another name) does not confirm that
    the file was stored.
    """

    def check(answer: Any, status: int) -> dict[str, Any]:
        if status in (200, 201) and isinstance(answer, dict) and answer.get("name") == name:
            return answer
        raise Unchecked(
            f"the answer does not describe the uploaded file {name!r} ({describe(answer, status)})",
            transient=True,
        )

    return check
