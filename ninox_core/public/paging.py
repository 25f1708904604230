"""Offset pages that end where the data ends, whatever `has_more` says.

The Public API pages by `limit` + `offset` and says `page_info.has_more`.
Servers differ (docs/api.md, "The Public API (Ninox 4)"): one clamps the
limit (or applies its own), one says `has_more: true` on the last full
page, so `has_more` alone is never trusted:

- an empty page ends the read;
- a page shorter than the limit the server applied (`page_info.limit`,
  else the one asked) ends it, unless `has_more` is true (then the server
  applied a smaller limit than it says, and the read goes on);
- a full page goes on; with `has_more: false` too, once more: the one
  extra request that proves the end (a full last page costs one request
  more, never a missed record).

The next offset is the number of rows read so far, so a server that
applies a smaller limit than asked loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ninox_core.public.checks import Page

#: `(offset, limit)` → one checked page.
FetchPage = Callable[[int, int], Page]


def offset_pages(fetch: FetchPage, limit: int) -> Iterator[tuple[int, Page]]:
    """`(offset, page)` from offset 0 until the end (the module's rules); the last may be empty."""
    offset = 0
    while True:
        page = fetch(offset, limit)
        yield offset, page
        count = len(page.rows)
        if count == 0:
            return
        applied = min(page.limit or limit, limit)
        if count < applied and page.has_more is not True:
            return
        offset += count
