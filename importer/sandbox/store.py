"""Profiles (and the subprofiles of collections) in SQLite: one file with ``--db``, otherwise a temporary one.

One connection shared by all request threads behind a lock: every write is a
short transaction, so 32 parallel clients never lose or duplicate a profile
and a search-then-create (PUT with ``create=true``) is atomic. WAL mode lets
``--dump`` or another reader look at the file while the sandbox runs.
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

FIRST_PROFILE_ID = 100001  # far from spreadsheet row numbers, so a mix-up shows
FIRST_SUBPROFILE_ID = 5000001  # far from profile IDs too: a subprofile ID used as a profile's shows

_CREATE_TABLES = """
CREATE TABLE IF NOT EXISTS profiles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    database_id INTEGER NOT NULL,
    fields      TEXT NOT NULL,      -- JSON object: real field name -> text
    interests   TEXT NOT NULL,      -- JSON list of the interests switched on
    secret      TEXT NOT NULL,
    created     TEXT NOT NULL,
    modified    TEXT NOT NULL,
    removed     TEXT                -- NULL, or when it was removed
);
CREATE INDEX IF NOT EXISTS profiles_by_database ON profiles (database_id, removed, id);
CREATE TABLE IF NOT EXISTS subprofiles (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL,
    profile_id    INTEGER NOT NULL,
    fields        TEXT NOT NULL,    -- JSON object: real field name -> text
    secret        TEXT NOT NULL,
    created       TEXT NOT NULL,
    modified      TEXT NOT NULL,
    removed       TEXT
);
CREATE INDEX IF NOT EXISTS subprofiles_by_collection ON subprofiles (collection_id, removed, id);
CREATE INDEX IF NOT EXISTS subprofiles_by_profile ON subprofiles (profile_id, collection_id, removed, id);
"""

NUMERIC_OPERATORS = {"==": "=", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


@dataclass(frozen=True)
class StoredProfile:
    id: int
    database_id: int
    fields: dict[str, str]
    interests: list[str]
    secret: str
    created: str
    modified: str
    removed: str | None


@dataclass(frozen=True)
class StoredSubprofile:
    id: int
    collection_id: int
    profile_id: int
    fields: dict[str, str]
    secret: str
    created: str
    modified: str
    removed: str | None


@dataclass(frozen=True)
class Condition:
    """One ``fields[]`` filter: field (real name) operator value."""
    field: str
    operator: str          # ==, !=, <, >, <=, >=, =~, !~
    value: str | float     # a float for integer/float fields
    numeric: bool = False


def now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _json_path(field_name: str) -> str:
    # an SQL string literal (not a parameter) so the planner can use the index
    quoted = field_name.replace('"', '\\"')
    return "'$.\"" + quoted.replace("'", "''") + "\"'"


def _field_expression(field_name: str) -> str:
    return f"json_extract(fields, {_json_path(field_name)})"


class ProfileStore:
    def __init__(self, db_path: str | Path | None, indexed_fields: Iterable[str] = (),
                 indexed_collection_fields: Iterable[str] = ()) -> None:
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="copernica-sandbox-")
            db_path = Path(self._tempdir.name) / "sandbox.sqlite"
        self.path = Path(db_path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock, self._conn:
            self._conn.executescript(_CREATE_TABLES)
            self._conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'profiles', ? "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'profiles')",
                (FIRST_PROFILE_ID - 1,))
            self._conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'subprofiles', ? "
                "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'subprofiles')",
                (FIRST_SUBPROFILE_ID - 1,))
            for name in set(indexed_fields):
                self._index_field(name)
            for name in set(indexed_collection_fields):
                self._index_field(name, table="subprofiles", scope="collection_id")

    def _index_field(self, field_name: str, table: str = "profiles", scope: str = "database_id") -> None:
        # a key lookup (fields[]=email==x) per row must not scan a million profiles
        index = f"{table}_field_" + hashlib.sha1(field_name.encode()).hexdigest()[:16]
        self._conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} "
                           f"({scope}, {_field_expression(field_name)} COLLATE NOCASE)")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    # --- writes --------------------------------------------------------------
    def create(self, database_id: int, fields: dict[str, str], interests: list[str]) -> int:
        with self._lock, self._conn:
            return self._insert(database_id, fields, interests)

    def _insert(self, database_id: int, fields: dict[str, str], interests: list[str]) -> int:
        stamp = now_text()
        cursor = self._conn.execute(
            "INSERT INTO profiles (database_id, fields, interests, secret, created, modified) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (database_id, json.dumps(fields), json.dumps(interests), secrets.token_hex(16), stamp, stamp))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def update(self, profile_id: int, fields: dict[str, str], interests: list[str]) -> None:
        """Replace a live profile's fields and interests (the caller merged them)."""
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE profiles SET fields = ?, interests = ?, modified = ? WHERE id = ?",
                (json.dumps(fields), json.dumps(interests), now_text(), profile_id))

    def remove(self, profile_id: int) -> None:
        """Remove a profile, and with it its subprofiles (they cannot live without it)."""
        with self._lock, self._conn:
            self._conn.execute("UPDATE profiles SET removed = ?, modified = ? WHERE id = ?",
                               (now_text(), now_text(), profile_id))
            self._conn.execute("UPDATE subprofiles SET removed = ?, modified = ? WHERE profile_id = ? "
                               "AND removed IS NULL", (now_text(), now_text(), profile_id))

    # --- subprofiles -----------------------------------------------------------
    def create_subprofile(self, collection_id: int, profile_id: int, fields: dict[str, str]) -> int:
        stamp = now_text()
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT INTO subprofiles (collection_id, profile_id, fields, secret, created, modified) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (collection_id, profile_id, json.dumps(fields), secrets.token_hex(16), stamp, stamp))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def update_subprofile(self, subprofile_id: int, fields: dict[str, str]) -> None:
        with self._lock, self._conn:
            self._conn.execute("UPDATE subprofiles SET fields = ?, modified = ? WHERE id = ?",
                               (json.dumps(fields), now_text(), subprofile_id))

    def remove_subprofile(self, subprofile_id: int) -> None:
        with self._lock, self._conn:
            self._conn.execute("UPDATE subprofiles SET removed = ?, modified = ? WHERE id = ?",
                               (now_text(), now_text(), subprofile_id))

    def get_subprofile(self, subprofile_id: int) -> StoredSubprofile | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {_SUBPROFILE_COLUMNS} FROM subprofiles WHERE id = ?",
                                     (subprofile_id,)).fetchone()
        return StoredSubprofile(*row[:3], json.loads(row[3]), *row[4:]) if row else None

    def find_subprofiles(self, collection_id: int, conditions: list[Condition], start: int = 0,
                         limit: int | None = None, with_total: bool = False, profile_id: int | None = None,
                         order_by: str | None = None, descending: bool = False,
                         ) -> tuple[list[StoredSubprofile], int | None]:
        """Live subprofiles of a collection (of one profile, when given) matching every condition."""
        where, params = self._where(collection_id, conditions, scope="collection_id")
        if profile_id is not None:
            where += " AND profile_id = ?"
            params.append(profile_id)
        order = "id" if order_by is None else f"{_field_expression(order_by)} COLLATE NOCASE"
        order += " DESC" if descending else ""
        page = "" if limit is None else " LIMIT ? OFFSET ?"
        page_params = [] if limit is None else [limit, start]
        with self._lock:
            rows = self._conn.execute(f"SELECT {_SUBPROFILE_COLUMNS} FROM subprofiles WHERE {where} "
                                      f"ORDER BY {order}, id{page}", params + page_params).fetchall()
            total = None
            if with_total:
                total = self._conn.execute(f"SELECT COUNT(*) FROM subprofiles WHERE {where}",
                                           params).fetchone()[0]
        return [StoredSubprofile(*r[:3], json.loads(r[3]), *r[4:]) for r in rows], total

    def count_subprofiles(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM subprofiles WHERE removed IS NULL").fetchone()[0]

    def locked(self) -> threading.RLock:
        """Hold this around a read-then-write that must be atomic."""
        return self._lock

    # --- reads ---------------------------------------------------------------
    def get(self, profile_id: int) -> StoredProfile | None:
        with self._lock:
            row = self._conn.execute(f"SELECT {self._columns()} FROM profiles WHERE id = ?",
                                     (profile_id,)).fetchone()
        return self._profile(row) if row else None

    def find(self, database_id: int, conditions: list[Condition], start: int = 0,
             limit: int | None = None, with_total: bool = False) -> tuple[list[StoredProfile], int | None]:
        where, params = self._where(database_id, conditions)
        page = "" if limit is None else " LIMIT ? OFFSET ?"
        page_params = [] if limit is None else [limit, start]
        with self._lock:
            rows = self._conn.execute(f"SELECT {self._columns()} FROM profiles WHERE {where} "
                                      f"ORDER BY id{page}", params + page_params).fetchall()
            total = None
            if with_total:
                total = self._conn.execute(f"SELECT COUNT(*) FROM profiles WHERE {where}",
                                           params).fetchone()[0]
        return [self._profile(r) for r in rows], total

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM profiles WHERE removed IS NULL").fetchone()[0]

    @staticmethod
    def _columns() -> str:
        return "id, database_id, fields, interests, secret, created, modified, removed"

    @staticmethod
    def _profile(row: tuple) -> StoredProfile:
        return StoredProfile(row[0], row[1], json.loads(row[2]), json.loads(row[3]), row[4],
                             row[5], row[6], row[7])

    @staticmethod
    def _where(database_id: int, conditions: list[Condition], scope: str = "database_id") -> tuple[str, list]:
        clauses = [f"{scope} = ?", "removed IS NULL"]
        params: list = [database_id]
        for c in conditions:
            expression = _field_expression(c.field)
            if c.operator in ("=~", "!~"):
                negate = "NOT " if c.operator == "!~" else ""
                clauses.append(f"{expression} {negate}LIKE ?")  # % and _ wildcards
            elif c.numeric:
                clauses.append(f"CAST({expression} AS REAL) {NUMERIC_OPERATORS[c.operator]} ?")
            else:
                # text compares case-insensitively, like MySQL's default collation
                clauses.append(f"({expression} COLLATE NOCASE) {NUMERIC_OPERATORS[c.operator]} ?")
            params.append(c.value)
        return " AND ".join(clauses), params


_SUBPROFILE_COLUMNS = "id, collection_id, profile_id, fields, secret, created, modified, removed"


def read_all_subprofiles(db_path: str | Path) -> list[StoredSubprofile]:
    """Every subprofile in a sandbox database file, removed ones included (for --dump)."""
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'subprofiles'").fetchone():
            return []  # a file from before collections
        rows = conn.execute(f"SELECT {_SUBPROFILE_COLUMNS} FROM subprofiles ORDER BY id").fetchall()
    finally:
        conn.close()
    return [StoredSubprofile(*r[:3], json.loads(r[3]), *r[4:]) for r in rows]


def read_all_profiles(db_path: str | Path) -> list[StoredProfile]:
    """Every profile in a sandbox database file, removed ones included (for --dump)."""
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        rows = conn.execute(f"SELECT {ProfileStore._columns()} FROM profiles ORDER BY id").fetchall()
    finally:
        conn.close()
    return [ProfileStore._profile(r) for r in rows]
