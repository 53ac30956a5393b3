"""The Copernica REST calls the sandbox serves, as plain request -> response.

Nothing here knows about sockets, tokens or faults (see server.py): an
``ApiRequest`` holds the path after the version prefix (``database/1/profiles``)
and the decoded query, and ``handle`` returns an ``ApiResponse``.

Sandbox choices where Copernica's behaviour is not documented:
- ``PUT profile/{id}`` switches the interests it names and leaves the others;
- ``PUT database/{id}/profiles`` creates a profile from the body only (the
  ``fields[]`` conditions are not copied into it); with no match and no
  ``create`` it answers 200 with an empty body;
- a ``fields[]`` filter on a field the database lacks is a 400, not "match all";
- text filters compare case-insensitively (MySQL's default collation);
- collections: ``GET collection/{id}`` of an unknown ID is a 400 "No collection with
  supplied ID"; a subprofile that does not exist is "No subprofile with supplied
  ID", one removed already "Subprofile has already been removed" (the profile texts'
  pattern); removing a profile removes its subprofiles;
- ``PUT profile/{id}/subprofiles/{collection}?fields[]=...&create=true`` answers 201
  without ``X-Created`` when it created one (the live API names no ID there), 303
  with the first match's ``Location`` when it updated.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from importer.sandbox.coerce import (
    apply_switches,
    coerce_fields,
    default_fields,
    default_value,
    interest_switches,
    php_float,
    php_int,
)
from importer.sandbox.messages import Msg
from importer.sandbox.store import Condition, ProfileStore, StoredProfile, StoredSubprofile
from importer.schema import CollectionSchema, DatabaseSchema, FieldDef, SchemaFile

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_CONDITION = re.compile(r"^(?P<name>[^=!<>~]+?)(?P<op>==|!=|<=|>=|=~|!~|<|>)(?P<value>.*)$", re.DOTALL)
_FORM_KEY = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<sub>[^\[\]]*)\]$")
FALSE_WORDS = frozenset({"false", "0", "no", ""})


class ApiFailure(Exception):
    """Answer 400 with Copernica's JSON error body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ApiRequest:
    method: str
    path: str                        # after the version prefix, no leading slash
    query: list[tuple[str, str]]
    body: bytes = b""
    content_type: str = ""
    api_url: str = ""                # e.g. http://127.0.0.1:8765/v3, for Location headers

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def conditions(self) -> list[str]:
        # fields[]=a==1 (the usual form), fields[0]=..., or a single fields=...
        return [v for k, v in self.query if k in ("fields[]", "fields") or re.fullmatch(r"fields\[\d+\]", k)]


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    # a profile was written: the after-store faults (drop, slow) may strike now
    stored_profile: bool = False
    created_ids: list[int] = field(default_factory=list)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> "ApiResponse":
        return cls(status, json.dumps(data).encode("utf-8"))

    @classmethod
    def error(cls, message: str) -> "ApiResponse":
        return cls.json({"error": {"message": message}}, status=400)


def is_false(value: str | None) -> bool:
    return value is not None and value.strip().lower() in FALSE_WORDS


def is_true(value: str | None) -> bool:
    return value is not None and not is_false(value)


# --- bodies ---------------------------------------------------------------------
def decode_body(request: ApiRequest) -> Any:
    """The JSON or form-encoded body; an empty body is an empty object."""
    text = request.body.decode("utf-8", errors="replace").strip()
    if not text:
        return {}
    looks_like_json = "json" in request.content_type or text[:1] in "{["
    if looks_like_json and "x-www-form-urlencoded" not in request.content_type:
        try:
            return json.loads(text)
        except ValueError:
            raise ApiFailure(Msg.INVALID_DATA) from None
    return decode_form(text)


def decode_form(text: str) -> dict[str, Any]:
    """PHP-style form decoding: fields[email]=x, interests[]=a, interests[b]=1."""
    data: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        match = _FORM_KEY.match(key)
        if not match:
            data[key] = value
            continue
        name, sub = match.group("name"), match.group("sub")
        if sub == "":
            container = data.setdefault(name, [])
            if isinstance(container, list):
                container.append(value)
        else:
            container = data.setdefault(name, {})
            if isinstance(container, dict):
                container[sub] = value
    return data


