"""Copernica REST calls: authentication, error classes, retries, pacing.

What this module promises the runner:

- A POST that may have been stored (read timeout or connection dropped after
  sending, 5xx from behind the load balancer) is never sent a second time:
  it raises ``AmbiguousFailure`` and the runner decides (look the key up).
  Only failures that prove the server did not take the request (429, 503,
  connection refused, connect timeout) are retried for a POST.
- Idempotent calls (GET, PUT, DELETE) are retried on those failures too.
- The access token (and the v4 JWT) never appears in an exception, a log
  line or a repr: messages are built here from scratch, the exceptions of
  ``requests`` (whose text holds the URL with its query string) are never
  chained, and urllib3's debug log lines are scrubbed.
"""
from __future__ import annotations

import base64
import email.utils
import ipaddress
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from importer.errors import ApiError, InvalidTokenError, UsageError
from importer.pacing import Pacer
from importer.schema import FIELD_TYPES, DatabaseSchema, FieldDef, InterestDef

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.copernica.com/v3"
DEFAULT_API_URL_V4 = "https://api.copernica.com/v4"
DEFAULT_AUTH_URL = "https://authenticate.copernica.com"
REDACTED = "***"
# Copernica's own error texts (recognised by their exact wording)
COPERNICA_INVALID_TOKEN = "Invalid access token"
COPERNICA_NO_DATABASE = "No database with supplied ID"
COPERNICA_ALREADY_REMOVED = "Profile has already been removed"


class Msg:
    """Every text this module shows a user, in one place."""
    REFUSED = "Copernica refused the request: {detail}"
    REFUSED_PROFILE = "Copernica refused the profile: {detail}"
    NO_PROFILE_ID = "Copernica answered {status} but sent no profile ID (X-Created header missing or not a number)"
    UNEXPECTED_REDIRECT = "Copernica answered with an unexpected redirect (HTTP {status})"
    UNEXPECTED_ANSWER = "Copernica sent an answer that is not valid JSON (HTTP {status})"
    INVALID_TOKEN = ("Copernica does not accept the access token (\"Invalid access token\"). "
                     "Check COPERNICA_ACCESS_TOKEN or --token-file; nothing more will be sent.")
    INVALID_TOKEN_V4 = ("Copernica's authentication service does not accept the access token "
                        "(HTTP {status}). Check COPERNICA_ACCESS_TOKEN or --token-file, and --api-version.")
    NO_DATABASE = "Copernica has no database with ID {database_id} for this access token"
    TEMPORARY = "Copernica could not be reached after {attempts} attempt(s): {reason}"
    SCHEMA_FAILED = "could not read the structure of database {database_id} at {host}: {error}"
    AMBIGUOUS = ("the request was sent but its answer was lost ({reason}); "
                 "the profile may or may not have been created")
    AMBIGUOUS_IDEMPOTENT = "Copernica did not answer properly after {attempts} attempt(s): {reason}"
    TLS = ("the secure connection to {host} could not be verified ({reason}); "
           "nothing was sent. Check the API address and the system's certificates.")
    PLAIN_HTTP = ("refusing to send the access token over plain http:// to {host}: "
                  "use https:// (plain http is only allowed to this computer, for the sandbox)")
    BAD_URL = "the API address {url!r} is not a valid http(s) URL"
    BAD_VERSION = "API version must be 3 or 4, not {version!r}"
    # reasons, used inside the messages above
    R_REFUSED = "connection refused"
    R_CONNECT_TIMEOUT = "connecting timed out"
    R_NO_HOST = "the host name could not be found"
    R_READ_TIMEOUT = "no answer within {seconds:g} seconds"
    R_DROPPED = "the connection was closed before the answer arrived"
    R_BROKEN_ANSWER = "the answer was cut off"
    R_STATUS = "HTTP {status} {detail}"


# ---------------------------------------------------------------------------
# Public results and errors
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a request is tried."""
    attempts: int = 6          # total tries, the first included
    backoff: float = 0.5       # exponential backoff multiplier, seconds
    max_wait: float = 60.0     # longest wait between tries (a longer Retry-After is cut to this)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")


@dataclass(frozen=True, slots=True)
class CreateResult:
    profile_id: int
    attempts: int


class RequestFailed(Exception):
    """A request for one row did not succeed; ``str()`` is for a marketer."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message


