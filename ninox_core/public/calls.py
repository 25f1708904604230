"""The Public API's paths and requests, over the shared transport (docs/api.md).

`PublicCalls` knows where things are (`/workspace/{id}/modules/{m}/tables/
{t}/…`, everything by name), sends each request through
`NinoxClient.request` with its check (`ninox_core.public.checks`), and
turns what this API answers into one clear line:

- 401 (the gateway's plain `Workspace orchestrator error`, for a missing,
  wrong or expired key alike) → the key was refused for this workspace;
- 403 `Insufficient API key scope` → which scope the call needs;
- a web page where JSON belongs → a wrong base_url or workspace_id, or an
  endpoint this server does not have (`EndpointMissing` for the caller to
  judge);
- the plan's monthly quota (429 without `Retry-After`, or 403) is raised
  by the transport as `NinoxQuotaExhausted`, never retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ninox_core.errors import (
    NinoxAPIError,
    NinoxAuthError,
    NinoxQuotaExhausted,
    NinoxWorkspaceKeyError,
)
from ninox_core.public import checks
from ninox_core.transport.answers import Check, SurrogateReport
from ninox_core.transport.client import NinoxClient
from ninox_core.transport.redaction import redact_url
from ninox_core.transport.session import segment

#: The scopes of a Public API key, as the key screen names them.
READ_RECORDS = "Read records"
READ_STRUCTURE = "Read app structure"
WRITE_RECORDS = "records:write"


class EndpointMissing(NinoxAPIError):
    """The server answered a call with its web page: the endpoint is not there.

    Nothing was applied. Raised as one line by default; the upsert and the
    change feed, which a deployment may lack, catch it.
    """


class PublicCalls:
    """The requests of one workspace, through one client (its lock, retries, deadline)."""

    def __init__(self, client: NinoxClient, workspace_id: str) -> None:
        """Speak to workspace `workspace_id` through `client`."""
        self.client = client
        self.workspace_id = workspace_id
        self.root = f"/workspace/{segment(workspace_id)}"

    def table_path(self, module: str, table: str) -> str:
        """`/workspace/{id}/modules/{m}/tables/{t}`, each name quoted."""
        return f"{self.root}/modules/{segment(module)}/tables/{segment(table)}"

    def call(
        self,
        method: str,
        path: str,
        check: Check,
        *,
        scope: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        on_replaced: SurrogateReport | None = None,
    ) -> Any:
        """One checked request; this API's refusals become one clear line each."""
        try:
            return self.client.request(
                method,
                path,
                params=params,
                json=json,
                idempotent=idempotent,
                check=check,
                on_replaced=on_replaced,
                text_answers=True,
            )
        except checks.WebPage as page:
            raise EndpointMissing(
                200,
                method,
                path,
                f"the server answered with a web page ({page}), not the Public API: check "
                f"base_url ({redact_url(self.client.base_url)}; Ninox 4: "
                f"https://go.ninox.com/api/v1) and workspace_id ({self.workspace_id})",
            ) from None
        except NinoxQuotaExhausted:
            raise
        except NinoxAuthError as refused:
            raise self._refused(refused, scope) from None

    def _refused(self, error: NinoxAuthError, scope: str) -> NinoxAPIError:
        said = error.server_message
        if error.status == 401:
            what = (
                f"the Ninox 4 Public API refused the API key for workspace "
                f"{self.workspace_id} ({said}: the key is wrong, expired, or its creator is "
                "no longer an Admin of the workspace); a classic Ninox 3 key works with "
                "team_id instead of workspace_id"
            )
        elif "scope" in said.lower():
            what = (
                f"the API key of workspace {self.workspace_id} lacks the scope this call "
                f'needs ({said}): give the key the scope "{scope}" (Settings → API & '
                "integrations) or use a key that has it"
            )
        else:
            what = (
                f"{said} (the API key of workspace {self.workspace_id} may not reach this "
                "module or table: check the key's scope and the table's roles)"
            )
        return NinoxWorkspaceKeyError(error.status, error.method, error.path, what)
