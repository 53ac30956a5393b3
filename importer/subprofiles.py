"""Collection imports: each row becomes a subprofile under the profile its ``profile_key`` finds.

A mapping with ``collection:`` (see ``importer.mapping.spec``, "collection
imports") has two sides, each compiled like an ordinary mapping:

- the profile side (``profile_key`` + ``profile_fields`` + ``profile_interests``)
  against the database's fields and interests;
- the subprofile side (``key`` + ``fields``) against the collection's fields.

``compile_collection`` fits both to a file and a database and returns a
``CollectionRowConverter``; each row becomes a ``SubprofileRow`` (the
subprofile's fields, with the profile in ``owner``) or one ``RowError``
holding the problems of both sides.

Sending (``SubprofileSender``) keeps the promises of profile imports:

- **The profile** is found by its key, once per distinct key (cached, one
  look-up at a time per key, so two orders of a new customer never create
  that customer twice). ``missing_profile: create`` creates it from the
  row's profile fields with the rules of ``skip`` mode: the journal notes
  ``creating`` for the key before the POST leaves, a lost answer is looked up
  (twice, then re-sent at most once, then ``unknown``), and a resume after
  kill -9 looks a ``creating`` key up before anything else.
  ``existing_profile: update`` sends the row's profile fields to a profile
  that existed (not again when an earlier row of the run sent the same).
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

import hashlib
import json
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from importer.errors import (
    ApiError,
    InvalidTokenError,
    MappingError,
    RequestFailed,
    RequestRefused,
    SchemaError,
)
from importer.mapping import FieldSpec, Mapping, RowConverter, compile_mapping
from importer.mapping.names import closest_in_list
from importer.mapping.spec import plural
from importer.models import Outcome, Profile, Reason, Row, RowError, Status
from importer.schema import CollectionSchema, DatabaseSchema

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.journal import Journal
    from importer.sender import Deferred


class Msg:
    """What a collection import says (its compile-time errors and its rows' reasons)."""
    NO_COLLECTION = ("{source}: collection {name!r} is not in database {database}{hint}. "
                     "Its collections are: {known}")
    UNKNOWN_FIELDS = ("{source}: {count} not in collection {collection!r} (ID {id}): {names}. "
                      "Its fields are: {known}")
    ONE_UNKNOWN = "the mapped field is"
    UNKNOWN_COUNT = "{n} mapped fields are"
    NONE = "none"
    # the row's profile
    IN_PROFILE = "the row's profile: {inner}"
    NO_PROFILE = ("no profile with {key} in database {database} (missing_profile: fail); the row was not "
                  "imported. Create the profile first, or use missing_profile: create")
    MANY_PROFILES = ("{n} profiles match {key} (profile IDs {ids}); the row was not imported: merge the doubles "
                     "in Copernica, then import this row again")
    PROFILE_UNKNOWN = ("the profile of {key} could not be checked (row {row}: its answers were lost); this row was "
                       "not imported, so that nobody is created twice. Look the profile up in Copernica, then "
                       "import this row again")
    PROFILE_UNRESOLVED = ("row {row}: its profile ({key}) could not be checked yet (see row {first}); not sent, "
                          "--resume checks it")
    PROFILE_UPDATE_FAILED = "the row's profile {pid} could not be updated ({why}); the row was not imported"
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


def folded_key(key: str) -> str:
    """A profile key as Copernica compares it (case and Unicode form ignored), as text for the journal."""
    return unicodedata.normalize("NFC", key).casefold()


@dataclass
class _Known:
    """What the run knows of one profile key."""
    profile_id: int | None = None
    created_by: int | None = None          # the row that created it in this run
    creating: bool = False                 # its POST may have left, unconfirmed (journal: 'creating')
    unknown_since: int | None = None       # its answers were lost and it could not be found (row)
    unresolved_since: int | None = None    # a look-up after a lost answer failed in this run (row)
    sent: str = ""                         # digest of the profile fields last sent to it (existing_profile: update)


@dataclass(frozen=True)
class _Resolved:
    profile_id: int
    status: str            # created / updated / found
    attempts: int
    reasons: tuple[Reason, ...] = ()


class ProfileResolver:
    """Finds (and, with ``missing_profile: create``, creates) the profile of each row, once per key."""

    def __init__(self, client: "CopernicaClient", database_id: int, key_fields: tuple[str, ...], *,
                 missing: str, existing: str, replace_interests: bool, blank_fields: frozenset[str],
                 blank_interests: frozenset[str], journal: "Journal | None", wait: Callable[[float], bool],
                 max_resends: int = 1, lookup_delay: float = 2.0) -> None:
        from importer.sender import ProfileSender
        self.client, self.database_id, self.key_fields = client, database_id, key_fields
        self.missing, self.existing = missing, existing
        self.replace_interests, self.blank_fields, self.blank_interests = replace_interests, blank_fields, blank_interests
        self._journal = journal
        self._sender = ProfileSender(client, database_id, "skip", key_fields, replace_interests=replace_interests,
                                     max_resends=max_resends, lookup_delay=lookup_delay,
                                     on_create=self._creating, wait=wait)
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._known: dict[str, _Known] = {}
        for key, state, pid, row in (journal.profile_states() if journal is not None else []):
            self._known[key] = _Known(profile_id=pid, created_by=row, creating=state == "creating",
                                      unknown_since=row if state == "unknown" else None)

    def _creating(self, profile: Profile) -> None:
        if self._journal is not None:
            self._journal.note_profile(folded_key(profile.key), "creating", profile.row)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def resolve(self, owner: Profile, row: int) -> "_Resolved | Outcome | Deferred":
        from importer.sender import Deferred
        key = folded_key(owner.key)
        with self._key_lock(key):
            known = self._known.get(key)
            if known is not None and known.unknown_since is not None:
                return self._failed(row, owner, Status.UNKNOWN, Reason(
                    "profile_unknown", Msg.PROFILE_UNKNOWN, {"key": self._described(owner), "row": known.unknown_since}))
            if known is not None and known.unresolved_since is not None:
                return Deferred(keep_mark=True, unresolved=Msg.PROFILE_UNRESOLVED.format(
                    row=row, key=self._described(owner), first=known.unresolved_since))
            attempts = 0
            if known is None or known.profile_id is None or known.creating:
                found = self._find(owner, row, known)
                if not isinstance(found, tuple):
                    return found
                known, attempts = found
            assert known.profile_id is not None
            status = "created" if known.created_by == row else "found"
            if status == "found" and self.existing == "update":
                return self._update(owner, row, known, attempts)
            return _Resolved(known.profile_id, status, attempts)

    def _find(self, owner: Profile, row: int, known: _Known | None) -> "tuple[_Known, int] | Outcome | Deferred":
        from importer.sender import Deferred
        key = folded_key(owner.key)
        if self.missing == "fail":
            return self._look_up(owner, row)
        creating = known is not None and known.creating
        result = self._sender.send(owner, was_in_flight=creating, create_sent=creating)
        if isinstance(result, Deferred):
            if result.unresolved:  # it may be stored: later rows of this customer wait for --resume
                self._known[key] = _Known(creating=True, unresolved_since=row)
            return result
        if result.status is Status.CREATED:
            creator = known.created_by if creating and known is not None and known.created_by else row
            assert result.profile_id is not None
            self._note(key, "created", creator, result.profile_id)
            # created with this row's profile fields: a later row sending the same needs no update
            self._known[key] = _Known(profile_id=result.profile_id, created_by=creator,
                                      sent=self._update_payload(owner)[2])
            return self._known[key], result.attempts
        if result.status is Status.SKIPPED and result.profile_id is not None:  # it exists
            self._known[key] = _Known(profile_id=result.profile_id)
            return self._known[key], result.attempts
        if result.status is Status.UNKNOWN:  # never sent again in this run nor by --resume
            self._note(key, "unknown", row)
            self._known[key] = _Known(unknown_since=row)
        if result.status is Status.SKIPPED:  # several profiles match the key: none is the row's
            many = next((r for r in result.reasons if r.code == "many_match"), None)
            params = dict(many.params) if many is not None else {"n": "several", "ids": "?"}
            return self._failed(row, owner, Status.FAILED, Reason("many_match", Msg.MANY_PROFILES, {
                "n": params.get("n"), "ids": params.get("ids"), "key": self._described(owner)}), result.attempts)
        return Outcome(row, result.status, None, tuple(r.within(Msg.IN_PROFILE) for r in result.reasons),
                       result.attempts)

    def _look_up(self, owner: Profile, row: int) -> "tuple[_Known, int] | Outcome | Deferred":
        from importer.pacing import PacerStopped
        from importer.sender import Deferred
        match = {f: owner.fields.get(f, "") for f in self.key_fields}
        failure: Deferred | Outcome
        try:
            matches = self.client.find_profiles(self.database_id, match)
        except PacerStopped:
            return Deferred(keep_mark=False)
        except InvalidTokenError:
            return Deferred(keep_mark=False, stop=InvalidTokenError(api_version=self.client.api_version))
        except ApiError as exc:
            return Deferred(keep_mark=False, stop=exc)
        except RequestFailed as exc:
            from importer.sender import Msg as SenderMsg
            failure = self._failed(row, owner, Status.FAILED, Reason(
                "lookup_failed", SenderMsg.LOOKUP_FAILED, {"why": str(exc)}), exc.attempts)
            return failure
        if len(matches) == 1:
            known = self._known[folded_key(owner.key)] = _Known(profile_id=int(matches[0]["ID"]))
            return known, 1
        if not matches:
            return self._failed(row, owner, Status.FAILED, Reason(
                "no_profile", Msg.NO_PROFILE, {"key": self._described(owner), "database": self.database_id}), 1)
        ids = ", ".join(str(m["ID"]) for m in matches[:10]) + (", ..." if len(matches) > 10 else "")
        return self._failed(row, owner, Status.FAILED, Reason(
            "many_match", Msg.MANY_PROFILES, {"n": len(matches), "key": self._described(owner), "ids": ids}), 1)

    def _update_payload(self, owner: Profile) -> tuple[dict[str, str], dict[str, int], str]:
        """What ``existing_profile: update`` sends for this row's profile (as ProfileSender's update
        mode: an empty cell blanks nothing unless marked), and its digest."""
        fields = {k: v for k, v in owner.fields.items()
                  if k not in owner.empty_fields or k.lower() in self.blank_fields}
        interests = owner.interests if self.replace_interests else {
            k: v for k, v in owner.interests.items()
            if k not in owner.empty_interests or k.lower() in self.blank_interests}
        digest = hashlib.blake2b(json.dumps([fields, interests], sort_keys=True).encode(), digest_size=12).hexdigest()
        return fields, interests, digest

    def _update(self, owner: Profile, row: int, known: _Known, attempts: int) -> "_Resolved | Outcome | Deferred":
        """existing_profile: update: the row's profile fields (and interests) to a profile that existed."""
        from importer.pacing import PacerStopped
        from importer.sender import Deferred
        fields, interests, digest = self._update_payload(owner)
        pid = known.profile_id
        assert pid is not None
        if digest == known.sent:  # an earlier row of this run sent exactly this
            return _Resolved(pid, "found", attempts)
        try:
            if fields:
                attempts += self.client.update_fields(pid, fields)
            if interests:
                attempts += self.client.update_interests(pid, interests, replace=self.replace_interests)
        except PacerStopped:
            return Deferred(keep_mark=False)   # an update stores nobody: the row is simply sent again
        except InvalidTokenError:
            return Deferred(keep_mark=False, stop=InvalidTokenError(api_version=self.client.api_version))
        except ApiError as exc:
            return Deferred(keep_mark=False, stop=exc)
        except RequestFailed as exc:
            return self._failed(row, owner, Status.FAILED, Reason(
                exc.reason_code, Msg.PROFILE_UPDATE_FAILED, {"pid": pid, "why": str(exc)}),
                attempts + exc.attempts, pid)
        known.sent = digest
        return _Resolved(pid, "updated", attempts)

    def _note(self, key: str, state: str, row: int, profile_id: int | None = None) -> None:
        if self._journal is not None:
            self._journal.note_profile(key, state, row, profile_id)

    def _described(self, owner: Profile) -> str:
        return " and ".join(f"{f} {owner.fields.get(f, '')!r}" for f in self.key_fields)

    @staticmethod
    def _failed(row: int, owner: Profile, status: Status, reason: Reason, attempts: int = 0,
                pid: int | None = None) -> Outcome:
        return Outcome(row, status, pid, (reason,), attempts)


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