class RequestRefused(RequestFailed):
    """Copernica answered with an error (usually 400); retrying will not help.

    ``api_message`` is Copernica's own text, when it sent one.
    """

    def __init__(self, message: str, attempts: int = 1, *, status: int | None = None,
                 api_message: str = "") -> None:
        super().__init__(message, attempts)
        self.status = status
        self.api_message = api_message


class DatabaseNotFound(RequestRefused, ApiError):
    """'No database with supplied ID': stops the run (every row would fail)."""


class TemporaryFailure(RequestFailed):
    """Retries ran out; the request was certainly not processed."""


class AmbiguousFailure(RequestFailed):
    """The request may have been processed: its answer was lost or unclear."""


# ---------------------------------------------------------------------------
# Secret scrubbing
# ---------------------------------------------------------------------------
class _SecretRegistry:
    """The secrets to scrub from every text this process writes about HTTP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if not secret:
            return
        forms = {secret, quote_plus(secret), quote(secret, safe="")}
        with self._lock:
            self._secrets |= {f for f in forms if len(f) >= 4}

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        # belt and braces: whatever follows access_token= is never shown
        return re.sub(r"(access_token=)[^&\s'\"]+", r"\1" + REDACTED, text)


_SECRETS = _SecretRegistry()
redact = _SECRETS.redact


class _RedactingFilter(logging.Filter):
    """Scrubs secrets from log records of libraries that log full URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_LIBRARY_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.connection",
                    "urllib3.util.retry", "urllib3.poolmanager", "requests")
_filter_installed = False
_filter_lock = threading.Lock()


def _install_log_filter() -> None:
    # A filter on a logger only sees records made by that very logger, so it
    # goes on each library logger that may write a URL.
    global _filter_installed
    with _filter_lock:
        if _filter_installed:
            return
        for name in _LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(_RedactingFilter())
        _filter_installed = True


# ---------------------------------------------------------------------------
# Internal attempt outcomes (never leave this module)
# ---------------------------------------------------------------------------
class _AttemptError(Exception):
    """One attempt failed; ``reason`` is already free of secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _NotProcessed(_AttemptError):
    """The server certainly did not process the request: safe to retry."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _MaybeProcessed(_AttemptError):
    """The request may have been processed: retry only if idempotent."""


