"""`read_ahead`: the next page is fetched while the caller works on this one, never more."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ninox_core.read_ahead import read_ahead


class Pages:
    """An iterator that records which items were fetched and on which thread."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.fetched: list[int] = []
        self.threads: set[str] = set()
        self.closed_on: str | None = None

    def __iter__(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                self.threads.add(threading.current_thread().name)
                if number == self.fail_at:
                    raise RuntimeError(f"page {number} failed")
                self.fetched.append(number)
                yield number
        finally:
            self.closed_on = threading.current_thread().name


def test_items_arrive_in_order_each_once():
    assert list(read_ahead(Pages(50))) == list(range(50))


def test_the_next_item_is_fetched_on_the_worker_while_the_caller_holds_this_one():
    pages = Pages(5)
    reader = read_ahead(pages, name="ahead")
    assert next(reader) == 0
    # While the caller works on page 0, page 1 is fetched, and no more.
    for _ in range(200):
        if pages.fetched == [0, 1]:
            break
        threading.Event().wait(0.01)
    assert pages.fetched == [0, 1]
    threading.Event().wait(0.05)
    assert pages.fetched == [0, 1]
    assert pages.threads == {"ahead"}
    assert list(reader) == [1, 2, 3, 4]


def test_an_error_reaches_the_caller_after_every_item_before_it():
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        seen.extend(read_ahead(Pages(10, fail_at=3)))
    assert seen == [0, 1, 2]


def test_a_caller_that_stops_early_closes_the_iterator_on_the_worker_thread():
    pages = Pages(100)
    reader = read_ahead(pages, name="ahead")
    assert [next(reader), next(reader)] == [0, 1]
    reader.close()
    for _ in range(200):
        if pages.closed_on is not None:
            break
        threading.Event().wait(0.01)
    assert pages.closed_on == "ahead"
    # At most the one page it may fetch ahead of the caller, then nothing more.
    assert pages.fetched in ([0, 1], [0, 1, 2])
    threading.Event().wait(0.05)
    assert pages.fetched in ([0, 1], [0, 1, 2])
