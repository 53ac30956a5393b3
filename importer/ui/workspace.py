"""What one person does on the page, step by step, over the library.

A ``Workspace`` holds where profiles go (a ``Connection``: the access token
lives here, in memory only), the uploaded file and what was detected in it,
the mapping table, the last check, and the imports with their results. It
calls the same library functions as the CLI: ``open_sheet``,
``draft_mapping``, ``check_file``, ``run_batch``, ``rollback``,
``write_html_report``; so a page import has the CLI's guarantees (journal
first, results file, resume, rollback) because it *is* the CLI's code path.

Files live in one private folder (mode 0700): ``uploads/`` for the files the
page received, the mapping and a copy of the database's structure, and
``runs/N/`` for each import (results, journal, report). The token is never
written there or anywhere else.

Each step is a part of its own: ``destination`` (1, where to), ``upload``
(2, the file), ``checking`` (3 and 4, the mapping and the check),
``imports`` (5 and 6, the import, its results, a rollback); ``state`` holds
what they share.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from importer.ui.checking import MappingSteps
from importer.ui.destination import DestinationSteps
from importer.ui.imports import ImportSteps
from importer.ui.upload import FileSteps


class Workspace(DestinationSteps, FileSteps, MappingSteps, ImportSteps):
    """The page's state for one person; every step is a method here."""

    # -- the end ---------------------------------------------------------------------------
    def close(self, *, keep_runs: bool | None = None) -> Path | None:
        """Stops a running import (resumably) and the sandbox; deletes the folder, or keeps the
        results and journals of real imports (returns their folder then)."""
        job = self.current_job
        if job is not None and job.state == "running":
            job.stop.set()
            if job.thread is not None:
                job.thread.join(timeout=120)
        self.disconnect()
        real_runs = [j for j in self.jobs if not j.sandbox]
        keep = bool(real_runs) if keep_runs is None else keep_runs
        if keep:
            shutil.rmtree(self.folder / "uploads", ignore_errors=True)
            return self.folder / "runs"
        shutil.rmtree(self.folder, ignore_errors=True)
        return None
