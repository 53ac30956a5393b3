"""Undo a run: delete every profile it created (never the ones it updated or skipped).

Which profiles: the ``created`` lines of the run's results file, together with
the run's journal when it is still there (the journal is written first, so it
may know a few profiles the results file does not yet show).

Writes its own record (``RESULTS.rollback.csv``, in the results file's own
layout: its byte-order mark and delimiter, so Excel opens both the same way;
a workbook's record is a CSV with a byte-order mark and commas), one line
per profile: each
sending thread records a delete (flushed) before it sends its next one, so
whatever stops a rollback (Ctrl-C, SIGTERM, kill -9, a refused token) leaves
a record that holds every delete Copernica may have done but one per
thread at most. Running the command again continues where it stopped:
profiles already ``deleted`` in the record are not sent again, and a profile
that is already gone (deleted just before an interruption, or by someone
else) counts as rolled back and says so. It holds the run's lock, so it
cannot run beside the import it undoes, nor twice at once.

    from importer import Connection, rollback
    done = rollback(Path("contacts.results.csv"), Connection(token=token), yes=True)
    done.exit_code   # 0 all deleted, 1 some failed, 2 declined/nothing sent, 3 stopped

A collection import's run (its results file has ``subprofile_id``) is undone
in two steps: first every subprofile it created, then every profile it
created (``profile_status`` ``created``, and the journal's profiles table:
also a profile whose row never got its subprofile). Its record has a
``subprofile_id`` column: a line with one is a subprofile's delete.
"""
from __future__ import annotations

import csv
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from importer.client import COPERNICA_ALREADY_REMOVED, COPERNICA_SUBPROFILE_ALREADY_REMOVED
from importer.connection import Connection
from importer.errors import ApiError, CopernicaImportError, RequestFailed, RequestRefused, UsageError
from importer.journal import RunLock, journal_path_for, rollback_path_for
from importer.results import csv_layout, is_workbook, read_results

ROLLBACK_COLUMNS = ("row", "status", "profile_id", "error")
COLLECTION_ROLLBACK_COLUMNS = ("row", "status", "profile_id", "subprofile_id", "error")
DELETED, FAILED = "deleted", "failed"
# Copernica's answers for a profile (or subprofile) that is not there (any more)
GONE_MESSAGES = (COPERNICA_ALREADY_REMOVED.lower(), COPERNICA_SUBPROFILE_ALREADY_REMOVED.lower(),
                 "already been removed", "no profile with supplied id", "no subprofile with supplied id")


class Msg:
    """Everything the command says."""
    NO_RESULTS = "results file {path} does not exist"
    UPDATED_NOT_RESTORED = ("note: {n:,} profiles were updated by this run; a rollback does not delete "
                            "them and cannot restore their earlier values")
    UNKNOWN_ROWS = ("note: {n:,} rows ended 'unknown' (the answer from Copernica was lost and the mapping "
                    "has no key); if Copernica created profiles for them, they are not deleted")
    IN_FLIGHT = ("note: {n:,} rows were being sent when the run stopped; their profiles (if created) are not "
                 "known yet. Finish the run first with `run ... --resume`, then roll back again")
    UPDATED_LATER = ("warning: {n:,} of the profiles this run created were updated by a later run ({files}); "
                     "deleting them deletes those updates too (profiles {ids})")
    WOULD_DELETE = "would delete profile {pid} (row {row})"
    DRY_RUN_TOTAL = "{todo:,} profiles would be deleted ({done:,} deleted by an earlier rollback)."
    NOTHING_TO_DO = "Nothing to delete: the run created {created:,} profiles, {done:,} are deleted already."
    NOT_A_TERMINAL = ("rollback would delete {todo:,} profiles; add --yes to confirm when not at a terminal "
                      "(or --dry-run to list them)")
    CONFIRM = ("Delete {todo:,} profiles created by the run in {path} from {target}? "
               "This cannot be undone. Type yes: ")
    DECLINED = "Nothing deleted."
    ALREADY_GONE = "was already removed (by an earlier rollback, by hand or by another tool): counts as rolled back"
    DONE = ("Deleted {deleted:,} profiles ({gone:,} of them were already gone), {failed:,} failed. "
            "Record: {output}")
    FAILED_HINT = "Run the same rollback command again to retry the failed ones."
    STOPPED = ("Stopped: {deleted:,} deleted so far, each one recorded. Run the same command again to continue. "
               "Record: {output}")
    # a collection import's run
    WOULD_DELETE_SUBPROFILE = "would delete subprofile {sid} of profile {pid} (row {row})"
    SUB_DRY_RUN_TOTAL = ("{subprofiles:,} subprofiles and {profiles:,} profiles would be deleted ({done:,} deleted "
                         "by an earlier rollback).")
    SUB_NOTHING_TO_DO = ("Nothing to delete: the run created {created:,} subprofiles and profiles, {done:,} are "
                         "deleted already.")
    SUB_NOT_A_TERMINAL = ("rollback would delete {subprofiles:,} subprofiles and {profiles:,} profiles; add --yes to "
                          "confirm when not at a terminal (or --dry-run to list them)")
    SUB_CONFIRM = ("Delete {subprofiles:,} subprofiles and {profiles:,} profiles created by the run in {path} from "
                   "{target}? This cannot be undone. Type yes: ")
    SUB_DONE = ("Deleted {subprofiles:,} subprofiles and {profiles:,} profiles ({gone:,} of them were already gone), "
                "{failed:,} failed. Record: {output}")
    SUB_UPDATED_NOT_RESTORED = ("note: {n:,} subprofiles were updated by this run; a rollback does not delete "
                                "them and cannot restore their earlier values")


