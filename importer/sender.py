"""Turns one Profile into one Outcome through the API, per ``on_existing`` mode.

The rule that keeps a run free of duplicates: a POST whose answer was lost
(``AmbiguousFailure``) is never sent again blindly. With a key, the profile
is looked up first; only when Copernica does not have it is it sent again.
Without a key, the row ends ``unknown``.
"""
from __future__ import annotations

from dataclasses import dataclass

from importer.checks import quoted
from importer.client import (
    AmbiguousFailure,
    CopernicaClient,
    DatabaseNotFound,
    RequestFailed,
)
from importer.errors import InvalidTokenError
from importer.models import Outcome, Profile, Status
from importer.pacing import PacerStopped


class NotSent(Exception):
    """The run stopped (Ctrl-C, --max-errors) before this row's POST left, and
    nothing earlier for it can have been stored: its 'sending' mark may go.

    A stop in the middle of resolving a lost answer raises ``PacerStopped``
    instead: the row keeps its mark and a resume looks it up.
    """

class Unresolved(Exception):
    """This row's POST may have been stored, and checking it failed (the
    look-up itself could not be done). Sending it again could duplicate the
    person and calling it failed would let a resume do just that, so the row
    keeps its 'sending' mark (no results line) and ``--resume`` looks it up."""


MSG_UNRESOLVED = ("row {row}: could not check whether it was stored after its answer was lost ({why}); "
                  "not sent again, so that nobody is created twice; --resume checks it")
# Messages a marketer reads in the results' `error` column.
MSG_UNKNOWN_NO_KEY = ("the answer from Copernica was lost ({why}); without a `key` in the mapping "
                      "it cannot be checked whether the profile was created. Look it up before "
                      "importing this row again, or it may exist twice")
MSG_UNKNOWN_IN_FLIGHT = ("this row was being sent when the previous run stopped; without a `key` "
                         "in the mapping it cannot be checked whether Copernica created it. Look it "
                         "up before importing this row again, or it may exist twice")
MSG_RECOVERED = "the answer from Copernica was lost ({why}); the profile was found by its key"
MSG_RECOVERED_IN_FLIGHT = "found by its key after the previous run stopped mid-send"
MSG_UNKNOWN_OTHER_VALUES = ("the answer from Copernica was lost ({why}); profile(s) {ids} with this key exist "
                            "but hold other values, so it cannot be told whether this row created one. "
                            "Check them before importing this row again, or the person may exist twice")
MSG_LOOKUP_FAILED = "could not look the key up in Copernica ({why}); nothing was changed"
MSG_UPDATE_LOST = ("the answer to the update was lost ({why}); the profile may or may not hold the new "
                   "values; importing this row again is safe")
# Several profiles with one key: nobody can tell which one the row means, so
# none is touched. In `skip` mode that is what was asked (the person exists):
# `skipped`. In `update`/`upsert` the row's change did not happen: `failed`, so
# the exit code says so and the row can be imported again once the database's
# doubles are merged.
MSG_MANY_MATCH = ("{n} profiles match key: {key}; row not touched (profile IDs {ids}); "
                  "merge or remove the extra profiles in Copernica, then import this row again")
MSG_MANY_EXIST = "exists: {n} profiles match key: {key} (profile IDs {ids})"
MSG_EXISTS = "exists"
MSG_NOT_FOUND = "not found"


