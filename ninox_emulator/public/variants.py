"""Public API variants: one switch per known variant V1-V29 of the Ninox 4 Public API.

Each switch has a readable name and its V-number alias (`"V5"` =
`"limit_clamped"`); where the contract lists two forms of one variant, the
second is `V<n>b`. `orchestrator_401` (V1) and `html_shell` (V2) are on by
default: they are how the real gateway answers; `strict()` turns them off
too. The switches are only held here; each is applied where that answer is
shaped (`routes.py`, `shapes.py`, `emulator.py`). V23 (renames), V27
(history on/off) and V28 (key expired mid-run) are control helpers, not
switches (see `PublicEmulator`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: name → (V alias, what it changes).
PUBLIC_VARIANTS: dict[str, tuple[str, str]] = {
    "orchestrator_401": ("V1", "missing/wrong key → 401 text/plain 'Workspace orchestrator error'"),
    "html_shell": ("V2", "unknown path → 200 with the web app's HTML shell"),
    "no_change_feed": ("V2b", "records/changes absent (an unknown path)"),
    "nest_errors": ("V3", '400 bodies as {"statusCode","message":[...],"error":"Bad Request"}'),
    "no_write_scope": ("V4", "403 'Insufficient API key scope' on every write"),
    "no_read_scope": ("V4b", "403 'Insufficient API key scope' on every read"),
    "limit_clamped": ("V5", "limit > 100 clamped to 100 instead of 400; limit omitted → 10"),
    "unstable_order": ("V6", "record pages without sort come in a reshuffled order"),
    "has_more_on_full_page": ("V7", "has_more true on the last full page (an empty page follows)"),
    "scan_drift": (
        "V8",
        (
            "each records page after the first: another user deletes the lowest "
            "id and creates a record"
        ),
    ),
    "numeric_ids": ("V9", "record ids and reference values as JSON numbers"),
    "choice_ids": ("V10", "choice read as option id; multi as a comma-separated string of names"),
    "omit_empty": ("V11", "empty fields left out of values instead of null"),
    "epoch_times": ("V12", "timestamp as epoch ms, appointment as 'A - B', timeinterval as ms"),
    "timestamps_without_z": ("V12b", "timestamp as 2024-02-15T13:45:30 (no ms, no Z)"),
    "reverse_and_lazy_functions": (
        "V13",
        "reverse values as arrays of id strings; function values only when in fields=",
    ),
    "projected_refs_null": ("V14", "fields=-projected reads give null for references"),
    "loose_change_feed": (
        "V15",
        "change feed: since inclusive, newest first, changeType insert/update/remove",
    ),
    "silent_retention": (
        "V16",
        "since older than retention silently truncated; no retentionCutoff",
    ),
    "partial_create": ("V17", "POST records of n > 1 applies the first n // 2, then 503"),
    "partial_create_drop": ("V17b", "POST records of n > 1 applies the first n // 2, then drops"),
    "short_updated_ids": ("V18", "updatedIds leaves out the last id of a PATCH of n > 1"),
    "lenient_delete": ("V19", "DELETE ignores missing ids (classic) instead of 404 + rollback"),
    "no_upsert": ("V20", "records/upsert absent (an unknown path)"),
    "quota_403": ("V21", "an exhausted monthly quota answers 403 instead of 429"),
    "rate_limited": ("V22", "every 4th call → 429, alternately with and without Retry-After"),
    "opaque_ref_table_ids": ("V24", "refTableId an opaque id that appears nowhere else"),
    "metadata_ids": ("V25", "modules, tables and fields answer with an id"),
    "root_without_fields": ("V26", "workspace root and module answers without nested fields"),
    "id_reuse": ("V29", "a new record takes the most recently deleted id"),
}
#: On unless switched off: how the real gateway answers.
DEFAULT_ON = frozenset({"orchestrator_401", "html_shell"})
_ALIASES = {alias.lower(): name for name, (alias, _) in PUBLIC_VARIANTS.items()}
#: Variants played by control helpers rather than switches.
HELPERS = {
    "v23": "V23 (renames) is played by emu.rename_table / emu.rename_field, not a switch",
    "v27": "V27 (history on/off) is played by emu.set_history, not a switch",
    "v28": "V28 (key expired mid-run) is played by emu.expire_key(after=N), not a switch",
}


def resolve(names: Iterable[str]) -> list[str]:
    """Names or V-aliases → names; ValueError naming the first unknown one and the valid ones."""
    out = []
    for name in names:
        real = name if name in PUBLIC_VARIANTS else _ALIASES.get(str(name).lower())
        if real is None and str(name).lower() in HELPERS:
            raise ValueError(HELPERS[str(name).lower()])
        if real is None:
            valid = ", ".join(f"{n} ({a})" for n, (a, _) in PUBLIC_VARIANTS.items())
            raise ValueError(f"unknown Public API variant {name!r}; valid variants: {valid}")
        out.append(real)
    return out


class PublicVariants:
    """The enabled switches (thread-safe); V1 and V2 on by default."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        """The defaults plus `names`."""
        self._lock = threading.Lock()
        self._enabled = DEFAULT_ON | frozenset(resolve(names))

    @property
    def enabled(self) -> frozenset[str]:
        """The enabled names (a snapshot)."""
        return self._enabled

    def enable(self, *names: str) -> None:
        """Switch variants on (names or V-aliases; ValueError on an unknown one)."""
        checked = resolve(names)
        with self._lock:
            self._enabled = self._enabled | frozenset(checked)

    def disable(self, *names: str) -> None:
        """Switch variants off (V1/V2 too)."""
        checked = resolve(names)
        with self._lock:
            self._enabled = self._enabled - frozenset(checked)

    def clear(self) -> None:
        """Back to the defaults (V1 and V2 on, nothing else)."""
        with self._lock:
            self._enabled = DEFAULT_ON

    def strict(self) -> None:
        """Every switch off, V1 and V2 too (JSON 401 and 404 envelopes)."""
        with self._lock:
            self._enabled = frozenset()

    def __contains__(self, name: object) -> bool:
        """True when `name` (a name or V-alias) is enabled."""
        real = name if name in PUBLIC_VARIANTS else _ALIASES.get(str(name).lower())
        return real in self._enabled

    def __repr__(self) -> str:
        """`PublicVariants(['html_shell', ...])`."""
        return f"PublicVariants({sorted(self._enabled)!r})"
