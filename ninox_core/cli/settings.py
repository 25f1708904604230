"""Settings shared by tap-ninox and target-ninox (docs/spec.md "Settings")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from singer_sdk import typing as th

from ninox_core.transport.client import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NinoxClient,
)

#: The Public API's root when `workspace_id` selects it (docs/api.md, "The Public API").
PUBLIC_BASE_URL = "https://go.ninox.com/api/v1"


def connection_properties(plugin_name: str, version: str) -> list[th.Property[Any]]:
    """The connection settings every Ninox connector declares."""
    return [
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description=(
                "Ninox API key (Ninox 3: Integrations > Generate API key; Ninox 4: the "
                "workspace's Settings > API & integrations)."
            ),
        ),
        th.Property(
            "base_url",
            th.StringType,
            title="Base URL",
            description=(
                "API root. Classic API (team_id): public cloud `https://api.ninox.com/v1` "
                "(the default), private cloud `https://NAME.ninoxdb.de/v1`, or your "
                "on-premise server's `/v1`. Ninox 4 Public API (workspace_id): "
                f"`{PUBLIC_BASE_URL}` (the default)."
            ),
        ),
        th.Property(
            "team_id",
            th.StringType,
            title="Team ID",
            description=(
                "Classic Ninox API: the team (workspace) id, as `GET /teams` lists it. "
                "Set this or workspace_id."
            ),
        ),
        th.Property(
            "workspace_id",
            th.StringType,
            title="Workspace ID (Ninox 4)",
            description=(
                "Ninox 4 Public API: the workspace id (12 characters, the second part of "
                "the workspace's URL on go.ninox.com); selects the Public API. Set this "
                "or team_id."
            ),
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=DEFAULT_TIMEOUT,
            title="Request timeout",
            description="Seconds to wait for one answer before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=DEFAULT_MAX_RETRIES,
            title="Max retries",
            description=(
                "Retries after a 429, a 5xx, a timeout or a dropped connection, with "
                "exponential backoff that honours Retry-After."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            default=f"{plugin_name}/{version}",
            title="User agent",
            description=(
                f"User-Agent header sent with every request (default `{plugin_name}/<version>`)."
            ),
        ),
    ]


def api_problem(config: Mapping[str, Any]) -> str | None:
    """The one line refusing settings that select no API, or both; None when they select one."""
    team, workspace = config.get("team_id"), config.get("workspace_id")
    if team and workspace:
        return (
            "settings team_id and workspace_id are both set: team_id selects the classic "
            "Ninox API (Ninox 3, api.ninox.com), workspace_id a Ninox 4 workspace's Public "
            "API (go.ninox.com); keep the one your API key belongs to"
        )
    if not team and not workspace:
        return (
            "setting team_id is required (the classic Ninox API), or workspace_id for a "
            "Ninox 4 workspace's Public API"
        )
    return None


def default_base_url(config: Mapping[str, Any]) -> str:
    """`base_url` if set, else the root of the API the settings select."""
    return config.get("base_url") or (
        PUBLIC_BASE_URL if config.get("workspace_id") else DEFAULT_BASE_URL
    )


def client_from_config(config: Mapping[str, Any], default_user_agent: str) -> NinoxClient:
    """A `NinoxClient` built from a connector's validated config."""
    return NinoxClient(
        api_key=config["api_key"],
        base_url=default_base_url(config),
        timeout=float(config.get("request_timeout") or DEFAULT_TIMEOUT),
        max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
        user_agent=config.get("user_agent") or default_user_agent,
    )
