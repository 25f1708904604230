"""Exceptions raised by the Ninox API client and the value conversions.

Every message names the HTTP method, the path (never the query string's
secrets, never the API key) and what the server said, so a user reading the
one-line error knows what failed and where.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ninox_core.model.schema import NinoxField


class NinoxError(Exception):
    """Base class of every error this package raises."""


class NinoxConfigError(NinoxError):
    """A setting the run cannot use (it names something Ninox does not have, a bad key)."""


class NinoxAPIError(NinoxError):
    """The server answered a request with an error status."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        """Keep the parts so callers can branch on `status`."""
        self.status = status
        self.method = method
        self.path = path
        self.server_message = message
        super().__init__(f"Ninox API {method} {path} failed with HTTP {status}: {message}")


class NinoxAuthError(NinoxAPIError):
    """401/403: the API key is missing, wrong or lacks access."""

    def __str__(self) -> str:
        """Add what to do about it."""
        return (
            f"{super().__str__()} (check the api_key setting and that the key can see this "
            "team; a Ninox 4 workspace key needs workspace_id instead of team_id)"
        )


class NinoxWorkspaceKeyError(NinoxAuthError):
    """401/403 of Ninox 4's Public API: the message says it all (key, scope, workspace)."""

    def __str__(self) -> str:
        """The message as built where it was raised, without the classic hint."""
        return NinoxAPIError.__str__(self)


class NinoxQuotaExhausted(NinoxAPIError):
    """The plan's monthly API call quota is used up: never retried (it lasts until month end)."""


class NinoxNotFoundError(NinoxAPIError):
    """404: the team, database, table, record or file does not exist."""


class NinoxBadRequestError(NinoxAPIError):
    """400: Ninox refused the request's content (names the record and field)."""


class NinoxRedirectError(NinoxAPIError):
    """3xx: the server sends the request elsewhere; it is never followed."""


class NinoxRetryableError(NinoxAPIError):
    """429 or 5xx: the server asks to try again later."""


class NinoxConnectionError(NinoxError):
    """No answer: a timeout or a dropped connection after every retry."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        """Keep the parts for callers and the message."""
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(f"Ninox API {method} {path} got no answer: {reason}")


class NinoxWriteOutcomeUnknown(NinoxError):
    """A non-idempotent write was sent but its answer was lost.

    Ninox may or may not have applied it. The client does not resend such a
    request by itself (that could create records twice); the caller must find
    out what was applied and resend only the rest.
    """

    def __init__(self, method: str, path: str, reason: str) -> None:
        """Keep the parts for callers and the message."""
        self.method = method
        self.path = path
        self.reason = reason
        super().__init__(
            f"Ninox API {method} {path}: the answer was lost ({reason}); "
            "the write may or may not have been applied"
        )


class NinoxCursorExpired(NinoxError):
    """The change feed no longer reaches back to a bookmark (retention, history turned off).

    The reader then reads the table in full, with one warning; a writer that
    needed the feed fails with one line.
    """


class NinoxUpsertUnavailable(NinoxError):
    """The server has no usable upsert by a unique field (Public API `records/upsert`).

    Raised before anything was written: the endpoint is absent (the server
    answered its web page, or "not found"), or it refuses the match field.
    The target then matches keys itself (its key index). `reason` says why.
    """

    def __init__(self, path: str, reason: str) -> None:
        """Keep the parts for callers and the message."""
        self.path = path
        self.reason = reason
        super().__init__(f"Ninox API POST {path}: no upsert by a unique field here ({reason})")


class NinoxRecordsMissing(NinoxError):
    """A write plan named records that do not exist; every other element was applied.

    `ids`: the missing records (in plan order); `saved`: one element per
    `WriteOp` of the plan, the `Saved` result, or None for an op that was
    not applied (its record is missing). The caller names the records in
    one line.
    """

    def __init__(self, path: str, ids: list[int], saved: list[Any]) -> None:
        """Keep the ids and the per-op results."""
        self.path = path
        self.ids = ids
        self.saved = saved
        shown = ", ".join(str(i) for i in ids[:10]) + (" …" if len(ids) > 10 else "")
        super().__init__(
            f"Ninox API {path}: record(s) {shown} do not exist (deleted?); "
            f"the other {sum(s is not None for s in saved)} element(s) were written"
        )


class ValueConversionError(ValueError):
    """A value that cannot be converted for a field.

    Attributes `field_name`, `field_type`, `value` and `reason` (what the
    field expects); the message is one sentence naming all of them.
    """

    def __init__(self, field: NinoxField, value: Any, reason: str) -> None:
        self.field_name = field.name
        self.field_type = field.type
        self.value = value
        self.reason = reason
        super().__init__(
            f"field {field.name!r} ({field.type}) cannot take the value "
            f"{show_value(value)}: {reason}"
        )


def show_value(value: Any, limit: int = 80) -> str:
    """A value as it appears in a message: `repr`, cut to `limit` characters.

    Decimals (as the target's reader decodes numbers) show as written
    (`3.5`, not `Decimal('3.5')`); an int too long for `repr` shows its
    number of digits.
    """
    try:
        shown = repr(_plain(value))
    except ValueError:  # an int past Python's 4300-digit str() limit
        if isinstance(value, int):
            return f"<int of {int(math.log10(abs(value))) + 1} digits>"
        return f"<{type(value).__name__}>"
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class _Number(float):
    """A Decimal shown as its digits (`3.5`, not `Decimal('3.5')`)."""

    text: str

    def __new__(cls, text: str) -> _Number:
        number = super().__new__(cls, 0.0)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _Number(str(value))
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
