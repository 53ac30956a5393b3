"""Undo a run: delete every profile it created (never the ones it updated or skipped).

Which profiles: the ``created`` lines of the run's results file, together with
the run's journal when it is still there (the journal is written first, so it
may know a few profiles the results file does not yet show).

Writes its own record (``RESULTS.rollback.csv``), one line per profile, flushed
as it goes, in the results file's own layout (its byte-order mark and
delimiter, so Excel opens both the same way; a workbook's record is a CSV
with a byte-order mark and commas). Running the command again continues where it stopped: profiles
already ``deleted`` in the record are not sent again, and a profile that
Copernica says is already removed (deleted just before an interruption) counts
as deleted. It holds the run's lock, so it cannot run beside the import it
undoes, nor twice at once.
"""
from __future__ import annotations

import csv
import sqlite3
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from importer.client import COPERNICA_ALREADY_REMOVED
from importer.connection import Connection
from importer.errors import RequestFailed, RequestRefused, UsageError
from importer.journal import RunLock, journal_path_for
from importer.results import csv_layout, is_workbook, read_results

ROLLBACK_COLUMNS = ("row", "status", "profile_id", "error")
DELETED, FAILED = "deleted", "failed"
BATCH = 64  # deletes handed to the workers at a time: an interrupt waits for one batch only


class Msg:
    """Everything the command says."""
    NO_RESULTS = "results file {path} does not exist"
    UPDATED_NOT_RESTORED = ("note: {n:,} profiles were updated by this run; a rollback does not delete "
                            "them and cannot restore their earlier values")
    UNKNOWN_ROWS = ("note: {n:,} rows ended 'unknown' (the answer from Copernica was lost and the mapping "
                    "has no key); if Copernica created profiles for them, they are not deleted")
    IN_FLIGHT = ("note: {n:,} rows were being sent when the run stopped; their profiles (if created) are not "
                 "known yet. Finish the run first with `run ... --resume`, then roll back again")
    WOULD_DELETE = "would delete profile {pid} (row {row})"
    DRY_RUN_TOTAL = "{todo:,} profiles would be deleted ({done:,} deleted by an earlier rollback)."
    NOTHING_TO_DO = "Nothing to delete: the run created {created:,} profiles, {done:,} are deleted already."
    NOT_A_TERMINAL = ("rollback would delete {todo:,} profiles; add --yes to confirm when not at a terminal "
                      "(or --dry-run to list them)")
    CONFIRM = ("Delete {todo:,} profiles created by the run in {path} from {target}? "
                   "This cannot be undone. Type yes: ")
    DECLINED = "Nothing deleted."
    ALREADY_REMOVED = "was already removed"
    DONE = "Deleted {deleted:,} profiles, {failed:,} failed. Record: {output}"
    FAILED_HINT = "Run the same rollback command again to retry the failed ones."
    INTERRUPTED = "Interrupted: {deleted:,} deleted so far. Run the same command again to continue. Record: {output}"


@dataclass
class RunRecord:
    """What the run's results (and journal) say about the profiles it touched."""
    created: dict[int, int] = field(default_factory=dict)  # profile ID -> row
    updated: int = 0
    unknown: int = 0
    in_flight: int = 0


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
            record.in_flight = conn.execute("SELECT count(*) FROM rows WHERE state='sending'").fetchone()[0]
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


def default_output(results: Path) -> Path:
    return results.with_name(results.name.removesuffix(".csv").removesuffix(".xlsx") + ".rollback.csv")


def output_layout(results: Path, output: Path) -> tuple[bool, str]:
    """(byte-order mark, delimiter) of the record: an existing record's own, else the results file's."""
    if output.exists() and output.stat().st_size > 0:
        return csv_layout(output)
    if is_workbook(results):
        return True, ","
    return csv_layout(results)


