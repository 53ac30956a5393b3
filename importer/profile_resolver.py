"""The profile of each row of a collection import, found (or created) once per key: ``ProfileResolver``.

The profile is found by its key, once per distinct key (cached, one
look-up at a time per key, so two orders of a new customer never create
that customer twice). ``missing_profile: create`` creates it from the
row's profile fields with the rules of ``skip`` mode: the journal notes
``creating`` for the key before the POST leaves, a lost answer is looked up
(twice, then re-sent at most once, then ``unknown``), and a resume after
kill -9 looks a ``creating`` key up before anything else.
``existing_profile: update`` sends the row's profile fields to a profile
that existed (not again when an earlier row of the run sent the same).

``SubprofileSender`` (``importer.subprofiles``) asks it for each row's
profile before the subprofile is sent.
"""
from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer.errors import ApiError, InvalidTokenError, RequestFailed
from importer.models import Outcome, Profile, Reason, Status

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.journal import Journal
    from importer.sender import Deferred


class Msg:
    """What finding a row's profile can say."""
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


def folded_key(key: str) -> str:
    """A profile key as Copernica compares it (case and Unicode form ignored), as text for the journal."""
    return unicodedata.normalize("NFC", key).casefold()


@dataclass
class KnownProfile:
    """What the run knows of one profile key."""
    profile_id: int | None = None
    created_by: int | None = None          # the row that created it in this run
    creating: bool = False                 # its POST may have left, unconfirmed (journal: 'creating')
    unknown_since: int | None = None       # its answers were lost and it could not be found (row)
    unresolved_since: int | None = None    # a look-up after a lost answer failed in this run (row)
    sent: str = ""                         # digest of the profile fields last sent to it (existing_profile: update)


@dataclass(frozen=True)
class Resolved:
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
        self._known: dict[str, KnownProfile] = {}
        for key, state, pid, row in (journal.profile_states() if journal is not None else []):
            self._known[key] = KnownProfile(profile_id=pid, created_by=row, creating=state == "creating",
                                      unknown_since=row if state == "unknown" else None)

    def _creating(self, profile: Profile) -> None:
        if self._journal is not None:
            self._journal.note_profile(folded_key(profile.key), "creating", profile.row)

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def resolve(self, owner: Profile, row: int) -> "Resolved | Outcome | Deferred":
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
            return Resolved(known.profile_id, status, attempts)

    def _find(self, owner: Profile, row: int, known: KnownProfile | None) -> "tuple[KnownProfile, int] | Outcome | Deferred":
        from importer.sender import Deferred
        key = folded_key(owner.key)
        if self.missing == "fail":
            return self._look_up(owner, row)
        creating = known is not None and known.creating
        result = self._sender.send(owner, was_in_flight=creating, create_sent=creating)
        if isinstance(result, Deferred):
            if result.unresolved:  # it may be stored: later rows of this customer wait for --resume
                self._known[key] = KnownProfile(creating=True, unresolved_since=row)
            return result
        if result.status is Status.CREATED:
            creator = known.created_by if creating and known is not None and known.created_by else row
            assert result.profile_id is not None
            self._note(key, "created", creator, result.profile_id)
            # created with this row's profile fields: a later row sending the same needs no update
            self._known[key] = KnownProfile(profile_id=result.profile_id, created_by=creator,
                                      sent=self._update_payload(owner)[2])
            return self._known[key], result.attempts
        if result.status is Status.SKIPPED and result.profile_id is not None:  # it exists
            self._known[key] = KnownProfile(profile_id=result.profile_id)
            return self._known[key], result.attempts
        if result.status is Status.UNKNOWN:  # never sent again in this run nor by --resume
            self._note(key, "unknown", row)
            self._known[key] = KnownProfile(unknown_since=row)
        if result.status is Status.SKIPPED:  # several profiles match the key: none is the row's
            many = next((r for r in result.reasons if r.code == "many_match"), None)
            params = dict(many.params) if many is not None else {"n": "several", "ids": "?"}
            return self._failed(row, owner, Status.FAILED, Reason("many_match", Msg.MANY_PROFILES, {
                "n": params.get("n"), "ids": params.get("ids"), "key": self._described(owner)}), result.attempts)
        return Outcome(row, result.status, None, tuple(r.within(Msg.IN_PROFILE) for r in result.reasons),
                       result.attempts)

    def _look_up(self, owner: Profile, row: int) -> "tuple[KnownProfile, int] | Outcome | Deferred":
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
            known = self._known[folded_key(owner.key)] = KnownProfile(profile_id=int(matches[0]["ID"]))
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

    def _update(self, owner: Profile, row: int, known: KnownProfile, attempts: int) -> "Resolved | Outcome | Deferred":
        """existing_profile: update: the row's profile fields (and interests) to a profile that existed."""
        from importer.pacing import PacerStopped
        from importer.sender import Deferred
        fields, interests, digest = self._update_payload(owner)
        pid = known.profile_id
        assert pid is not None
        if digest == known.sent:  # an earlier row of this run sent exactly this
            return Resolved(pid, "found", attempts)
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
        return Resolved(pid, "updated", attempts)

    def _note(self, key: str, state: str, row: int, profile_id: int | None = None) -> None:
        if self._journal is not None:
            self._journal.note_profile(key, state, row, profile_id)

    def _described(self, owner: Profile) -> str:
        return " and ".join(f"{f} {owner.fields.get(f, '')!r}" for f in self.key_fields)

    @staticmethod
    def _failed(row: int, owner: Profile, status: Status, reason: Reason, attempts: int = 0,
                pid: int | None = None) -> Outcome:
        return Outcome(row, status, pid, (reason,), attempts)
