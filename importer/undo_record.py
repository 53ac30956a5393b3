"""What there is to undo: the profiles (and subprofiles) a run created, and what an earlier rollback deleted.

The run's results file says which rows created what (``created`` rows, and
rows a resume found changed or moved since their profile was created); its
journal, when it is still there, may know more: it is written first, and its
``created`` table keeps every profile the run created, even one whose row a
resume after a changed file no longer shows (a collection import's
``created_subprofiles`` table: every subprofile). The profiles (and
subprofiles) to delete are the union of both, each ID once. The rollback record
(``RESULTS.rollback.csv``) holds what earlier rollbacks deleted, in the
results file's own layout. ``plan_rollback`` puts them together, with the notes a
rollback says first (updated profiles are not restored, profiles a later run
updated, rows still in flight).
"""
from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import CopernicaImportError
from importer.journal import journal_path_for, rollback_path_for
from importer.results import csv_layout, is_workbook, read_results

DELETED, FAILED = "deleted", "failed"


class Msg:
    """The notes a rollback says before it deletes anything."""
    UPDATED_NOT_RESTORED = ("note: {n:,} profiles were updated by this run; a rollback does not delete "
                            "them and cannot restore their earlier values")
    UNKNOWN_ROWS = ("note: {n:,} rows ended 'unknown' (the answer from Copernica was lost and the mapping "
                    "has no key); if Copernica created profiles for them, they are not deleted")
    IN_FLIGHT = ("note: {n:,} rows were being sent when the run stopped; their profiles (if created) are not "
                 "known yet. Finish the run first with `run ... --resume`, then roll back again")
    UPDATED_LATER = ("warning: {n:,} of the profiles this run created were updated by a later run ({files}); "
                     "deleting them deletes those updates too (profiles {ids})")
    JOURNAL_ONLY = ("note: {n:,} of the profiles this run created are in its journal but in no 'created' row of "
                    "the results file (the file changed between a stop and its --resume); they are deleted too")
    SUB_JOURNAL_ONLY = ("note: {n:,} of the subprofiles this run created are in its journal but in no 'created' row "
                        "of the results file (the file changed between a stop and its --resume); they are deleted too")
    SUB_UPDATED_NOT_RESTORED = ("note: {n:,} subprofiles were updated by this run; a rollback does not delete "
                                "them and cannot restore their earlier values")


@dataclass
class RunRecord:
    """What the run's results (and journal) say about the profiles it touched."""
    created: dict[int, int] = field(default_factory=dict)  # profile ID -> row
    updated: int = 0
    unknown: int = 0
    in_flight: int = 0
    journal_only: int = 0                                  # created profiles only the journal knows
    sub_journal_only: int = 0                              # ... and subprofiles
    collection: bool = False                               # a collection import: subprofiles too
    subprofiles: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # subprofile ID -> (row, profile)


def read_run(results: Path) -> RunRecord:
    record = RunRecord()
    for line in read_results(results):
        status, pid = line["status"], line["profile_id"]
        if "subprofile_id" in line:  # a collection import: the row's subprofile, and maybe its profile
            record.collection = True
            sid = line["subprofile_id"]
            if sid.isdigit() and (status == "created" or _CREATED_CODES & set(line.get("code", "").split(";"))):
                record.subprofiles.setdefault(int(sid), (int(line["row"]), int(pid) if pid.isdigit() else None))
            if line.get("profile_status") == "created" and pid.isdigit():
                record.created.setdefault(int(pid), int(line["row"]))
        elif pid.isdigit() and (status == "created" or _CREATED_CODES & set(line.get("code", "").split(";"))):
            record.created.setdefault(int(pid), int(line["row"]))
        record.updated += status == "updated"
        record.unknown += status == "unknown"
    journal = journal_path_for(results)
    if journal.exists():
        _add_journal(journal, record)
    return record


# a row skipped on --resume whose profile this run created (from this row, or from the row it was then)
_CREATED_CODES = {"changed_since_created", "created_before"}


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
                before = len(record.subprofiles)
                query = ("SELECT row, profile_id, subprofile_id FROM created_subprofiles" if "created_subprofiles"
                         in tables else "SELECT row, profile_id, subprofile_id FROM rows WHERE state='final' AND "
                         "status='created' AND subprofile_id IS NOT NULL")
                for row, pid, sid in conn.execute(query):
                    record.subprofiles.setdefault(int(sid), (int(row), pid))
                record.sub_journal_only = len(record.subprofiles) - before
                for row, pid in conn.execute("SELECT row, profile_id FROM profiles WHERE state='created' "
                                             "AND profile_id IS NOT NULL"):
                    record.created.setdefault(int(pid), int(row))
            else:
                before = len(record.created)
                query = ("SELECT row, profile_id FROM created" if "created" in tables else
                         "SELECT row, profile_id FROM rows WHERE state='final' AND status='created' "
                         "AND profile_id IS NOT NULL")
                for row, pid in conn.execute(query):
                    record.created.setdefault(int(pid), int(row))
                record.journal_only = len(record.created) - before
            record.in_flight = conn.execute(
                "SELECT count(*) FROM rows WHERE state IN ('sending', 'creating')").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass  # not a readable journal: the results file alone is the record


def already_deleted(output: Path) -> set[int]:
    """The profiles an earlier rollback deleted (lines without a subprofile)."""
    return deleted_before(output)[0]


def deleted_before(output: Path) -> tuple[set[int], set[int]]:
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


@dataclass
class Plan:
    record: RunRecord
    done: set[int]
    todo: list[tuple[int, int]]   # (row, profile ID)
    done_subprofiles: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)        # said before anything else


def plan_rollback(results: Path, output: Path) -> Plan:
    """What to delete, what an earlier rollback deleted already, and the notes to say first."""
    record = read_run(results)
    done, done_subprofiles = deleted_before(output)
    todo = [(row, pid) for pid, row in sorted(record.created.items(), key=lambda kv: kv[1]) if pid not in done]
    notes = []
    if record.updated:
        notes.append((Msg.SUB_UPDATED_NOT_RESTORED if record.collection else Msg.UPDATED_NOT_RESTORED).format(
            n=record.updated))
    if record.unknown:
        notes.append(Msg.UNKNOWN_ROWS.format(n=record.unknown))
    if record.in_flight:
        notes.append(Msg.IN_FLIGHT.format(n=record.in_flight))
    if record.journal_only:
        notes.append(Msg.JOURNAL_ONLY.format(n=record.journal_only))
    if record.sub_journal_only:
        notes.append(Msg.SUB_JOURNAL_ONLY.format(n=record.sub_journal_only))
    later, files = updated_later(results, {pid for _, pid in todo})
    if later:
        shown = sorted(later)
        notes.append(Msg.UPDATED_LATER.format(n=len(later), files=", ".join(str(f) for f in files),
                                              ids=", ".join(map(str, shown[:10])) + (", ..." if len(shown) > 10
                                                                                     else "")))
    return Plan(record, done, todo, done_subprofiles, notes)
