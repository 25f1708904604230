"""Write the Meltano Hub definition files of the plugins from their ``--about``.

tap-ninox, target-ninox and the DuckDB loader target-duckdb-sdk each get a
``plugins/<kind>/<name>--ninox-singer.yml`` that ``meltano add --from-ref``
takes (README, "Use it in your own Meltano project").

    uv run python -m orchestrate.hub_definitions          # rewrite plugins/*/*.yml + meltano.yml
    uv run python -m orchestrate.hub_definitions --check  # exit 1 if they differ

Every setting the connector declares becomes a Hub setting (name, kind, label,
description, default, options, ``sensitive`` for secrets), so the files cannot
drift from the code: ``tests/project/test_hub_definitions.py`` runs ``--check``.
``meltano.yml`` declares the same settings (the test compares them too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
VARIANT = "ninox-singer"

#: Where this repository is published. No public address is known yet (the
#: clone has no remote), so this is a placeholder: set it, rerun this module,
#: and the Hub files' `repo`, `docs` and `pip_url` follow. Until then the
#: README has users replace PIP_BASE by their clone (`git+file://<clone>`).
REPOSITORY = "https://github.com/OWNER/tap-ninox"
#: The pip_url of the repository's root package (tap-ninox and target-ninox).
PIP_BASE = f"git+{REPOSITORY}.git"

#: What --about does not say: Hub metadata per plugin.
PLUGINS: dict[str, dict[str, Any]] = {
    "tap-ninox": {
        "folder": "extractors",
        "namespace": "tap_ninox",
        "label": "Ninox",
        "domain_url": "https://ninox.com",
        "keywords": ["ninox", "meltano_sdk"],
        "pip_url": PIP_BASE,  # one distribution installs both commands
        "settings_group_validation": [["api_key", "team_id"], ["api_key", "workspace_id"]],
    },
    "target-ninox": {
        "folder": "loaders",
        "namespace": "target_ninox",
        "label": "Ninox",
        "domain_url": "https://ninox.com",
        "keywords": ["ninox", "meltano_sdk"],
        "pip_url": PIP_BASE,
        "settings_group_validation": [
            ["api_key", "team_id", "database_id"],
            ["api_key", "workspace_id", "module"],
        ],
    },
    "target-duckdb-sdk": {
        "folder": "loaders",
        "namespace": "target_duckdb_sdk",
        "label": "DuckDB",
        "domain_url": "https://duckdb.org",
        "keywords": ["duckdb", "meltano_sdk"],
        "pip_url": f"{PIP_BASE}#subdirectory=target-duckdb-sdk",  # its own package
        "settings_group_validation": [["path"]],
    },
}

#: JSON Schema type → Meltano setting kind (Meltano's kind for numbers is `decimal`).
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def about(executable: str) -> dict[str, Any]:
    """The connector's ``--about --format=json`` (the command beside this Python first)."""
    beside = Path(sys.executable).parent / executable
    command = str(beside) if beside.exists() else executable
    out = subprocess.run(
        [command, "--about", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One Hub setting from one JSON Schema property of the connector's settings."""
    types = [t for t in prop.get("type", ["string"]) if t != "null"]
    entry: dict[str, Any] = {
        "name": name,
        "kind": "options" if "enum" in prop else KINDS[types[0] if types else "string"],
        "label": prop.get("title") or name.replace("_", " ").capitalize(),
        "description": prop.get("description", ""),
    }
    if prop.get("secret"):
        entry["sensitive"] = True
    if "enum" in prop:
        entry["options"] = [{"label": str(v), "value": v} for v in prop["enum"]]
    if "default" in prop:
        entry["value"] = prop["default"]
    return entry


def definition(name: str) -> dict[str, Any]:
    """The Hub definition of one plugin, as a dict in the Hub's key order."""
    info = about(name)
    meta = PLUGINS[name]
    return {
        "name": name,
        "namespace": meta["namespace"],
        "variant": VARIANT,
        "label": meta["label"],
        "description": info["description"],
        "domain_url": meta["domain_url"],
        "repo": REPOSITORY,
        "docs": f"{REPOSITORY}#readme",
        "keywords": meta["keywords"],
        "pip_url": meta["pip_url"],
        "executable": name,
        "maintenance_status": "active",
        "capabilities": sorted(info["capabilities"]),
        "settings_group_validation": meta["settings_group_validation"],
        "settings": [setting(n, p) for n, p in info["settings"]["properties"].items()],
    }


def path_of(name: str) -> Path:
    """Where the plugin's Hub definition lives: ``plugins/<kind>/<name>--<variant>.yml``."""
    return REPO / "plugins" / PLUGINS[name]["folder"] / f"{name}--{VARIANT}.yml"


def render(name: str) -> str:
    """The definition file's text."""
    return yaml.safe_dump(definition(name), sort_keys=False, allow_unicode=True, width=100)


def _block(key: str, value: Any) -> list[str]:
    """``key:`` and its value as meltano.yml writes a plugin's entries (4 spaces in)."""
    dumped = yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, width=100)
    return ["    " + line for line in dumped.splitlines()]


def with_plugin_settings(meltano_yml: str, name: str) -> str:
    """meltano.yml's text with the plugin's capabilities and settings from its --about.

    Rewrites only those two blocks, so the file keeps its comments and order.
    """
    hub = definition(name)
    lines = meltano_yml.splitlines()
    start = lines.index(f"  - name: {name}")
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("    ")), len(lines)
    )
    for key in ("capabilities", "settings"):
        first = lines.index(f"    {key}:", start, end)
        last = next(
            (
                i
                for i in range(first + 1, end)
                if lines[i].startswith("    ") and not lines[i].startswith(("     ", "    -"))
            ),
            end,
        )
        new = _block(key, hub[key])
        lines[first:last] = new
        end += len(new) - (last - first)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite the files, or with ``--check`` report those that differ (exit 1)."""
    stale = []
    for name in PLUGINS:
        text, path = render(name), path_of(name)
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(REPO)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    meltano = REPO / "meltano.yml"
    current = meltano.read_text(encoding="utf-8")
    wanted = current
    for name in PLUGINS:
        wanted = with_plugin_settings(wanted, name)
    if wanted != current:
        if "--check" in argv:
            stale.append("meltano.yml")
        else:
            meltano.write_text(wanted, encoding="utf-8")
    if stale:
        print(
            f"Out of date: {', '.join(stale)}; run: uv run python -m orchestrate.hub_definitions",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
