"""Exceptions raised by the Ninox API client.

Every message names the HTTP method, the path (never the query string's
secrets, never the API key) and what the server said, so a user reading the
one-line error knows what failed and where.
"""

from __future__ import annotations


class NinoxError(Exception):
    """Base class of every error this package raises."""


class NinoxConfigError(NinoxError):
    """A setting names something Ninox does not have (a database, a table)."""


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
        return f"{super().__str__()} (check the api_key setting and that the key can see this team)"


class NinoxNotFoundError(NinoxAPIError):
    """404: the team, database, table, record or file does not exist."""


class NinoxBadRequestError(NinoxAPIError):
    """400: Ninox refused the request's content (names the record and field)."""


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
