"""A 200 MB attachment through tap and target with bounded memory (slow: `--run-slow`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_files.py"


@pytest.mark.slow
def test_a_200_mb_attachment_is_downloaded_and_uploaded_under_100_mb_rss():
    done = subprocess.run(
        [sys.executable, str(BENCH), "--mb", "200"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "both peaks under 100 MB and bytes equal: yes" in done.stdout
