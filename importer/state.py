"""The user's state folder: what runs on this computer share.

``COPERNICA_STATE_DIR``, else ``$XDG_STATE_HOME/copernica-import``, else
``~/.local/state/copernica-import``. It holds one lock per API host and
database, so that two runs on this computer never send to the same
database at once (two upserts of the same people in different orders can
each find nobody and both create: a duplicate). Runs on different computers
are not seen: the README says so.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from importer.errors import DatabaseBusy, OutputError

STATE_DIR_ENV = "COPERNICA_STATE_DIR"
POLL_SECONDS = 0.5


class Msg:
    BUSY = ("another copernica-import run is sending to database {database} at {host} right now{holder}; "
            "two runs at once could create the same person twice. Wait for it to finish, or add "
            "--wait-for-lock SECONDS to wait for it")
    BUSY_WAITED = ("another copernica-import run is still sending to database {database} at {host} after "
                   "{waited:g} s of waiting{holder}; nothing was sent. Run again when it has finished")
    HOLDER = " (process {pid}, importing {file} since {since})"
    NO_STATE_DIR = "the state folder could not be made ({why}); set COPERNICA_STATE_DIR to a writable folder"


class Busy:
    """``lock_file`` found the lock held; ``text`` is what its holder wrote in it."""

    def __init__(self, text: str) -> None:
        self.text = text


def lock_file(path: Path):
    """An open file holding an exclusive flock on ``path``, or ``Busy``.

    The file is removed when it is unlocked (``unlock_file``), so no lock file
    stays behind after a clean end. That is race-free because a lock taken on
    a file that was removed (or replaced) meanwhile is let go and taken again
    on the file that is there now.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        f = open(path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            text = f.read()
            f.close()
            return Busy(text)
        try:
            if os.fstat(f.fileno()).st_ino == os.stat(path).st_ino:
                return f
        except FileNotFoundError:
            pass
        f.close()  # the holder removed it just before we got it: take the new one


def unlock_file(path: Path, f) -> None:
    """Removes the lock file while still holding it, then lets go."""
    try:
        try:
            path.unlink()
        except OSError:
            pass
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    finally:
        f.close()


def _holder(text: str) -> str:
    try:
        info = json.loads(text or "{}")
        return Msg.HOLDER.format(pid=info["pid"], file=info.get("file") or "?", since=info.get("since", "?"))
    except (ValueError, KeyError, TypeError):
        return ""


def state_dir() -> Path:
    given = os.environ.get(STATE_DIR_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "copernica-import"


class DatabaseLock:
    """An OS-level lock on one database of one API host (freed when the process ends, kill -9 included)."""

    def __init__(self, host: str, database: int, *, about: str = "") -> None:
        self.host = host
        self.database = database
        self.about = about
        safe_host = re.sub(r"[^A-Za-z0-9.-]+", "_", host)
        self.path = state_dir() / "locks" / f"{safe_host}-database-{int(database)}.lock"
        self._file = None

    def acquire(self, wait_seconds: float = 0.0, *, stopping: Callable[[], bool] = lambda: False) -> "DatabaseLock":
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                f = lock_file(self.path)
            except OSError as exc:
                raise OutputError(self.path.parent, Msg.NO_STATE_DIR.format(why=exc.strerror or exc)) from None
            if not isinstance(f, Busy):
                break
            if time.monotonic() >= deadline or stopping():
                template = Msg.BUSY_WAITED if wait_seconds > 0 else Msg.BUSY
                raise DatabaseBusy(template.format(database=self.database, host=self.host,
                                                   holder=_holder(f.text), waited=wait_seconds))
            time.sleep(POLL_SECONDS)
        f.seek(0)
        f.truncate()
        json.dump({"pid": os.getpid(), "file": self.about, "since": datetime.now().strftime("%H:%M:%S")}, f)
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            unlock_file(self.path, f)

    def __enter__(self) -> "DatabaseLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
