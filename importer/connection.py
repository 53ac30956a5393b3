"""Where and how to reach Copernica: one settings object the library uses.

    from importer import Connection, ImportOptions, run_import
    summary = run_import(ImportOptions(file=..., mapping=...), Connection(token=token))

A ``Connection`` holds the API address and version, the v4 authentication
address, the token, the timeout, the retries and the rate cap. ``open_client``
makes a ``CopernicaClient`` with the same shared pacing the command line
uses. The address checks live here too, so a library caller gets the same
clear refusals as a user of the command (plain http:// only to this
computer; a URL that does not end in its version).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from importer.errors import UsageError
from importer.redaction import redact

if TYPE_CHECKING:
    import threading

    from importer.client import CopernicaClient

DEFAULT_API_URL = "https://api.copernica.com/v3"
DEFAULT_API_URL_V4 = "https://api.copernica.com/v4"
DEFAULT_AUTH_URL = "https://authenticate.copernica.com"
DEFAULT_WORKERS = 16
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 6
DEFAULT_MAX_OUTAGE = 30 * 60.0  # seconds Copernica may stay unreachable before a run stops (resumably, exit 3)
CONNECT_TIMEOUT = 10.0


class Msg:
    """The refusals of an API address."""
    BAD_URL = "the API address {url!r} is not a valid http(s) URL"
    PLAIN_HTTP = ("refusing to send the access token over plain http:// to {host}: "
                  "use https:// (plain http is only allowed to this computer, for the sandbox)")
    BAD_VERSION = "the API version must be 3 or 4, not {version!r}"
    NO_VERSION = ("the API address {url} does not end in a version: use for example "
                  "https://api.copernica.com/v{version} (a sandbox: http://127.0.0.1:PORT/v{version})")
    WRONG_VERSION = ("the API address {url} does not fit --api-version {version}: v4 is served under "
                     "/v4 (with --api-version 4), v1-v3 under /v1, /v2 or /v3")
    NO_TOKEN = "no access token given"
    BAD_NUMBER = "{name} must be {what}, not {value!r}"


def is_loopback(host: str) -> bool:
    """True for this computer (localhost, 127.0.0.0/8, ::1): the only place plain http may go."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback  # an IPv6 zone (::1%lo) is no new host
    except ValueError:
        return False


def checked_url(url: str) -> str:
    """``url`` if it is https://, or http:// to this computer (the sandbox); else UsageError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(Msg.BAD_URL.format(url=redact(url)))
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(Msg.PLAIN_HTTP.format(host=parts.hostname))
    return url


@dataclass(frozen=True)
class Connection:
    """Everything needed to talk to Copernica (or a sandbox)."""
    token: str = field(repr=False)
    api_url: str | None = None        # None: https://api.copernica.com/v3 (/v4 with api_version 4)
    api_version: int = 3              # 3: token in the query string; 4: bearer JWT
    auth_url: str | None = None       # v4 only; None: Copernica's, or /authenticate beside a local API
    timeout: float = DEFAULT_TIMEOUT  # seconds to wait for an answer
    retries: int = DEFAULT_RETRIES    # attempts per request for temporary failures
    rate: float | None = None         # at most this many requests per second (contract limits)

    def __post_init__(self) -> None:
        if not self.token:
            raise UsageError(Msg.NO_TOKEN)
        if self.api_version not in (3, 4):
            raise UsageError(Msg.BAD_VERSION.format(version=self.api_version))
        if self.timeout <= 0:
            raise UsageError(Msg.BAD_NUMBER.format(name="the timeout", what="more than 0", value=self.timeout))
        if self.retries < 1:
            raise UsageError(Msg.BAD_NUMBER.format(name="retries", what="at least 1", value=self.retries))
        if self.rate is not None and self.rate <= 0:
            raise UsageError(Msg.BAD_NUMBER.format(name="the rate", what="more than 0", value=self.rate))
        url = checked_url(self.url)
        match = re.search(r"/v([1-4])/?$", urlsplit(url).path)
        if match is None:
            raise UsageError(Msg.NO_VERSION.format(url=url, version=self.api_version))
        if (int(match.group(1)) == 4) != (self.api_version == 4):
            raise UsageError(Msg.WRONG_VERSION.format(url=url, version=self.api_version))
        if self.api_version == 4:
            checked_url(self.authentication_url or "")

    @property
    def url(self) -> str:
        """The API base URL in use."""
        if self.api_url:
            return self.api_url.rstrip("/")
        return DEFAULT_API_URL_V4 if self.api_version == 4 else DEFAULT_API_URL

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def is_local(self) -> bool:
        return is_loopback(urlsplit(self.url).hostname or "")

    @property
    def authentication_url(self) -> str | None:
        """Where a v4 JWT is fetched; None for v3."""
        if self.api_version != 4:
            return None
        if self.auth_url:
            return self.auth_url
        parts = urlsplit(self.url)
        if self.is_local:  # a sandbox serves /authenticate beside /v4 on the same host and port
            return f"{parts.scheme}://{parts.netloc}/authenticate"
        return DEFAULT_AUTH_URL

    def open_client(self, workers: int = DEFAULT_WORKERS, *,
                    stop: "threading.Event | None" = None) -> "CopernicaClient":
        """A client with shared adaptive pacing for ``workers`` requests in flight; close it after use.
        ``stop``: once it is set, a wait between retries ends with ``PacerStopped`` (no more tries)."""
        from importer.client import CopernicaClient
        from importer.pacing import Pacer, PacerStopped
        from importer.retry import RetryPolicy

        def sleep(seconds: float) -> None:
            if stop is not None and stop.wait(seconds):
                raise PacerStopped()

        return CopernicaClient(self.url, self.token, api_version=self.api_version,
                               auth_url=self.authentication_url, timeout=(CONNECT_TIMEOUT, self.timeout),
                               retry=RetryPolicy(attempts=self.retries), pacer=Pacer(workers, rate=self.rate),
                               **({"sleep": sleep} if stop is not None else {}))