class _Final(Exception):
    """Wraps an error that must not be retried (refusals, token, TLS)."""

    def __init__(self, error: Exception) -> None:
        super().__init__("final")
        self.error = error


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    idempotent: bool = True
    ok_statuses: frozenset[int] = frozenset({200, 201, 204})
    refused_message: str = Msg.REFUSED
    database_id: int | None = None   # named in "no such database" errors


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------
class CopernicaClient:
    """Thread-safe client of the Copernica REST API (v3 or v4)."""

    PAGE_SIZE = 1000               # Copernica's largest page
    TOKEN_RENEW_MARGIN = 300.0     # renew a v4 JWT this many seconds before it expires
    TOKEN_DEFAULT_LIFETIME = 23 * 3600.0

    def __init__(self, api_url: str, token: str, *, api_version: int = 3,
                 auth_url: str | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy = RetryPolicy(), pacer: Pacer | None = None,
                 pool_size: int = 4, page_size: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if api_version not in (3, 4):
            raise UsageError(Msg.BAD_VERSION.format(version=api_version))
        _SECRETS.add(token)
        _install_log_filter()
        self.api_url = _checked_url(api_url).rstrip("/")
        self.api_version = api_version
        self.auth_url = _checked_url(auth_url or DEFAULT_AUTH_URL) if api_version == 4 else None
        self.timeout = timeout
        self.retry = retry
        self.pacer = pacer
        self.page_size = page_size or self.PAGE_SIZE
        self._token = token
        self._pool_size = pool_size
        self._sleep = sleep
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._jwt: str | None = None
        self._jwt_renew_at = 0.0
        self._jwt_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CopernicaClient(api_url={self.api_url!r}, api_version={self.api_version})"

    # -- profiles ----------------------------------------------------------
    def create_profile(self, database_id: int, fields: dict[str, Any],
                       interests: dict[str, int] | None = None) -> CreateResult:
        """POST one profile; the new ID comes from the X-Created header."""
        body: dict[str, Any] = {"fields": fields}
        if interests:
            body["interests"] = interests
        call = _Call("POST", f"database/{int(database_id)}/profiles", body=body, idempotent=False,
                     refused_message=Msg.REFUSED_PROFILE, database_id=int(database_id))
        response, attempts = self._request(call)
        return CreateResult(_created_id(response, attempts), attempts)

    def find_profiles(self, database_id: int, match: dict[str, str]) -> list[dict]:
        """Every profile whose fields equal all of ``match`` (all pages)."""
        conditions = tuple(("fields[]", f"{name}=={value}") for name, value in match.items())
        return self._list_all(f"database/{int(database_id)}/profiles",
                              conditions + (("dataonly", "true"),), database_id=database_id)

    def update_profile(self, profile_id: int, fields: dict[str, Any],
                       interests: dict[str, int] | None = None,
                       replace_interests: bool = False) -> int:
        """Update fields, then add/switch (or replace) interests; returns attempts."""
        attempts = 0
        pid = int(profile_id)
        ok = frozenset({200, 201, 204, 303})  # 303 See Other is the live API's success
        if fields:
            _, n = self._request(_Call("PUT", f"profile/{pid}/fields", body=fields,
                                       ok_statuses=ok, refused_message=Msg.REFUSED_PROFILE))
            attempts += n
        if interests is not None and (interests or replace_interests):
            # POST adds or switches the named interests and leaves the others
            # alone; sending the same set twice gives the same result.
            method = "PUT" if replace_interests else "POST"
            _, n = self._request(_Call(method, f"profile/{pid}/interests", body=interests,
                                       ok_statuses=ok, refused_message=Msg.REFUSED_PROFILE))
            attempts += n
        return attempts

    def delete_profile(self, profile_id: int) -> None:
        refused: RequestRefused | None = None
        try:
            self._request(_Call("DELETE", f"profile/{int(profile_id)}"))
        except RequestRefused as error:
            refused = error
        # A retry after a lost answer finds the profile already removed: that
        # is the first attempt's success, not an error.
        if refused is not None and not (refused.attempts > 1 and
                                        refused.api_message == COPERNICA_ALREADY_REMOVED):
            raise refused

    # -- database structure ------------------------------------------------
    def database(self, database_id: int) -> dict:
        response, _ = self._request(_Call("GET", f"database/{int(database_id)}",
                                          database_id=int(database_id)))
        return _json(response)

    def fields(self, database_id: int) -> list[dict]:
        return self._list_all(f"database/{int(database_id)}/fields", (), database_id=database_id)

    def interests(self, database_id: int) -> list[dict]:
        return self._list_all(f"database/{int(database_id)}/interests", (), database_id=database_id)

    def fetch_schema(self, database_id: int) -> DatabaseSchema:
        try:
            info = self.database(database_id)
        except DatabaseNotFound:
            raise
        except RequestFailed as exc:  # before any row is sent: a clear stop, not a traceback
            raise ApiError(Msg.SCHEMA_FAILED.format(database_id=database_id, host=urlsplit(self.api_url).netloc,
                                                    error=exc)) from None
        return DatabaseSchema(
            id=int(database_id), name=str(info.get("name", "")),
            # as dicts: DatabaseSchema's validators expect dicts (or bare names)
            fields=[_field_def(f).model_dump() for f in self.fields(database_id)],
            interests=[_interest_def(i).model_dump() for i in self.interests(database_id)],
        )

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> "CopernicaClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paging ------------------------------------------------------------
    def _list_all(self, path: str, params: tuple[tuple[str, str], ...], *,
                  database_id: int | None = None) -> list[dict]:
        items: list[dict] = []
        start = 0
        while True:
            page_params = params + (("start", str(start)), ("limit", str(self.page_size)),
                                    ("total", "false"))
            response, _ = self._request(_Call("GET", path, params=page_params, database_id=database_id))
            page = _json(response)
            data = page.get("data") or [] if isinstance(page, dict) else []
            items.extend(data)
            # the server may cap the page size below what was asked
            limit = int(page.get("limit") or self.page_size) if isinstance(page, dict) else self.page_size
            if len(data) < limit or not data:
                return items
            start += len(data)

    # -- one logical request, with retries ----------------------------------
    def _request(self, call: _Call) -> tuple[requests.Response, int]:
        """Send ``call`` with retries; returns the response and the attempts used.

        Public errors are raised outside any ``except`` block so that they
        carry no ``__context__`` holding a requests exception (and its URL).
        """
        attempts = 0

        def attempt() -> requests.Response:
            nonlocal attempts
            attempts += 1
            return self._attempt(call)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: _retryable(e, call.idempotent)),
            sleep=self._sleep,
            reraise=True,
        )
        failure: Exception
        try:
            return retrying(attempt), attempts
        except _Final as final:
            failure = final.error
        except _AttemptError as error:
            failure = error
        raise _public_error(failure, call, attempts)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.retry.max_wait)
        backoff = wait_random_exponential(multiplier=self.retry.backoff, max=self.retry.max_wait)
        return backoff(state)

    def _attempt(self, call: _Call) -> requests.Response:
        """One try (plus one re-send after renewing a rejected v4 JWT)."""
        response = self._send_paced(call)
        if self.api_version == 4 and _jwt_rejected(response):
            # A rejected JWT means the request was not processed: renew and re-send.
            self._renew_jwt(rejected=self._jwt_in(response.request))
            response = self._send_paced(call)
        return self._check(response, call)

    def _send_paced(self, call: _Call) -> requests.Response:
        pacer = self.pacer
        if pacer is None:
            return self._send(call)[0]
        with pacer.slot() as ticket:
            try:
                response, latency = self._send(call)
            except _AttemptError:
                pacer.record_failure()
                raise
        status = response.status_code
        if status in (429, 503, 504):
            pacer.record_overload(_retry_after(response), sent_at=ticket.started)
        elif status >= 500:
            pacer.record_failure()
        else:
            pacer.record_success(latency)
        return response

    def _send(self, call: _Call) -> tuple[requests.Response, float]:
        """One HTTP exchange; transport errors become secret-free attempt errors."""
        params = list(call.params)
        headers = {"Accept": "application/json"}
        if self.api_version == 3:
            params.append(("access_token", self._token))
        else:
            headers["Authorization"] = f"Bearer {self._current_jwt()}"
        url = f"{self.api_url}/{call.path}"
        started = time.monotonic()
        failure: Exception | None = None
        try:
            response = self._exchange(call.method, url, params, headers, call.body)
        except requests.RequestException as exc:
            failure = self._transport_error(exc, url)
        if failure is not None:
            log.debug("%s /%s failed: %s", call.method, call.path, getattr(failure, "reason", "TLS"))
            raise failure
        latency = time.monotonic() - started
        log.debug("%s /%s -> %s in %.0f ms", call.method, call.path, response.status_code, latency * 1000)
        return response, latency

    def _exchange(self, method: str, url: str, params: list[tuple[str, str]], headers: dict[str, str],
                  body: Any) -> requests.Response:
        """What ``session.request`` does, minus its per-request merging of
        session settings: the session has no per-request state to merge (no
        auth, no params, environment read once in ``_session``), and the
        merging (isinstance checks against typing Protocols) cost ~100 us of
        CPU per request. Same bytes on the wire: the query is encoded as
        requests encodes ``params`` (urlencode) and then requoted by prepare()."""
        session = self._session()
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=f"{url}?{urlencode(params)}" if params else url,
                         headers={**session.headers, **headers}, json=body, cookies=session.cookies)
        return session.send(prepared, timeout=self.timeout, allow_redirects=False)

    def _transport_error(self, exc: requests.RequestException, url: str) -> Exception:
        host = urlsplit(url).hostname or "?"
        log.debug("transport error talking to %s: %s: %s", host, type(exc).__name__, redact(str(exc)))
        if isinstance(exc, requests.exceptions.SSLError):
            return _Final(ApiError(Msg.TLS.format(host=host, reason=_ssl_reason(exc))))
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return _NotProcessed(Msg.R_CONNECT_TIMEOUT)
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return _MaybeProcessed(Msg.R_READ_TIMEOUT.format(seconds=self.timeout[1]))
        if isinstance(exc, requests.exceptions.ConnectionError):
            cause = _root_cause(exc)
            if isinstance(cause, urllib3.exceptions.NameResolutionError):
                return _NotProcessed(Msg.R_NO_HOST)
            if isinstance(cause, urllib3.exceptions.NewConnectionError):
                return _NotProcessed(Msg.R_REFUSED)
            if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
                return _NotProcessed(Msg.R_CONNECT_TIMEOUT)
            return _MaybeProcessed(Msg.R_DROPPED)
        if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                            requests.exceptions.ContentDecodingError)):
            return _MaybeProcessed(Msg.R_BROKEN_ANSWER)
        return _MaybeProcessed(type(exc).__name__)

    def _check(self, response: requests.Response, call: _Call) -> requests.Response:
        """Turn an HTTP answer into success or the right attempt error."""
        status = response.status_code
        if status in call.ok_statuses:
            return response
        detail = _error_detail(response)
        if status in (429, 503):
            raise _NotProcessed(Msg.R_STATUS.format(status=status, detail=detail).strip(),
                                retry_after=_retry_after(response))
        if status >= 500:
            raise _MaybeProcessed(Msg.R_STATUS.format(status=status, detail=detail).strip())
        if status == 401 or (status == 400 and detail == COPERNICA_INVALID_TOKEN):
            raise _Final(InvalidTokenError(Msg.INVALID_TOKEN))
        if status == 400 and detail == COPERNICA_NO_DATABASE:
            message = Msg.NO_DATABASE.format(database_id=call.database_id if call.database_id is not None else "?")
            raise _Final(DatabaseNotFound(message, status=status, api_message=detail))
        if 300 <= status < 400:
            raise _Final(RequestRefused(Msg.UNEXPECTED_REDIRECT.format(status=status), status=status))
        text = detail or f"HTTP {status}"
        raise _Final(RequestRefused(call.refused_message.format(detail=text), status=status,
                                    api_message=detail))

    # -- sessions ----------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # requests re-reads the environment (proxies, CA bundle, .netrc) on
            # every request when trust_env is on: about a tenth of a row's CPU.
            # It is read once here instead; .netrc is ignored on purpose (its
            # credentials must not replace the token or the v4 bearer header).
            session.trust_env = False
            session.proxies.update(get_environ_proxies(self.api_url))
            # never switched off: the token travels with every request
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    # -- v4 bearer token ---------------------------------------------------
    def _current_jwt(self) -> str:
        with self._jwt_lock:
            if self._jwt is None or time.time() >= self._jwt_renew_at:
                self._fetch_jwt_locked()
            assert self._jwt is not None
            return self._jwt

    def _renew_jwt(self, rejected: str | None) -> None:
        with self._jwt_lock:
            # another thread may have renewed it already after the same rejection
            if self._jwt is None or self._jwt == rejected:
                self._fetch_jwt_locked()

    def _fetch_jwt_locked(self) -> None:
        assert self.auth_url is not None
        retrying = Retrying(stop=stop_after_attempt(self.retry.attempts), wait=self._wait,
                            retry=retry_if_exception(lambda e: isinstance(e, _AttemptError)),
                            sleep=self._sleep, reraise=True)
        failure: Exception
        try:
            self._jwt = retrying(self._post_auth)
            self._jwt_renew_at = _renew_time(self._jwt, self.TOKEN_RENEW_MARGIN,
                                             self.TOKEN_DEFAULT_LIFETIME)
            return
        except _Final as final:
            failure = final.error
        except _AttemptError as error:
            failure = ApiError(Msg.TEMPORARY.format(attempts=self.retry.attempts, reason=error.reason))
        # wrapped: this runs inside the retry loop of the API request
        raise _Final(failure)

    def _post_auth(self) -> str:
        assert self.auth_url is not None
        failure: Exception | None = None
        try:
            session = self._session()
            response = session.post(self.auth_url, data={"access_token": self._token},
                                    timeout=self.timeout, allow_redirects=False,
                                    proxies=_proxies_for(self.auth_url, session))
        except requests.RequestException as exc:
            failure = self._transport_error(exc, self.auth_url)
        if failure is not None:
            raise failure
        if response.status_code in (429, 503) or response.status_code >= 500:
            raise _NotProcessed(Msg.R_STATUS.format(status=response.status_code, detail=""),
                                retry_after=_retry_after(response))
        jwt = response.text.strip()
        if response.status_code != 200 or not jwt or any(c.isspace() for c in jwt):
            raise _Final(InvalidTokenError(Msg.INVALID_TOKEN_V4.format(status=response.status_code)))
        _SECRETS.add(jwt)
        return jwt

    @staticmethod
    def _jwt_in(request: requests.PreparedRequest | None) -> str | None:
        header = (request.headers.get("Authorization", "") if request is not None else "")
        return header.removeprefix("Bearer ") or None


