"""List the teams, databases and tables an API key can see, with their ids.

    python -m tap_ninox.ids --config config.json   # api_key (and base_url) from the file
    python -m tap_ninox.ids                        # or from TAP_NINOX_API_KEY / _BASE_URL
    python -m tap_ninox.ids --workspace-id ID      # a Ninox 4 workspace: modules, tables

Prints what ``team_id``, ``database_ids``/``database_id`` and ``tables`` take,
so a newcomer needs no curl (see docs/api.md for the endpoints it reads).
A Ninox 4 workspace key (``--workspace-id``, or ``workspace_id`` in the
config or TAP_NINOX_WORKSPACE_ID) lists no workspaces (a key works in one):
the tool prints that workspace's modules (what ``modules``/``module``
take) and their tables, marking those without history.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ninox_core import __version__
from ninox_core.backend import Backend
from ninox_core.backends import open_backend, uses_public_api
from ninox_core.classic.backend import ClassicBackend
from ninox_core.cli.inputs import CliInputError, closest_setting, read_json_file
from ninox_core.cli.settings import client_from_config
from ninox_core.errors import NinoxError

#: The settings this tool reads (other keys of a tap or target config are
#: left alone: the connectors check them when they run).
READS = ("api_key", "base_url", "workspace_id", "request_timeout", "max_retries", "user_agent")


def read_config(path: str | None) -> dict[str, Any]:
    """The config file's settings, or the TAP_NINOX_* environment without one.

    A key within two edits of a setting the tool reads (`base_ulr`) is an
    error: it would otherwise ask the wrong server or send no key.
    """
    if not path:
        return {
            "api_key": os.environ.get("TAP_NINOX_API_KEY", ""),
            "base_url": os.environ.get("TAP_NINOX_BASE_URL"),
            "workspace_id": os.environ.get("TAP_NINOX_WORKSPACE_ID"),
        }
    config = read_json_file(path, "config", "a JSON object of settings")
    if not isinstance(config, dict):
        raise CliInputError(
            f"config file {path!r} holds JSON {type(config).__name__}, not an object of settings"
        )
    for key in config:
        near = None if key in READS else closest_setting(key, READS)
        if near is not None:
            raise CliInputError(
                f"{key} in config file {path!r} is not a setting; did you mean `{near}`?"
            )
    return config


def main(argv: list[str] | None = None) -> int:
    """Print the tree of teams → databases → tables; one clear line on failure."""
    parser = argparse.ArgumentParser(prog="python -m tap_ninox.ids", description=__doc__)
    parser.add_argument("--config", help="JSON file with api_key and optionally base_url")
    parser.add_argument(
        "--workspace-id", help="a Ninox 4 workspace id: list its modules and tables"
    )
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config)
    except CliInputError as exc:
        print(f"tap-ninox ids: {exc}", file=sys.stderr)
        return 1
    if args.workspace_id:
        config["workspace_id"] = args.workspace_id
    if not config.get("workspace_id"):
        config.pop("workspace_id", None)
    if not config.get("api_key"):
        print("No API key: put api_key in --config FILE or set TAP_NINOX_API_KEY.", file=sys.stderr)
        return 1
    # An interactive look-up: fail fast on an unreachable server instead of
    # the connectors' patient retry policy.
    config.setdefault("max_retries", 1)
    config.setdefault("request_timeout", 30)
    public = uses_public_api(config)
    client = client_from_config(config, f"tap-ninox/{__version__}")
    try:
        if public:
            _print_workspace(open_backend(config, client))
        else:
            # The classic listing needs no team_id: it lists every team.
            backend = ClassicBackend(client)
            for team in backend.list_workspaces():
                print(f"team_id {team.id}  {team.name or ''}")
                for db in backend.list_databases(team.id):
                    print(f"  database_id {db.id}  {db.name or ''}")
                    for table in backend.list_tables(team.id, db.id):
                        print(f"    table {table.id}  {table.name}")
        sys.stdout.flush()
    except NinoxError as exc:
        print(f"tap-ninox ids: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader stopped (`| head`): it has what it wanted, as with any
        # Unix tool. Python's flush at exit would fail again: point stdout
        # at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        client.close()
    return 0


def _print_workspace(backend: Backend) -> None:
    """The Ninox 4 workspace's modules and tables (names are the ids there)."""
    for workspace in backend.list_workspaces():
        print(f"workspace_id {workspace.id}  {workspace.name or ''}")
        for module in backend.list_databases(workspace.id):
            print(f"  module {module.id}")
            for table in backend.list_tables(workspace.id, module.id):
                note = "" if table.has_history else "  (no history: read in full every run)"
                print(f"    table {table.name}{note}")


if __name__ == "__main__":
    sys.exit(main())
