"""Which backend a connector's settings select: the classic API or Ninox 4's Public API.

`team_id` selects the classic API (`ninox_core.classic`), `workspace_id`
Ninox 4's Public API (`ninox_core.public`); the settings check
(`ninox_core.cli.settings.api_problem`) has already refused both or
neither. docs/decisions/0022-public-backend.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ninox_core.backend import Backend
from ninox_core.classic.backend import ClassicBackend
from ninox_core.cli.settings import api_problem
from ninox_core.errors import NinoxConfigError
from ninox_core.public.backend import PublicBackend
from ninox_core.transport.client import NinoxClient


def uses_public_api(config: Mapping[str, Any]) -> bool:
    """True when the settings select Ninox 4's Public API (`workspace_id` set)."""
    return bool(config.get("workspace_id"))


def open_backend(config: Mapping[str, Any], client: NinoxClient) -> Backend:
    """`ClassicBackend` (`team_id`) or `PublicBackend` (`workspace_id`) over `client`."""
    problem = api_problem(config)
    if problem:
        raise NinoxConfigError(problem)
    if uses_public_api(config):
        return PublicBackend(client, str(config["workspace_id"]))
    return ClassicBackend(client)