@dataclass
class RunRecord:
    """What the run's results (and journal) say about the profiles it touched."""
    created: dict[int, int] = field(default_factory=dict)  # profile ID -> row
    updated: int = 0
    unknown: int = 0
    in_flight: int = 0
    collection: bool = False                               # a collection import: subprofiles too
    subprofiles: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # subprofile ID -> (row, profile)


@dataclass
class RollbackResult:
    output: Path
    todo: int = 0
    deleted: int = 0
    already_gone: int = 0     # counted in ``deleted`` as well
    failed: int = 0
    declined: bool = False
    stopped: bool = False
    error: CopernicaImportError | None = None   # what stopped it (a refused token, ...)

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 3 if self.deleted else self.error.exit_code
        if self.stopped:
            return 3
        if self.declined:
            return 2
        return 1 if self.failed else 0


def read_run(results: Path) -> RunRecord:
    record = RunRecord()
    for line in read_results(results):
        status, pid = line["status"], line["profile_id"]
        if "subprofile_id" in line:  # a collection import: the row's subprofile, and maybe its profile
            record.collection = True
            sid = line["subprofile_id"]
            if status == "created" and sid.isdigit():
                record.subprofiles.setdefault(int(sid), (int(line["row"]), int(pid) if pid.isdigit() else None))
            if line.get("profile_status") == "created" and pid.isdigit():
                record.created.setdefault(int(pid), int(line["row"]))
        elif status == "created" and pid.isdigit():
            record.created.setdefault(int(pid), int(line["row"]))
        record.updated += status == "updated"
        record.unknown += status == "unknown"
    journal = journal_path_for(results)
    if journal.exists():
        _add_journal(journal, record)
    return record


def _add_journal(journal: Path, record: RunRecord) -> None:
    """Created rows the journal holds and the results file may not show yet."""
    try:
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            collection = "profiles" in tables and conn.execute(
                "SELECT 1 FROM meta WHERE name='collection'").fetchone() is not None
            if collection:
                record.collection = True
                for row, pid, sid in conn.execute("SELECT row, profile_id, subprofile_id FROM rows WHERE "
                                                  "state='final' AND status='created' AND subprofile_id IS NOT NULL"):
                    record.subprofiles.setdefault(int(sid), (int(row), pid))
                for row, pid in conn.execute("SELECT row, profile_id FROM profiles WHERE state='created' "
                                             "AND profile_id IS NOT NULL"):
                    record.created.setdefault(int(pid), int(row))
            else:
                for row, pid in conn.execute("SELECT row, profile_id FROM rows WHERE state='final' "
                                             "AND status='created' AND profile_id IS NOT NULL"):
                    record.created.setdefault(int(pid), int(row))
            record.in_flight = conn.execute(
                "SELECT count(*) FROM rows WHERE state IN ('sending', 'creating')").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass  # not a readable journal: the results file alone is the record


def already_deleted(output: Path) -> set[int]:
    """The profiles an earlier rollback deleted (lines without a subprofile)."""
    return _deleted(output)[0]


