"""Turns one Profile into one Outcome through the API, per ``on_existing`` mode.

The rule that keeps a run free of duplicates: a POST whose answer was lost
(``AnswerLost``) is never sent again blindly. With a key, the profile is
looked up; when Copernica does not show it, it is looked up once more after
``lookup_delay`` seconds (a store may lag behind its writes), and only then
sent again, at most ``max_resends`` times (once). A row whose repeated POSTs
all lost their answers and that still cannot be found ends ``unknown``, never
sent a third time. Without a key, the row ends ``unknown`` at once.

``ProfileSender.send`` returns a value, never raises for control flow: an
``Outcome`` (the row is final), or ``Deferred`` (the row has no outcome in
this run: its 'sending' mark goes or stays, and the run may have to stop).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from importer.client import CopernicaClient
from importer.errors import AnswerLost, ApiError, CopernicaImportError, InvalidTokenError, RequestFailed
from importer.models import Outcome, Profile, Reason, Status
from importer.pacing import PacerStopped

if TYPE_CHECKING:
    from importer.key_index import KeyIndex, ValueForms


class Msg:
    """What a marketer reads in the results' `error` column (and the log)."""
    UNRESOLVED = ("row {row}: could not check whether it was stored after its answer was lost ({why}); "
                  "not sent again, so that nobody is created twice; --resume checks it")
    UNKNOWN_NO_KEY = ("the answer from Copernica was lost ({why}); without a `key` in the mapping "
                      "it cannot be checked whether the profile was created. Look it up before "
                      "importing this row again, or it may exist twice")
    UNKNOWN_IN_FLIGHT = ("this row was being sent when the previous run stopped; without a `key` "
                         "in the mapping it cannot be checked whether Copernica created it. Look it "
                         "up before importing this row again, or it may exist twice")
    RECOVERED = "the answer from Copernica was lost ({why}); the profile was found by its key"
    RECOVERED_IN_FLIGHT = "found by its key after the previous run stopped mid-send"
    UNKNOWN_OTHER_VALUES = ("the answer from Copernica was lost ({why}); profile(s) {ids} with this key exist "
                            "but hold other values, so it cannot be told whether this row created one. "
                            "Check them before importing this row again, or the person may exist twice")
    LOOKUP_FAILED = "could not look the key up in Copernica ({why}); nothing was changed"
    UPDATE_LOST = ("the answer to the update was lost ({why}); the profile may or may not hold the new "
                   "values; importing this row again is safe")
    GAVE_UP = ("the answer from Copernica was lost {times} times ({why}) and the profile could not be found "
               "by its key afterwards; not sent again, so that nobody is created twice. Look it up in Copernica "
               "before importing this row again")
    PARTIAL_UPDATE = ("the fields of profile {pid} were updated, but its interests were not ({why}); "
                      "importing this row again is safe")
    # Several profiles with one key: nobody can tell which one the row means, so
    # none is touched. In `skip` mode that is what was asked (the person exists):
    # `skipped`. In `update`/`upsert` the row's change did not happen: `failed`, so
    # the exit code says so and the row can be imported again once the database's
    # doubles are merged.
    MANY_MATCH = ("{n} profiles match key: {key}; row not touched (profile IDs {ids}); "
                  "merge or remove the extra profiles in Copernica, then import this row again")
    MANY_EXIST = "exists: {n} profiles match key: {key} (profile IDs {ids})"
    EXISTS = "exists"
    UNCHANGED = "unchanged: profile {pid} holds these values already; nothing was sent"
    NOT_FOUND = "not found"
    PREVIOUS_RUN_STOPPED = "the previous run stopped mid-send"
    REQUEST_FAILED = "{why}"


@dataclass(frozen=True, slots=True)
class Deferred:
    """The row has no outcome in this run.

    ``keep_mark``: a POST of it may be stored, so it keeps its 'sending' mark
    and ``--resume`` looks it up (False: certainly not stored, the mark goes
    and a resume simply sends it). ``unresolved``: why checking it failed,
    listed in the summary. ``stop``: an error that stops the whole run.
    """
    keep_mark: bool
    unresolved: str | None = None
    stop: CopernicaImportError | None = None


