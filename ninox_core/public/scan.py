"""A full read of a table by offset pages, each record passed on once (docs/decisions/0022).

Offset pages shift when records are deleted or created during the read
(docs/api.md, "The Public API (Ninox 4)"): a deletion before the cursor
moves an unread record behind it, and nothing in the next page shows it.

Two ways to read (`overlap`):

- without overlap (the default, the fewest requests: ⌈N/100⌉ for N
  records): each page starts where the one before ended. A record another
  user's deletion moved behind the cursor is skipped; the caller catches
  it (docs/decisions/0023: the id comparison of a table without history,
  the scan's time window on a table with history);
- with overlap (`overlap=True`, exact): each page overlaps the previous
  one by one record: the first record of a page must be the last of the
  one before. When the page starts after it (or is empty), records before
  the cursor were deleted: the read steps back 1, 2, 4, … records until a
  page reaches back to it, and goes on from what it has already seen, so
  no record is skipped. About `N / (limit - 1) + 1` requests, one more per
  deletion seen during the read.

Records created during the read get larger ids and come at its end, or
after it: read or not, as with any snapshot-less read.

A record is passed on once: in ascending order, a record is new when its
id is above the largest passed on so far (a page that starts with it again
after an insertion before the cursor gives it only once), so no set of
every id read is kept (memory stays flat however large the table). A read
that starts again sorted by id skips the ids the first attempt passed on,
which it keeps as runs of consecutive ids (`_Runs`: a handful of numbers
for a dense table).

Both ways need the records in one order throughout the read, which the
Public API does not promise. The pages must come in ascending id order
(each page, and each page after the one before); when they do not (a
server without a stable default order), the read starts again with
`sort=id`; a server that refuses that, or still answers in no order, fails
the read with one line.

End of the read (`page_info.has_more` is never trusted alone): an empty
page; a page shorter than the limit the server applied, unless `has_more`
is true; a full page with `has_more: false` (the contract's last page:
docs/api.md). A full page with `has_more` true or absent goes on: a server
that says true on its last full page (V7) costs one empty page more.
"""

from __future__ import annotations

import bisect
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

from ninox_core.backend import ScanReport
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
    fetch: FetchRecords,
    limit: int,
    where: str,
    *,
    overlap: bool = False,
    report: ScanReport | None = None,
) -> Iterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """`(offset, sort, rows)` of each page with records not read before, ids ascending.

    `overlap`: pages overlap by one record, so a deletion during the read
    hides no record (module docstring); without, the fewest requests, and
    `report.read_before_last` tells which deletions may have hidden one.
    """
    passed_on = _Runs()
    report = report or ScanReport()
    try:
        yield from _read(fetch, limit, None, passed_on, where, overlap=overlap, report=report)
        return
    except _Unordered as found:
        logger.warning(
            "%s: the server answers records in no stable order (%s); reading again sorted by id",
            where,
            found,
        )
    try:
        yield from _read(fetch, limit, "id", passed_on, where, overlap=overlap, report=report)
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
    fetch: FetchRecords,
    limit: int,
    sort: str | None,
    earlier: _Runs,
    where: str,
    *,
    overlap: bool,
    report: ScanReport,
) -> Iterator[tuple[int, str | None, list[dict[str, Any]]]]:
    """One attempt at the whole read; `earlier`: ids an attempt before passed on.

    Raises `_Unordered` as soon as the pages show they are not in ascending
    id order; what it passed on until then is in `earlier`.
    """
    retry = bool(earlier.starts)
    overlap_by = 1 if overlap and limit > 1 else 0
    offset = 0
    last = 0  # the largest id of the read so far
    frontier = 0  # the furthest offset reached: stepping back is progress only past it
    steps_back = 0
    back = 1
    stepped_back = False
    while True:
        # The largest id read before this request, by any attempt (`earlier`
        # holds this attempt's too, unless it is a retry).
        report.read_before_last = max(last, earlier.ends[-1] if earlier.ends else 0)
        page = fetch(offset, limit, sort)
        ids = [record_id(row.get("id")) or 0 for row in page.rows]
        if any(a >= b for a, b in itertools.pairwise(ids)):
            raise _Unordered(f"ids {ids[:3]}… on one page")
        if offset > 0 and ids and ids[0] < last and not stepped_back:
            # With overlap the page starts with the last record (id `last`),
            # without after it, or with it again after an insertion before
            # the cursor: an id below it means the pages are in no order.
            raise _Unordered(f"a page starts with id {ids[0]} after id {last}")
        if offset > 0 and overlap_by and (not ids or ids[0] > last):
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
        if count >= applied and page.has_more is False:
            return  # the contract's last full page (docs/api.md)
        offset += max(1, count - overlap_by)
        if offset > frontier:
            frontier, steps_back = offset, 0