def rollback(results: Path, client, *, yes: bool = False, dry_run: bool = False,
             output: Path | None = None, workers: int = 8, target: str = "Copernica",
             confirm: Callable[[str], str] = input, is_terminal: Callable[[], bool] | None = None) -> int:
    """Deletes what the run behind ``results`` created; returns the exit code
    (0 all deleted, 1 some failed, 2 declined, 3 interrupted)."""
    results = Path(results)
    if not results.exists():
        raise UsageError(Msg.NO_RESULTS.format(path=results))
    output = Path(output) if output else default_output(results)
    with RunLock(journal_path_for(results)):  # not beside the run, not twice
        if isinstance(client, Connection):
            with client.open_client(workers) as opened:
                return _rollback(results, opened, output, yes=yes, dry_run=dry_run, workers=workers, target=target,
                                 confirm=confirm, is_terminal=is_terminal or _stdin_is_terminal)
        return _rollback(results, client, output, yes=yes, dry_run=dry_run, workers=workers, target=target,
                         confirm=confirm, is_terminal=is_terminal or _stdin_is_terminal)


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _rollback(results: Path, client, output: Path, *, yes: bool, dry_run: bool, workers: int, target: str,
              confirm: Callable[[str], str], is_terminal: Callable[[], bool]) -> int:
    record = read_run(results)
    done = already_deleted(output)
    todo = [(row, pid) for pid, row in sorted(record.created.items(), key=lambda kv: kv[1]) if pid not in done]
    _print_notes(record)
    if dry_run:
        for row, pid in todo:
            print(Msg.WOULD_DELETE.format(pid=pid, row=row))
        print(Msg.DRY_RUN_TOTAL.format(todo=len(todo), done=len(done)))
        return 0
    if not todo:
        print(Msg.NOTHING_TO_DO.format(created=len(record.created), done=len(done)))
        return 0
    if not yes:
        if not is_terminal():
            raise UsageError(Msg.NOT_A_TERMINAL.format(todo=len(todo)))
        if confirm(Msg.CONFIRM.format(todo=len(todo), path=results, target=target)).strip().lower() != "yes":
            print(Msg.DECLINED)
            return 2
    return _delete_all(todo, client, output, workers, output_layout(results, output))


def _print_notes(record: RunRecord) -> None:
    if record.updated:
        print(Msg.UPDATED_NOT_RESTORED.format(n=record.updated), file=sys.stderr)
    if record.unknown:
        print(Msg.UNKNOWN_ROWS.format(n=record.unknown), file=sys.stderr)
    if record.in_flight:
        print(Msg.IN_FLIGHT.format(n=record.in_flight), file=sys.stderr)


def _delete_all(todo: list[tuple[int, int]], client, output: Path, workers: int,
                layout: tuple[bool, str] = (True, ",")) -> int:
    new_file = not output.exists() or output.stat().st_size == 0
    bom, delimiter = layout
    deleted = failed = 0
    # the byte-order mark only at the start of a new record, never in the middle of one
    with open(output, "a", encoding="utf-8-sig" if new_file and bom else "utf-8", newline="") as f, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        writer = csv.writer(f, delimiter=delimiter)
        if new_file:
            writer.writerow(ROLLBACK_COLUMNS)
        try:
            for batch in _batches(todo, BATCH):
                for row, pid, status, message in pool.map(lambda item: _delete_one(client, *item), batch):
                    writer.writerow([row, status, pid, message])
                    failed += status == FAILED
                    deleted += status == DELETED
                f.flush()  # a batch's lines survive whatever comes next
        except KeyboardInterrupt:
            f.flush()
            print(Msg.INTERRUPTED.format(deleted=deleted, output=output), file=sys.stderr)
            return 3
    print(Msg.DONE.format(deleted=deleted, failed=failed, output=output))
    if failed:
        print(Msg.FAILED_HINT, file=sys.stderr)
    return 1 if failed else 0


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _delete_one(client, row: int, pid: int) -> tuple[int, int, str, str]:
    """(row, profile ID, status, message). Errors that stop everything (an
    invalid token) propagate."""
    try:
        client.delete_profile(pid)
        return row, pid, DELETED, ""
    except RequestRefused as exc:
        if exc.api_message == COPERNICA_ALREADY_REMOVED:
            # deleted by an earlier, interrupted rollback (or by hand): the goal is met
            return row, pid, DELETED, Msg.ALREADY_REMOVED
        return row, pid, FAILED, str(exc)
    except RequestFailed as exc:
        return row, pid, FAILED, str(exc)
