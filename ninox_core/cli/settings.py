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


def connection_properties(plugin_name: str, version: str) -> list[th.Property[Any]]:
    """The connection settings every Ninox connector declares."""
    return [
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Ninox API key (Ninox: Integrations > Generate API key).",
        ),
        th.Property(
            "base_url",
            th.StringType,
            default=DEFAULT_BASE_URL,
            title="Base URL",
            description=(
                "API root: public cloud `https://api.ninox.com/v1`, private cloud "
                "`https://NAME.ninoxdb.de/v1`, or your on-premise server's `/v1`."
            ),
        ),
        th.Property(
            "team_id",
            th.StringType,
            required=True,
            title="Team ID",
            description="Workspace (team) id, as `GET /teams` lists it.",
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


def client_from_config(config: Mapping[str, Any], default_user_agent: str) -> NinoxClient:
    """A `NinoxClient` built from a connector's validated config."""
    return NinoxClient(
        api_key=config["api_key"],
        base_url=config.get("base_url") or DEFAULT_BASE_URL,
        timeout=float(config.get("request_timeout") or DEFAULT_TIMEOUT),
        max_retries=int(config.get("max_retries", DEFAULT_MAX_RETRIES)),
        user_agent=config.get("user_agent") or default_user_agent,
    )
