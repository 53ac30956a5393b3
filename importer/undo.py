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
"""
from __future__ import annotations

import csv
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from importer.client import COPERNICA_ALREADY_REMOVED
from importer.connection import Connection
from importer.errors import ApiError, CopernicaImportError, RequestFailed, RequestRefused, UsageError
from importer.journal import RunLock, journal_path_for, rollback_path_for
from importer.results import csv_layout, is_workbook, read_results

ROLLBACK_COLUMNS = ("row", "status", "profile_id", "error")
DELETED, FAILED = "deleted", "failed"
# Copernica's answers for a profile that is not there (any more)
GONE_MESSAGES = (COPERNICA_ALREADY_REMOVED.lower(), "already been removed", "no profile with supplied id")


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


@dataclass
class RunRecord:
    """What the run's results (and journal) say about the profiles it touched."""
    created: dict[int, int] = field(default_factory=dict)  # profile ID -> row
    updated: int = 0
    unknown: int = 0
    in_flight: int = 0


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
        if status == "created" and pid.isdigit():
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
    if not output.exists() or output.stat().st_size == 0:
        return set()
    _, delimiter = csv_layout(output)
    with open(output, encoding="utf-8-sig", newline="") as f:
        return {int(r["profile_id"]) for r in csv.DictReader(f, delimiter=delimiter)
                if r.get("status") == DELETED and (r.get("profile_id") or "").isdigit()}


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


@dataclass
class _Plan:
    record: RunRecord
    done: set[int]
    todo: list[tuple[int, int]]   # (row, profile ID)


def _plan(results: Path, output: Path, talk: "_Talk") -> _Plan:
    record = read_run(results)
    done = already_deleted(output)
    todo = [(row, pid) for pid, row in sorted(record.created.items(), key=lambda kv: kv[1]) if pid not in done]
    if record.updated:
        talk.note(Msg.UPDATED_NOT_RESTORED.format(n=record.updated))
    if record.unknown:
        talk.note(Msg.UNKNOWN_ROWS.format(n=record.unknown))
    if record.in_flight:
        talk.note(Msg.IN_FLIGHT.format(n=record.in_flight))
    later, files = updated_later(results, {pid for _, pid in todo})
    if later:
        shown = sorted(later)
        talk.note(Msg.UPDATED_LATER.format(n=len(later), files=", ".join(str(f) for f in files),
                                           ids=", ".join(map(str, shown[:10])) + (", ..." if len(shown) > 10 else "")))
    return _Plan(record, done, todo)


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


def _delete_all(todo: list[tuple[int, int]], client, output: Path, workers: int,
                stop: threading.Event | None, talk: _Talk, layout: tuple[bool, str] = (True, ",")) -> RollbackResult:
    result = RollbackResult(output, todo=len(todo))
    stop = stop or threading.Event()
    pending: Iterator[tuple[int, int]] = iter(todo)
    lock = threading.Lock()
    new_file = not output.exists() or output.stat().st_size == 0
    bom, delimiter = layout
    # the byte-order mark only at the start of a new record, never in the middle of one
    with open(output, "a", encoding="utf-8-sig" if new_file and bom else "utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if new_file:
            writer.writerow(ROLLBACK_COLUMNS)
            f.flush()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    row, pid, status, message = _delete_one(client, *item)
                except ApiError as exc:  # a refused token: every delete would fail alike
                    with lock:
                        result.error = result.error or exc
                    stop.set()
                    return
                with lock:  # recorded before this thread sends its next delete
                    writer.writerow([row, status, pid, message])
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
