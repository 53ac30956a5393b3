"""The sandbox's requests and answers as plain data: bodies decoded, objects in Copernica's JSON shapes.

An ``ApiRequest`` holds the path after the version prefix
(``database/1/profiles``) and the decoded query; a route answers an
``ApiResponse`` or raises ``ApiFailure`` (a 400 with Copernica's JSON error
body). Bodies are JSON or PHP-style forms (``fields[email]=x``); lists,
databases, fields, interests, collections, profiles and subprofiles are
written as the live API writes them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from importer.sandbox.coerce import default_value
from importer.sandbox.messages import Msg
from importer.sandbox.store import StoredProfile, StoredSubprofile
from importer.schema import CollectionSchema, DatabaseSchema, FieldDef

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
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