def profile_parts(body: Any) -> tuple[dict[str, Any], Any]:
    """The ``fields`` object and the ``interests`` of a profile body."""
    if not isinstance(body, dict):
        raise ApiFailure(Msg.INVALID_DATA)
    fields = body.get("fields", {})
    if fields is None or fields == []:  # PHP encodes an empty array as []
        fields = {}
    if not isinstance(fields, dict):
        raise ApiFailure(Msg.INVALID_DATA)
    interests = body.get("interests", {})
    if interests is not None and not isinstance(interests, (dict, list)):
        raise ApiFailure(Msg.INVALID_DATA)
    return fields, interests or {}


# --- JSON shapes ------------------------------------------------------------------
def listing(items: list[Any], start: int = 0, limit: int = DEFAULT_LIMIT,
            total: int | None = None, with_total: bool = True) -> dict[str, Any]:
    wrapped: dict[str, Any] = {"start": start, "limit": limit, "count": len(items)}
    if with_total:
        wrapped["total"] = len(items) if total is None else total
    wrapped["data"] = items
    return wrapped


def field_json(database: DatabaseSchema | CollectionSchema, position: int) -> dict[str, Any]:
    return field_def_json(database.fields[position], position)


def field_def_json(f: FieldDef, position: int) -> dict[str, Any]:
    return {"ID": f.id if f.id is not None else position + 1, "name": f.name, "type": f.type,
            "value": f.value, "displayed": True, "ordered": False,
            "length": f.length if f.length is not None else 255, "textlines": 1,
            "hidden": False, "index": False}


def interest_json(database: DatabaseSchema, position: int) -> dict[str, Any]:
    i = database.interests[position]
    return {"ID": i.id if i.id is not None else position + 1, "name": i.name, "group": i.group}


def database_json(database: DatabaseSchema) -> dict[str, Any]:
    return {"ID": database.id, "name": database.name, "description": "", "archived": False,
            "created": "2020-01-01 00:00:00",
            "fields": listing([field_json(database, n) for n in range(len(database.fields))]),
            "interests": listing([interest_json(database, n) for n in range(len(database.interests))]),
            "collections": listing([collection_json(database, c) for c in database.collections])}


def collection_json(database: DatabaseSchema, collection: CollectionSchema) -> dict[str, Any]:
    return {"ID": collection.id, "name": collection.name, "database": database.id,
            "fields": listing([field_json(collection, n) for n in range(len(collection.fields))])}


def subprofile_json(collection: CollectionSchema, subprofile: StoredSubprofile,
                    data_only: bool = False) -> dict[str, Any]:
    fields = {f.name: subprofile.fields.get(f.name, default_value(f)) for f in collection.fields}
    out: dict[str, Any] = {"ID": subprofile.id, "fields": fields, "profile": subprofile.profile_id,
                           "collection": subprofile.collection_id}
    if data_only:
        out["modified"] = subprofile.modified
        return out
    out.update({"secret": subprofile.secret, "created": subprofile.created, "modified": subprofile.modified,
                "removed": subprofile.removed is not None})
    return out


def profile_fields(database: DatabaseSchema, stored: dict[str, str]) -> dict[str, str]:
    """All the database's fields in schema order (a field added to the schema later shows its default)."""
    return {f.name: stored.get(f.name, default_value(f)) for f in database.fields}


def profile_json(database: DatabaseSchema, profile: StoredProfile, data_only: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"ID": profile.id, "fields": profile_fields(database, profile.fields),
                           "interests": list(profile.interests)}
    if data_only:
        out["modified"] = profile.modified
        return out
    out.update({"database": profile.database_id, "secret": profile.secret, "created": profile.created,
                "modified": profile.modified, "removed": profile.removed is not None})
    return out