def _deleted(output: Path) -> tuple[set[int], set[int]]:
    """(profiles, subprofiles) an earlier rollback recorded as deleted."""
    profiles: set[int] = set()
    subprofiles: set[int] = set()
    if not output.exists() or output.stat().st_size == 0:
        return profiles, subprofiles
    _, delimiter = csv_layout(output)
    with open(output, encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f, delimiter=delimiter):
            if r.get("status") != DELETED:
                continue
            if (r.get("subprofile_id") or "").isdigit():
                subprofiles.add(int(r["subprofile_id"]))
            elif (r.get("profile_id") or "").isdigit():
                profiles.add(int(r["profile_id"]))
    return profiles, subprofiles


def output_layout(results: Path, output: Path) -> tuple[bool, str]:
    """(byte-order mark, delimiter) of the record: an existing record's own, else the
    results file's (a workbook's record is a CSV with a byte-order mark and commas)."""
    if output.exists() and output.stat().st_size > 0:
        return csv_layout(output)
    if is_workbook(results):
        return True, ","
    return csv_layout(results)


def default_output(results: Path) -> Path:
    return rollback_path_for(results)


def updated_later(results: Path, created: set[int]) -> tuple[set[int], list[Path]]:
    """Profiles of ``created`` that a later run's results file (beside this one,
    written after it) says it updated, and those files. Changes made by other
    tools are not seen."""
    ids: set[int] = set()
    files: list[Path] = []
    try:
        mine = results.stat().st_mtime
        candidates = [p for p in results.parent.glob("*.csv") if p != results and p.stat().st_mtime > mine]
    except OSError:
        return ids, files
    for path in candidates:
        try:
            found = {int(line["profile_id"]) for line in read_results(path)
                     if line["status"] == "updated" and line["profile_id"].isdigit()} & created
        except (CopernicaImportError, OSError, UnicodeDecodeError, csv.Error):
            continue  # not one of our results files
        if found:
            ids |= found
            files.append(path)
    return ids, files


def rollback(results: Path, api, *, yes: bool = False, dry_run: bool = False,
             output: Path | None = None, workers: int = 8, target: str = "Copernica",
             confirm: Callable[[str], str] = input, is_terminal: Callable[[], bool] | None = None,
             stop: threading.Event | None = None, say: Callable[[str], None] | None = None) -> RollbackResult:
    """Deletes what the run behind ``results`` created.

    ``api``: a ``Connection`` (a client with its pacing and ``rate`` is made
    here, for ``workers`` deletes in flight) or a client; None only for
    ``dry_run``. ``stop``: set it to stop after the deletes in flight. ``say``:
    where the sentences go (default: stdout, notes on stderr).
    """
    results = Path(results)
    if not results.exists():
        raise UsageError(Msg.NO_RESULTS.format(path=results))
    output = Path(output) if output else default_output(results)
    talk = _Talk(say)
    with RunLock(journal_path_for(results)):  # not beside the run, not twice
        plan = _plan(results, output, talk)
        if plan.record.collection:
            return _collection_rollback(plan, results, api, output, workers, target, yes, dry_run, confirm,
                                        is_terminal, stop, talk)
        if dry_run:
            for row, pid in plan.todo:
                talk.out(Msg.WOULD_DELETE.format(pid=pid, row=row))
            talk.out(Msg.DRY_RUN_TOTAL.format(todo=len(plan.todo), done=len(plan.done)))
            return RollbackResult(output, todo=len(plan.todo))
        if not plan.todo:
            talk.out(Msg.NOTHING_TO_DO.format(created=len(plan.record.created), done=len(plan.done)))
            return RollbackResult(output)
        if not yes:
            if not (is_terminal or _stdin_is_terminal)():
                raise UsageError(Msg.NOT_A_TERMINAL.format(todo=len(plan.todo)))
            if confirm(Msg.CONFIRM.format(todo=len(plan.todo), path=results, target=target)).strip().lower() != "yes":
                talk.out(Msg.DECLINED)
                return RollbackResult(output, todo=len(plan.todo), declined=True)
        layout = output_layout(results, output)
        if isinstance(api, Connection):
            with api.open_client(workers) as client:
                return _delete_all(plan.todo, client, output, workers, stop, talk, layout)
        return _delete_all(plan.todo, api, output, workers, stop, talk, layout)