@dataclass
class ProfileSender:
    client: CopernicaClient
    database_id: int
    mode: str = "create"
    key_fields: tuple[str, ...] = ()
    replace_interests: bool = False
    blank_fields: frozenset[str] = frozenset()   # lower-cased fields whose empty cell blanks on update
    blank_interests: frozenset[str] = frozenset()  # lower-cased interests whose empty cell switches off
    max_resends: int = 3  # POSTs after lost answers whose lookup found nothing

    def send(self, profile: Profile, *, was_in_flight: bool = False) -> Outcome:
        """One row's outcome. Raises only what stops the whole run:
        InvalidTokenError and other ApiError (with ``maybe_stored`` set on a
        refused token), ``Unresolved``, ``NotSent`` and ``PacerStopped``."""
        row = _RowState(maybe_stored=was_in_flight)
        try:
            # Only a create can be recovered as "created": in the other modes the
            # profile found may have existed before the run, and calling it
            # created would let a rollback delete it. Those modes look up first
            # anyway, so sending the row again cannot duplicate it.
            if was_in_flight and self.mode == "create":
                if not self.key_fields:
                    return self._outcome(profile, Status.UNKNOWN, error=MSG_UNKNOWN_IN_FLIGHT)
                row.attempts += 1
                recovered = self._recover(profile, row, why="the previous run stopped mid-send",
                                          found_message=MSG_RECOVERED_IN_FLIGHT)
                if recovered is not None:
                    return recovered
                row.maybe_stored = False  # the look-up proved it was not stored
                return self._create(profile, row)
            if self.mode == "create":
                return self._create(profile, row)
            return self._by_existing(profile, row)
        except InvalidTokenError as exc:
            exc.maybe_stored = row.maybe_stored  # type: ignore[attr-defined]  # the runner keeps the mark then
            raise
        except DatabaseNotFound:
            raise  # stops the run: every row would fail the same way
        except RequestFailed as exc:
            if row.maybe_stored:
                raise Unresolved(MSG_UNRESOLVED.format(row=profile.row, why=exc)) from None
            if isinstance(exc, AmbiguousFailure):  # an update whose answer was lost
                return self._outcome(profile, Status.FAILED, error=MSG_UPDATE_LOST.format(why=exc),
                                     attempts=row.attempts + exc.attempts)
            return self._outcome(profile, Status.FAILED, error=str(exc), attempts=row.attempts + exc.attempts)

    # -- modes ----------------------------------------------------------------
    def _create(self, profile: Profile, row: "_RowState") -> Outcome:
        fields = {k: v for k, v in profile.fields.items() if k not in profile.empty_fields}
        for _ in range(self.max_resends + 1):
            try:
                result = self.client.create_profile(self.database_id, fields, profile.interests)
                return self._outcome(profile, Status.CREATED, result.profile_id,
                                     attempts=row.attempts + result.attempts)
            except PacerStopped:
                if row.maybe_stored:
                    raise  # an earlier answer was lost: the row keeps its mark for a look-up
                # A POST is retried only after answers proving it was not processed:
                # so nothing of this row is stored.
                raise NotSent() from None
            except AmbiguousFailure as exc:
                row.attempts += exc.attempts
                row.maybe_stored = True
                if not self.key_fields:
                    return self._outcome(profile, Status.UNKNOWN, attempts=row.attempts,
                                         error=MSG_UNKNOWN_NO_KEY.format(why=exc))
                recovered = self._recover(profile, row, why=str(exc), found_message=MSG_RECOVERED.format(why=exc))
                if recovered is not None:
                    return recovered
                row.maybe_stored = False  # the look-up proved it was not stored
                last = exc  # not stored: sending again cannot duplicate
        return self._outcome(profile, Status.FAILED, attempts=row.attempts,
                             error=f"gave up: {last}, {self.max_resends + 1} times")

    def _recover(self, profile: Profile, row: "_RowState", *, why: str, found_message: str) -> Outcome | None:
        """After a lost answer: the row's outcome if Copernica may have it, None
        when it certainly does not (then sending it cannot duplicate)."""
        ours, others = self._find_ours(profile)
        if ours is not None:
            return self._outcome(profile, Status.CREATED, ours, found_message, row.attempts)
        if others:
            # profiles with this key hold other values: one may be this row's, stored
            # in another form (Copernica coerces). Never risk a second person.
            ids = ", ".join(str(i) for i in others[:10])
            return self._outcome(profile, Status.UNKNOWN, attempts=row.attempts,
                                 error=MSG_UNKNOWN_OTHER_VALUES.format(why=why, ids=ids))
        return None

    def _by_existing(self, profile: Profile, row: "_RowState") -> Outcome:
        try:
            matches = self.client.find_profiles(self.database_id, self._key_match(profile))
        except AmbiguousFailure as exc:  # a look-up changes nothing: the row simply failed
            if row.maybe_stored:
                raise  # ...unless an earlier POST of it may be stored: send() leaves it for --resume
            return self._outcome(profile, Status.FAILED, error=MSG_LOOKUP_FAILED.format(why=exc),
                                 attempts=row.attempts + exc.attempts)
        row.attempts += 1
        attempts = row.attempts
        if len(matches) > 1:
            ids = ", ".join(str(m["ID"]) for m in matches[:10]) + (", ..." if len(matches) > 10 else "")
            key = quoted(profile.key)
            if self.mode == "skip":
                return self._outcome(profile, Status.SKIPPED, attempts=attempts,
                                     error=MSG_MANY_EXIST.format(n=len(matches), key=key, ids=ids))
            return self._outcome(profile, Status.FAILED, attempts=attempts,
                                 error=MSG_MANY_MATCH.format(n=len(matches), key=key, ids=ids))
        if matches:
            pid = int(matches[0]["ID"])
            if self.mode == "skip":
                return self._outcome(profile, Status.SKIPPED, pid, MSG_EXISTS, attempts)
            attempts += self._update(pid, profile)
            return self._outcome(profile, Status.UPDATED, pid, attempts=attempts)
        if self.mode == "update":
            return self._outcome(profile, Status.SKIPPED, error=MSG_NOT_FOUND, attempts=attempts)
        return self._create(profile, row)  # skip / upsert: create the new person

    def _update(self, profile_id: int, profile: Profile) -> int:
        # an empty cell does not blank a stored value unless the mapping says so
        fields = {k: v for k, v in profile.fields.items()
                  if k not in profile.empty_fields or k.lower() in self.blank_fields}
        # likewise an empty interest cell leaves the interest as it is; `replace`
        # asks for exactly the row's set, empty cells being "off"
        interests = profile.interests if self.replace_interests else {
            k: v for k, v in profile.interests.items()
            if k not in profile.empty_interests or k.lower() in self.blank_interests}
        return self.client.update_profile(profile_id, fields, interests or None,
                                          replace_interests=self.replace_interests)

    # -- lookups --------------------------------------------------------------
    def _key_match(self, profile: Profile) -> dict[str, str]:
        return {f: profile.fields.get(f, "") for f in self.key_fields}

    def _find_ours(self, profile: Profile) -> tuple[int | None, list[int]]:
        """The profile this row created, if Copernica has it, and the IDs of
        the other profiles with the same key.

        Among the profiles with this key, the one whose fields hold exactly
        what was sent; with several (the person existed before), the newest.

        Known limit (create mode only): if an identical profile (same key, same
        values) existed before the run and this row's POST was in fact not
        stored, that older profile is taken as this row's. No duplicate is
        created and the person exists with exactly these values, but the
        results call it `created`, so a rollback would delete it. Copernica
        offers nothing that tells the two apart for certain (no idempotency
        key; `created` timestamps are server-local), and `skip`/`upsert`
        avoid the question by looking up before sending.
        """
        matches = self.client.find_profiles(self.database_id, self._key_match(profile))
        sent = {k.lower(): v for k, v in profile.fields.items() if k not in profile.empty_fields}
        ours = [int(m["ID"]) for m in matches if _holds(m.get("fields", {}), sent)]
        others = sorted(int(m["ID"]) for m in matches if int(m["ID"]) not in ours)
        return (max(ours) if ours else None), others

    @staticmethod
    def _outcome(profile: Profile, status: Status, profile_id: int | None = None, error: str = "",
                 attempts: int = 0) -> Outcome:
        notes = "; ".join(profile.warnings)
        error = f"{error}; {notes}" if error and notes else (error or notes)
        return Outcome(profile.row, status, profile_id, error, attempts, profile.key)


@dataclass
class _RowState:
    """What is known about one row while it is being sent."""
    maybe_stored: bool = False  # a POST of it may have been stored (answer lost / in flight at a crash)
    attempts: int = 0


def _holds(stored: dict, sent: dict[str, str]) -> bool:
    lowered = {str(k).lower(): v for k, v in stored.items()}
    for name, value in sent.items():
        have = lowered.get(name)
        if have is None:
            return False
        if str(have).strip().lower() != str(value).strip().lower():
            try:
                if float(have) == float(value):
                    continue
            except (TypeError, ValueError):
                pass
            return False
    return True
