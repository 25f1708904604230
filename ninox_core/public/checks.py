"""The checks of the Public API's answers, one per kind (docs/api.md, "The Public API").

Each is handed to `NinoxClient.request` (with `text_answers=True`) where
the answer enters (docs/design.md, "Checked answers"). Every success of
this API is a JSON object with `data`; the checks return what the callers
read and raise:

- `Unchecked` for an answer that is not what was asked (an empty body, no
  `data`, a count that does not add up): a read is retried when the
  failure may be passing, a POST's answer counts as lost;
- `WebPage` for a web page where an API answer belongs: the Public API
  answers a path it does not know with its web app and status 200, so the
  request reached no endpoint (a wrong base_url or workspace_id, or an
  endpoint this server lacks). It is never retried, and nothing was
  written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ninox_core.public.records import record_id
from ninox_core.transport.answers import Check, TextAnswer, Unchecked, describe


class WebPage(Exception):
    """The answer is a web page (HTML), not the Public API's JSON."""


def _data(answer: Any, status: int, what: str) -> Any:
    """The `data` of an answer, which must be a JSON object with `data`."""
    if isinstance(answer, TextAnswer):
        if answer.is_html:
            raise WebPage(answer.extract)
        raise Unchecked(f"the answer is not JSON but {answer.extract}", transient=True)
    if not isinstance(answer, dict) or "data" not in answer:
        raise Unchecked(
            f"the answer is not {what} (a JSON object with data) but {describe(answer, status)}",
            transient=True,
        )
    return answer["data"]


def _named_objects(
    items: Any, status: int, what: str, keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and all(item.get(k) not in (None, "") for k in keys)
        for item in items
    ):
        raise Unchecked(
            f"the answer's data is not {what} (objects with {', '.join(keys)}; got "
            f"{describe(items, status)})",
            transient=False,
        )
    return items


def workspace(answer: Any, status: int) -> dict[str, Any]:
    """`GET /workspace/{id}`: `{"data": {"name", "modules": […]}}`."""
    data = _data(answer, status, "a workspace")
    if not isinstance(data, dict):
        raise Unchecked(f"the workspace is {describe(data, status)}", transient=False)
    _named_objects(data.get("modules") or [], status, "a list of modules", ("name",))
    return data


def modules(answer: Any, status: int) -> list[dict[str, Any]]:
    """`GET …/modules`: objects with a `name`."""
    return _named_objects(_data(answer, status, "a list of modules"), status, "modules", ("name",))


def tables(answer: Any, status: int) -> list[dict[str, Any]]:
    """`GET …/modules/{m}/tables`: objects with a `name`."""
    return _named_objects(_data(answer, status, "a list of tables"), status, "tables", ("name",))


def fields(answer: Any, status: int) -> list[dict[str, Any]]:
    """`GET …/tables/{t}/fields`: objects with a `name` and a `type`."""
    return _named_objects(
        _data(answer, status, "a list of fields"), status, "fields", ("name", "type")
    )


def fields_page(answer: Any, status: int) -> Page:
    """`GET …/tables/{t}/fields` (paged): objects with a `name` and a `type`."""
    rows = fields(answer, status)
    has_more, limit = _page_info(answer)
    return Page(rows, has_more, limit, {})


def tables_page(answer: Any, status: int) -> Page:
    """`GET …/modules/{m}/tables` (paged): objects with a `name`."""
    rows = tables(answer, status)
    has_more, limit = _page_info(answer)
    return Page(rows, has_more, limit, {})


@dataclass(frozen=True)
class Page:
    """One checked page of a list: its rows and what `page_info` said."""

    rows: list[dict[str, Any]]
    #: `page_info.has_more`, None when the server did not say.
    has_more: bool | None
    #: `page_info.limit`, the page size the server applied, None when not said.
    limit: int | None
    #: The change feed's `meta` (`asOf`, `retentionCutoff`); {} for records.
    meta: Mapping[str, Any]


def _page_info(answer: Mapping[str, Any]) -> tuple[bool | None, int | None]:
    info = answer.get("page_info")
    if not isinstance(info, dict):
        return None, None
    has_more = info.get("has_more")
    limit = info.get("limit")
    return (
        has_more if isinstance(has_more, bool) else None,
        limit if type(limit) is int and limit > 0 else None,
    )


