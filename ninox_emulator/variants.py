"""Server variants: switches that make the emulator play a real server's quirks.

By default the emulator answers exactly the "fixed" readings of the API
(docs/api.md). Real servers differ in known ways (docs/api.md, "server
variants"); each way is one named switch here, so a test can prove that the
connectors survive it. The switches are only *held* here; each behaviour is
applied at the one place where that answer is shaped:

- record answers, the change feed's raw values, layout fields: `shapes.py`;
- the order of record reads: `query.py`;
- query parameters a server ignores or caps, the schema's `seq`, the batch
  POST (partial apply): `routes.py`;
- writes (missing id creates, layout fields refused): `store.py`;
- error bodies and dropped connections: `emulator.py`.

Each request takes one `enabled` snapshot, so a switch flipped mid-request
never gives a half-changed answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: Every variant name → what it changes (one line each).
VARIANTS: dict[str, str] = {
    "names_for_ids": "fields keyed by name even with style=ids (record reads, upsert answers)",
    "captions_for_ids": "choice and multi values as captions even with choiceStyle=ids",
    "int_choice_ids": "choice ids as JSON integers (reads with choiceStyle=ids, change feed)",
    "ignore_since_id": "sinceId ignored on record reads (the answer starts from the beginning)",
    "ignore_since_sq": "sinceSq ignored on record reads (the answer starts from the beginning)",
    "page_cap_100": "perPage capped at 100 whatever was asked",
    "pages_reversed": "record reads in descending id order (the highest ids first)",
    "pages_by_sequence": "each page of a plain record read in sequence order, not id order",
    "epoch_dates": "date/datetime/timestamp field values as epoch ms integers in record reads",
    "datetime_ms_z": "datetimes (fields, createdAt, modifiedAt) as 2021-01-23T12:30:00.000Z",
    "no_created_at": "createdAt and modifiedAt missing from records",
    "created_by_zero": 'createdBy as 0 (odd record ids) or "0" (even record ids)',
    "no_sequence": "records without sequence",
    "no_schema_seq": "schema.seq missing from GET .../databases/{db}",
    "schema_seq_lag": "schema.seq reports the database sequence minus 5 (floor 0)",
    "multi_comma": "multi values in record reads as one string of captions joined by ', '",
    "multi_bitmask_feed": "multi values in the change feed as a lower-case hex bitmask string",
    "errors_text": "error bodies as text/plain (the bare message)",
    "errors_html": "error bodies as a text/html page holding the message",
    "errors_echo_headers": "JSON error bodies that echo every request header, Authorization too",
    "partial_batch": "a batch POST of n > 1 elements applies the first n // 2, then answers 503",
    "partial_batch_drop": "a batch POST of n > 1 elements applies the first n // 2, then drops",
    "update_missing_creates": "{id: N, fields} of a missing id creates record N instead of a 404",
    "layout_fields": "tables also list tab, button and line fields; any write to them is a 400",
}


def check_names(names: Iterable[str]) -> list[str]:
    """The names as a list; ValueError naming the first unknown one and all valid ones."""
    out = list(names)
    for name in out:
        if name not in VARIANTS:
            valid = ", ".join(VARIANTS)
            raise ValueError(f"unknown server variant {name!r}; valid variants: {valid}")
    return out


class Variants:
    """The set of enabled variants (thread-safe); empty = the strict default server."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        """Enable `names` (ValueError on an unknown one)."""
        self._lock = threading.Lock()
        self._enabled: frozenset[str] = frozenset(check_names(names))

    @property
    def enabled(self) -> frozenset[str]:
        """The enabled variant names (a snapshot)."""
        return self._enabled

    def enable(self, *names: str) -> None:
        """Switch variants on (ValueError on an unknown name; nothing changes then)."""
        checked = check_names(names)
        with self._lock:
            self._enabled = self._enabled | frozenset(checked)

    def disable(self, *names: str) -> None:
        """Switch variants off (ValueError on an unknown name; nothing changes then)."""
        checked = check_names(names)
        with self._lock:
            self._enabled = self._enabled - frozenset(checked)

    def clear(self) -> None:
        """Switch every variant off: the strict default server again."""
        with self._lock:
            self._enabled = frozenset()

    def __contains__(self, name: object) -> bool:
        """True when `name` is enabled."""
        return name in self._enabled

    def __repr__(self) -> str:
        """`Variants(['a', 'b'])`."""
        return f"Variants({sorted(self._enabled)!r})"
