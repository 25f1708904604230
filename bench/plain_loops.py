"""The hand-written loops tap-ninox and target-ninox are compared with (bench_all.py).

    python bench/plain_loops.py tap BASE_URL KEY TEAM DB TABLE PAGE_SIZE   > out.singer
    python bench/plain_loops.py target BASE_URL KEY TEAM DB TABLE BATCH   < in.singer

`tap`: a `requests` loop that pages a table by `sinceId` like the tap and
writes one Singer RECORD line per record to stdout. `target`: reads Singer
lines from stdin and POSTs the RECORDs' values in batches. Each runs as its
own process, so its CPU and memory are measured like the connectors'.

Both first make the metadata calls the connector makes before its pages or
POSTs (issue 18 compares with a loop "doing the same calls"): the tap the
database list, the table list, the database (its `schema.seq`) and one
change-feed probe; the target the same without the database list. The
answers are read and dropped: the loop checks nothing.
"""

from __future__ import annotations

import json
import sys

import requests


def metadata(session: requests.Session, base_url: str, team: str, db: str, table: str) -> None:
    """The calls a connector makes before its first page or POST, answers dropped."""
    database = f"{base_url}/teams/{team}/databases/{db}"
    seq = session.get(database).json().get("schema", {}).get("seq", 0)
    session.get(f"{database}/tables").raise_for_status()
    session.get(f"{database}/tables/{table}/changes", params={"sinceSq": seq}).raise_for_status()


def tap(base_url: str, key: str, team: str, db: str, table: str, page_size: int) -> None:
    """Page the table by sinceId; one RECORD line per record."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    session.get(f"{base_url}/teams/{team}/databases").raise_for_status()
    metadata(session, base_url, team, db, table)
    url = f"{base_url}/teams/{team}/databases/{db}/tables/{table}/records"
    out = sys.stdout
    last_id = 0
    while True:
        answer = session.get(url, params={"perPage": page_size, "sinceId": last_id})
        answer.raise_for_status()
        page = answer.json()
        if not page:
            return
        for record in page:
            out.write(json.dumps({"type": "RECORD", "stream": table, "record": record}) + "\n")
        last_id = page[-1]["id"]


def target(base_url: str, key: str, team: str, db: str, table: str, batch: int) -> None:
    """POST the RECORD lines' values in batches of `batch`."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    metadata(session, base_url, team, db, table)
    url = f"{base_url}/teams/{team}/databases/{db}/tables/{table}/records"
    rows: list[dict[str, object]] = []
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") != "RECORD":
            continue
        rows.append({"fields": message["record"]})
        if len(rows) >= batch:
            session.post(url, json=rows).raise_for_status()
            rows = []
    if rows:
        session.post(url, json=rows).raise_for_status()


if __name__ == "__main__":
    mode, base_url, key, team, db, table, size = sys.argv[1:8]
    (tap if mode == "tap" else target)(base_url, key, team, db, table, int(size))