SendResult = Outcome | Deferred


@dataclass
class ProfileSender:
    client: CopernicaClient
    database_id: int
    mode: str = "create"
    key_fields: tuple[str, ...] = ()
    replace_interests: bool = False
    blank_fields: frozenset[str] = frozenset()   # lower-cased fields whose empty cell blanks on update
    blank_interests: frozenset[str] = frozenset()  # lower-cased interests whose empty cell switches off
    max_resends: int = 1          # POSTs after lost answers whose look-ups found nothing
    lookup_delay: float = 2.0     # seconds before the second look-up after a lost answer
    # called before a POST that follows a look-up (skip, upsert): the journal notes
    # 'creating', so a resume after a crash reports the profile as created
    on_create: Callable[[Profile], None] | None = None
    # waits that long unless the run is stopping; False when it is
    wait: Callable[[float], bool] = field(default=lambda seconds: not time.sleep(seconds))
    # the database's keys, read once (importer.key_index): rows are matched
    # there instead of one look-up each; None: a look-up per row
    index: "KeyIndex | None" = None
    # compares a row with the profile it updates: an unchanged one is not written
    forms: "ValueForms | None" = None
    # every interest of the database (read from the API in this run): an update
    # with interests_on_update: replace names them all in one request; None: two requests
    all_interests: tuple[str, ...] | None = None

    @property
    def looks_up(self) -> bool:
        """Rows are matched by key before they are written (skip, update, upsert)."""
        return self.mode != "create" and bool(self.key_fields)

    def send(self, profile: Profile, *, was_in_flight: bool = False, create_sent: bool = False) -> SendResult:
        """One row's outcome, or ``Deferred`` when it has none in this run.

        ``was_in_flight``: a request of this row had left when a run stopped
        (a crash); ``create_sent``: that request was a POST (skip/upsert modes).
        """
        row = _RowState(maybe_stored=was_in_flight and (self.mode == "create" or create_sent))
        try:
            return self._send(profile, row, was_in_flight and (self.mode == "create" or create_sent))
        except PacerStopped:
            # the run is stopping: a row whose earlier answer was lost keeps its
            # mark for a look-up; otherwise nothing of it can be stored (a POST is
            # only retried after answers proving it was not processed)
            return Deferred(keep_mark=row.maybe_stored)
        except InvalidTokenError:
            return Deferred(keep_mark=row.maybe_stored,
                            stop=InvalidTokenError(api_version=self.client.api_version, maybe_stored=row.maybe_stored))
        except ApiError as exc:  # every row would fail the same way (database gone, nonsense answers)
            return Deferred(keep_mark=row.maybe_stored, stop=exc)
        except RequestFailed as exc:
            if row.maybe_stored:
                return Deferred(keep_mark=True, unresolved=Msg.UNRESOLVED.format(row=profile.row, why=exc))
            if isinstance(exc, AnswerLost):  # an update whose answer was lost
                return self._outcome(profile, Status.FAILED, row.attempts + exc.attempts,
                                     reason=Reason("answer_lost", Msg.UPDATE_LOST, {"why": str(exc)}))
            return self._outcome(profile, Status.FAILED, row.attempts + exc.attempts,
                                 reason=Reason(exc.reason_code, Msg.REQUEST_FAILED, {"why": str(exc)}))

    def _send(self, profile: Profile, row: "_RowState", create_was_sent: bool) -> Outcome:
        # Only a POST that had left can be recovered as "created": a profile found
        # after a mere look-up may have existed before the run, and calling it
        # created would let a rollback delete it. (In skip/upsert the look-up
        # before the POST found nothing, so a profile found now is this row's.)
        if create_was_sent:
            if not self.key_fields:
                return self._outcome(profile, Status.UNKNOWN, reason=Reason("in_flight_no_key", Msg.UNKNOWN_IN_FLIGHT))
            row.attempts += 1
            recovered = self._recover(profile, row, why=Msg.PREVIOUS_RUN_STOPPED,
                                      found=Reason("recovered", Msg.RECOVERED_IN_FLIGHT))
            if recovered is not None:
                return recovered
            row.maybe_stored = False  # the look-up proved it was not stored
            return self._create(profile, row)
        if self.mode == "create":
            return self._create(profile, row)
        return self._by_existing(profile, row)

    # -- modes ----------------------------------------------------------------
    def _create(self, profile: Profile, row: "_RowState") -> Outcome:
        fields = {k: v for k, v in profile.fields.items() if k not in profile.empty_fields}
        last: AnswerLost | None = None
        if self.mode != "create" and self.on_create is not None:
            self.on_create(profile)
        for _ in range(self.max_resends + 1):
            try:
                result = self.client.create_profile(self.database_id, fields, profile.interests)
                return self._outcome(profile, Status.CREATED, row.attempts + result.attempts, result.profile_id)
            except AnswerLost as exc:
                row.attempts += exc.attempts
                row.maybe_stored = True
                if not self.key_fields:
                    return self._outcome(profile, Status.UNKNOWN, row.attempts,
                                         reason=Reason("answer_lost", Msg.UNKNOWN_NO_KEY, {"why": str(exc)}))
                recovered = self._recover(profile, row, why=str(exc),
                                          found=Reason("recovered", Msg.RECOVERED, {"why": str(exc)}))
                if recovered is not None:
                    return recovered
                row.maybe_stored = False  # the look-up proved it was not stored
                last = exc  # not stored: sending again cannot duplicate
        # every POST lost its answer and no look-up found the profile: it may still
        # appear (a lagging store); a third POST could make the person twice
        return self._outcome(profile, Status.UNKNOWN, row.attempts, reason=Reason(
            "gave_up", Msg.GAVE_UP, {"why": str(last), "times": self.max_resends + 1}))

    def _recover(self, profile: Profile, row: "_RowState", *, why: str, found: Reason) -> Outcome | None:
        """After a lost answer: the row's outcome if Copernica may have it, None
        when two look-ups ``lookup_delay`` apart do not find it (then sending
        it again cannot duplicate, unless the store lags longer than that:
        which is why it is sent again only ``max_resends`` times)."""
        ours, others = self._find_ours(profile)
        if ours is None and not others:
            if not self.wait(self.lookup_delay):
                raise PacerStopped()  # the run is stopping: the row keeps its mark, --resume looks it up
            row.attempts += 1
            ours, others = self._find_ours(profile)
        if ours is not None:
            return self._outcome(profile, Status.CREATED, row.attempts, ours, reason=found)
        if others:
            # profiles with this key hold other values: one may be this row's, stored
            # in another form (Copernica coerces). Never risk a second person.
            ids = ", ".join(str(i) for i in others[:10])
            return self._outcome(profile, Status.UNKNOWN, row.attempts, reason=Reason(
                "other_values", Msg.UNKNOWN_OTHER_VALUES, {"why": why, "ids": ids}))
        return None

    def _by_existing(self, profile: Profile, row: "_RowState") -> Outcome:
        if self.index is not None:
            matches = self.index.find(profile.key)
        else:
            try:
                found = self.client.find_profiles(self.database_id, self._key_match(profile))
            except AnswerLost as exc:  # a look-up changes nothing: the row simply failed
                if row.maybe_stored:
                    raise  # ...unless an earlier POST of it may be stored: send() leaves it for --resume
                return self._outcome(profile, Status.FAILED, row.attempts + exc.attempts,
                                     reason=Reason("lookup_failed", Msg.LOOKUP_FAILED, {"why": str(exc)}))
            row.attempts += 1
            compare = self.forms is not None and self.mode != "skip" and len(found) == 1
            matches = [(int(m["ID"]), self.forms.stored(m.get("fields"), m.get("interests")) if compare else 0)
                       for m in found]
        if len(matches) > 1:
            ids = ", ".join(str(pid) for pid, _ in matches[:10]) + (", ..." if len(matches) > 10 else "")
            params = {"n": len(matches), "key": _quoted(profile.key), "ids": ids}
            if self.mode == "skip":
                return self._outcome(profile, Status.SKIPPED, row.attempts,
                                     reason=Reason("many_match", Msg.MANY_EXIST, params))
            return self._outcome(profile, Status.FAILED, row.attempts,
                                 reason=Reason("many_match", Msg.MANY_MATCH, params))
        if matches:
            pid, stored = matches[0]
            if self.mode == "skip":
                return self._outcome(profile, Status.SKIPPED, row.attempts, pid, reason=Reason("exists", Msg.EXISTS))
            return self._update(pid, profile, row, stored)
        if self.mode == "update":
            return self._outcome(profile, Status.SKIPPED, row.attempts, reason=Reason("not_found", Msg.NOT_FOUND))
        return self._create(profile, row)  # skip / upsert: create the new person

    def _update(self, profile_id: int, profile: Profile, row: "_RowState", stored: int = 0) -> Outcome:
        # an empty cell does not blank a stored value unless the mapping says so
        fields = {k: v for k, v in profile.fields.items()
                  if k not in profile.empty_fields or k.lower() in self.blank_fields}
        # likewise an empty interest cell leaves the interest as it is; `replace`
        # asks for exactly the row's set, empty cells being "off"
        interests = profile.interests if self.replace_interests else {
            k: v for k, v in profile.interests.items()
            if k not in profile.empty_interests or k.lower() in self.blank_interests}
        if self.forms is not None and stored and self.forms.sent(fields, interests) == stored:
            return self._outcome(profile, Status.SKIPPED, row.attempts, profile_id,
                                 reason=Reason("unchanged", Msg.UNCHANGED, {"pid": profile_id}))
        if not (self.replace_interests and interests and self.all_interests is None):
            # one request: PUT /profile/{id} switches the interests it names and leaves the
            # others; a replace names every interest of the database (the unmapped ones off)
            if self.replace_interests and interests:
                named = {k.lower() for k in interests}
                interests = {**{n: 0 for n in self.all_interests or () if n.lower() not in named}, **interests}
            if fields or interests:
                row.attempts += self.client.put_profile(profile_id, fields, interests)
            return self._outcome(profile, Status.UPDATED, row.attempts, profile_id)
        # replace without the database's full list of interests: fields, then the set
        if fields:
            row.attempts += self.client.update_fields(profile_id, fields)
        if interests:
            try:
                row.attempts += self.client.update_interests(profile_id, interests,
                                                             replace=self.replace_interests)
            except RequestFailed as exc:
                if not fields:
                    raise
                # the fields are changed already: say so, with the profile's ID
                return self._outcome(profile, Status.FAILED, row.attempts + exc.attempts, profile_id,
                                     reason=Reason("partial_update", Msg.PARTIAL_UPDATE,
                                                   {"pid": profile_id, "why": str(exc)}))
        return self._outcome(profile, Status.UPDATED, row.attempts, profile_id)

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
    def _outcome(profile: Profile, status: Status, attempts: int = 0, profile_id: int | None = None, *,
                 reason: Reason | None = None) -> Outcome:
        reasons = ((reason,) if reason is not None else ()) + tuple(profile.warnings)
        return Outcome(profile.row, status, profile_id, reasons, attempts, profile.key)


@dataclass
class _RowState:
    """What is known about one row while it is being sent."""
    maybe_stored: bool = False  # a POST of it may have been stored (answer lost / in flight at a crash)
    attempts: int = 0


def _quoted(value: str) -> str:
    return "'" + value.replace("\n", "\u23ce") + "'"


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
