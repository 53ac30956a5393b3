"""API v4: a bearer JWT fetched from the authentication service with the token.

Cached and renewed before it expires (at its ``exp`` claim minus a margin,
or after a default lifetime), and at once when the API rejects it.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable

import requests
from requests.utils import get_environ_proxies
from tenacity import Retrying

from importer.errors import ApiUnreachable, InvalidTokenError
from importer.redaction import add_secret
from importer.retry import AttemptFailed, FinalAnswer, Msg, NotProcessed, retry_after, transport_failure

RENEW_MARGIN = 300.0            # renew this many seconds before it expires
DEFAULT_LIFETIME = 23 * 3600.0  # when the JWT carries no exp claim


class BearerToken:
    """Thread-safe holder of the current JWT."""

    def __init__(self, auth_url: str, token: str, *, session: Callable[[], requests.Session],
                 timeout: tuple[float, float], retrying: Retrying, attempts: int) -> None:
        self.auth_url = auth_url
        self._token = token
        self._session = session
        self._timeout = timeout
        self._retrying = retrying
        self._attempts = attempts
        self._jwt: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> str:
        with self._lock:
            if self._jwt is None or time.time() >= self._renew_at:
                self._fetch_locked()
            assert self._jwt is not None
            return self._jwt

    def renew(self, rejected: str | None) -> None:
        with self._lock:
            # another thread may have renewed it already after the same rejection
            if self._jwt is None or self._jwt == rejected:
                self._fetch_locked()

    def _fetch_locked(self) -> None:
        try:
            self._jwt = self._retrying(self._post)
            self._renew_at = renew_time(self._jwt, RENEW_MARGIN, DEFAULT_LIFETIME)
            return
        except FinalAnswer:
            raise  # runs inside the retry loop of the API request: must not be retried there
        except AttemptFailed as error:
            failure = ApiUnreachable(Msg.TEMPORARY.format(attempts=self._attempts, reason=error.reason))
        raise FinalAnswer(failure)

    def _post(self) -> str:
        failure: Exception | None = None
        session = self._session()
        try:
            response = session.post(self.auth_url, data={"access_token": self._token}, timeout=self._timeout,
                                    allow_redirects=False, proxies=_proxies_for(self.auth_url, session))
        except requests.RequestException as exc:
            failure = transport_failure(exc, requests.utils.urlparse(self.auth_url).hostname or "?",
                                        self._timeout[1])
        if failure is not None:
            raise failure
        if response.status_code in (429, 503) or response.status_code >= 500:
            raise NotProcessed(Msg.R_STATUS.format(status=response.status_code, detail="").strip(),
                               retry_after=retry_after(response))
        jwt = response.text.strip()
        if response.status_code != 200 or not jwt or any(c.isspace() for c in jwt):
            raise FinalAnswer(InvalidTokenError(api_version=4, status=response.status_code))
        add_secret(jwt)
        return jwt


def jwt_in(request: requests.PreparedRequest | None) -> str | None:
    """The JWT a request carried."""
    header = request.headers.get("Authorization", "") if request is not None else ""
    return header.removeprefix("Bearer ") or None


def _proxies_for(url: str, session: requests.Session) -> dict[str, str | None]:
    """The environment's proxies for ``url``; None removes a session proxy
    (set for the API address) that ``no_proxy`` excludes for this one."""
    wanted = get_environ_proxies(url)
    return {scheme: wanted.get(scheme) for scheme in set(session.proxies) | set(wanted)}


def renew_time(jwt: str, margin: float, default_lifetime: float) -> float:
    """When to fetch a new JWT: before its ``exp`` claim, or after a default lifetime."""
    now = time.time()
    claims = jwt_claims(jwt)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return now + default_lifetime
    iat = claims.get("iat") if isinstance(claims.get("iat"), (int, float)) else now
    # a short-lived token renews at 90% of its life rather than 5 minutes early
    return exp - min(margin, max(0.0, (exp - iat) * 0.1))


def jwt_claims(jwt: str) -> dict:
    parts = jwt.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
