"""Copernica REST calls: profiles, subprofiles, the database's structure, paging.

``CopernicaClient`` is an ``ApiTransport`` (``importer.transport``: retries,
pacing, the v4 JWT, sessions) with Copernica's calls. What it promises the
sender:

- A POST that may have been stored (read timeout or connection dropped after
  sending, 5xx from behind the load balancer) is never sent a second time:
  it raises ``AnswerLost`` and the sender decides (look the key up). Only
  failures that prove the server did not take the request (429, 503,
  connection refused, connect timeout) are retried for a POST (``retry``).
- Idempotent calls (GET, PUT, DELETE) are retried on those failures too; a
  DELETE whose retry finds the profile removed already succeeded.
- The access token (and the v4 JWT) never appears in an exception, a log
  line or a repr (``redaction``).

Make one with ``Connection(...).open_client()`` (shared pacing included), or
directly for tests.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from importer.errors import (
    AnswerLost,
    ApiUnavailable,
    ApiUnreachable,
    RequestFailed,
    RequestRefused,
    TemporaryFailure,
)
from importer.pacing import Pacer
from importer.retry import RetryPolicy
from importer.schema import FIELD_TYPES, DatabaseSchema, FieldDef, InterestDef
from importer.transport import UPDATED, ApiTransport, Call, read_json_object, read_page, read_total

log = logging.getLogger(__name__)

# Copernica's own error texts (recognised by their exact wording; those of any request: importer.transport)
COPERNICA_ALREADY_REMOVED = "Profile has already been removed"
COPERNICA_SUBPROFILE_ALREADY_REMOVED = "Subprofile has already been removed"


class Msg:
    """Every text the calls show a user."""
    REFUSED_PROFILE = "Copernica refused the profile: {detail}"
    REFUSED_SUBPROFILE = "Copernica refused the subprofile: {detail}"
    NO_PROFILE_ID = "Copernica answered {status} but sent no profile ID (X-Created header missing or not a number)"
    NO_SUBPROFILE_ID = ("Copernica answered {status} but sent no subprofile ID (X-Created header missing or "
                        "not a number)")
    SCHEMA_FAILED = "could not read the structure of database {database_id} at {host}: {error}"
    UNKNOWN_FIELD_TYPE = "field %r has type %r, which the importer checks as text"


@dataclass(frozen=True, slots=True)
class CreateResult:
    profile_id: int
    attempts: int


class CopernicaClient(ApiTransport):
    """Thread-safe client of the Copernica REST API (v3 or v4)."""

    PAGE_SIZE = 1000               # Copernica's largest page

    def __init__(self, api_url: str, token: str, *, api_version: int = 3,
                 auth_url: str | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy | None = None, pacer: Pacer | None = None,
                 pool_size: int = 4, page_size: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(api_url, token, api_version=api_version, auth_url=auth_url, timeout=timeout, retry=retry,
                         pacer=pacer, pool_size=pool_size, sleep=sleep)
        self.page_size = page_size or self.PAGE_SIZE

    def __repr__(self) -> str:
        return f"CopernicaClient(api_url={self.api_url!r}, api_version={self.api_version})"

    # -- profiles ----------------------------------------------------------
    def create_profile(self, database_id: int, fields: dict[str, Any],
                       interests: dict[str, int] | None = None) -> CreateResult:
        """POST one profile; the new ID comes from the X-Created header."""
        body: dict[str, Any] = {"fields": fields}
        if interests:
            body["interests"] = interests
        call = Call("POST", f"database/{int(database_id)}/profiles", body=body, idempotent=False,
                     refused_message=Msg.REFUSED_PROFILE, database_id=int(database_id))
        response, attempts = self.request(call)
        return CreateResult(_created_id(response, attempts), attempts)

    def find_profiles(self, database_id: int, match: dict[str, str]) -> list[dict]:
        """Every profile whose fields equal all of ``match`` (all pages)."""
        conditions = tuple(("fields[]", f"{name}=={value}") for name, value in match.items())
        return self._list_all(f"database/{int(database_id)}/profiles",
                              conditions + (("dataonly", "true"),), database_id=database_id)

    def profile_total(self, database_id: int) -> int:
        """How many profiles the database holds: one cheap call (``limit=1&total=true``)."""
        call = Call("GET", f"database/{int(database_id)}/profiles", database_id=int(database_id),
                     params=(("start", "0"), ("limit", "1"), ("total", "true"), ("dataonly", "true")))
        total, _ = self.request(call, read=read_total)
        return total

    def profiles_page(self, database_id: int, start: int, limit: int | None = None) -> tuple[list[dict], int]:
        """One page of the database's profiles from offset ``start`` (``dataonly``, no total):
        its items, and the page size the server used (it may cap ``limit``)."""
        asked = limit or self.page_size
        call = Call("GET", f"database/{int(database_id)}/profiles", database_id=int(database_id),
                     params=(("start", str(int(start))), ("limit", str(asked)), ("dataonly", "true"),
                             ("total", "false")))
        (data, used), _ = self.request(call, read=read_page)
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
        _, attempts = self.request(Call("PUT", f"profile/{int(profile_id)}", body=body, ok_statuses=UPDATED,
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
        _, attempts = self.request(Call("PUT", f"profile/{int(profile_id)}/fields", body=fields,
                                          ok_statuses=UPDATED, refused_message=Msg.REFUSED_PROFILE))
        return attempts

    def update_interests(self, profile_id: int, interests: dict[str, int], *, replace: bool = False) -> int:
        """Add or switch the named interests (POST; the others stay), or replace
        the whole set (PUT); sending the same set twice gives the same result."""
        _, attempts = self.request(Call("PUT" if replace else "POST", f"profile/{int(profile_id)}/interests",
                                          body=interests, ok_statuses=UPDATED,
                                          refused_message=Msg.REFUSED_PROFILE))
        return attempts

    def delete_profile(self, profile_id: int) -> None:
        refused: RequestRefused | None = None
        try:
            self.request(Call("DELETE", f"profile/{int(profile_id)}"))
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
        call = Call("POST", f"profile/{int(profile_id)}/subprofiles/{int(collection_id)}", body=fields,
                     idempotent=False, refused_message=Msg.REFUSED_SUBPROFILE)
        response, attempts = self.request(call)
        return CreateResult(_created_id(response, attempts, Msg.NO_SUBPROFILE_ID), attempts)

    def find_subprofiles(self, collection_id: int, match: dict[str, str]) -> list[dict]:
        """Every subprofile of the collection whose fields equal all of ``match`` (all pages)."""
        conditions = tuple(("fields[]", f"{name}=={value}") for name, value in match.items())
        return self._list_all(f"collection/{int(collection_id)}/subprofiles", conditions + (("dataonly", "true"),))

    def update_subprofile_fields(self, subprofile_id: int, fields: dict[str, Any]) -> int:
        """PUT the given fields of one subprofile (others stay); returns attempts."""
        _, attempts = self.request(Call("PUT", f"subprofile/{int(subprofile_id)}/fields", body=fields,
                                          ok_statuses=UPDATED, refused_message=Msg.REFUSED_SUBPROFILE))
        return attempts

    def delete_subprofile(self, subprofile_id: int) -> None:
        refused: RequestRefused | None = None
        try:
            self.request(Call("DELETE", f"subprofile/{int(subprofile_id)}"))
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
        info, _ = self.request(Call("GET", f"database/{int(database_id)}", database_id=int(database_id)),
                                read=read_json_object)
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
            (data, limit), _ = self.request(Call("GET", path, params=page_params, database_id=database_id),
                                             read=read_page)
            items.extend(data)
            # the server may cap the page size below what was asked
            if not data or len(data) < (limit or self.page_size):
                return items
            start += len(data)


# ---------------------------------------------------------------------------
# Helpers (pure)
# ---------------------------------------------------------------------------
def _created_id(response: requests.Response, attempts: int, missing: str = Msg.NO_PROFILE_ID) -> int:
    value = response.headers.get("X-Created", "").strip()  # requests' headers are case-insensitive
    if value.isdigit() and int(value) > 0:
        return int(value)
    # the profile was probably stored, so this is ambiguous, not a refusal:
    # the sender looks the key up instead of sending it again
    raise AnswerLost(missing.format(status=response.status_code), attempts)


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
