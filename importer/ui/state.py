"""The page's state for one person, and the guards every step starts with.

``State`` is the base of each step's part of the ``Workspace``
(``importer.ui.destination``, ``upload``, ``checking``, ``imports``): what the
person chose so far, the messages to show once, and ``require_*``, which say
what is missing when a step comes too early.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import UsageError

if TYPE_CHECKING:
    from importer.ui.checking import CheckResult, LiveCheck
    from importer.ui.destination import Destination
    from importer.ui.imports import ImportJob
    from importer.ui.table import MappingTable
    from importer.ui.upload import Upload


class Msg:
    """What a step that comes too early says."""
    NOT_CONNECTED = "Connect first: choose Copernica or the sandbox."
    NO_FILE = "Upload a file first."
    BUSY = "An import is running; stop it or wait until it has finished."


class State:
    """What the person chose so far; the steps' methods are in the ``Workspace``'s parts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "uploads").mkdir(mode=0o700, exist_ok=True)
        (folder / "runs").mkdir(mode=0o700, exist_ok=True)
        self.lock = threading.RLock()
        self.destination: Destination | None = None
        self.upload: Upload | None = None
        self.table: MappingTable | None = None
        self.mapping_name = "mapping.yaml"
        self.live: LiveCheck | None = None
        self.check: CheckResult | None = None
        self.jobs: list[ImportJob] = []
        self.messages: list[tuple[str, str]] = []   # (kind, text) shown once
        self.sample_rows: list = []                 # the file's first rows, for the draft

    # -- messages ---------------------------------------------------------------------
    def say(self, text: str, kind: str = "error") -> None:
        self.messages.append((kind, text))

    def take_messages(self) -> list[tuple[str, str]]:
        messages, self.messages = self.messages, []
        return messages

    @property
    def schema_path(self) -> Path:
        return self.folder / "uploads" / "structure.yaml"

    @property
    def current_job(self) -> ImportJob | None:
        return self.jobs[-1] if self.jobs else None

    @property
    def busy(self) -> bool:
        job = self.current_job
        return job is not None and job.state == "running"

    # -- guards ----------------------------------------------------------------------------
    def require_idle(self) -> None:
        if self.busy:
            raise UsageError(Msg.BUSY)

    def require_destination(self) -> Destination:
        if self.destination is None:
            raise UsageError(Msg.NOT_CONNECTED)
        return self.destination

    def require_upload(self) -> Upload:
        if self.upload is None:
            raise UsageError(Msg.NO_FILE)
        return self.upload

    def require_table(self) -> MappingTable:
        if self.table is None:
            raise UsageError(Msg.NO_FILE)
        return self.table

    # done by one part, called by others (the Workspace has them all)
    def draft(self) -> None:
        raise NotImplementedError

    def run_check(self) -> CheckResult:
        raise NotImplementedError

    def read_with_header_row(self, row: int | None) -> None:
        raise NotImplementedError

    def disconnect(self) -> None:
        raise NotImplementedError
