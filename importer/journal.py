"""Durable run state: which rows are being sent, and each row's final outcome.

SQLite in WAL mode beside the results file. The order of events makes a
crash at any instant (kill -9 included) recoverable:

1. ``mark`` is committed before a row's request leaves: ``sending`` before
   its first request (a look-up, or in create mode the POST itself), and
   ``creating`` before a POST that follows a look-up (skip, upsert);
2. the final outcome is committed before its results line is written.

So on ``--resume`` a row is either final (not sent again), in flight at the
crash (``sending`` / ``creating``: looked up by key before anything else, and
reported ``created`` when its POST had left and Copernica has it), or new.

Each row also keeps a digest of its cells, so a resume after the user fixed
the file (a cell too long, a bad byte) knows which rows are unchanged (their
outcome stands), which changed (treated by the mode's rules: in create mode a
key this run created is never created again) and which are new.

Every failed write (a full disk) is an ``OutputError`` naming the journal.

A collection import (subprofiles) also keeps, per row, the subprofile's ID
and what the row did to its profile, and in a table of its own each profile
the run creates: ``creating`` (committed before its POST leaves),
``created`` with its ID, or ``unknown`` (its answers were lost and it could
not be found). So a resume after kill -9 knows which profiles this run may
have created (looked up before anything else), and ``rollback`` deletes
them too.

Every profile a run creates is also kept in the ``created`` table (every
subprofile in ``created_subprofiles``), with its key and the row number and
digest of the row that created it: append-only, never overwritten by a resume
(the ``rows`` table holds the file as it is now; a line inserted above a
created row moves it). A resume finds a moved row there (by its digest and
key), and ``rollback`` deletes every ID in it: ``importer.created_record``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from importer.created_record import CREATED_TABLES, add_tables, note_created
from importer.errors import JournalError, OutputError
from importer.models import Outcome, Reason, Status
from importer.run_lock import RunLock

# 2: outcomes keep their reasons (code, template, values) as JSON; rows keep a digest of their cells
SCHEMA_VERSION = 2
IN_FLIGHT = ("sending", "creating")


class Msg:
    """What the journal tells a user."""
    EXISTS = ("a journal of an earlier run exists: {path}\n"
              "  to continue that run: add --resume\n"
              "  to start over: add --overwrite (the earlier run's results and journal are kept under a "
              "dated name; if it created profiles you are asked first)")
    NOTHING_TO_RESUME = "nothing to resume: no journal at {path} (run without --resume to start a new run)"
    UNREADABLE = ("{path} is not a readable journal ({why}); start a new run "
                  "with another --results path, or with --overwrite to replace it")
    NOT_OURS = "{path} is not a journal of copernica-import"
    NOT_THE_SAME = ("cannot resume: this is not the same import as the journal's ({path}); changed: {changes}.\n"
                    "  Resume with the same file and mapping, or start a new run with "
                    "another --results path (or --overwrite to discard the old run's record).")
    CHANGED_MAPPING = "the mapping"
    CHANGED_DATABASE = "the database ({before} then, {now} now)"
    CHANGED_MODE = "--on-existing ({before} then, {now} now)"
    WRITE_FAILED = "the journal could not be written ({why})"


@dataclass(frozen=True)
class RunIdentity:
    """What a resumed run must share with the run it continues."""
    file_name: str
    file_fingerprint: str
    mapping_fingerprint: str
    database: int
    on_existing: str

    def differences(self, other: "RunIdentity") -> list[str]:
        # A changed input file is not refused: rows are compared one by one by
        # their digests (see the module docstring).
        labels = {
            "mapping_fingerprint": Msg.CHANGED_MAPPING,
            "database": Msg.CHANGED_DATABASE.format(before=other.database, now=self.database),
            "on_existing": Msg.CHANGED_MODE.format(before=other.on_existing, now=self.on_existing),
        }
        return [label for attr, label in labels.items() if getattr(self, attr) != getattr(other, attr)]


@dataclass(frozen=True, slots=True)
class RowState:
    """What the journal knows of one row: ``state`` is 'sending', 'creating' or 'final'."""
    row: int
    state: str
    outcome: Outcome | None
    digest: str
    key: str

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT


def row_digest(values: dict[str, str]) -> str:
    """A short digest of a row's cells (its column names and texts)."""
    text = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def journal_path_for(results_path: Path) -> Path:
    return results_path.with_name(results_path.name + ".journal")


