"""The Copernica REST calls the sandbox serves, as plain request -> response.

Nothing here knows about sockets, tokens or faults (see server.py): an
``ApiRequest`` holds the path after the version prefix (``database/1/profiles``)
and the decoded query, and ``handle`` returns an ``ApiResponse``
(``importer.sandbox.shapes``). The account, the structure and the profiles
are answered here; collections and subprofiles in
``importer.sandbox.collections``.

Sandbox choices where Copernica's behaviour is not documented:
- ``PUT profile/{id}`` switches the interests it names and leaves the others;
- ``PUT database/{id}/profiles`` creates a profile from the body only (the
  ``fields[]`` conditions are not copied into it); with no match and no
  ``create`` it answers 200 with an empty body;
- a ``fields[]`` filter on a field the database lacks is a 400, not "match all";
- text filters compare case-insensitively (MySQL's default collation);
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from importer.sandbox.coerce import (
    apply_switches,
    coerce_fields,
    default_fields,
    interest_switches,
    php_float,
    php_int,
)
from importer.sandbox.collections import CollectionRoutes
from importer.sandbox.messages import Msg
from importer.sandbox.shapes import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiFailure,
    ApiRequest,
    ApiResponse,
    database_json,
    decode_body,
    field_json,
    interest_json,
    is_false,
    is_true,
    listing,
    profile_fields,
    profile_json,
    profile_parts,
    subprofile_json,
)
from importer.sandbox.store import Condition, ProfileStore, StoredProfile
from importer.schema import CollectionSchema, DatabaseSchema, SchemaFile

__all__ = ["ApiFailure", "ApiRequest", "ApiResponse", "CopernicaApi", "profile_json", "subprofile_json"]

_CONDITION = re.compile(r"^(?P<name>[^=!<>~]+?)(?P<op>==|!=|<=|>=|=~|!~|<|>)(?P<value>.*)$", re.DOTALL)


# --- the API ----------------------------------------------------------------------
class CopernicaApi(CollectionRoutes):
    def __init__(self, schema: SchemaFile, store: ProfileStore,
                 visible: Callable[[int], bool] | None = None) -> None:
        self.schema = schema
        self.store = store
        # look-ups see a profile only once this says so (the server's lookup_lag_ms fault)
        self.visible = visible or (lambda profile_id: True)
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., ApiResponse]]] = [
            ("GET", re.compile(r"identity"), self._identity),
            ("GET", re.compile(r"databases"), self._databases),
            ("GET", re.compile(r"database/([^/]+)"), self._database),
            ("GET", re.compile(r"database/([^/]+)/fields"), self._database_fields),
            ("GET", re.compile(r"database/([^/]+)/interests"), self._database_interests),
            ("POST", re.compile(r"database/([^/]+)/profiles"), self._create_profile),
            ("GET", re.compile(r"database/([^/]+)/profiles"), self._search_profiles),
            ("PUT", re.compile(r"database/([^/]+)/profiles"), self._update_matching_profiles),
            ("GET", re.compile(r"profile/(\d+)"), self._get_profile),
            ("GET", re.compile(r"profile/(\d+)/fields"), self._get_profile_fields),
            ("GET", re.compile(r"profile/(\d+)/interests"), self._get_profile_interests),
            ("PUT", re.compile(r"profile/(\d+)"), self._update_profile),
            ("PUT", re.compile(r"profile/(\d+)/fields"), self._update_profile_fields),
            ("POST", re.compile(r"profile/(\d+)/interests"), self._add_profile_interests),
            ("PUT", re.compile(r"profile/(\d+)/interests"), self._replace_profile_interests),
            ("DELETE", re.compile(r"profile/(\d+)"), self._delete_profile),
            *self.collection_routes(),
        ]

    def handle(self, request: ApiRequest) -> ApiResponse:
        path = request.path.strip("/")
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                try:
                    return handler(request, *match.groups())
                except ApiFailure as failure:
                    return ApiResponse.error(failure.message)
        return ApiResponse.error(Msg.INVALID_METHOD)

    # --- lookups ---
    def database(self, id_or_name: str) -> DatabaseSchema:
        """By numeric ID or, as Copernica allows, by name."""
        for db in self.schema.databases:
            if str(db.id) == id_or_name or db.name == id_or_name:
                return db
        raise ApiFailure(Msg.NO_DATABASE)

    def database_by_id(self, database_id: int) -> DatabaseSchema:
        return self.database(str(database_id))

    def live_profile(self, profile_id: str) -> StoredProfile:
        profile = self.store.get(int(profile_id))
        if profile is None or profile.removed is not None:
            raise ApiFailure(Msg.NO_PROFILE)
        return profile

    # --- account and structure ---
    def _identity(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse.json({"ID": 1, "name": "sandbox", "description": "Copernica sandbox account",
                                 "company": {"name": "Sandbox"}})

    def _databases(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse.json(listing([database_json(db) for db in self.schema.databases]))

    def _database(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        return ApiResponse.json(database_json(self.database(db_ref)))

    def _database_fields(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        return ApiResponse.json(listing([field_json(db, n) for n in range(len(db.fields))]))

    def _database_interests(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        return ApiResponse.json(listing([interest_json(db, n) for n in range(len(db.interests))]))

    # --- profiles in a database ---
    def _create_profile(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        given_fields, given_interests = profile_parts(decode_body(request))
        profile_id = self._create(db, given_fields, given_interests)
        return self._created(request, profile_id)

    def _create(self, db: DatabaseSchema, given_fields: dict[str, Any], given_interests: Any) -> int:
        fields = default_fields(db) | coerce_fields(db, given_fields)
        interests = apply_switches([], interest_switches(db, given_interests), db)
        return self.store.create(db.id, fields, interests)

    @staticmethod
    def _created(request: ApiRequest, profile_id: int) -> ApiResponse:
        location = f"{request.api_url}/profile/{profile_id}"
        return ApiResponse(201, headers={"X-Created": str(profile_id), "X-location": location,
                                         "Location": location},
                           stored_profile=True, created_ids=[profile_id])

    def _search_profiles(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        conditions = self.parse_conditions(db, request.conditions())
        start = max(0, php_int(request.param("start") or 0))
        limit_param = request.param("limit")
        limit = DEFAULT_LIMIT if limit_param is None else min(MAX_LIMIT, max(0, php_int(limit_param)))
        with_total = not is_false(request.param("total"))
        data_only = is_true(request.param("dataonly"))
        found, total = self.store.find(db.id, conditions, start, limit, with_total)
        data = [profile_json(db, p, data_only) for p in found if self.visible(p.id)]
        return ApiResponse.json(listing(data, start, limit, total, with_total))

    def parse_conditions(self, db: DatabaseSchema | CollectionSchema, raw: list[str]) -> list[Condition]:
        conditions = []
        for text in raw:
            # the live API trims a filter expression: 'lastname==Smith ' looks for 'Smith'
            match = _CONDITION.match(text.strip())
            if not match:
                raise ApiFailure(Msg.INVALID_FILTER.format(condition=text))
            name = match.group("name").strip()
            f = db.field(name)
            if f is None:
                raise ApiFailure(Msg.UNKNOWN_FILTER_FIELD.format(name=name))
            op, value = match.group("op"), match.group("value")
            numeric = f.type in ("integer", "float", "foreign_key") and op not in ("=~", "!~")
            conditions.append(Condition(f.name, op, php_float(value) if numeric else value, numeric))
        return conditions

    def _update_matching_profiles(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        conditions = self.parse_conditions(db, request.conditions())
        given_fields, given_interests = profile_parts(decode_body(request))
        with self.store.locked():  # search and create as one step: no twin profiles
            matches, _ = self.store.find(db.id, conditions)
            if not matches:
                if not is_true(request.param("create")):
                    return ApiResponse(200)
                return self._created(request, self._create(db, given_fields, given_interests))
            for profile in matches:
                self._merge(db, profile, given_fields, given_interests)
        return self._see_other(request, matches[0].id)

    # --- one profile ---
    def _get_profile(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        profile = self.store.get(int(profile_id))
        if profile is None:
            raise ApiFailure(Msg.NO_PROFILE)
        return ApiResponse.json(profile_json(self.database_by_id(profile.database_id), profile))

    def _get_profile_fields(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        profile = self.live_profile(profile_id)
        return ApiResponse.json(profile_fields(self.database_by_id(profile.database_id), profile.fields))

    def _get_profile_interests(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        return ApiResponse.json(list(self.live_profile(profile_id).interests))

    def _update_profile(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        given_fields, given_interests = profile_parts(decode_body(request))
        return self._write_profile(request, profile_id, given_fields, given_interests)

    def _update_profile_fields(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        body = decode_body(request)
        if not isinstance(body, dict):
            raise ApiFailure(Msg.INVALID_DATA)
        return self._write_profile(request, profile_id, body, {})

    def _add_profile_interests(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        return self._write_profile(request, profile_id, {}, self._interests_body(request))

    def _replace_profile_interests(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        return self._write_profile(request, profile_id, {}, self._interests_body(request), replace=True)

    @staticmethod
    def _interests_body(request: ApiRequest) -> Any:
        body = decode_body(request)
        if isinstance(body, dict) and set(body) == {"interests"}:
            body = body["interests"]  # tolerate {"interests": ...} as well as the bare set
        if not isinstance(body, (dict, list)):
            raise ApiFailure(Msg.INVALID_DATA)
        return body

    def _write_profile(self, request: ApiRequest, profile_id: str, given_fields: dict[str, Any],
                       given_interests: Any, replace: bool = False) -> ApiResponse:
        with self.store.locked():  # read-merge-write as one step
            profile = self.live_profile(profile_id)
            db = self.database_by_id(profile.database_id)
            self._merge(db, profile, given_fields, given_interests, replace)
        return self._see_other(request, profile.id)

    def _merge(self, db: DatabaseSchema, profile: StoredProfile, given_fields: dict[str, Any],
               given_interests: Any, replace_interests: bool = False) -> None:
        fields = profile.fields | coerce_fields(db, given_fields)
        current = [] if replace_interests else profile.interests
        interests = apply_switches(current, interest_switches(db, given_interests), db)
        self.store.update(profile.id, fields, interests)

    @staticmethod
    def _see_other(request: ApiRequest, profile_id: int) -> ApiResponse:
        return ApiResponse(303, headers={"Location": f"{request.api_url}/profile/{profile_id}"},
                           stored_profile=True)

    def _delete_profile(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        with self.store.locked():
            profile = self.store.get(int(profile_id))
            if profile is None:
                raise ApiFailure(Msg.NO_PROFILE)
            if profile.removed is not None:
                raise ApiFailure(Msg.PROFILE_ALREADY_REMOVED)
            self.store.remove(profile.id)
        return ApiResponse(200, headers={"X-deleted": f"profile {profile.id}"})
