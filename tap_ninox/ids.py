"""List the teams, databases and tables an API key can see, with their ids.

    python -m tap_ninox.ids --config config.json   # api_key (and base_url) from the file
    python -m tap_ninox.ids                        # or from TAP_NINOX_API_KEY / _BASE_URL

Prints what ``team_id``, ``database_ids``/``database_id`` and ``tables`` take,
so a newcomer needs no curl (see docs/api.md for the endpoints it reads).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ninox_core import __version__
from ninox_core.errors import NinoxError
from ninox_core.settings import client_from_config


def read_config(path: str | None) -> dict[str, Any]:
    """The config file's settings, or the TAP_NINOX_* environment without one."""
    if path:
        with Path(path).open(encoding="utf-8") as f:
            config: dict[str, Any] = json.load(f)
        return config
    return {
        "api_key": os.environ.get("TAP_NINOX_API_KEY", ""),
        "base_url": os.environ.get("TAP_NINOX_BASE_URL"),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the tree of teams → databases → tables; one clear line on failure."""
    parser = argparse.ArgumentParser(prog="python -m tap_ninox.ids", description=__doc__)
    parser.add_argument("--config", help="JSON file with api_key and optionally base_url")
    args = parser.parse_args(argv)
    try:
        config = read_config(args.config)
    except (OSError, ValueError) as exc:
        print(f"Cannot read config file {args.config}: {exc}", file=sys.stderr)
        return 1
    if not config.get("api_key"):
        print("No API key: put api_key in --config FILE or set TAP_NINOX_API_KEY.", file=sys.stderr)
        return 1
    # An interactive look-up: fail fast on an unreachable server instead of
    # the connectors' patient retry policy.
    config.setdefault("max_retries", 1)
    config.setdefault("request_timeout", 30)
    client = client_from_config(config, f"tap-ninox/{__version__}")
    try:
        for team in client.list_teams():
            print(f"team_id {team['id']}  {team.get('name', '')}")
            for db in client.list_databases(team["id"]):
                print(f"  database_id {db['id']}  {db.get('name', '')}")
                for table in client.list_tables(team["id"], db["id"]):
                    print(f"    table {table.id}  {table.name}")
    except NinoxError as exc:
        print(f"tap-ninox ids: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
