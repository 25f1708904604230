"""target-ninox: a Singer target that writes records into Ninox tables.

The parts (docs/design.md "The target's parts", decision 0028):

- `target`: settings and how a run ends (`TargetNinox`); builds the context.
- `context`: the frozen `RunContext` the sinks get instead of the Target.
- `reader`, `batches`, `commit_policy`, `write_queue`: input, batching, when
  STATE is emitted, the one write in flight.
- `sinks`, `conversion`, `mapping`, `validation`: per stream, a record's
  checks and values; stream → table and property → field.
- `planning` (pure), `writer` (the I/O shell), `key_index`, `reconcile`
  (pure), `lost_answers`, `rerun_guard`, `deletes`: from a batch to checked
  writes through the backend seam.
- `file_upload`: attachments; `errors`, `write_errors`: the one-line errors.
"""

from ninox_core.cli.startup import run_command


def main() -> None:
    """The `target-ninox` command (pyproject.toml): `TargetNinox.cli` with a lighter start-up."""
    run_command("target_ninox.target", "TargetNinox")
