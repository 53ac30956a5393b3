"""The journal's append-only record of what a run created: every profile (table ``created``) and, in a
collection import, every subprofile (table ``created_subprofiles``), each with its key and the number
and digest of the row that created it. A resume never overwrites it (the journal's ``rows`` table holds
the file as it is now: a line inserted above a created row moves it), so a resume after a changed file
finds a moved row there by its digest and key, and ``rollback`` deletes every ID in it.

``importer.journal`` writes it (``note_created``, in the transaction of a row's final outcome) and makes
it in journals older than it (``add_tables``: filled from the rows they still have); ``CreatedRecord``
reads it for ``importer.resume``.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importer.dedupe import fold_key
from importer.models import Outcome, Status

if TYPE_CHECKING:
    from importer.journal import Journal

__all__ = ["CREATED_TABLES", "Created", "CreatedRecord", "add_tables", "note_created"]

_PROFILES = """
    CREATE TABLE IF NOT EXISTS created (       -- every profile this run created: never overwritten
        profile_id INTEGER PRIMARY KEY,
        key TEXT NOT NULL DEFAULT '',          -- the key as sent
        folded TEXT NOT NULL DEFAULT '',       -- ... and as Copernica compares it
        row INTEGER NOT NULL,                  -- the row that created it, numbered as the file was then
        digest TEXT NOT NULL DEFAULT '');      -- that row's cells then
    CREATE INDEX IF NOT EXISTS created_digest ON created (digest);
    CREATE INDEX IF NOT EXISTS created_folded ON created (folded);
"""
_SUBPROFILES = """
    CREATE TABLE IF NOT EXISTS created_subprofiles (  -- every subprofile this run created: never overwritten
        subprofile_id INTEGER PRIMARY KEY,
        collection_id INTEGER,
        key TEXT NOT NULL DEFAULT '',          -- the subprofile key as sent
        folded TEXT NOT NULL DEFAULT '',       -- ... and as Copernica compares it
        profile_id INTEGER,                    -- the profile it belongs to
        profile_status TEXT NOT NULL DEFAULT '',  -- what its row did to that profile (created/updated/found)
        row INTEGER NOT NULL,                  -- the row that created it, numbered as the file was then
        digest TEXT NOT NULL DEFAULT '');      -- that row's cells then
    CREATE INDEX IF NOT EXISTS created_subprofiles_digest ON created_subprofiles (digest);
    CREATE INDEX IF NOT EXISTS created_subprofiles_folded ON created_subprofiles (folded);
"""
CREATED_TABLES = _PROFILES + _SUBPROFILES

_COLLECTION_ID = "(SELECT json_extract(value, '$.id') FROM meta WHERE name='collection')"
_ADD_SUBPROFILE = ("INSERT OR IGNORE INTO created_subprofiles (subprofile_id, collection_id, key, folded, profile_id, "
                   f"profile_status, row, digest) VALUES (?, {_COLLECTION_ID}, ?, ?, ?, ?, ?, ?)")
_ADD_PROFILE = "INSERT OR IGNORE INTO created (profile_id, key, folded, row, digest) VALUES (?, ?, ?, ?, ?)"


def note_created(conn: sqlite3.Connection, outcome: Outcome, digest: str) -> None:
    """A row's final outcome: its profile, or its subprofile, when it created one (the first row to say so
    keeps it: a resume's moved row does not renumber it)."""
    if outcome.status is not Status.CREATED:
        return
    if outcome.subprofile_id is not None:
        conn.execute(_ADD_SUBPROFILE, (outcome.subprofile_id, outcome.key, fold_key(outcome.key), outcome.profile_id,
                                       outcome.profile_status, outcome.row, digest))
    elif outcome.profile_id is not None and not outcome.profile_status:
        conn.execute(_ADD_PROFILE, (outcome.profile_id, outcome.key, fold_key(outcome.key), outcome.row, digest))


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone() is not None


def add_tables(conn: sqlite3.Connection) -> None:
    """A journal made before these tables gets them, each filled from the rows it still has."""
    if not _has(conn, "created"):
        conn.executescript(_PROFILES)
        found = conn.execute("SELECT profile_id, key, row, coalesce(digest, '') FROM rows WHERE state='final' AND "
                             "status='created' AND profile_id IS NOT NULL AND subprofile_id IS NULL").fetchall()
        conn.execute("BEGIN")
        conn.executemany(_ADD_PROFILE, [(pid, key or "", fold_key(key or ""), row, digest)
                                        for pid, key, row, digest in found])
        conn.execute("COMMIT")
    if not _has(conn, "created_subprofiles"):
        conn.executescript(_SUBPROFILES)
        found = conn.execute("SELECT subprofile_id, key, profile_id, coalesce(profile_status, ''), row, "
                             "coalesce(digest, '') FROM rows WHERE state='final' AND status='created' "
                             "AND subprofile_id IS NOT NULL").fetchall()
        conn.execute("BEGIN")
        conn.executemany(_ADD_SUBPROFILE, [(sid, key or "", fold_key(key or ""), pid, status, row, digest)
                                           for sid, key, pid, status, row, digest in found])
        conn.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class Created:
    """One profile (or subprofile) the run created, as the record holds it."""
    profile_id: int | None
    row: int                       # the row that created it, numbered as the file was then
    key: str
    subprofile_id: int | None = None
    profile_status: str = ""

    @property
    def own_id(self) -> int | None:
        """What the row created: its subprofile in a collection import, else its profile."""
        return self.subprofile_id if self.subprofile_id is not None else self.profile_id


class CreatedRecord:
    """What a resume asks the record: the profiles (``subprofiles``: the subprofiles) this run created
    from a row with these cells, or with this key."""

    def __init__(self, journal: "Journal", *, subprofiles: bool) -> None:
        self._journal = journal
        self._sub = subprofiles
        self._select = ("SELECT profile_id, row, key, subprofile_id, profile_status FROM created_subprofiles"
                        if subprofiles else "SELECT profile_id, row, key, NULL, '' FROM created")

    def with_digest(self, digest: str) -> list[Created]:
        return [Created(*found) for found in self._journal.read(f"{self._select} WHERE digest=? ORDER BY row",
                                                                (digest,))]

    def with_key(self, key: str) -> Created | None:
        """The first one this run created with this key (compared as Copernica does)."""
        found = self._journal.read(f"{self._select} WHERE folded=? ORDER BY row LIMIT 1", (fold_key(key),))
        return Created(*found[0]) if found else None
