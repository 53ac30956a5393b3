"""What an earlier run left behind, read without its lock: how many profiles
it created (for the --overwrite question), the API it sent to (for
rollback), and setting its files aside under a dated name (never destroyed:
it may still need a rollback).
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EarlierRun:
    """What an earlier run's journal says it did (read without its lock)."""
    created: int = 0       # profiles it created (or may have: in flight, unknown)
    rolled_back: int = 0   # of those, deleted by a rollback since


def earlier_run(journal_path: Path, rollback_record: Path | None = None) -> EarlierRun:
    """How many profiles the run behind ``journal_path`` created and how many a
    rollback has deleted since; zeros when there is no readable journal."""
    if not Path(journal_path).exists():
        return EarlierRun()
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
        try:
            ids = {pid for (pid,) in conn.execute(
                "SELECT profile_id FROM rows WHERE status='created' AND profile_id IS NOT NULL")}
            uncertain = conn.execute("SELECT count(*) FROM rows WHERE state IN ('sending', 'creating') "
                                     "OR status='unknown'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return EarlierRun()
    deleted = _deleted_ids(rollback_record) if rollback_record is not None else set()
    return EarlierRun(created=len(ids) + uncertain, rolled_back=len(ids & deleted))


def _deleted_ids(record: Path) -> set[int]:
    try:
        with open(record, encoding="utf-8-sig", newline="") as f:
            return {int(r["profile_id"]) for r in csv.DictReader(f)
                    if r.get("status") == "deleted" and (r.get("profile_id") or "").isdigit()}
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
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE name='api'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row else None
