"""The collection and subprofile calls the sandbox serves (``CopernicaApi`` takes them from here).

Sandbox choices where Copernica's behaviour is not documented: ``GET
collection/{id}`` of an unknown ID is a 400 "No collection with supplied ID";
a subprofile that does not exist is "No subprofile with supplied ID", one
removed already "Subprofile has already been removed" (the profile texts'
pattern); ``PUT profile/{id}/subprofiles/{collection}?fields[]=...&create=true``
answers 201 without ``X-Created`` when it created one (the live API names no
ID there), 303 with the first match's ``Location`` when it updated.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from importer.sandbox.coerce import coerce_fields, default_fields, php_int
from importer.sandbox.messages import Msg
from importer.sandbox.shapes import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiFailure,
    ApiRequest,
    ApiResponse,
    collection_json,
    decode_body,
    field_json,
    is_false,
    is_true,
    listing,
    subprofile_json,
)
from importer.sandbox.store import Condition, ProfileStore, StoredProfile, StoredSubprofile
from importer.schema import CollectionSchema, DatabaseSchema, SchemaFile


class CollectionRoutes:
    """The collection half of ``CopernicaApi`` (whose lookups of databases and profiles it uses)."""
    schema: SchemaFile
    store: ProfileStore
    visible: Callable[[int], bool]
    database: Callable[[str], DatabaseSchema]
    database_by_id: Callable[[int], DatabaseSchema]
    live_profile: Callable[[str], StoredProfile]
    parse_conditions: Callable[[DatabaseSchema | CollectionSchema, list[str]], list[Condition]]

    def collection_routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., ApiResponse]]]:
        return [
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

    def collection(self, collection_id: int) -> tuple[DatabaseSchema, CollectionSchema]:
        for db in self.schema.databases:
            for c in db.collections:
                if c.id == collection_id:
                    return db, c
        raise ApiFailure(Msg.NO_COLLECTION)

    def _collection_of_profile(self, profile: StoredProfile, ref: str) -> CollectionSchema:
        """The collection named in a subprofile address (ID or name), in the profile's database."""
        db = self.database_by_id(profile.database_id)
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
        profile = self.live_profile(profile_id)
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
            profile = self.live_profile(profile_id)
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
