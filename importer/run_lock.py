"""The OS-level lock on one run's journal (``RunLock``): runs, resumes and
rollbacks of one results file never overlap."""
from __future__ import annotations

import os
from pathlib import Path

from importer.errors import RunBusy
from importer.state import Busy, HeldLock, lock_file

__all__ = ["RunLock"]


class Msg:
    """What the lock tells a user."""
    LOCKED = ("another copernica-import run is using {path} right now{holder}; "
              "wait for it to finish, or use another --results path")
    LOCK_HOLDER = " (process {pid})"


class RunLock(HeldLock):
    """An OS-level lock on one run's journal: refused while another process
    holds it, freed when that process ends (even by kill -9). Runs, resumes
    and rollbacks of one results file take it, so they never overlap.
    """

    def __init__(self, journal_path: str | Path) -> None:
        self.journal_path = Path(journal_path)
        self.path = self.journal_path.with_name(self.journal_path.name + ".lock")
        self._file = None

    def acquire(self) -> "RunLock":
        f = lock_file(self.path)
        if isinstance(f, Busy):
            holder = f.text.strip()
            raise RunBusy(Msg.LOCKED.format(path=self.journal_path,
                                            holder=Msg.LOCK_HOLDER.format(pid=holder) if holder else ""))
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f
        return self

