"""Progress lines on long runs: the tap says how far it read, the target how far it wrote.

The interval (`ninox_core.cli.progress.PROGRESS_EVERY`, 10 s) is set to 0 here,
so a line is due at every check: the counts are asserted, not the timing.
"""

from __future__ import annotations

import logging
import re

import pytest

from ninox_core.cli import progress
from tests.tap_support import run_tap, tap_config
from tests.target_support import make_database, record, run_target, schema, target_config

PEOPLE = {"Email": {"type": ["string", "null"]}, "Name": {"type": ["string", "null"]}}


@pytest.fixture
def every_check(monkeypatch):
    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.0)


def people(n):
    return [schema("people", PEOPLE, key_properties=["Email"])] + [
        record("people", {"Email": f"p{i}@x.org", "Name": f"P {i}"}) for i in range(n)
    ]


def test_the_target_says_how_many_records_it_wrote_so_far(emulator, caplog, every_check):
    make_database(emulator)
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator, batch_size_rows=100), people(500))
    assert run.exit_code == 0
    found = [
        re.fullmatch(r"Records written so far: people (\d+) \(\d+\.\d s\)", r.getMessage())
        for r in caplog.records
        if "so far" in r.getMessage()
    ]
    counts = [int(m.group(1)) for m in found if m]
    assert len(counts) == len(found) >= 5, [r.getMessage() for r in caplog.records]
    # Every count is what was confirmed when it was logged: whole batches, growing.
    assert counts == sorted(counts) and all(c % 100 == 0 and c <= 500 for c in counts)
    # By the last lines, at least three of the five batches were confirmed.
    assert counts[-1] >= 300


def test_a_dry_run_says_what_would_be_written_so_far(emulator, caplog, every_check):
    make_database(emulator)
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator, batch_size_rows=100, dry_run=True), people(300))
    assert run.exit_code == 0
    lines = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
    assert lines and all(line.startswith("Records that would be written so far") for line in lines)


def test_the_tap_says_how_many_records_it_read_so_far(emulator, caplog, every_check):
    config = tap_config(emulator, page_size=10, tables=["Contact"])
    with caplog.at_level(logging.INFO):
        out = run_tap(config)
    total = len(out.records["contact"])
    lines = [r.getMessage() for r in caplog.records if "so far" in r.getMessage()]
    pages = -(-total // 10)
    assert pages >= 3
    assert [re.sub(r" \(\d+\.\d s\)$", "", line) for line in lines] == [
        f"contact: {min(10 * page, total)} records in {page} pages so far"
        for page in range(1, pages + 1)
    ]


def test_the_sdks_line_per_batch_is_left_to_debug(emulator, caplog, every_check):
    make_database(emulator)
    with caplog.at_level(logging.INFO):
        run = run_target(target_config(emulator, batch_size_rows=100), people(300))
    assert run.exit_code == 0
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "is full" in m]
    assert [m for m in messages if m.startswith("Records written so far")]