# --- the API ----------------------------------------------------------------------
class CopernicaApi:
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
            # collections and their subprofiles
            ("GET", re.compile(r"database/([^/]+)/collections"), self._database_collections),
            ("GET", re.compile(r"collection/(\d+)"), self._collection),
            ("GET", re.compile(r"collection/(\d+)/fields"), self._collection_fields),
            ("GET", re.compile(r"collection/(\d+)/subprofiles"), self._search_subprofiles),
            ("POST", re.compile(r"profile/(\d+)/subprofiles/([^/]+)"), self._create_subprofile),
            ("GET", re.compile(r"profile/(\d+)/subprofiles/([^/]+)"), self._profile_subprofiles),
            ("PUT", re.compile(r"profile/(\d+)/subprofiles/([^/]+)"), self._update_matching_subprofiles),
            ("GET", re.compile(r"subprofile/(\d+)"), self._get_subprofile),
            ("GET", re.compile(r"subprofile/(\d+)/fields"), self._get_subprofile_fields),
            ("PUT", re.compile(r"subprofile/(\d+)/fields"), self._update_subprofile_fields),
            ("DELETE", re.compile(r"subprofile/(\d+)"), self._delete_subprofile),
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

    def _database_by_id(self, database_id: int) -> DatabaseSchema:
        return self.database(str(database_id))

    def _live_profile(self, profile_id: str) -> StoredProfile:
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
        return ApiResponse.json(profile_json(self._database_by_id(profile.database_id), profile))

    def _get_profile_fields(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        profile = self._live_profile(profile_id)
        return ApiResponse.json(profile_fields(self._database_by_id(profile.database_id), profile.fields))

    def _get_profile_interests(self, request: ApiRequest, profile_id: str) -> ApiResponse:
        return ApiResponse.json(list(self._live_profile(profile_id).interests))

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
            profile = self._live_profile(profile_id)
            db = self._database_by_id(profile.database_id)
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


    # --- collections ---
    def collection(self, collection_id: int) -> tuple[DatabaseSchema, CollectionSchema]:
        for db in self.schema.databases:
            for c in db.collections:
                if c.id == collection_id:
                    return db, c
        raise ApiFailure(Msg.NO_COLLECTION)

    def _collection_of_profile(self, profile: StoredProfile, ref: str) -> CollectionSchema:
        """The collection named in a subprofile address (ID or name), in the profile's database."""
        db = self._database_by_id(profile.database_id)
        ref = unquote(ref)
        found = next((c for c in db.collections if str(c.id) == ref), None) or \
            next((c for c in db.collections if c.name == ref), None)
        if found is None:
            raise ApiFailure(Msg.SUBPROFILE_NOT_CREATED)
        return found

    def _database_collections(self, request: ApiRequest, db_ref: str) -> ApiResponse:
        db = self.database(db_ref)
        return ApiResponse.json(listing([collection_json(db, c) for c in db.collections]))

    def _collection(self, request: ApiRequest, collection_id: str) -> ApiResponse:
        db, collection = self.collection(int(collection_id))
        return ApiResponse.json(collection_json(db, collection))

    def _collection_fields(self, request: ApiRequest, collection_id: str) -> ApiResponse:
        _, collection = self.collection(int(collection_id))
        return ApiResponse.json(listing([field_json(collection, n) for n in range(len(collection.fields))]))

    def _subprofile_page(self, request: ApiRequest, collection: CollectionSchema,
                         profile_id: int | None = None) -> ApiResponse:
        conditions = self.parse_conditions(collection, request.conditions())
        start = max(0, php_int(request.param("start") or 0))
        limit_param = request.param("limit")
        limit = DEFAULT_LIMIT if limit_param is None else min(MAX_LIMIT, max(0, php_int(limit_param)))
        with_total = not is_false(request.param("total"))
        data_only = is_true(request.param("dataonly"))
        order_field = request.param("orderby")
        order_by = None
        if order_field and order_field.lower() not in ("id", ""):
            f = collection.field(order_field)
            order_by = f.name if f is not None else None
        descending = (request.param("order") or "").lower() == "desc"
        found, total = self.store.find_subprofiles(collection.id or 0, conditions, start, limit, with_total,
                                                   profile_id=profile_id, order_by=order_by, descending=descending)
        data = [subprofile_json(collection, sp, data_only) for sp in found if self.visible(sp.id)]
        return ApiResponse.json(listing(data, start, limit, total, with_total))

    def _search_subprofiles(self, request: ApiRequest, collection_id: str) -> ApiResponse:
        _, collection = self.collection(int(collection_id))
        return self._subprofile_page(request, collection)

    def _profile_subprofiles(self, request: ApiRequest, profile_id: str, collection_ref: str) -> ApiResponse:
        profile = self._live_profile(profile_id)
        collection = self._collection_of_profile(profile, collection_ref)
        return self._subprofile_page(request, collection, profile_id=profile.id)

    @staticmethod
    def _bare_fields(request: ApiRequest) -> dict[str, Any]:
        body = decode_body(request)
        if body == []:  # PHP encodes an empty array as []
            body = {}
        if not isinstance(body, dict):
            raise ApiFailure(Msg.INVALID_DATA)
        return body

    def _create_subprofile(self, request: ApiRequest, profile_id: str, collection_ref: str) -> ApiResponse:
        with self.store.locked():
            profile = self.store.get(int(profile_id))
            if profile is None or profile.removed is not None:
                raise ApiFailure(Msg.SUBPROFILE_NOT_CREATED)
            collection = self._collection_of_profile(profile, collection_ref)
            given = self._bare_fields(request)
            fields = default_fields(collection) | coerce_fields(collection, given)
            subprofile_id = self.store.create_subprofile(collection.id or 0, profile.id, fields)
        location = f"{request.api_url}/subprofile/{subprofile_id}"
        return ApiResponse(201, headers={"X-Created": str(subprofile_id), "X-location": location,
                                         "Location": location},
                           stored_profile=True, created_ids=[subprofile_id])

    def _update_matching_subprofiles(self, request: ApiRequest, profile_id: str, collection_ref: str) -> ApiResponse:
        with self.store.locked():  # search and create as one step
            profile = self._live_profile(profile_id)
            collection = self._collection_of_profile(profile, collection_ref)
            conditions = self.parse_conditions(collection, request.conditions())
            given = self._bare_fields(request)
            matches, _ = self.store.find_subprofiles(collection.id or 0, conditions, profile_id=profile.id)
            if not matches:
                if not is_true(request.param("create")):
                    return ApiResponse(200)
                fields = default_fields(collection) | coerce_fields(collection, given)
                created = self.store.create_subprofile(collection.id or 0, profile.id, fields)
                return ApiResponse(201, stored_profile=True, created_ids=[created])
            for sp in matches:
                self.store.update_subprofile(sp.id, sp.fields | coerce_fields(collection, given))
        return ApiResponse(303, headers={"Location": f"{request.api_url}/subprofile/{matches[0].id}"},
                           stored_profile=True)

    def _subprofile(self, subprofile_id: str, *, live: bool = True) -> tuple[StoredSubprofile, CollectionSchema]:
        subprofile = self.store.get_subprofile(int(subprofile_id))
        if subprofile is None or (live and subprofile.removed is not None):
            raise ApiFailure(Msg.NO_SUBPROFILE)
        _, collection = self.collection(subprofile.collection_id)
        return subprofile, collection

    def _get_subprofile(self, request: ApiRequest, subprofile_id: str) -> ApiResponse:
        subprofile, collection = self._subprofile(subprofile_id, live=False)
        return ApiResponse.json(subprofile_json(collection, subprofile))

    def _get_subprofile_fields(self, request: ApiRequest, subprofile_id: str) -> ApiResponse:
        subprofile, collection = self._subprofile(subprofile_id)
        return ApiResponse.json(subprofile_json(collection, subprofile)["fields"])

    def _update_subprofile_fields(self, request: ApiRequest, subprofile_id: str) -> ApiResponse:
        given = self._bare_fields(request)
        with self.store.locked():  # read-merge-write as one step
            subprofile, collection = self._subprofile(subprofile_id)
            self.store.update_subprofile(subprofile.id, subprofile.fields | coerce_fields(collection, given))
        return ApiResponse(303, headers={"Location": f"{request.api_url}/subprofile/{subprofile.id}"},
                           stored_profile=True)

    def _delete_subprofile(self, request: ApiRequest, subprofile_id: str) -> ApiResponse:
        with self.store.locked():
            subprofile = self.store.get_subprofile(int(subprofile_id))
            if subprofile is None:
                raise ApiFailure(Msg.NO_SUBPROFILE)
            if subprofile.removed is not None:
                raise ApiFailure(Msg.SUBPROFILE_ALREADY_REMOVED)
            self.store.remove_subprofile(subprofile.id)
        return ApiResponse(200, headers={"X-deleted": f"subprofile {subprofile.id}"})
