"""tap-ninox: a Singer tap for Ninox databases, built on the Meltano Singer SDK.

`tap.py` declares the settings and discovers one stream per table;
`streams.py` reads records, deletions and attachments (`files.py`);
`public_reads.py` chooses and runs the reads of Ninox 4 tables (change
feed or full reads, `id_ranges.py` for the ids kept in the state);
`records.py` turns the backend's records into Singer records. The APIs,
HTTP and field types live in `ninox_core`.
"""

from ninox_core.cli.startup import run_command


def main() -> None:
    """The `tap-ninox` command (pyproject.toml): `TapNinox.cli` with a lighter start-up."""
    run_command("tap_ninox.tap", "TapNinox")
