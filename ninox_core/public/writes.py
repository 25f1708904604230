"""A write plan → Public API requests, each within the API's limits (docs/decisions/0022).

- `runs`: the plan cut into runs of one kind (and one match field), in
  plan order: creates → `POST …/records`, updates → `PATCH …/records`,
  server upserts → `POST …/records/upsert`;
- `WireValues`: values by field id (the shared write forms) → by field
  name, date-times with their `Z`;
- `batches`: a run cut so that each request body stays under
  `MAX_BODY_BYTES` (the API refuses more than 6 MB with 413).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from ninox_core.backend import WriteOp
from ninox_core.errors import NinoxError
from ninox_core.model.schema import NinoxTable

#: Largest request body sent: the API's 6 MB (read as 10^6 bytes, the
#: smaller reading) less a margin for what a proxy may add.
MAX_BODY_BYTES = 6_000_000 - 16_384
#: Most ids per DELETE (the API documents no count limit; a body of 1000
#: ids is ~10 kB).
MAX_DELETE_IDS = 1000

_encode = msgspec.json.Encoder(decimal_format="number").encode
_DATETIME_19 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


def runs(plan: Sequence[WriteOp]) -> Iterator[tuple[str, str | None, list[int]]]:
    """`(kind, match field, positions in the plan)` of each run of one kind, in order."""
    current: tuple[str, str | None] | None = None
    positions: list[int] = []
    for position, op in enumerate(plan):
        key = (op.kind, op.match_field if op.kind == "upsert_by" else None)
        if key != current and positions:
            assert current is not None  # noqa: S101 (set with the first position)
            yield current[0], current[1], positions
            positions = []
        current = key
        positions.append(position)
    if positions and current is not None:
        yield current[0], current[1], positions


class WireValues:
    """Turns `WriteOp.values` (by field id) into a Public API record (by field name)."""

    def __init__(self, table: NinoxTable) -> None:
        """Learn the names and which fields hold date-times."""
        self._names = {f.id: f.name for f in table.fields}
        self._datetimes = frozenset(
            f.id for f in table.fields if f.type in ("timestamp", "datetime")
        )

    def name(self, field_id: str) -> str:
        """The name a field id is written under (an unknown key as it is)."""
        return self._names.get(field_id, field_id)

    def __call__(self, values: dict[str, Any]) -> dict[str, Any]:
        """The record's values by name; a date-time `YYYY-MM-DDTHH:MM:SS` (UTC) gets its `Z`."""
        out: dict[str, Any] = {}
        for field_id, value in values.items():
            zoned = value
            if field_id in self._datetimes and isinstance(value, str) and _DATETIME_19.match(value):
                zoned = value + "Z"
            out[self._names.get(field_id, field_id)] = zoned
        return out


def encoded_size(item: Any) -> int:
    """Bytes of `item` as JSON, encoded as the transport encodes it."""
    return len(_encode(item))


def batches(
    items: Sequence[Any], where: str, *, envelope: int = 64, limit: int | None = None
) -> Iterator[list[int]]:
    """Positions of `items` cut into batches whose JSON stays under `limit` bytes.

    `envelope`: bytes of the body around the list. A single item over the
    limit fails with one line naming its position (a record of more than
    6 MB cannot be written through this API). `limit`: `MAX_BODY_BYTES`
    unless given.
    """
    limit = MAX_BODY_BYTES if limit is None else limit
    batch: list[int] = []
    size = envelope
    for position, item in enumerate(items):
        item_size = encoded_size(item) + 1  # its comma
        if item_size + envelope > limit:
            raise NinoxError(
                f"{where}: record {position + 1} of the batch is {item_size / 1e6:.1f} MB as "
                f"JSON, more than the {limit / 1e6:.0f} MB a Ninox Public API request may "
                "carry; shorten its values"
            )
        if batch and size + item_size > limit:
            yield batch
            batch, size = [], envelope
        batch.append(position)
        size += item_size
    if batch:
        yield batch


def halves(items: list[int]) -> tuple[list[int], list[int]]:
    """`items` in two halves (the first one the larger)."""
    middle = (len(items) + 1) // 2
    return items[:middle], items[middle:]
