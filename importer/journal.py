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

from importer.errors import JournalError
from importer.models import Outcome, Reason, Status

# 2: outcomes keep their reasons (code, template, values) as JSON
SCHEMA_VERSION = 2


class Msg:
    """What the journal tells a user."""
    EXISTS = ("a journal of an earlier run exists: {path}\n"
              "  to continue that run: add --resume\n"
              "  to start over (the earlier run's record is lost): add --overwrite")
    NOTHING_TO_RESUME = "nothing to resume: no journal at {path} (run without --resume to start a new run)"
    UNREADABLE = ("{path} is not a readable journal ({why}); start a new run "
                  "with another --results path, or with --overwrite to replace it")
    NOT_OURS = "{path} is not a journal of copernica-import"
    NOT_THE_SAME = ("cannot resume: this is not the same import as the journal's ({path}); changed: {changes}.\n"
                    "  Resume with the same file and mapping, or start a new run with "
                    "another --results path (or --overwrite to discard the old run's record).")
    CHANGED_FILE = "the input file's content ({name} changed since the first run)"
    CHANGED_MAPPING = "the mapping"
    CHANGED_DATABASE = "the database ({before} then, {now} now)"
    CHANGED_MODE = "--on-existing ({before} then, {now} now)"
    LOCKED = ("another copernica-import run is using {path} right now{holder}; "
              "wait for it to finish, or use another --results path")
    LOCK_HOLDER = " (process {pid})"


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
            "file_fingerprint": Msg.CHANGED_FILE.format(name=other.file_name),
            "mapping_fingerprint": Msg.CHANGED_MAPPING,
            "database": Msg.CHANGED_DATABASE.format(before=other.database, now=self.database),
            "on_existing": Msg.CHANGED_MODE.format(before=other.on_existing, now=self.on_existing),
        }
        return [label for attr, label in labels.items() if getattr(self, attr) != getattr(other, attr)]


def journal_path_for(results_path: Path) -> Path:
    return results_path.with_name(results_path.name + ".journal")


class Journal:
    """One run's durable state. Thread-safe: workers record through a lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, run_lock: "RunLock") -> None:
        self.path = path
        self._conn = conn
        self._run_lock = run_lock
        self._lock = threading.Lock()
        self._pending = 0
        self._last_commit = time.monotonic()

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, identity: RunIdentity, *, resume: bool, overwrite: bool = False) -> "Journal":
        path = Path(path)
        run_lock = RunLock(path).acquire()
        conn = None
        try:
            exists = path.exists()
            if exists and not resume and not overwrite:
                raise JournalError(Msg.EXISTS.format(path=path))
            if resume and not exists:
                raise JournalError(Msg.NOTHING_TO_RESUME.format(path=path))
            if exists and overwrite and not resume:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
            if not resume:
                _create_file(path, identity)
            conn = _connect(path)
            journal = cls(path, conn, run_lock)
            journal._check_identity(identity)
            return journal
        except BaseException:
            if conn is not None:
                conn.close()  # a refused resume leaves no connection to the garbage collector
            run_lock.release()
            raise

    def _check_identity(self, identity: RunIdentity) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE name='identity'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise JournalError(Msg.UNREADABLE.format(path=self.path, why=exc)) from None
        if row is None:
            raise JournalError(Msg.NOT_OURS.format(path=self.path))
        before = RunIdentity(**json.loads(row[0]))
        diffs = identity.differences(before)
        if diffs:
            raise JournalError(Msg.NOT_THE_SAME.format(path=self.path, changes="; ".join(diffs)))
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(rows)")}
        if "reasons" not in columns:  # a journal of version 1: the reasons were one text
            self._conn.execute("ALTER TABLE rows ADD COLUMN reasons TEXT")

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
                "INSERT OR REPLACE INTO rows (row, state, status, profile_id, error, attempts, key, reasons) "
                "VALUES (?, 'final', ?, ?, ?, ?, ?, ?)",
                (outcome.row, outcome.status.value, outcome.profile_id, outcome.error, outcome.attempts,
                 outcome.key, json.dumps([r.to_json() for r in outcome.reasons], ensure_ascii=False)))
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
                    "SELECT row, state, status, profile_id, error, attempts, key, reasons FROM rows "
                    "WHERE row > ? ORDER BY row LIMIT ?", (last, page)).fetchall()
            if not batch:
                return
            for row, state, status, pid, error, attempts, key, reasons in batch:
                outcome = None
                if state == "final":
                    outcome = Outcome(row, Status(status), pid, _reasons(reasons, error, status), attempts, key)
                yield row, state, outcome
            last = batch[-1][0]

    def sent(self) -> int:
        """Rows that may have reached Copernica in any run of this journal: in
        flight, or final after at least one request."""
        with self._lock:
            return self._conn.execute(
                "SELECT count(*) FROM rows WHERE state='sending' OR attempts > 0").fetchone()[0]

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
                self._run_lock.release()

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
                attempts INTEGER NOT NULL DEFAULT 0, key TEXT NOT NULL DEFAULT '',
                reasons TEXT);                -- JSON: [[code, template, values], ...]
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


def _reasons(stored: str | None, error: str, status: str) -> tuple[Reason, ...]:
    if stored:
        return tuple(Reason.from_json(r) for r in json.loads(stored))
    if not error:
        return ()
    # a journal of version 1 kept only the text
    return (Reason(_V1_CODES.get(status, "refused"), "{text}", {"text": error}),)


_V1_CODES = {"invalid": "bad_row", "skipped": "duplicate", "failed": "refused", "unknown": "answer_lost",
             "created": "recovered"}


class RunLock:
    """An OS-level lock on one run's journal: refused while another process
    holds it, freed when that process ends (even by kill -9). Runs, resumes
    and rollbacks of one results file take it, so they never overlap.
    """

    def __init__(self, journal_path: str | Path) -> None:
        self.journal_path = Path(journal_path)
        self.path = self.journal_path.with_name(self.journal_path.name + ".lock")
        self._file = None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            raise JournalError(Msg.LOCKED.format(path=self.journal_path,
                                                 holder=Msg.LOCK_HOLDER.format(pid=holder) if holder else "")) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        finally:
            f.close()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
