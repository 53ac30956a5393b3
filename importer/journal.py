"""Durable run state: which rows are being sent, and each row's final outcome.

SQLite in WAL mode beside the results file. The order of events makes a
crash at any instant (kill -9 included) recoverable:

1. ``mark_sending`` is committed before a row's request leaves;
2. the final outcome is committed before its results line is written.

So on ``--resume`` a row is either final (not sent again), ``sending``
(in flight at the crash: looked up by key before anything else), or new.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from importer.errors import ImporterError
from importer.models import Outcome, Status

SCHEMA_VERSION = 1


class JournalError(ImporterError):
    """The journal cannot be used for this run (locked, mismatched, missing)."""


@dataclass(frozen=True)
class RunIdentity:
    """What a resumed run must share with the run it continues."""
    file_name: str
    file_fingerprint: str
    mapping_fingerprint: str
    database: int
    on_existing: str

    def differences(self, other: "RunIdentity") -> list[str]:
        labels = {
            "file_fingerprint": f"the input file's content ({other.file_name} changed since the first run)",
            "mapping_fingerprint": "the mapping",
            "database": f"the database ({other.database} then, {self.database} now)",
            "on_existing": f"--on-existing ({other.on_existing} then, {self.on_existing} now)",
        }
        return [label for attr, label in labels.items() if getattr(self, attr) != getattr(other, attr)]


def journal_path_for(results_path: Path) -> Path:
    return results_path.with_name(results_path.name + ".journal")


class Journal:
    """One run's durable state. Thread-safe: workers record through a lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_file) -> None:
        self.path = path
        self._conn = conn
        self._lock_file = lock_file
        self._lock = threading.Lock()
        self._pending = 0
        self._last_commit = time.monotonic()

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, identity: RunIdentity, *, resume: bool, overwrite: bool = False) -> "Journal":
        path = Path(path)
        lock_file = _acquire_lock(path)
        try:
            exists = path.exists()
            if exists and not resume and not overwrite:
                raise JournalError(
                    f"a journal of an earlier run exists: {path}\n"
                    "  to continue that run: add --resume\n"
                    "  to start over (the earlier run's record is lost): add --overwrite")
            if resume and not exists:
                raise JournalError(f"nothing to resume: no journal at {path} "
                                   "(run without --resume to start a new run)")
            if exists and overwrite and not resume:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
            if not resume:
                _create_file(path, identity)
            journal = cls(path, _connect(path), lock_file)
            journal._check_identity(identity)
            return journal
        except BaseException:
            _release_lock(lock_file)
            raise

    def _check_identity(self, identity: RunIdentity) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE name='identity'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path} is not a readable journal ({exc}); start a new run "
                               "with another --results path, or with --overwrite to replace it") from None
        if row is None:
            raise JournalError(f"{self.path} is not a journal of copernica-import")
        before = RunIdentity(**json.loads(row[0]))
        diffs = identity.differences(before)
        if diffs:
            raise JournalError(
                "cannot resume: this is not the same import as the journal's "
                f"({self.path}); changed: " + "; ".join(diffs) +
                ".\n  Resume with the same file and mapping, or start a new run with "
                "another --results path (or --overwrite to discard the old run's record).")

    # -- meta values (for example the run's lowest created ID) ----------------
    def set_meta(self, name: str, value) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    # -- writing -------------------------------------------------------------
    def mark_sending(self, rows: list[tuple[int, str]]) -> None:
        """Durably note that these rows (number, key) are about to be sent."""
        with self._lock:
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.executemany("INSERT OR REPLACE INTO rows (row, state, key) VALUES (?, 'sending', ?)", rows)
            c.execute("COMMIT")
            # _pending and _last_commit stay: they tell commit_due() that the
            # runner holds results lines to write out. Resetting them here (on
            # every send) kept every line in memory until the end of the run.

    def unmark(self, row: int) -> None:
        """Forget a 'sending' mark for a row that certainly was not stored."""
        with self._lock:
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute("DELETE FROM rows WHERE row=? AND state='sending'", (row,))
            c.execute("COMMIT")

    def record(self, outcome: Outcome) -> None:
        """Note a final outcome; durable after the next ``commit``."""
        with self._lock:
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute(
                "INSERT OR REPLACE INTO rows VALUES (?, 'final', ?, ?, ?, ?, ?)",
                (outcome.row, outcome.status.value, outcome.profile_id, outcome.error,
                 outcome.attempts, outcome.key))
            self._pending += 1

    def commit(self) -> None:
        with self._lock:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
            self._pending = 0
            self._last_commit = time.monotonic()

    def commit_due(self, max_pending: int = 500, max_age: float = 0.25) -> bool:
        return self._pending >= max_pending or (
            self._pending > 0 and time.monotonic() - self._last_commit >= max_age)

    # -- reading -------------------------------------------------------------
    def states(self, page: int = 10_000) -> Iterator[tuple[int, str, Outcome | None]]:
        """(row, state, final outcome or None) in row order, paged (flat memory)."""
        last = 0
        while True:
            with self._lock:
                batch = self._conn.execute(
                    "SELECT row, state, status, profile_id, error, attempts, key FROM rows "
                    "WHERE row > ? ORDER BY row LIMIT ?", (last, page)).fetchall()
            if not batch:
                return
            for row, state, status, pid, error, attempts, key in batch:
                outcome = None
                if state == "final":
                    outcome = Outcome(row, Status(status), pid, error, attempts, key)
                yield row, state, outcome
            last = batch[-1][0]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT coalesce(status, state), count(*) FROM rows GROUP BY 1").fetchall()
        return dict(rows)

    def close(self) -> None:
        with self._lock:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
                self._conn.close()
            finally:
                _release_lock(self._lock_file)

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: every commit survives a process crash (kill -9);
    # only a power loss may drop the last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _create_file(path: Path, identity: RunIdentity) -> None:
    """A new, complete journal at ``path``, or none at all.

    Built under a temporary name and renamed into place, so that a crash
    while creating it (kill -9 right after the start) leaves no half-made
    journal that neither a resume nor a new run could use. Nothing is sent
    before this returns, so a missing journal always means nothing was sent.
    """
    building = path.with_name(path.name + ".new")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    conn = sqlite3.connect(building, isolation_level=None)
    try:
        conn.executescript("""
            CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE rows (
                row INTEGER PRIMARY KEY,
                state TEXT NOT NULL,          -- 'sending' or 'final'
                status TEXT, profile_id INTEGER, error TEXT NOT NULL DEFAULT '',
                attempts INTEGER NOT NULL DEFAULT 0, key TEXT NOT NULL DEFAULT '');
        """)
        meta = {"version": SCHEMA_VERSION, "identity": identity.__dict__, "created": time.time()}
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        conn.execute("COMMIT")
    finally:
        conn.close()  # rollback-journal mode until here: one self-contained file to rename
    os.replace(building, path)


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


def _acquire_lock(journal_path: Path):
    """An OS-level lock: refused while another run holds it, freed when it dies."""
    lock_path = journal_path.with_name(journal_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    f = open(lock_path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip()
        f.close()
        raise JournalError(
            f"another copernica-import run is using {journal_path} right now"
            + (f" (process {holder})" if holder else "")
            + "; wait for it to finish, or use another --results path") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _release_lock(f) -> None:
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    finally:
        f.close()
