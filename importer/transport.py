"""One logical request to the Copernica API: retries, pacing, the v4 JWT, bounded answers, sessions.

``ApiTransport.request(Call(...))`` sends a call until it gets an answer or
a final error, and reads the answer (``read_json_object``, ``read_page``,
``read_total``). What it promises ``importer.client`` (whose
``CopernicaClient`` is an ``ApiTransport`` with Copernica's calls):

- A POST that may have been stored (read timeout or connection dropped after
  sending, 5xx from behind the load balancer) is never sent a second time:
  it raises ``AnswerLost`` (``retry``). Only failures that prove the server
  did not take the request (429, 503, connection refused, connect timeout)
  are retried for a POST; idempotent calls (GET, PUT, DELETE) are retried on
  those failures too.
- A rejected v4 JWT is renewed and the request sent once more (``bearer``).
- An answer larger than ``MAX_ANSWER_BYTES`` is refused: memory stays flat.
- The access token (and the v4 JWT) never appears in an exception, a log
  line or a repr (``redaction``).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from importer.bearer import BearerToken, jwt_in
from importer.connection import DEFAULT_AUTH_URL, checked_url
from importer.errors import DatabaseNotFound, InvalidTokenError, RequestRefused, UsageError
from importer.pacing import Pacer
from importer.redaction import add_secret
from importer.retry import (
    AttemptFailed,
    FinalAnswer,
    MaybeProcessed,
    RetryPolicy,
    error_detail,
    public_error,
    retry_after,
    status_failure,
    transport_failure,
)

log = logging.getLogger("importer.client")  # the name its lines always had

# Copernica's own error texts (recognised by their exact wording)
COPERNICA_INVALID_TOKEN = "Invalid access token"
COPERNICA_NO_DATABASE = "No database with supplied ID"


class Msg:
    """What a request can end in (the calls' own sentences: ``importer.client``)."""
    REFUSED = "Copernica refused the request: {detail}"
    UNEXPECTED_REDIRECT = "Copernica answered with an unexpected redirect (HTTP {status})"
    BAD_VERSION = "API version must be 3 or 4, not {version!r}"
    R_NOT_JSON = "the answer was not valid JSON (HTTP {status})"
    R_NOT_A_LIST = "the answer was not a list of {what} (HTTP {status})"
    R_TOO_LARGE = "the answer was larger than {mb} MB"
    R_UNEXPECTED = "the answer was not what Copernica sends (HTTP {status})"


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    idempotent: bool = True
    ok_statuses: frozenset[int] = frozenset({200, 201, 204})
    refused_message: str = Msg.REFUSED
    database_id: int | None = None   # named in "no such database" errors


UPDATED = frozenset({200, 201, 204, 303})  # 303 See Other is the live API's success for a PUT


class ApiTransport:
    """Sends calls to the Copernica REST API (v3 or v4), from any number of threads."""

    MAX_ANSWER_BYTES = 10 * 1024 * 1024  # a longer answer body is not Copernica's: refused, memory stays flat

    def __init__(self, api_url: str, token: str, *, api_version: int = 3,
                 auth_url: str | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None,
                 pool_size: int = 4, sleep: Callable[[float], None] = time.sleep) -> None:
        if api_version not in (3, 4):
            raise UsageError(Msg.BAD_VERSION.format(version=api_version))
        add_secret(token)
        retry = retry or RetryPolicy()
        self.api_url = checked_url(api_url).rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.retry = retry
        self.pacer = pacer
        self._token = token
        self._pool_size = pool_size
        # one retry policy per kind of call, built once (tenacity keeps per-call state per thread)
        self._retrying = {True: retry.retrying(idempotent=True, sleep=sleep),
                          False: retry.retrying(idempotent=False, sleep=sleep)}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self.auth_url = checked_url(auth_url or DEFAULT_AUTH_URL) if api_version == 4 else None
        self._bearer = BearerToken(self.auth_url, token, session=self._session, timeout=timeout,
                                   retrying=self._retrying[True], attempts=retry.attempts) if self.auth_url else None

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    # -- one logical request, with retries ----------------------------------
    def request(self, call: Call, read: Callable[[requests.Response], Any] = lambda r: r) -> tuple[Any, int]:
        """Send ``call`` with retries; returns ``read(response)`` and the attempts used.

        ``read`` may raise ``MaybeProcessed`` for an answer that is not what
        Copernica sends (not JSON, not a list): such an attempt is retried
        like any other, and in the end becomes ``AnswerLost``. Public errors
        are raised outside any ``except`` block so that they carry no
        ``__context__`` holding a requests exception (and its URL).
        """
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            return read(self._attempt(call))

        failure: Exception
        try:
            return self._retrying[call.idempotent](attempt), attempts
        except (FinalAnswer, AttemptFailed) as error:
            failure = error
        raise public_error(failure, idempotent=call.idempotent, attempts=attempts)

    def _attempt(self, call: Call) -> requests.Response:
        """One try (plus one re-send after renewing a rejected v4 JWT)."""
        response = self._send_paced(call)
        if self._bearer is not None and _jwt_rejected(response):
            # A rejected JWT means the request was not processed: renew and re-send.
            self._bearer.renew(rejected=jwt_in(response.request))
            response = self._send_paced(call)
        return self._check(response, call)

    def _send_paced(self, call: Call) -> requests.Response:
        pacer = self.pacer
        if pacer is None:
            return self._send(call)[0]
        with pacer.slot() as ticket:
            try:
                response, latency = self._send(call)
            except AttemptFailed:
                pacer.record_failure()
                raise
        status = response.status_code
        if status in (429, 503, 504):
            pacer.record_overload(retry_after(response), sent_at=ticket.started)
        elif status >= 500:
            pacer.record_failure()
        else:
            pacer.record_success(latency)
        return response

    def _send(self, call: Call) -> tuple[requests.Response, float]:
        """One HTTP exchange; transport errors become secret-free attempt errors."""
        params = list(call.params)
        headers = {"Accept": "application/json"}
        if self._bearer is None:
            params.append(("access_token", self._token))
        else:
            headers["Authorization"] = f"Bearer {self._bearer.current()}"
        url = f"{self.api_url}/{call.path}"
        started = time.monotonic()
        failure: Exception | None = None
        try:
            response = self._exchange(call.method, url, params, headers, call.body)
        except requests.RequestException as exc:
            failure = transport_failure(exc, urlsplit(url).hostname or "?", self.timeout[1])
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
        response = session.send(prepared, timeout=self.timeout, allow_redirects=False, stream=True)
        try:
            # read at most MAX_ANSWER_BYTES: a huge answer (a proxy's error page, a
            # wrong address) must not fill the memory
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.MAX_ANSWER_BYTES:
                    raise MaybeProcessed(Msg.R_TOO_LARGE.format(mb=self.MAX_ANSWER_BYTES // (1024 * 1024)))
                chunks.append(chunk)
            response._content = b"".join(chunks)  # what requests itself does when it reads a body
        finally:
            response.close()
        return response

    def _check(self, response: requests.Response, call: Call) -> requests.Response:
        """Turn an HTTP answer into success or the right attempt error."""
        status = response.status_code
        if status in call.ok_statuses:
            return response
        detail = error_detail(response)
        temporary = status_failure(status, detail, retry_after(response))
        if temporary is not None:
            raise temporary
        if status == 401 or (status == 400 and detail == COPERNICA_INVALID_TOKEN):
            raise FinalAnswer(InvalidTokenError(api_version=self.api_version))
        if status == 400 and detail == COPERNICA_NO_DATABASE:
            raise FinalAnswer(DatabaseNotFound(call.database_id))
        if 300 <= status < 400:
            raise FinalAnswer(RequestRefused(Msg.UNEXPECTED_REDIRECT.format(status=status), status=status))
        text = detail or f"HTTP {status}"
        raise FinalAnswer(RequestRefused(call.refused_message.format(detail=text), status=status, api_message=detail))

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


# ---------------------------------------------------------------------------
# Reading answers (pure)
# ---------------------------------------------------------------------------
def _jwt_rejected(response: requests.Response) -> bool:
    return response.status_code == 401 or (
        response.status_code == 400 and error_detail(response) == COPERNICA_INVALID_TOKEN)


def read_json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise MaybeProcessed(Msg.R_NOT_JSON.format(status=response.status_code)) from None


def read_json_object(response: requests.Response) -> dict:
    data = read_json(response)
    if not isinstance(data, dict):
        raise MaybeProcessed(Msg.R_UNEXPECTED.format(status=response.status_code))
    return data


def read_page(response: requests.Response) -> tuple[list[dict], int | None]:
    """One page of a list: its items and the page size the server used (None when it did not say)."""
    page = read_json(response)
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MaybeProcessed(Msg.R_NOT_A_LIST.format(what="items", status=response.status_code))
    try:
        limit = int(page.get("limit"))
    except (TypeError, ValueError):
        limit = None
    return data, (limit if limit and limit > 0 else None)


def read_total(response: requests.Response) -> int:
    """The ``total`` of a list answer (asked with ``total=true``)."""
    page = read_json(response)
    total = page.get("total") if isinstance(page, dict) else None
    if isinstance(total, bool) or not isinstance(total, (int, str)) or not str(total).isdigit():
        raise MaybeProcessed(Msg.R_UNEXPECTED.format(status=response.status_code))
    return int(total)
