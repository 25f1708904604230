"""Make a few changes in the demo's local Ninox, through its Ninox API.

Used by ``bash demo/run.sh --incremental``: renames the job title of contacts
1 and 2 and deletes contact 3, so that the incremental run has exactly three
changes to load (two updates, one deletion).

    python demo/change.py http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import sys
import urllib.request

TEAM, DATABASE, KEY = "mnPLY6DMsvq9wz4id", "gt5k36w957yt", "demo-key"


def call(method: str, url: str, body: object = None) -> object:
    """One API call with the demo key; the decoded JSON answer (None if empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {KEY}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text.strip() else None


def main(base_url: str) -> None:
    """Update contacts 1 and 2, delete contact 3, and say so."""
    db_url = f"{base_url}/teams/{TEAM}/databases/{DATABASE}"
    tables = call("GET", f"{db_url}/tables")
    assert isinstance(tables, list)
    contact = next(table["id"] for table in tables if table["name"] == "Contact")
    records = f"{db_url}/tables/{contact}/records"
    call(
        "POST",
        records,
        [
            {"id": 1, "fields": {"Job title": "Chief Demo Officer"}},
            {"id": 2, "fields": {"Job title": "Head of Incremental Loads"}},
        ],
    )
    call("DELETE", f"{records}/3")
    print("Changed in the local Ninox: contacts 1 and 2 updated, contact 3 deleted.")


if __name__ == "__main__":
    main(sys.argv[1])