def _collection_rollback(plan: "_Plan", results: Path, api, output: Path, workers: int, target: str, yes: bool,
                         dry_run: bool, confirm: Callable[[str], str], is_terminal: Callable[[], bool] | None,
                         stop: threading.Event | None, talk: "_Talk") -> RollbackResult:
    """A collection import's run: its subprofiles first, then the profiles it created."""
    subprofiles = [(row, sid, pid) for sid, (row, pid) in sorted(plan.record.subprofiles.items(), key=lambda kv: kv[1][0])
                   if sid not in plan.done_subprofiles]
    profiles = plan.todo
    counts = {"subprofiles": len(subprofiles), "profiles": len(profiles)}
    total = len(subprofiles) + len(profiles)
    if dry_run:
        for row, sid, pid in subprofiles:
            talk.out(Msg.WOULD_DELETE_SUBPROFILE.format(sid=sid, pid=pid if pid is not None else "?", row=row))
        for row, pid in profiles:
            talk.out(Msg.WOULD_DELETE.format(pid=pid, row=row))
        talk.out(Msg.SUB_DRY_RUN_TOTAL.format(**counts, done=len(plan.done) + len(plan.done_subprofiles)))
        return RollbackResult(output, todo=total)
    if not total:
        talk.out(Msg.SUB_NOTHING_TO_DO.format(created=len(plan.record.created) + len(plan.record.subprofiles),
                                              done=len(plan.done) + len(plan.done_subprofiles)))
        return RollbackResult(output)
    if not yes:
        if not (is_terminal or _stdin_is_terminal)():
            raise UsageError(Msg.SUB_NOT_A_TERMINAL.format(**counts))
        if confirm(Msg.SUB_CONFIRM.format(**counts, path=results, target=target)).strip().lower() != "yes":
            talk.out(Msg.DECLINED)
            return RollbackResult(output, todo=total, declined=True)
    items = [_Delete(row, pid, sid) for row, sid, pid in subprofiles]
    quiet = _Talk(lambda text: None)
    layout = output_layout(results, output)
    if isinstance(api, Connection):
        with api.open_client(workers) as client:
            first = _delete_all(items, client, output, workers, stop, quiet, layout, collection=True)
            second = _then_profiles(first, profiles, client, output, workers, stop, quiet, layout)
    else:
        first = _delete_all(items, api, output, workers, stop, quiet, layout, collection=True)
        second = _then_profiles(first, profiles, api, output, workers, stop, quiet, layout)
    done = RollbackResult(output, todo=total, deleted=first.deleted + second.deleted,
                          already_gone=first.already_gone + second.already_gone, failed=first.failed + second.failed,
                          stopped=first.stopped or second.stopped, error=first.error or second.error)
    if done.error is not None:
        talk.note(f"error: {done.error}")
    if done.stopped or done.error is not None:
        talk.note(Msg.STOPPED.format(deleted=done.deleted, output=output))
        return done
    talk.out(Msg.SUB_DONE.format(subprofiles=first.deleted, profiles=second.deleted, gone=done.already_gone,
                                 failed=done.failed, output=output))
    if done.failed:
        talk.note(Msg.FAILED_HINT)
    return done


def _then_profiles(first: RollbackResult, profiles: list[tuple[int, int]], client, output: Path, workers: int,
                   stop: threading.Event | None, talk: "_Talk", layout: tuple[bool, str]) -> RollbackResult:
    if first.stopped or first.error is not None:
        return RollbackResult(output)
    return _delete_all([_Delete(row, pid) for row, pid in profiles], client, output, workers, stop, talk, layout,
                       collection=True)


@dataclass(frozen=True)
class _Delete:
    """One delete: a profile, or (with ``subprofile_id``) a subprofile of that profile."""
    row: int
    profile_id: int | None
    subprofile_id: int | None = None


@dataclass
class _Plan:
    record: RunRecord
    done: set[int]
    todo: list[tuple[int, int]]   # (row, profile ID)
    done_subprofiles: set[int] = field(default_factory=set)


