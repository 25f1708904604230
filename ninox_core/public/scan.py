"""A full read of a table by offset pages that sees every record (docs/decisions/0022).

Offset pages shift when records are deleted or created during the read
(docs/api.md, "The Public API (Ninox 4)"): a deletion before the cursor
moves an unread record behind it, and nothing in the next page shows it.
So each page overlaps the previous one by one record: the first record of
a page must be the last of the one before. When the page starts after it
(or is empty), records before the cursor were deleted: the read steps back
1, 2, 4, … records until a page reaches back to it, and goes on from what
it has already seen, so no record is skipped. A page that starts before
it without such a step back is not in ascending order (see below).
Records created during the read get larger ids and come at its end, or
after it: read or not, as with any snapshot-less read.

A record is passed on once: in ascending order, a record is new when its
id is above the largest passed on so far, so no set of every id read is
kept (memory stays flat however large the table). A read that starts again
sorted by id skips the ids the first attempt passed on, which it keeps as
runs of consecutive ids (`_Runs`: a handful of numbers for a dense table).

The overlap needs the records in one order throughout the read, which the
Public API does not promise. The pages must come in ascending id order;
when they do not (a server without a stable default order), the read
starts again with `sort=id`; a server that refuses that, or still answers
in no order, fails the read with one line.

End of the read (`page_info.has_more` is never trusted alone): an empty
first page; a page shorter than the limit the server applied, unless
`has_more` is true. A full last page is proved the last by the next page,
which holds only the overlap record. Requests: about `N / (limit - 1) + 1`
for N records, one more per deletion seen during the read.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from ninox_core.errors import NinoxAPIError, NinoxBadRequestError, NinoxNotFoundError
from ninox_core.public.checks import Page
from ninox_core.public.records import record_id

#: `(offset, limit, sort or None)` → one checked page of records.
FetchRecords = Callable[[int, int, "str | None"], Page]
#: Steps back (1, 2, 4, … records) without getting further before the read gives up.
MAX_STEPS_BACK = 16

logger = logging.getLogger("ninox_core.public")


class _Unordered(Exception):
    """The pages do not come in ascending id order."""


def scan_rows(
    fetch: FetchRecords, limit: int, where: str
) -> Iterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """`(offset, sort, rows)` of each page with records not read before, ids ascending."""
    passed_on = _Runs()
    try:
        yield from _read(fetch, limit, None, passed_on, where)
        return
    except _Unordered as found:
        logger.warning(
            "%s: the server answers records in no stable order (%s); reading again sorted by id",
            where,
            found,
        )
    try:
        yield from _read(fetch, limit, "id", passed_on, where)
    except (_Unordered, NinoxBadRequestError, NinoxNotFoundError) as failed:
        raise NinoxAPIError(
            200,
            "GET",
            where,
            f"the server answers this table's records in no stable order, and sorted by id "
            f"it answered: {failed}; reading page by page would miss records, so the read "
            "stops (report it: docs/api.md, Public API variants)",
        ) from None


class _Runs:
    """Ids added in ascending order, kept as runs of consecutive ids.

    Memory grows with the gaps between ids, not with their number.
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, record_id: int) -> None:
        """Add an id larger than every id added before."""
        if self.ends and record_id == self.ends[-1] + 1:
            self.ends[-1] = record_id
        else:
            self.starts.append(record_id)
            self.ends.append(record_id)

    def __contains__(self, record_id: int) -> bool:
        at = bisect.bisect_right(self.starts, record_id) - 1
        return at >= 0 and record_id <= self.ends[at]


def _read(
    fetch: FetchRecords, limit: int, sort: str | None, earlier: _Runs, where: str
) -> Iterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """One attempt at the whole read; `earlier`: ids an attempt before passed on.

    Raises `_Unordered` as soon as the pages show they are not in ascending
    id order; what it passed on until then is in `earlier`.
    """
    retry = bool(earlier.starts)
    overlap = 1 if limit > 1 else 0
    offset = 0
    last = 0  # the largest id of the read so far
    frontier = 0  # the furthest offset reached: stepping back is progress only past it
    steps_back = 0
    back = 1
    stepped_back = False
    while True:
        page = fetch(offset, limit, sort)
        ids = [record_id(row.get("id")) or 0 for row in page.rows]
        if any(a >= b for a, b in itertools.pairwise(ids)):
            raise _Unordered(f"ids {ids[:3]}… on one page")
        if offset > 0 and overlap and ids and ids[0] < last and not stepped_back:
            # The page should start with the overlap record (id `last`).
            raise _Unordered(f"a page starts with id {ids[0]} after id {last}")
        if offset > 0 and overlap and (not ids or ids[0] > last):
            # The overlap record moved back: records before it were deleted.
            # Step back 1, 2, 4, … records until the page holds it again.
            steps_back += 1
            if steps_back > MAX_STEPS_BACK:
                raise NinoxAPIError(
                    200,
                    "GET",
                    where,
                    "records of this table were deleted faster than it could be read page "
                    "by page; run again when it changes less",
                )
            offset = max(0, offset - back)
            back *= 2
            stepped_back = True
            continue
        back = 1
        stepped_back = False
        fresh = [
            row
            for row, rid in zip(page.rows, ids, strict=True)
            if rid > last and not (retry and rid in earlier)
        ]
        if not retry:
            for rid in ids:
                if rid > last:
                    earlier.add(rid)
                    last = rid
        elif ids:
            last = max(last, ids[-1])
        if fresh:
            yield offset, sort, fresh
        count = len(ids)
        applied = min(page.limit or limit, limit)
        if count == 0 or (count < applied and page.has_more is not True):
            return
        offset += max(1, count - overlap)
        if offset > frontier:
            frontier, steps_back = offset, 0
