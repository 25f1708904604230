"""The tiny subset of Ninox script the emulator runs (docs/api.md §8).

- `(select TABLE).'FIELD'` (or `.FIELD`; the table name may be quoted too):
  the field's value (text form, choice captions) of every record of the
  table in id order, `null` for empty ones. Table and field names are matched
  exactly first, then ignoring case (the vendor's sample asks for
  `'First Name'` of a table whose field is "First name").
- `users()`: the ids of the team's users.

Anything else answers 501 with a message saying so. `query` (read-only) and
`exec` (may write) run the same subset: none of it writes.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from ninox_emulator.model import ApiError, Database, Team
from ninox_emulator.shapes import field_values

_SELECT = re.compile(
    r"^\(\s*select\s+(?:'([^']+)'|([A-Za-z_][\w ]*?))\s*\)\s*\.\s*(?:'([^']+)'|([A-Za-z_]\w*))$",
    re.IGNORECASE,
)
_USERS = re.compile(r"^users\s*\(\s*\)$")

T = TypeVar("T")


def _by_name(items: dict[str, T], name: str) -> T | None:
    if name in items:
        return items[name]
    folded = name.lower()
    return next((v for k, v in items.items() if k.lower() == folded), None)


def run_script(team: Team, db: Database, text: Any) -> Any:
    """Run `text` in `db`; the JSON value it yields, or an ApiError."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "expected a Ninox script in 'query'")
    script = text.strip()
    if _USERS.match(script):
        return list(team.users)
    match = _SELECT.match(script)
    if not match:
        raise ApiError(
            501,
            f"the emulator does not run this script: {script!r}; it runs only "
            "(select TABLE).'FIELD' and users()",
        )
    table_name = match.group(1) or match.group(2)
    field_name = match.group(3) or match.group(4)
    table = _by_name({t.name: t for t in db.tables.values()}, table_name)
    if table is None:
        raise ApiError(400, f"script: no table {table_name!r} in database {db.id!r}")
    field = _by_name(table.by_name, field_name)
    if field is None:
        raise ApiError(400, f"script: no field {field_name!r} in table {table.name!r}")
    return [
        field_values(db, table, table.records[rid], by_id=True).get(field.id) for rid in table.ids
    ]
