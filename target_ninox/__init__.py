"""target-ninox: a Singer target that writes records into Ninox tables.

- `target`: settings, the shared client, how a run ends (`TargetNinox`).
- `sinks`: per stream, validation and conversion of each record (`NinoxSink`).
- `mapping`: stream → table and property → field.
- `writer`: one batch → one POST, lost-answer reconciliation, deletions.
- `key_index`: upsert key → record id for a table.
- `validation`: compiled record validation.
- `reader`: the msgspec message reader with input line numbers.
- `errors`: the one-line errors a run can end with.
"""

from ninox_core.cli.startup import run_command


def main() -> None:
    """The `target-ninox` command (pyproject.toml): `TargetNinox.cli` with a lighter start-up."""
    run_command("target_ninox.target", "TargetNinox")