def _rows_with_ids(rows: Any, status: int, what: str) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise Unchecked(
            f"the answer's data is not {what} (a list) but {describe(rows, status)}",
            transient=True,
        )
    for position, row in enumerate(rows, 1):
        if not isinstance(row, dict) or record_id(row.get("id")) is None:
            raise Unchecked(
                f"element {position} of the page is not a record with an id (got "
                f"{str(row)[:60]}); the answer is not a page of {what} as the Public API "
                "sends it",
                transient=False,
            )
        values = row.get("values")
        if values is not None and not isinstance(values, dict):
            raise Unchecked(
                f"record {row.get('id')} has values that are not an object", transient=False
            )
    return rows


def records_page(answer: Any, status: int) -> Page:
    """`GET …/records`: `{"data": [{"id", "values"}], "page_info"}`; ids as strings or numbers."""
    rows = _rows_with_ids(_data(answer, status, "a page of records"), status, "records")
    has_more, limit = _page_info(answer)
    return Page(rows, has_more, limit, {})


def one_record(answer: Any, status: int) -> dict[str, Any]:
    """`GET …/record/{id}`: `{"data": {"id", "values"}}`."""
    data = _data(answer, status, "a record")
    return _rows_with_ids([data], status, "records")[0]


def feed_page(answer: Any, status: int) -> Page:
    """`GET …/records/changes`: entries with an id and a `changeType`, and `meta.asOf`."""
    rows = _rows_with_ids(_data(answer, status, "a page of changes"), status, "changes")
    meta = answer.get("meta")
    if not isinstance(meta, dict) or not isinstance(meta.get("asOf"), str):
        raise Unchecked(
            "the change feed's answer has no meta.asOf, which the next read starts from",
            transient=False,
        )
    has_more, limit = _page_info(answer)
    return Page(rows, has_more, limit, meta)


def _ids(value: Any, what: str, status: int) -> list[int]:
    if not isinstance(value, list):
        raise Unchecked(
            f"the answer has no list of {what} ({describe(value, status)})", transient=True
        )
    out: list[int] = []
    for item in value:
        number = record_id(item)
        if number is None:
            raise Unchecked(f"the answer's {what} hold {item!r}, not a record id", transient=True)
        out.append(number)
    return out


def created(count: int) -> Check:
    """`POST …/records`: 201 (or 200) with `data.ids`, one new distinct id per record sent."""

    def check(answer: Any, status: int) -> list[int]:
        data = _data(answer, status, "the ids of the records created")
        ids = _ids(data.get("ids") if isinstance(data, dict) else None, "ids", status)
        if len(ids) != count or len(set(ids)) != count:
            raise Unchecked(
                f"the answer names {len(ids)} distinct new record ids for the {count} "
                f"records sent ({describe(answer, status)})",
                transient=True,
            )
        return ids

    return check


def updated(asked: Collection[int]) -> Check:
    """`PATCH …/records`: any JSON success with `data`; `updatedIds` may list fewer ids.

    A server may under-report (docs/api.md, Public API variants), so any
    success acknowledges the batch; an id it lists must be one sent.
    """
    wanted = set(asked)

    def check(answer: Any, status: int) -> list[int]:
        data = _data(answer, status, "the ids of the records updated")
        listed = data.get("updatedIds") if isinstance(data, dict) else None
        ids = [] if listed is None else _ids(listed, "updatedIds", status)
        strangers = [i for i in ids if i not in wanted]
        if strangers:
            raise Unchecked(
                f"the answer says records {strangers[:5]} were updated, which were not sent",
                transient=True,
            )
        return ids

    return check


def upserted(count: int) -> Check:
    """`POST …/records/upsert`: `data.createdIds` and `data.updatedIds`, no more than sent."""

    def check(answer: Any, status: int) -> tuple[list[int], list[int]]:
        data = _data(answer, status, "the ids of the records upserted")
        if not isinstance(data, dict):
            raise Unchecked(f"the upsert's data is {describe(data, status)}", transient=True)
        made = _ids(data.get("createdIds") or [], "createdIds", status)
        kept = _ids(data.get("updatedIds") or [], "updatedIds", status)
        if len(made) + len(kept) > count or set(made) & set(kept):
            raise Unchecked(
                f"the answer names {len(made)} created and {len(kept)} updated records for "
                f"the {count} sent",
                transient=True,
            )
        return made, kept

    return check


def deleted(asked: Collection[int]) -> Check:
    """`DELETE …/records`: `data.deletedIds`, each one of the ids sent."""
    wanted = set(asked)

    def check(answer: Any, status: int) -> list[int]:
        data = _data(answer, status, "the ids of the records deleted")
        ids = _ids(data.get("deletedIds") if isinstance(data, dict) else None, "deletedIds", status)
        strangers = [i for i in ids if i not in wanted]
        if strangers:
            raise Unchecked(
                f"the answer says records {strangers[:5]} were deleted, which were not sent",
                transient=True,
            )
        return ids

    return check
