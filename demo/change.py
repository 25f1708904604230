"""Make a few changes in the demo's local Ninox, through its Ninox API.

Used by ``bash demo/run.sh --incremental``: renames the job title of contacts
1 and 2 and deletes the first contact after them that still exists (3, then 4
on the next run...), so that the incremental run has exactly three changes to
load (two updates, one deletion).

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
    """Update contacts 1 and 2, delete one more contact, and say which."""
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
    # The first contact after 1 and 2 that still exists: each run deletes one
    # record that is there (deleting an id twice deletes nothing).
    listed = call("GET", f"{records}?perPage=1000")
    assert isinstance(listed, list)
    gone = min((int(r["id"]) for r in listed if int(r["id"]) > 2), default=None)
    if gone is None:
        print("Changed in the local Ninox: contacts 1 and 2 updated; no contact left to delete.")
        return
    call("DELETE", f"{records}/{gone}")
    print(f"Changed in the local Ninox: contacts 1 and 2 updated, contact {gone} deleted.")


if __name__ == "__main__":
    main(sys.argv[1])
