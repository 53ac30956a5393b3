"""Copernica REST calls: profiles, subprofiles, the database's structure, paging.

What this module promises the sender:

- A POST that may have been stored (read timeout or connection dropped after
  sending, 5xx from behind the load balancer) is never sent a second time:
  it raises ``AnswerLost`` and the sender decides (look the key up). Only
  failures that prove the server did not take the request (429, 503,
  connection refused, connect timeout) are retried for a POST (``retry``).
- Idempotent calls (GET, PUT, DELETE) are retried on those failures too.
- The access token (and the v4 JWT) never appears in an exception, a log
  line or a repr (``redaction``).

Make one with ``Connection(...).open_client()`` (shared pacing included), or
directly for tests.
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
from importer.errors import (
    AnswerLost,
    ApiUnavailable,
    ApiUnreachable,
    DatabaseNotFound,
    InvalidTokenError,
    RequestFailed,
    RequestRefused,
    TemporaryFailure,
    UsageError,
)
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
from importer.schema import FIELD_TYPES, DatabaseSchema, FieldDef, InterestDef

log = logging.getLogger(__name__)

# Copernica's own error texts (recognised by their exact wording)
COPERNICA_INVALID_TOKEN = "Invalid access token"
COPERNICA_NO_DATABASE = "No database with supplied ID"
COPERNICA_ALREADY_REMOVED = "Profile has already been removed"
COPERNICA_SUBPROFILE_ALREADY_REMOVED = "Subprofile has already been removed"


class Msg:
    """Every text this module shows a user."""
    REFUSED = "Copernica refused the request: {detail}"
    REFUSED_PROFILE = "Copernica refused the profile: {detail}"
    REFUSED_SUBPROFILE = "Copernica refused the subprofile: {detail}"
    NO_PROFILE_ID = "Copernica answered {status} but sent no profile ID (X-Created header missing or not a number)"
    NO_SUBPROFILE_ID = ("Copernica answered {status} but sent no subprofile ID (X-Created header missing or "
                        "not a number)")
    UNEXPECTED_REDIRECT = "Copernica answered with an unexpected redirect (HTTP {status})"
    SCHEMA_FAILED = "could not read the structure of database {database_id} at {host}: {error}"
    BAD_VERSION = "API version must be 3 or 4, not {version!r}"
    UNKNOWN_FIELD_TYPE = "field %r has type %r, which the importer checks as text"
    R_NOT_JSON = "the answer was not valid JSON (HTTP {status})"
    R_NOT_A_LIST = "the answer was not a list of {what} (HTTP {status})"
    R_TOO_LARGE = "the answer was larger than {mb} MB"
    R_UNEXPECTED = "the answer was not what Copernica sends (HTTP {status})"


@dataclass(frozen=True, slots=True)
class CreateResult:
    profile_id: int
    attempts: int


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


_UPDATED = frozenset({200, 201, 204, 303})  # 303 See Other is the live API's success for a PUT


class CopernicaClient:
    """Thread-safe client of the Copernica REST API (v3 or v4)."""

    PAGE_SIZE = 1000               # Copernica's largest page
    MAX_ANSWER_BYTES = 10 * 1024 * 1024  # a longer answer body is not Copernica's: refused, memory stays flat

    def __init__(self, api_url: str, token: str, *, api_version: int = 3,
                 auth_url: str | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None,
                 pool_size: int = 4, page_size: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if api_version not in (3, 4):
            raise UsageError(Msg.BAD_VERSION.format(version=api_version))
        add_secret(token)
        retry = retry or RetryPolicy()
        self.api_url = checked_url(api_url).rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self.retry = retry
        self.pacer = pacer
        self.page_size = page_size or self.PAGE_SIZE
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

    def profile_total(self, database_id: int) -> int:
        """How many profiles the database holds: one cheap call (``limit=1&total=true``)."""
        call = _Call("GET", f"database/{int(database_id)}/profiles", database_id=int(database_id),
                     params=(("start", "0"), ("limit", "1"), ("total", "true"), ("dataonly", "true")))
        total, _ = self._request(call, read=_total)
        return total

    def profiles_page(self, database_id: int, start: int, limit: int | None = None) -> tuple[list[dict], int]:
        """One page of the database's profiles from offset ``start`` (``dataonly``, no total):
        its items, and the page size the server used (it may cap ``limit``)."""
        asked = limit or self.page_size
        call = _Call("GET", f"database/{int(database_id)}/profiles", database_id=int(database_id),
                     params=(("start", str(int(start))), ("limit", str(asked)), ("dataonly", "true"),
                             ("total", "false")))
        (data, used), _ = self._request(call, read=_page)
        return data, min(asked, used or asked)

    def put_profile(self, profile_id: int, fields: dict[str, Any], interests: dict[str, int] | None = None) -> int:
        """One ``PUT /profile/{id}`` with the fields and the interests together; returns attempts.

        The interests it names are switched on or off and the others stay
        (the sandbox's rule, and Copernica's documented example: ``{"football": 1,
        "baseball": 0}``), so it is an update with ``interests_on_update: add``
        in one request; naming every interest of the database makes it a ``replace``.
        """
        body: dict[str, Any] = {"fields": fields}
        if interests:
            body["interests"] = interests
        _, attempts = self._request(_Call("PUT", f"profile/{int(profile_id)}", body=body, ok_statuses=_UPDATED,
                                          refused_message=Msg.REFUSED_PROFILE))
        return attempts

    def update_profile(self, profile_id: int, fields: dict[str, Any],
                       interests: dict[str, int] | None = None,
                       replace_interests: bool = False) -> int:
        """Update fields, then add/switch (or replace) interests; returns attempts."""
        attempts = self.update_fields(profile_id, fields) if fields else 0
        if interests:
            attempts += self.update_interests(profile_id, interests, replace=replace_interests)
        return attempts

    def update_fields(self, profile_id: int, fields: dict[str, Any]) -> int:
        """PUT the given fields of one profile (others stay); returns attempts."""
        _, attempts = self._request(_Call("PUT", f"profile/{int(profile_id)}/fields", body=fields,
                                          ok_statuses=_UPDATED, refused_message=Msg.REFUSED_PROFILE))
        return attempts

    def update_interests(self, profile_id: int, interests: dict[str, int], *, replace: bool = False) -> int:
        """Add or switch the named interests (POST; the others stay), or replace
        the whole set (PUT); sending the same set twice gives the same result."""
        _, attempts = self._request(_Call("PUT" if replace else "POST", f"profile/{int(profile_id)}/interests",
                                          body=interests, ok_statuses=_UPDATED,
                                          refused_message=Msg.REFUSED_PROFILE))
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

    # -- subprofiles (records of a collection, each under one profile) -------
    def create_subprofile(self, profile_id: int, collection_id: int, fields: dict[str, Any]) -> CreateResult:
        """POST one subprofile (the bare field object) under a profile; the new ID comes from X-Created."""
        call = _Call("POST", f"profile/{int(profile_id)}/subprofiles/{int(collection_id)}", body=fields,
                     idempotent=False, refused_message=Msg.REFUSED_SUBPROFILE)
        response, attempts = self._request(call)
        return CreateResult(_created_id(response, attempts, Msg.NO_SUBPROFILE_ID), attempts)

    def find_subprofiles(self, collection_id: int, match: dict[str, str]) -> list[dict]:
        """Every subprofile of the collection whose fields equal all of ``match`` (all pages)."""
        conditions = tuple(("fields[]", f"{name}=={value}") for name, value in match.items())
        return self._list_all(f"collection/{int(collection_id)}/subprofiles", conditions + (("dataonly", "true"),))

    def update_subprofile_fields(self, subprofile_id: int, fields: dict[str, Any]) -> int:
        """PUT the given fields of one subprofile (others stay); returns attempts."""
        _, attempts = self._request(_Call("PUT", f"subprofile/{int(subprofile_id)}/fields", body=fields,
                                          ok_statuses=_UPDATED, refused_message=Msg.REFUSED_SUBPROFILE))
        return attempts

    def delete_subprofile(self, subprofile_id: int) -> None:
        refused: RequestRefused | None = None
        try:
            self._request(_Call("DELETE", f"subprofile/{int(subprofile_id)}"))
        except RequestRefused as error:
            refused = error
        # as for profiles: a retry after a lost answer finds it removed by the first attempt
        if refused is not None and not (refused.attempts > 1 and
                                        refused.api_message == COPERNICA_SUBPROFILE_ALREADY_REMOVED):
            raise refused

    # -- database structure ------------------------------------------------
    def databases(self) -> list[dict]:
        """Every database the token can see (each with its ``ID`` and ``name``)."""
        return self._list_all("databases", ())

    def database(self, database_id: int) -> dict:
        info, _ = self._request(_Call("GET", f"database/{int(database_id)}", database_id=int(database_id)),
                                read=_json_object)
        return info

    def fields(self, database_id: int) -> list[dict]:
        return self._list_all(f"database/{int(database_id)}/fields", (), database_id=database_id)

    def interests(self, database_id: int) -> list[dict]:
        return self._list_all(f"database/{int(database_id)}/interests", (), database_id=database_id)

    def collections(self, database_id: int) -> list[dict]:
        return self._list_all(f"database/{int(database_id)}/collections", (), database_id=database_id)

    def collection_fields(self, collection_id: int) -> list[dict]:
        return self._list_all(f"collection/{int(collection_id)}/fields", ())

    def fetch_schema(self, database_id: int, *, collections: bool = False) -> DatabaseSchema:
        """The database's fields and interests, and with ``collections`` its collections (each with
        its fields: one more call, and one per collection); ``ApiError`` when they cannot be read."""
        try:
            info = self.database(database_id)
            fields = [_field_def(f).model_dump() for f in self.fields(database_id)]
            interests = [_interest_def(i).model_dump() for i in self.interests(database_id)]
            found = [{"id": c["ID"], "name": str(c.get("name", "")),
                      "fields": [_field_def(f).model_dump() for f in self.collection_fields(int(c["ID"]))]}
                     for c in (self.collections(database_id) if collections else [])
                     if _int_or_none(c.get("ID")) is not None]
        except RequestFailed as exc:  # before any row is sent: a clear stop, not a traceback
            # could not be reached at all: temporary (exit 75); an odd answer: a setup problem (exit 2)
            kind = ApiUnreachable if isinstance(exc, TemporaryFailure) else ApiUnavailable
            raise kind(Msg.SCHEMA_FAILED.format(database_id=database_id,
                                                host=urlsplit(self.api_url).netloc, error=exc)) from None
        # as dicts: DatabaseSchema's validators expect dicts (or bare names)
        return DatabaseSchema(id=int(database_id), name=str(info.get("name", "")), fields=fields, interests=interests,
                              collections=found)

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
            page_params = params + (("start", str(start)), ("limit", str(self.page_size)), ("total", "false"))
            (data, limit), _ = self._request(_Call("GET", path, params=page_params, database_id=database_id),
                                             read=_page)
            items.extend(data)
            # the server may cap the page size below what was asked
            if not data or len(data) < (limit or self.page_size):
                return items
            start += len(data)

    # -- one logical request, with retries ----------------------------------
    def _request(self, call: _Call, read: Callable[[requests.Response], Any] = lambda r: r) -> tuple[Any, int]:
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

    def _attempt(self, call: _Call) -> requests.Response:
        """One try (plus one re-send after renewing a rejected v4 JWT)."""
        response = self._send_paced(call)
        if self._bearer is not None and _jwt_rejected(response):
            # A rejected JWT means the request was not processed: renew and re-send.
            self._bearer.renew(rejected=jwt_in(response.request))
            response = self._send_paced(call)
        return self._check(response, call)

    def _send_paced(self, call: _Call) -> requests.Response:
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

    def _send(self, call: _Call) -> tuple[requests.Response, float]:
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

    def _check(self, response: requests.Response, call: _Call) -> requests.Response:
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
# Helpers (pure)
# ---------------------------------------------------------------------------
def _jwt_rejected(response: requests.Response) -> bool:
    return response.status_code == 401 or (
        response.status_code == 400 and error_detail(response) == COPERNICA_INVALID_TOKEN)


def _created_id(response: requests.Response, attempts: int, missing: str = Msg.NO_PROFILE_ID) -> int:
    value = response.headers.get("X-Created", "").strip()  # requests' headers are case-insensitive
    if value.isdigit() and int(value) > 0:
        return int(value)
    # the profile was probably stored, so this is ambiguous, not a refusal:
    # the sender looks the key up instead of sending it again
    raise AnswerLost(missing.format(status=response.status_code), attempts)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise MaybeProcessed(Msg.R_NOT_JSON.format(status=response.status_code)) from None


def _json_object(response: requests.Response) -> dict:
    data = _json(response)
    if not isinstance(data, dict):
        raise MaybeProcessed(Msg.R_UNEXPECTED.format(status=response.status_code))
    return data


def _page(response: requests.Response) -> tuple[list[dict], int | None]:
    """One page of a list: its items and the page size the server used (None when it did not say)."""
    page = _json(response)
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MaybeProcessed(Msg.R_NOT_A_LIST.format(what="items", status=response.status_code))
    try:
        limit = int(page.get("limit"))
    except (TypeError, ValueError):
        limit = None
    return data, (limit if limit and limit > 0 else None)


def _total(response: requests.Response) -> int:
    """The ``total`` of a list answer (asked with ``total=true``)."""
    page = _json(response)
    total = page.get("total") if isinstance(page, dict) else None
    if isinstance(total, bool) or not isinstance(total, (int, str)) or not str(total).isdigit():
        raise MaybeProcessed(Msg.R_UNEXPECTED.format(status=response.status_code))
    return int(total)


def _field_def(raw: dict) -> FieldDef:
    field_type = str(raw.get("type", "text"))
    if field_type not in FIELD_TYPES:
        # A type this tool does not know: checked as text; say so in the log.
        log.warning(Msg.UNKNOWN_FIELD_TYPE, raw.get("name"), field_type)
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
