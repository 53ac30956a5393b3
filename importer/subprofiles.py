"""Collection imports: each row becomes a subprofile under the profile its ``profile_key`` finds.

A mapping with ``collection:`` (its settings: ``importer.mapping.collection``)
has two sides, each compiled like an ordinary mapping:

- the profile side (``profile_key`` + ``profile_fields`` + ``profile_interests``)
  against the database's fields and interests;
- the subprofile side (``key`` + ``fields``) against the collection's fields.

``compile_collection`` fits both to a file and a database and returns a
``CollectionRowConverter``; each row becomes a ``SubprofileRow`` (the
subprofile's fields, with the profile in ``owner``) or one ``RowError``
holding the problems of both sides.

Sending (``SubprofileSender``) keeps the promises of profile imports:

- **The profile** is found by its key, once per distinct key, and with
  ``missing_profile: create`` created with the rules of ``skip`` mode
  (``importer.profile_resolver``).
- **The subprofile** goes through ``ProfileSender`` (the modes and the
  lost-answer policy of profiles) over ``_SubprofileCalls``, which turns its
  profile calls into subprofile calls of this profile and this collection
  and notes ``creating`` in the journal before every subprofile POST. So a
  row's journal state reads: ``sending`` (only profile calls may have left:
  its profile is in the profiles table), ``creating`` (its subprofile's POST
  may have left: a resume looks it up by its key before anything else).
- A subprofile found by its key under another profile is never changed nor
  taken for this row's (a subprofile cannot move to another profile).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importer.errors import MappingError, RequestRefused, SchemaError
from importer.mapping import FieldSpec, Mapping, RowConverter, compile_mapping
from importer.mapping.names import closest_in_list
from importer.mapping.spec import plural
from importer.models import Outcome, Profile, Reason, Row, RowError
from importer.profile_resolver import ProfileResolver
from importer.schema import CollectionSchema, DatabaseSchema

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.journal import Journal
    from importer.sender import Deferred


class Msg:
    """What a collection import says (its compile-time errors and its subprofiles' reasons)."""
    NO_COLLECTION = ("{source}: collection {name!r} is not in database {database}{hint}. "
                     "Its collections are: {known}")
    UNKNOWN_FIELDS = ("{source}: {count} not in collection {collection!r} (ID {id}): {names}. "
                      "Its fields are: {known}")
    ONE_UNKNOWN = "the mapped field is"
    UNKNOWN_COUNT = "{n} mapped fields are"
    NONE = "none"
    # the subprofile (wording of importer.sender.Msg, for subprofiles)
    OTHER_PROFILE = ("subprofile {sid} with this key belongs to profile {owner}, not to the row's profile {pid}; "
                     "not changed (a subprofile cannot move to another profile)")
    RECOVERED = "the answer from Copernica was lost ({why}); the subprofile was found by its key"
    UNKNOWN_NO_KEY = ("the answer from Copernica was lost ({why}); without a `key` in the mapping it cannot be "
                      "checked whether the subprofile was created. Look it up before importing this row again, "
                      "or it may exist twice")
    UNKNOWN_OTHER_VALUES = ("the answer from Copernica was lost ({why}); subprofile(s) {ids} with this key exist "
                            "but hold other values, so it cannot be told whether this row created one. Check them "
                            "before importing this row again, or the record may exist twice")
    UPDATE_LOST = ("the answer to the update was lost ({why}); the subprofile may or may not hold the new values; "
                   "importing this row again is safe")
    GAVE_UP = ("the answer from Copernica was lost {times} times ({why}) and the subprofile could not be found by "
               "its key afterwards; not sent again, so that nothing is created twice. Look it up in Copernica "
               "before importing this row again")
    MANY_MATCH = ("{n} subprofiles of the collection match key: {key}; row not touched (subprofile IDs {ids}); "
                  "remove the extra ones in Copernica, then import this row again")
    MANY_EXIST = "exists: {n} subprofiles of the collection match key: {key} (subprofile IDs {ids})"


# ------------------------------------------------------------------ the rows

@dataclass(slots=True)
class SubprofileRow(Profile):
    """What is sent for one row of a collection import: the subprofile's fields
    (``fields``, ``key``: the key within the collection) and its profile (``owner``)."""
    owner: Profile | None = None


class CollectionRowConverter:
    """Turns a ``Row`` into a ``SubprofileRow`` or a ``RowError``; build with ``compile_collection``."""

    def __init__(self, mapping: Mapping, profile_side: RowConverter, subprofile_side: RowConverter,
                 collection: CollectionSchema | None) -> None:
        self.mapping = mapping
        self.collection = collection
        self.profile_side = profile_side
        self.subprofile_side = subprofile_side
        self.key_fields = subprofile_side.key_fields          # the key within the collection
        self.profile_key_fields = profile_side.key_fields
        # a check report's would-be-sent columns: the subprofile's fields (what a row's verdict holds)
        self.field_names = list(subprofile_side.field_names)
        self.interest_names: list[str] = []

    def notes(self) -> list[Reason]:
        """What the rows converted so far show as a whole, on both sides of the row."""
        return [*self.profile_side.notes(), *self.subprofile_side.notes()]

    def __call__(self, row: Row) -> SubprofileRow | RowError:
        if row.problem is not None:
            return RowError(row.number, (row.problem,))
        owner = self.profile_side(row)
        sub = self.subprofile_side(row)
        if isinstance(owner, RowError) or isinstance(sub, RowError):
            reasons = tuple(r for part in (owner, sub) if isinstance(part, RowError) for r in part.reasons)
            return RowError(row.number, reasons, sub.key)
        warnings = [*owner.warnings, *sub.warnings]
        owner.warnings = []
        return SubprofileRow(row.number, sub.key, sub.fields, {}, sub.empty_fields, warnings, owner=owner)


def compile_collection(mapping: Mapping, headers: list[str], schema: DatabaseSchema | None) -> CollectionRowConverter:
    """Fit a collection mapping to a file (``headers``) and a database; every problem of a kind at once.

    Raises ``MappingError`` for mapped columns the file lacks (both sides in one
    message) and ``SchemaError`` for a collection, field or interest the
    database lacks."""
    _check_columns(mapping, headers)
    collection = None
    if schema is not None:
        collection = _collection(mapping, schema)
        _check_collection_fields(mapping, collection)
    try:
        profile_side = compile_mapping(mapping.profile_part(), headers, schema)
    except (MappingError, SchemaError) as exc:  # its places are under profile_fields
        text = str(exc).replace(f"{mapping.source}: fields.", f"{mapping.source}: profile_fields.")
        raise type(exc)(text) from None
    view = None if collection is None else DatabaseSchema(id=collection.id or 0, name=collection.name,
                                                         fields=list(collection.fields))
    subprofile_side = compile_mapping(mapping.collection_part(), headers, view)
    return CollectionRowConverter(mapping, profile_side, subprofile_side, collection)


def _check_columns(mapping: Mapping, headers: list[str]) -> None:
    """Every column either side reads, checked at once (compile_mapping's own message and hints)."""
    columns = [*mapping.collection_part().source_columns(), *mapping.profile_part().source_columns()]
    reader = Mapping.model_construct(fields={f"c{n}": FieldSpec(column=c) for n, c in enumerate(dict.fromkeys(columns))})
    reader._source = mapping.source
    compile_mapping(reader, headers, None)


def _collection(mapping: Mapping, schema: DatabaseSchema) -> CollectionSchema:
    found = schema.collection(mapping.collection or "")
    if found is None:
        known = [c.name for c in schema.collections]
        raise SchemaError(Msg.NO_COLLECTION.format(
            source=mapping.source, name=mapping.collection, database=schema.id,
            hint=closest_in_list(mapping.collection or "", known),
            known=", ".join(f"{c.name} (ID {c.id})" for c in schema.collections) or Msg.NONE))
    return found


def _check_collection_fields(mapping: Mapping, collection: CollectionSchema) -> None:
    unknown = [name for name in mapping.fields if collection.field(name) is None]
    if unknown:
        known = [f.name for f in collection.fields]
        names = ", ".join(f"{n!r}{closest_in_list(n, known)}" for n in unknown)
        raise SchemaError(Msg.UNKNOWN_FIELDS.format(
            source=mapping.source, count=plural(len(unknown), Msg.ONE_UNKNOWN, Msg.UNKNOWN_COUNT),
            collection=collection.name, id=collection.id, names=names, known=", ".join(known) or Msg.NONE))


# ------------------------------------------------------------------ sending

class _OtherProfile(RequestRefused):
    """A subprofile found by the row's key belongs to another profile: it is not changed."""
    reason_code = "other_profile"


class _SubprofileCalls:
    """The client calls ``ProfileSender`` makes, as calls on one profile's subprofiles in one collection.

    Look-ups search the whole collection (its key identifies a subprofile in
    the collection); a subprofile found under another profile is shown without
    its fields, so that it is never taken for this row's after a lost answer,
    and it is never updated."""

    def __init__(self, client: "CopernicaClient", profile_id: int, collection_id: int,
                 before_post: Callable[[], None]) -> None:
        self._client = client
        self._profile_id = profile_id
        self._collection_id = collection_id
        self._before_post = before_post
        self.api_version = client.api_version
        self.owners: dict[int, int] = {}   # subprofile ID -> its profile, from the last look-up

    def create_profile(self, _collection: int, fields: dict[str, Any], interests: Any = None):
        self._before_post()   # the journal notes 'creating' before the POST leaves
        return self._client.create_subprofile(self._profile_id, self._collection_id, fields)

    def find_profiles(self, _collection: int, match: dict[str, str]) -> list[dict]:
        found = self._client.find_subprofiles(self._collection_id, match)
        self.owners = {int(m["ID"]): _int(m.get("profile")) for m in found}
        return [m if _int(m.get("profile")) == self._profile_id else {**m, "fields": {}} for m in found]

    def update_fields(self, subprofile_id: int, fields: dict[str, Any]) -> int:
        owner = self.owners.get(int(subprofile_id), self._profile_id)
        if owner != self._profile_id:
            raise _OtherProfile(Msg.OTHER_PROFILE.format(sid=subprofile_id, owner=owner, pid=self._profile_id), 0)
        return self._client.update_subprofile_fields(subprofile_id, fields)

    def update_interests(self, *_: Any, **__: Any) -> int:
        return 0  # a collection has no interests

    def put_profile(self, subprofile_id: int, fields: dict[str, Any], interests: Any = None) -> int:
        """The sender's one-request update: a subprofile has fields only."""
        return self.update_fields(subprofile_id, fields) if fields else 0


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class SubprofileSender:
    """One ``SubprofileRow`` -> one ``Outcome`` (or ``Deferred``), the counterpart of ``ProfileSender``."""
    client: "CopernicaClient"
    database_id: int
    collection_id: int
    mode: str = "create"
    key_fields: tuple[str, ...] = ()
    profile_key_fields: tuple[str, ...] = ()
    missing_profile: str = "fail"
    existing_profile: str = "keep"
    replace_interests: bool = False
    blank_fields: frozenset[str] = frozenset()
    profile_blank_fields: frozenset[str] = frozenset()
    profile_blank_interests: frozenset[str] = frozenset()
    journal: "Journal | None" = None
    max_resends: int = 1
    lookup_delay: float = 2.0
    wait: Callable[[float], bool] = field(default=lambda seconds: not time.sleep(seconds))

    @property
    def looks_up(self) -> bool:
        """The database's keys are read at once for profile imports only: here each row is looked up."""
        return False

    def __post_init__(self) -> None:
        self.profiles = ProfileResolver(
            self.client, self.database_id, self.profile_key_fields, missing=self.missing_profile,
            existing=self.existing_profile, replace_interests=self.replace_interests,
            blank_fields=self.profile_blank_fields, blank_interests=self.profile_blank_interests,
            journal=self.journal, wait=self.wait, max_resends=self.max_resends, lookup_delay=self.lookup_delay)

    def send(self, item: SubprofileRow, *, was_in_flight: bool = False, create_sent: bool = False) -> "Outcome | Deferred":
        """``create_sent``: the row's subprofile POST may have left before a crash (journal 'creating');
        a row that was only 'sending' had at most profile calls out, which the profiles table covers."""
        from importer.sender import Deferred, ProfileSender
        assert item.owner is not None
        resolved = self.profiles.resolve(item.owner, item.row)
        if isinstance(resolved, Deferred):
            return resolved
        if isinstance(resolved, Outcome):
            return Outcome(item.row, resolved.status, resolved.profile_id, resolved.reasons + tuple(item.warnings),
                           resolved.attempts, item.key)
        calls = _SubprofileCalls(self.client, resolved.profile_id, self.collection_id,
                                 before_post=lambda: self._creating(item.row))
        inner = ProfileSender(calls, self.collection_id, self.mode, self.key_fields,  # type: ignore[arg-type]
                              blank_fields=self.blank_fields, max_resends=self.max_resends,
                              lookup_delay=self.lookup_delay, wait=self.wait)
        result = inner.send(item, was_in_flight=create_sent, create_sent=create_sent)
        if isinstance(result, Deferred):
            return result
        return Outcome(item.row, result.status, resolved.profile_id,
                       resolved.reasons + tuple(_in_subprofile_words(r) for r in result.reasons),
                       resolved.attempts + result.attempts, result.key,
                       subprofile_id=result.profile_id, profile_status=resolved.status)

    def _creating(self, row: int) -> None:
        if self.journal is not None:
            self.journal.mark_creating(row)


def _in_subprofile_words(reason: Reason) -> Reason:
    """A reason ``ProfileSender`` gave, in the words of subprofiles."""
    from importer.sender import Msg as SenderMsg
    words = {SenderMsg.RECOVERED: Msg.RECOVERED, SenderMsg.UNKNOWN_NO_KEY: Msg.UNKNOWN_NO_KEY,
             SenderMsg.UNKNOWN_OTHER_VALUES: Msg.UNKNOWN_OTHER_VALUES, SenderMsg.UPDATE_LOST: Msg.UPDATE_LOST,
             SenderMsg.GAVE_UP: Msg.GAVE_UP, SenderMsg.MANY_MATCH: Msg.MANY_MATCH, SenderMsg.MANY_EXIST: Msg.MANY_EXIST}
    template = words.get(reason.template)
    return reason if template is None else Reason(reason.code, template, reason.params)