# ---------------------------------------------------------------------------
# Helpers (pure)
# ---------------------------------------------------------------------------
def _checked_url(url: str) -> str:
    """Accept https://, or http:// to this computer only (the sandbox)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(Msg.BAD_URL.format(url=redact(url)))
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(Msg.PLAIN_HTTP.format(host=parts.hostname))
    return url


def _proxies_for(url: str, session: requests.Session) -> dict[str, str | None]:
    """The environment's proxies for ``url``; None removes a session proxy
    (set for the API address) that ``no_proxy`` excludes for this one."""
    wanted = get_environ_proxies(url)
    return {scheme: wanted.get(scheme) for scheme in set(session.proxies) | set(wanted)}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retryable(error: BaseException, idempotent: bool) -> bool:
    if isinstance(error, _NotProcessed):
        return True
    return idempotent and isinstance(error, _MaybeProcessed)


def _public_error(failure: Exception, call: _Call, attempts: int) -> Exception:
    if isinstance(failure, RequestFailed):
        failure.attempts = attempts
        return failure
    if isinstance(failure, _NotProcessed):
        return TemporaryFailure(Msg.TEMPORARY.format(attempts=attempts, reason=failure.reason), attempts)
    if isinstance(failure, _MaybeProcessed):
        if call.idempotent:
            return AmbiguousFailure(Msg.AMBIGUOUS_IDEMPOTENT.format(attempts=attempts, reason=failure.reason),
                                    attempts)
        return AmbiguousFailure(Msg.AMBIGUOUS.format(reason=failure.reason), attempts)
    return failure  # ApiError / InvalidTokenError: stops the run


def _root_cause(exc: BaseException) -> BaseException | None:
    """The urllib3 error inside a requests ConnectionError."""
    reason: Any = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return reason if isinstance(reason, BaseException) else None


def _ssl_reason(exc: BaseException) -> str:
    text = redact(str(_root_cause(exc) or exc))
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "certificate verify failed"
    return "TLS handshake failed"


def _created_id(response: requests.Response, attempts: int) -> int:
    value = response.headers.get("X-Created", "").strip()  # requests' headers are case-insensitive
    if value.isdigit() and int(value) > 0:
        return int(value)
    # the profile was probably stored, so this is ambiguous, not a refusal:
    # the runner looks the key up instead of sending it again
    raise AmbiguousFailure(Msg.NO_PROFILE_ID.format(status=response.status_code), attempts)


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_detail(response: requests.Response) -> str:
    """Copernica's error message, or a short hint from an HTML page."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return redact(str(error["message"]))
        if isinstance(error, str):
            return redact(error)
    title = re.search(r"<title>(.*?)</title>", response.text or "", re.I | re.S)
    if title:
        return redact(title.group(1).strip())[:200]
    return redact(response.reason or "")[:200]