def _plan(results: Path, output: Path, talk: "_Talk") -> _Plan:
    record = read_run(results)
    done, done_subprofiles = _deleted(output)
    todo = [(row, pid) for pid, row in sorted(record.created.items(), key=lambda kv: kv[1]) if pid not in done]
    if record.updated:
        talk.note((Msg.SUB_UPDATED_NOT_RESTORED if record.collection else Msg.UPDATED_NOT_RESTORED).format(
            n=record.updated))
    if record.unknown:
        talk.note(Msg.UNKNOWN_ROWS.format(n=record.unknown))
    if record.in_flight:
        talk.note(Msg.IN_FLIGHT.format(n=record.in_flight))
    later, files = updated_later(results, {pid for _, pid in todo})
    if later:
        shown = sorted(later)
        talk.note(Msg.UPDATED_LATER.format(n=len(later), files=", ".join(str(f) for f in files),
                                           ids=", ".join(map(str, shown[:10])) + (", ..." if len(shown) > 10 else "")))
    return _Plan(record, done, todo, done_subprofiles)


class _Talk:
    def __init__(self, say: Callable[[str], None] | None) -> None:
        self._say = say

    def out(self, text: str) -> None:
        if self._say is not None:
            self._say(text)
        else:
            print(text)

    def note(self, text: str) -> None:
        if self._say is not None:
            self._say(text)
        else:
            print(text, file=sys.stderr)


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _delete_all(todo: "list[tuple[int, int]] | list[_Delete]", client, output: Path, workers: int,
                stop: threading.Event | None, talk: _Talk, layout: tuple[bool, str] = (True, ","), *,
                collection: bool = False) -> RollbackResult:
    """Deletes ``todo`` (``(row, profile ID)`` pairs, or ``_Delete``\\ s in a collection import's rollback),
    each recorded before the thread that sent it sends its next one."""
    result = RollbackResult(output, todo=len(todo))
    stop = stop or threading.Event()
    pending: Iterator = iter(todo)
    lock = threading.Lock()
    new_file = not output.exists() or output.stat().st_size == 0
    bom, delimiter = layout
    # the byte-order mark only at the start of a new record, never in the middle of one
    with open(output, "a", encoding="utf-8-sig" if new_file and bom else "utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if new_file:
            writer.writerow(COLLECTION_ROLLBACK_COLUMNS if collection else ROLLBACK_COLUMNS)
            f.flush()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    if isinstance(item, _Delete):
                        status, message = _delete_record(client, item)
                        line = [item.row, status, item.profile_id or "", item.subprofile_id or "", message]
                    else:
                        row, pid, status, message = _delete_one(client, *item)
                        line = [row, status, pid, message]
                except ApiError as exc:  # a refused token: every delete would fail alike
                    with lock:
                        result.error = result.error or exc
                    stop.set()
                    return
                with lock:  # recorded before this thread sends its next delete
                    writer.writerow(line)
                    f.flush()
                    result.failed += status == FAILED
                    result.deleted += status == DELETED
                    result.already_gone += message == Msg.ALREADY_GONE

        threads = [threading.Thread(target=work, name=f"rollback-{i}", daemon=True) for i in range(max(1, workers))]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.2)
    result.stopped = stop.is_set() and result.deleted + result.failed < len(todo)
    if result.error is not None:
        talk.note(f"error: {result.error}")
    if result.stopped or result.error is not None:
        talk.note(Msg.STOPPED.format(deleted=result.deleted, output=output))
        return result
    talk.out(Msg.DONE.format(deleted=result.deleted, gone=result.already_gone, failed=result.failed, output=output))
    if result.failed:
        talk.note(Msg.FAILED_HINT)
    return result


def _delete_one(client, row: int, pid: int) -> tuple[int, int, str, str]:
    """(row, profile ID, status, message). Errors that stop everything (an
    invalid token) propagate."""
    try:
        client.delete_profile(pid)
        return row, pid, DELETED, ""
    except RequestRefused as exc:
        if any(text in exc.api_message.lower() for text in GONE_MESSAGES):
            # deleted by an earlier, interrupted rollback, by hand or by another tool: the goal is met
            return row, pid, DELETED, Msg.ALREADY_GONE
        return row, pid, FAILED, str(exc)
    except RequestFailed as exc:
        return row, pid, FAILED, str(exc)


def _delete_record(client, item: _Delete) -> tuple[str, str]:
    """(status, message) of one delete of a collection import's rollback; errors that stop everything propagate."""
    try:
        if item.subprofile_id is not None:
            client.delete_subprofile(item.subprofile_id)
        else:
            client.delete_profile(item.profile_id)
        return DELETED, ""
    except RequestRefused as exc:
        if any(text in exc.api_message.lower() for text in GONE_MESSAGES):
            return DELETED, Msg.ALREADY_GONE
        return FAILED, str(exc)
    except RequestFailed as exc:
        return FAILED, str(exc)
