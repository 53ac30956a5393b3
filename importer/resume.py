"""What a run does with each row, given what its journal knows (``--resume``),
and the watch on an input file that changes while it is imported.

A row whose cells are unchanged keeps its final outcome (failed ones are
sent again unless --skip-failed). A changed row is handled by the mode's
rules: in create mode a row that created a profile is never created again,
nor is any key this run created already (rows may have moved); in skip,
update and upsert the row is simply looked up again. Rows the first run
never saw are imported. A row that was in flight at a crash is looked up by
its key before anything else.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from importer.created_record import Created, CreatedRecord
from importer.dedupe import folded
from importer.journal import Journal, RowState
from importer.models import Outcome, Profile, Reason, Status


class Msg:
    CHANGED_SINCE_CREATED = ("this row changed after this run created its profile{profile}; not created again "
                             "(to bring the change into Copernica, import the file with --on-existing update)")
    CREATED_BEFORE = ("a profile with this key was created by this run already{profile}, from the row that was "
                      "row {row} when it was sent (the file has changed since); not created again")
    MOVED = ("created by this run when this row was row {row} (the file has changed since: it moved); "
             "not created again")
    IN_FLIGHT_CHANGED = ("this row was being sent when the run stopped and has changed since, so it cannot be "
                         "checked: look up key {key} in Copernica before importing this row again")
    PROFILE = " (profile {pid})"
    # a collection import: the row created a subprofile
    SUB_CHANGED_SINCE_CREATED = ("this row changed after this run created its subprofile{subprofile}; not created "
                                 "again (to bring the change into Copernica, import the file with --on-existing "
                                 "update)")
    SUB_CREATED_BEFORE = ("a subprofile with this key was created by this run already{subprofile}, from the row that "
                          "was row {row} when it was sent (the file has changed since); not created again")
    SUBPROFILE = " (subprofile {sid})"


class FileWatch:
    """Notices an input file that changes while it is imported (another program still writing it)."""

    EVERY_ROWS = 1000

    def __init__(self, path: Path) -> None:
        self.path = path
        self._before = self._look()

    def _look(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def changed(self) -> bool:
        return self._before is not None and self._look() != self._before


def journal_states(journal: Journal, resume: bool) -> Callable[[int], RowState | None]:
    """A cursor over the journal in row order, for a merge with the rows."""
    it = journal.states() if resume else iter(())
    current = next(it, None)

    def state_of(row_number: int) -> RowState | None:
        nonlocal current
        while current is not None and current.row < row_number:
            current = next(it, None)
        if current is not None and current.row == row_number:
            return current
        return None
    return state_of


@dataclass(frozen=True, slots=True)
class Final:
    outcome: Outcome
    journaled: bool = False   # the outcome comes from the journal (not recorded again)


@dataclass(frozen=True, slots=True)
class Send:
    in_flight: str | None = None  # 'sending' / 'creating' when a request of it had left before a crash


class ResumePlan:
    """What to do with each row, given what the journal knows of it.

    A row whose cells are unchanged keeps its final outcome (failed ones are
    sent again unless --skip-failed). A row that only moved (a line inserted
    or deleted above it: the same cells and key as a row that created a
    profile, under another number) keeps that profile: ``created``, code
    ``moved``. A changed row is handled by the mode's rules: in create mode a
    row that created a profile is never created again, nor is any key this
    run created already. New rows are imported.

    A collection import (``collection``) does the same with the subprofiles
    its rows created: a moved row keeps its subprofile (and names its
    profile), a changed row names the subprofile it created.
    """

    def __init__(self, journal: Journal, mode: str, has_key: bool, *, resume: bool, retry_failed: bool,
                 collection: bool = False) -> None:
        self.mode, self.has_key, self.resume, self.retry_failed = mode, has_key, resume, retry_failed
        self.changed = self.added = 0
        self.collection = collection
        self._record = CreatedRecord(journal, subprofiles=collection)
        self._last_known = 0
        self._created: dict[int, int] = {}  # folded key hash -> row that may have created it
        self._claimed: set[int] = set()     # profiles (subprofiles) a moved row of this resume has taken
        # rows may have moved only when the file changed: then the journal's record of created profiles is asked
        self._moves = resume and bool(getattr(journal, "file_changed", False))
        self._flying: dict[str, str] = {}   # digest -> state of the rows in flight at the stop (file changed)
        if resume:
            self._last_known = journal.last_row()
            if self._moves:
                self._flying = dict(journal.read("SELECT digest, state FROM rows WHERE state IN ('sending', "
                                                 "'creating') AND digest IS NOT NULL"))
            if mode == "create" and has_key:
                self._created = {folded(key): row for row, key in journal.created_keys()}

    def decide(self, number: int, verdict: Profile | Outcome, known: RowState | None, digest: str) -> Final | Send:
        if known is not None and known.outcome is not None and known.digest in ("", digest):
            # unchanged ("": a journal of version 1)
            if known.outcome.status is Status.FAILED and self.retry_failed:
                return self._fresh(number, verdict)
            own = known.outcome.subprofile_id if self.collection else known.outcome.profile_id
            if self._moves and known.outcome.status is Status.CREATED and own:
                self._claimed.add(own)  # this row's own: no moved row takes it
            return Final(known.outcome, journaled=True)
        if known is not None and known.in_flight:
            if known.digest != digest:
                self.changed += 1
                if isinstance(verdict, Outcome):  # its earlier version was being sent: it may exist
                    return Final(Outcome(number, Status.UNKNOWN, reasons=(Reason(
                        "in_flight_changed", Msg.IN_FLIGHT_CHANGED, {"key": known.key or "?"}),), key=known.key))
            if not self._elsewhere(known, verdict, digest):
                return Send(in_flight=known.state)
            known = None  # another row is at its place now (the file changed): that row is judged as itself
        moved = self._moved(number, verdict, digest)
        if moved is not None:
            return moved
        if self._moves and isinstance(verdict, Profile) and digest in self._flying:
            return Send(in_flight=self._flying.pop(digest))  # the row in flight at the stop, moved: looked up first
        if known is None:
            if self.resume and number > self._last_known:
                self.added += 1
            return self._fresh(number, verdict)
        outcome = known.outcome
        assert outcome is not None
        same_person = not self.has_key or isinstance(verdict, Outcome) or \
            folded(verdict.key) == folded(outcome.key)
        if same_person:
            self.changed += 1
        else:
            self.added += 1  # another person at this place: a row inserted, or its key edited
        if self.mode == "create" and outcome.status in (Status.CREATED, Status.UNKNOWN) and same_person:
            return Final(self._skipped(number, "changed_since_created", Created(
                outcome.profile_id, number, outcome.key, outcome.subprofile_id), {}))
        return self._fresh(number, verdict)

    def _skipped(self, number: int, code: str, created: Created, values: dict) -> Outcome:
        """A row not created again: it (or its key) created ``created`` already; the result names its ID(s)."""
        pid, sid = created.profile_id, created.subprofile_id
        if self.collection:
            template = Msg.SUB_CHANGED_SINCE_CREATED if code == "changed_since_created" else Msg.SUB_CREATED_BEFORE
            values = {**values, "subprofile": Msg.SUBPROFILE.format(sid=sid) if sid else ""}
        else:
            template = Msg.CHANGED_SINCE_CREATED if code == "changed_since_created" else Msg.CREATED_BEFORE
            values = {**values, "profile": Msg.PROFILE.format(pid=pid) if pid else ""}
        return Outcome(number, Status.SKIPPED, pid, (Reason(code, template, values),), key=created.key,
                       subprofile_id=sid)

    def _elsewhere(self, known: RowState, verdict: Profile | Outcome, digest: str) -> bool:
        """The row in flight at this place has moved (the file changed): this row has another key."""
        return self._moves and self.has_key and isinstance(verdict, Profile) and known.digest != digest \
            and folded(verdict.key) != folded(known.key)

    def _moved(self, number: int, verdict: Profile | Outcome, digest: str) -> Final | None:
        """A row with the cells (and key) of a row that created a profile (subprofile), now under another number."""
        if not self._moves or not isinstance(verdict, Profile):
            return None
        for found in self._record.with_digest(digest):
            if found.own_id in self._claimed or (self.has_key and folded(found.key) != folded(verdict.key)):
                continue
            self._claimed.add(found.own_id)
            reasons = (Reason("moved", Msg.MOVED, {"row": found.row}),) if found.row != number else ()
            return Final(Outcome(number, Status.CREATED, found.profile_id, reasons, attempts=1, key=found.key,
                                 subprofile_id=found.subprofile_id, profile_status=found.profile_status))
        return None

    def _fresh(self, number: int, verdict: Profile | Outcome) -> Final | Send:
        if isinstance(verdict, Outcome):
            return Final(verdict)
        if self.mode != "create" or not self.has_key or not self.resume or not verdict.key:
            return Send()
        other = self._created.get(folded(verdict.key))
        found = self._record.with_key(verdict.key) if other is not None or self._moves else None
        if found is not None and other is None:
            other = found.row
        if other is not None and (other != number or self._moves):
            created = Created(found.profile_id if found else None, other, verdict.key,
                              found.subprofile_id if found else None)
            return Final(self._skipped(number, "created_before", created, {"row": other}))
        return Send()
