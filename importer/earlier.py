"""What an earlier run left behind, read without its lock: how many profiles
it created (for the --overwrite question), the API it sent to (for
rollback), whether a rollback undid it (a --resume would report deleted
profiles as created: refused), and setting its files aside under a dated
name (never destroyed: it may still need a rollback).
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from importer.connection import is_loopback
from importer.errors import JournalError


class Msg:
    """What a --resume of a rolled-back run is told."""
    ROLLED_BACK = ("cannot resume: the run in {results} was rolled back ({deleted:,} profiles deleted; record: "
                   "{record}), and a resume would report those profiles as created. Nothing was sent. To import "
                   "the file again, run the same command with --overwrite instead of --resume")
    PARTLY_ROLLED_BACK = ("cannot resume: a rollback of the run in {results} deleted {deleted:,} of its {created:,} "
                          "profiles and did not finish (record: {record}). Nothing was sent. Finish the rollback "
                          "first: {command}; then, to import the file again, run the same command with --overwrite "
                          "instead of --resume")
    ROLLBACK_COMMAND = "copernica-import rollback {results}"
    ROLLBACK_OUTPUT = " --output {record}"


@dataclass(frozen=True)
class EarlierRun:
    """What an earlier run's journal says it did (read without its lock)."""
    created: int = 0       # profiles it created (or may have: in flight, unknown)
    rolled_back: int = 0   # of those, deleted by a rollback since
    known: int = 0         # of ``created``, those with a known ID (a rollback can delete them)


def earlier_run(journal_path: Path, rollback_record: Path | None = None) -> EarlierRun:
    """How many profiles the run behind ``journal_path`` created and how many a
    rollback has deleted since; zeros when there is no readable journal."""
    if not Path(journal_path).exists():
        return EarlierRun()
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
        try:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(rows)")}
            # a collection import's rows created subprofiles: those are what it created
            created = ("SELECT coalesce(subprofile_id, profile_id) FROM rows WHERE status='created' AND "
                       "coalesce(subprofile_id, profile_id) IS NOT NULL") if "subprofile_id" in columns else \
                "SELECT profile_id FROM rows WHERE status='created' AND profile_id IS NOT NULL"
            ids = {pid for (pid,) in conn.execute(created)}
            if conn.execute("SELECT 1 FROM meta WHERE name='collection'").fetchone() is None:
                ids |= _created_table(conn)  # every profile it created, also one a resume no longer shows
            uncertain = conn.execute("SELECT count(*) FROM rows WHERE state IN ('sending', 'creating') "
                                     "OR status='unknown'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return EarlierRun()
    deleted = _deleted_ids(rollback_record) if rollback_record is not None else set()
    return EarlierRun(created=len(ids) + uncertain, rolled_back=len(ids & deleted), known=len(ids))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _created_table(conn: sqlite3.Connection) -> set[int]:
    if not _has_table(conn, "created"):
        return set()
    return {pid for (pid,) in conn.execute("SELECT profile_id FROM created")}


def note_rollback(journal_path: Path, record: Path) -> None:
    """Notes in the run's journal, before the first delete, that a rollback (recorded in ``record``) began."""
    if not Path(journal_path).exists():
        return
    try:
        conn = sqlite3.connect(journal_path)
        try:
            with conn:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('rolled_back', ?)",
                             (json.dumps({"record": str(Path(record).resolve())}),))
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # the record beside the results file still tells


def refuse_resume_after_rollback(journal_path: Path, results: Path, default_record: Path) -> None:
    """A --resume of a run a rollback undid (wholly or partly) would report deleted profiles as created:
    refused (nothing sent), with the way on."""
    record = _rollback_record(journal_path) or default_record
    deleted = _deleted_ids(record) if record.exists() else set()
    if not deleted:
        return
    earlier = earlier_run(journal_path, record)
    if earlier.rolled_back >= earlier.known:
        raise JournalError(Msg.ROLLED_BACK.format(results=results, deleted=earlier.rolled_back, record=record))
    command = Msg.ROLLBACK_COMMAND.format(results=results)
    if record.resolve() != default_record.resolve():
        command += Msg.ROLLBACK_OUTPUT.format(record=record)
    raise JournalError(Msg.PARTLY_ROLLED_BACK.format(results=results, deleted=earlier.rolled_back,
                                                     created=earlier.known, record=record, command=command))


def _meta_value(journal_path: Path, name: str) -> object | None:
    """One JSON value of the journal's meta table, read without taking the run's lock;
    None when the journal cannot be read or holds no such value."""
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None


def _rollback_record(journal_path: Path) -> Path | None:
    value = _meta_value(journal_path, "rolled_back")
    return Path(value["record"]) if isinstance(value, dict) else None


def _deleted_ids(record: Path) -> set[int]:
    try:
        with open(record, encoding="utf-8-sig", newline="") as f:
            # a collection import's rollback records subprofiles in their own column
            return {int(r.get("subprofile_id") or r["profile_id"]) for r in csv.DictReader(f)
                    if r.get("status") == "deleted" and (r.get("subprofile_id") or r.get("profile_id") or "").isdigit()}
    except (OSError, KeyError, ValueError):
        return set()


def set_aside(paths: list[Path], stamp: str) -> list[Path]:
    """Renames an earlier run's files (results, journal, rollback record) to
    ``name.<stamp>.ext`` beside them, never overwriting; returns the new names."""
    moved = []
    for path in paths:
        for suffix in ("-wal", "-shm"):  # a journal's SQLite companions go with it
            companion = Path(str(path) + suffix)
            if companion.exists() and path.exists():
                _checkpoint(path)
        if not path.exists():
            continue
        base, dot, rest = path.name.partition(".")
        target = path.with_name(f"{base}.{stamp}.{rest}" if dot else f"{base}.{stamp}")
        counter = 1
        while target.exists():
            counter += 1
            target = path.with_name(f"{base}.{stamp}-{counter}.{rest}" if dot else f"{base}.{stamp}-{counter}")
        os.replace(path, target)
        moved.append(target)
    return moved


def _checkpoint(journal: Path) -> None:
    """Folds a journal's WAL into its main file, so the file alone is complete."""
    try:
        conn = sqlite3.connect(journal)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        pass
    for suffix in ("-wal", "-shm"):
        Path(str(journal) + suffix).unlink(missing_ok=True)


def recorded_api(journal_path: Path) -> dict | None:
    """The API a run sent to ({"url", "version", "database"}), read without
    taking the run's lock; None when there is no journal or no record."""
    if not Path(journal_path).exists():
        return None
    value = _meta_value(journal_path, "api")
    return value if isinstance(value, dict) else None


def sandbox_run(journal_path: Path, results: Path) -> bool:
    """Whether the run behind ``results`` went into the built-in sandbox (``--sandbox``), which ended with it."""
    api = recorded_api(journal_path)
    if api is None:
        return False
    if "sandbox" in api:
        return bool(api["sandbox"])
    # a journal of a version that did not note it: the rehearsal's results name, an address on this computer
    return Path(results).name.endswith(".sandbox-results.csv") and is_loopback(urlsplit(api["url"]).hostname or "")