def _jwt_rejected(response: requests.Response) -> bool:
    return response.status_code == 401 or (
        response.status_code == 400 and _error_detail(response) == COPERNICA_INVALID_TOKEN)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiError(Msg.UNEXPECTED_ANSWER.format(status=response.status_code)) from None


def _renew_time(jwt: str, margin: float, default_lifetime: float) -> float:
    """When to fetch a new JWT: before its ``exp`` claim, or after a default lifetime."""
    now = time.time()
    claims = _jwt_claims(jwt)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)):
        return now + default_lifetime
    iat = claims.get("iat") if isinstance(claims.get("iat"), (int, float)) else now
    # a short-lived token renews at 90% of its life rather than 5 minutes early
    return exp - min(margin, max(0.0, (exp - iat) * 0.1))


def _jwt_claims(jwt: str) -> dict:
    parts = jwt.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def _field_def(raw: dict) -> FieldDef:
    field_type = str(raw.get("type", "text"))
    if field_type not in FIELD_TYPES:
        # A type this tool does not know: checked as text; say so in the log.
        log.warning("field %r has type %r, which the importer checks as text", raw.get("name"), field_type)
        field_type = "text"
    length = raw.get("length")
    return FieldDef(name=str(raw.get("name", "")), type=field_type, id=_int_or_none(raw.get("ID")),
                    value="" if raw.get("value") is None else str(raw.get("value")),
                    length=int(length) if str(length or "").isdigit() and int(length) > 0 else None)


def _interest_def(raw: dict) -> InterestDef:
    return InterestDef(name=str(raw.get("name", "")), group=str(raw.get("group") or ""),
                       id=_int_or_none(raw.get("ID")))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = [
    "CopernicaClient", "RetryPolicy", "CreateResult", "RequestFailed", "RequestRefused",
    "DatabaseNotFound", "TemporaryFailure", "AmbiguousFailure", "InvalidTokenError",
    "DEFAULT_API_URL", "DEFAULT_API_URL_V4", "DEFAULT_AUTH_URL", "Msg", "redact",
]
