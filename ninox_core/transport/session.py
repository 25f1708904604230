"""The `requests` session under `NinoxClient.send`.

Every request takes `requests.Session.request`. No redirect is followed:
the client turns a 3xx into one error line (docs/design.md, "Checked
answers").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests


class _Session(requests.Session):
    """A session that sends a URL's path as the client quoted it."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare as `requests` does, then put back the path of `request.url` if it held `%2E`.

        `requests` re-quotes every URL and decodes `%2E` back to `.` on the
        way: a file or id named `.` or `..` (`client.segment`) would become a
        dot segment that servers and proxies resolve away.
        """
        prepared = super().prepare_request(request)
        wanted = urlsplit(str(request.url)).path
        if "%2e" in wanted.lower() and prepared.url:
            prepared.url = urlunsplit(urlsplit(prepared.url)._replace(path=wanted))
        return prepared


def new_session(base_url: str) -> requests.Session:
    """A session with the environment's proxy and CA settings resolved once.

    With `trust_env` on, `requests` re-reads the proxy variables (and
    NO_PROXY) from the environment on every request: a visible share of a
    target's CPU when it posts small batches. They are read here, once, for
    the one host this client talks to; HTTP(S)_PROXY, ALL_PROXY, NO_PROXY
    and REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE set at start still apply.
    """
    session = _Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    data: Any,
    headers: Mapping[str, str] | None,
    files: Mapping[str, Any] | None,
    stream: bool,
    timeout: tuple[float, float],
) -> requests.Response:
    """Send one request through `session`; the answer's body is read unless `stream`."""
    return session.request(
        method,
        url,
        params=params,
        data=data,
        headers=headers,
        files=files,
        stream=stream,
        timeout=timeout,
        allow_redirects=False,
    )


def segment(value: object) -> str:
    """Quote one path segment (ids, file names) for a URL.

    `.` and `..` are encoded too (`%2E`): as they are, servers and proxies
    read them as "this" and "parent" directory, so a file named `..` would
    name its record (docs/api.md §7).
    """
    text = str(value)
    if text in (".", ".."):
        return text.replace(".", "%2E")
    return quote(text, safe="")