def rollback_path_for(results_path: Path) -> Path:
    """Where ``rollback`` records what it deleted: RESULTS.rollback.csv."""
    return results_path.with_name(results_path.name.removesuffix(".csv").removesuffix(".xlsx") + ".rollback.csv")


class Journal:
    """One run's durable state. Thread-safe: workers record through a lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, run_lock: RunLock) -> None:
        self.path = path
        self._conn = conn
        self._run_lock = run_lock
        self._lock = threading.Lock()
        self._pending = 0
        self._last_commit = time.monotonic()

    # -- opening -------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, identity: RunIdentity, *, resume: bool, overwrite: bool = False,
             lock: "RunLock | None" = None) -> "Journal":
        """Opens (or creates) the journal under its run lock: ``lock`` when the
        caller holds it already, else one taken here. The journal releases it."""
        path = Path(path)
        run_lock = lock or RunLock(path).acquire()
        conn = None
        try:
            exists = path.exists()
            if exists and not resume and not overwrite:
                raise JournalError(Msg.EXISTS.format(path=path))
            if resume and not exists:
                raise JournalError(Msg.NOTHING_TO_RESUME.format(path=path))
            if exists and overwrite and not resume:
                _remove(path)  # the caller set the earlier run aside (or chose to discard it)
            if not resume:
                try:
                    _create_file(path, identity)
                except (sqlite3.Error, OSError) as exc:
                    raise OutputError(path, Msg.WRITE_FAILED.format(why=exc)) from None
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
        for column in ("reasons", "digest"):  # a journal of version 1
            if column not in columns:
                self._conn.execute(f"ALTER TABLE rows ADD COLUMN {column} TEXT")
        for column, kind in (("subprofile_id", "INTEGER"), ("profile_status", "TEXT")):  # before collections
            if column not in columns:
                self._conn.execute(f"ALTER TABLE rows ADD COLUMN {column} {kind}")
        self._conn.execute(_PROFILES_TABLE)
        add_tables(self._conn)
        self.file_changed = before.file_fingerprint != identity.file_fingerprint

    # -- meta values (for example the run's lowest created ID) ----------------
    def set_meta(self, name: str, value) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    # -- writing -------------------------------------------------------------
    def mark(self, row: int, key: str, digest: str, state: str = "sending") -> None:
        """Durably note that a request of this row is about to leave (see the module docstring)."""
        with self._writing():
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute("INSERT OR REPLACE INTO rows (row, state, key, digest) VALUES (?, ?, ?, ?)",
                      (row, state, key, digest))
            c.execute("COMMIT")
            # _pending and _last_commit stay: they tell commit_due() that the
            # runner holds results lines to write out. Resetting them here (on
            # every send) kept every line in memory until the end of the run.

    def mark_creating(self, row: int) -> None:
        """Durably note that a POST of this row (after its look-up) is about to leave."""
        with self._writing():
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute("UPDATE rows SET state='creating' WHERE row=? AND state='sending'", (row,))
            c.execute("COMMIT")

    def unmark(self, row: int) -> None:
        """Forget an in-flight mark for a row that certainly was not stored."""
        with self._writing():
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute("DELETE FROM rows WHERE row=? AND state IN ('sending', 'creating')", (row,))
            c.execute("COMMIT")

    def record(self, outcome: Outcome, digest: str = "") -> None:
        """Note a final outcome; durable after the next ``commit``."""
        with self._writing():
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute(
                "INSERT OR REPLACE INTO rows (row, state, status, profile_id, error, attempts, key, reasons, digest, "
                "subprofile_id, profile_status) VALUES (?, 'final', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (outcome.row, outcome.status.value, outcome.profile_id, outcome.error, outcome.attempts,
                 outcome.key, json.dumps([r.to_json() for r in outcome.reasons], ensure_ascii=False), digest,
                 outcome.subprofile_id, outcome.profile_status))
            note_created(c, outcome, digest)
            self._pending += 1

    # -- the profiles a collection import creates ------------------------------
    def note_profile(self, key: str, state: str, row: int, profile_id: int | None = None) -> None:
        """Durably note a profile of a collection import: ``creating`` (before its POST leaves),
        ``created`` (with its ID) or ``unknown``. ``key`` is the profile key as compared (folded)."""
        with self._writing():
            c = self._conn
            if not c.in_transaction:
                c.execute("BEGIN")
            c.execute("INSERT OR REPLACE INTO profiles (key, state, profile_id, row) VALUES (?, ?, ?, ?)",
                      (key, state, profile_id, row))
            c.execute("COMMIT")

    def profile_states(self) -> list[tuple[str, str, int | None, int]]:
        """(folded key, state, profile ID, row) of every profile this run noted."""
        with self._lock:
            return self._conn.execute("SELECT key, state, profile_id, row FROM profiles ORDER BY row").fetchall()

    def read(self, query: str, values: tuple = ()) -> list[tuple]:
        """The rows of one query (``importer.created_record`` asks its tables through it)."""
        with self._lock:
            return self._conn.execute(query, values).fetchall()

    def commit(self) -> None:
        with self._writing():
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
            self._pending = 0
            self._last_commit = time.monotonic()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The journal's lock; a failed write (a full disk) becomes an OutputError."""
        with self._lock:
            try:
                yield
            except (sqlite3.Error, OSError) as exc:
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                raise OutputError(self.path, Msg.WRITE_FAILED.format(why=exc)) from None

    def commit_due(self, max_pending: int = 500, max_age: float = 0.25) -> bool:
        return self._pending >= max_pending or (
            self._pending > 0 and time.monotonic() - self._last_commit >= max_age)

    # -- reading -------------------------------------------------------------
    def states(self, page: int = 10_000) -> Iterator["RowState"]:
        """Every journaled row in row order, paged (flat memory)."""
        last = 0
        while True:
            with self._lock:
                batch = self._conn.execute(
                    "SELECT row, state, status, profile_id, error, attempts, key, reasons, digest, subprofile_id, "
                    "profile_status FROM rows WHERE row > ? ORDER BY row LIMIT ?", (last, page)).fetchall()
            if not batch:
                return
            for row, state, status, pid, error, attempts, key, reasons, digest, sub_id, profile_status in batch:
                outcome = None
                if state == "final":
                    outcome = Outcome(row, Status(status), pid, _reasons(reasons, error, status), attempts, key,
                                      subprofile_id=sub_id, profile_status=profile_status or "")
                yield RowState(row, state, outcome, digest or "", key or "")
            last = batch[-1][0]

    def last_row(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT coalesce(max(row), 0) FROM rows").fetchone()[0]

    def created_keys(self) -> Iterator[tuple[int, str]]:
        """(row, key) of every row this run may have created a profile for."""
        with self._lock:
            found = self._conn.execute(
                "SELECT row, key FROM rows WHERE key != '' AND (state IN ('sending', 'creating') "
                "OR status IN ('created', 'unknown'))").fetchall()
        yield from found

    def sent(self) -> int:
        """Rows that may have reached Copernica in any run of this journal: in
        flight, or final after at least one request."""
        with self._lock:
            return self._conn.execute(
                "SELECT count(*) FROM rows WHERE state IN ('sending', 'creating') OR attempts > 0").fetchone()[0]

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
                reasons TEXT,                 -- JSON: [[code, template, values], ...]
                digest TEXT,                  -- of the row's cells: a resume knows a changed row
                subprofile_id INTEGER,        -- collection imports: the row's subprofile
                profile_status TEXT);         -- ... and what it did to its profile (created/updated/found)
        """ + _PROFILES_TABLE + CREATED_TABLES)
        meta = {"version": SCHEMA_VERSION, "identity": identity.__dict__, "created": time.time()}
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
        conn.execute("COMMIT")
    finally:
        conn.close()  # rollback-journal mode until here: one self-contained file to rename
    os.replace(building, path)


_PROFILES_TABLE = """
    CREATE TABLE IF NOT EXISTS profiles (      -- collection imports: the profiles this run creates
        key TEXT PRIMARY KEY,                  -- the profile key, folded as Copernica compares it
        state TEXT NOT NULL,                   -- 'creating', 'created' or 'unknown'
        profile_id INTEGER,
        row INTEGER NOT NULL);                 -- the row that created it
"""


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _reasons(stored: str | None, error: str, status: str) -> tuple[Reason, ...]:
    if stored:
        return tuple(Reason.from_json(r) for r in json.loads(stored))
    if not error:
        return ()
    # a journal of version 1 kept only the text
    return (Reason(_V1_CODES.get(status, "refused"), "{text}", {"text": error}),)


_V1_CODES = {"invalid": "bad_row", "skipped": "duplicate", "failed": "refused", "unknown": "answer_lost",
             "created": "recovered"}
