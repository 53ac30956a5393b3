"""Steps 5 and 6 of the page: the import (in the background, after the page's confirmation), its
results, a resume, a rollback.

An import is ``run_batch`` with the page's mapping, the CLI's guarantees
included (journal first, results file, resume, rollback); ``ImportJob``
holds one import and what the page shows of it while it runs.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from importer.batch import BatchOptions, BatchReporter, BatchResult, Confirmation, FileResult, run_batch
from importer.errors import CopernicaImportError, UsageError
from importer.models import Outcome, Status
from importer.progress import Progress
from importer.summary import RunSummary
from importer.ui.checking import OutcomeCollector
from importer.ui.state import State

log = logging.getLogger("importer.ui")


class Msg:
    """What the import and rollback steps say."""
    NO_DATABASE = "Choose a database first."
    CONFIRMATION_CHANGED = ("The import was not started: it would go to database {database} at {host}, "
                            "which is not what was confirmed.")
    NOTHING_TO_RESUME = "There is no stopped import to continue."
    NOTHING_TO_ROLL_BACK = "There is no finished import to roll back."
    NO_RESULTS = "There are no results yet: import the file first."
    UNEXPECTED = "An unexpected error stopped this step ({error}). Nothing more was sent; details are in the log."


class PageReporter(BatchReporter):
    """What the page hears while a batch runs: counts, speed, the summary."""

    def __init__(self, job: "ImportJob") -> None:
        self.job = job

    def note(self, text: str) -> None:
        self.job.notes.append(text)

    def outcome(self, outcome: Outcome) -> None:
        self.job.progress.update(outcome)
        self.job.collector(outcome)

    def file_finished(self, result: FileResult) -> None:
        if result.summary is not None:
            self.job.progress.close()
            result.summary.throughput = list(self.job.progress.samples)


@dataclass
class ImportJob:
    """One import from the page (and its resumes)."""
    number: int
    folder: Path
    file: Path
    file_name: str
    mapping: Path
    results: Path
    mode: str
    database_id: int
    database_name: str
    host: str
    sandbox: bool
    total: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    state: str = "ready"                # running, finished, stopped, failed
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Progress = field(default_factory=lambda: Progress(quiet=True))
    collector: OutcomeCollector = field(default_factory=OutcomeCollector)
    started: float = 0.0
    thread: threading.Thread | None = None
    result: BatchResult | None = None
    summary: RunSummary | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    report: Path | None = None
    rollback: "RollbackResult | None" = None

    def snapshot(self) -> dict:
        """The progress the page shows (sent as a server-sent event)."""
        done = self.progress.done
        elapsed = max(time.monotonic() - self.started, 1e-6) if self.started else 0.0
        rate = done / elapsed if elapsed else 0.0
        left = max(self.total - done, 0)
        eta = left / rate if rate > 0 and self.state == "running" else None
        return {"state": self.state, "done": done, "total": self.total,
                "counts": {s.value: self.progress.counts[s] for s in Status if self.progress.counts[s]},
                "rate": round(rate, 1), "eta": None if eta is None else round(eta, 1),
                "elapsed": round(elapsed, 1)}


@dataclass
class RollbackResult:
    exit_code: int
    deleted: int
    failed: int
    record: Path
    notes: list[str]


class ImportSteps(State):
    """Confirming, starting, stopping and resuming an import; the rollback of a finished one."""

    def confirmation(self, mode: str) -> dict:
        """What the person confirms before an import: database, host, rows."""
        dest = self.require_destination()
        if dest.schema is None:
            raise UsageError(Msg.NO_DATABASE)
        check = self.check or self.run_check()
        counts = check.summary.counts
        return {"database_id": dest.schema.id, "database_name": dest.schema.name, "host": dest.host,
                "label": dest.label, "rows": check.summary.rows, "file": self.require_upload().name,
                "to_send": counts[Status.VALID], "invalid": counts[Status.INVALID],
                "skipped": counts[Status.SKIPPED], "mode": mode, "sandbox": dest.is_sandbox}

    def start_import(self, mode: str, confirmed_database: int, confirmed_host: str) -> ImportJob:
        """Starts an import in the background (after the page's confirmation)."""
        with self.lock:
            self.require_idle()
            dest = self.require_destination()
            if dest.schema is None:
                raise UsageError(Msg.NO_DATABASE)
            if (dest.schema.id, dest.host) != (confirmed_database, confirmed_host):
                raise UsageError(Msg.CONFIRMATION_CHANGED.format(database=dest.schema.id, host=dest.host))
            table = self.require_table()
            table.on_existing = mode
            number = len(self.jobs) + 1
            folder = self.folder / "runs" / str(number)
            folder.mkdir(mode=0o700, parents=True)
            upload = self.require_upload()
            mapping = folder / self.mapping_name
            self.write_mapping(mapping)
            total = self.check.summary.rows if self.check is not None else 0
            job = ImportJob(number, folder, upload.path, upload.name, mapping,
                            folder / (Path(upload.name).stem + ".results.csv"), mode, dest.schema.id,
                            dest.schema.name, dest.host, dest.is_sandbox, total,
                            encoding=upload.encoding, delimiter=upload.delimiter, sheet=upload.sheet)
            self.jobs.append(job)
            self._launch(job, resume=False)
            return job

    def resume_import(self) -> ImportJob:
        with self.lock:
            self.require_idle()
            job = self.current_job
            if job is None or job.state != "stopped":
                raise UsageError(Msg.NOTHING_TO_RESUME)
            job.stop = threading.Event()
            job.progress = Progress(quiet=True)
            job.collector = OutcomeCollector()
            job.notes = []
            self._launch(job, resume=True)
            return job

    def _launch(self, job: ImportJob, *, resume: bool) -> None:
        dest = self.require_destination()
        options = BatchOptions(inputs=[str(job.file)], mapping=job.mapping, results=job.results,
                               encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet,
                               on_existing=job.mode, resume=resume, always_confirm=True)

        def confirm(asked: Confirmation) -> bool:
            # the person confirmed on the page; this only makes sure it is what they confirmed
            return (asked.database_id, asked.host) == (job.database_id, job.host)

        def run() -> None:
            try:
                job.result = run_batch(options, dest.connection, reporter=PageReporter(job), confirm=confirm,
                                       stop=job.stop)
                done = job.result.files[0] if job.result.files else None
                job.summary = done.summary if done is not None else None
                error = job.result.error or (job.summary.stop_error if job.summary is not None else None)
                job.error = str(error) if error is not None else None
                job.state = "stopped" if job.summary is not None and job.summary.exit_code == 3 else (
                    "failed" if job.summary is None else "finished")
            except CopernicaImportError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # noqa: BLE001 - the page says so; the log has the details
                log.exception("import %s stopped by an unexpected error", job.number)
                job.error, job.state = Msg.UNEXPECTED.format(error=type(exc).__name__), "failed"
            finally:
                self._write_report(job)

        job.state = "running"
        job.started = time.monotonic()
        job.thread = threading.Thread(target=run, name=f"page-import-{job.number}", daemon=True)
        job.thread.start()

    def _write_report(self, job: ImportJob) -> None:
        from importer.report import write_html_report

        summaries = [job.summary] if job.summary is not None else []
        exit_code = job.summary.exit_code if job.summary is not None else 2
        try:
            job.report = write_html_report(job.folder / "report.html", summaries, exit_code=exit_code,
                                           error=job.error, notes=job.notes)
        except OSError:
            log.exception("the HTML report could not be written")

    def stop_import(self) -> None:
        """Ctrl-C's meaning: no new rows; requests in flight finish; resumable."""
        job = self.current_job
        if job is not None and job.state == "running":
            job.stop.set()

    def results_workbook(self) -> Path:
        """The import's results as a workbook: the results CSV (as written so far) turned into the .xlsx
        ``--results out.xlsx`` writes; made again when the CSV is newer (a resume rewrites it)."""
        from importer.results import workbook_from_csv

        with self.lock:
            job = self.current_job
            if job is None or not job.results.exists():
                raise UsageError(Msg.NO_RESULTS)
            book = job.results.with_suffix(".xlsx")
            if not book.exists() or book.stat().st_mtime_ns <= job.results.stat().st_mtime_ns:
                workbook_from_csv(job.results, book)
            return book

    def rollback_plan(self) -> dict:
        from importer.undo import already_deleted, default_output, read_run

        job = self._finished_job()
        record = read_run(job.results)
        done = already_deleted(default_output(job.results))
        todo = [pid for pid in record.created if pid not in done]
        return {"todo": len(todo), "done": len(done), "updated": record.updated, "unknown": record.unknown,
                "in_flight": record.in_flight, "database_id": job.database_id, "database_name": job.database_name,
                "host": job.host, "sandbox": job.sandbox}

    def roll_back(self) -> RollbackResult:
        from importer.undo import default_output, rollback

        with self.lock:
            self.require_idle()
            job = self._finished_job()
            record = default_output(job.results)
            notes: list[str] = []   # what the rollback says (updated profiles not restored, ...)
            done = rollback(job.results, self.require_destination().connection, yes=True,
                            target=f"database {job.database_id} at {job.host}", output=record, say=notes.append)
            job.rollback = RollbackResult(done.exit_code, done.deleted, done.failed, record, notes)
            return job.rollback

    def _finished_job(self) -> ImportJob:
        job = self.current_job
        if job is None or job.state == "running" or not job.results.exists():
            raise UsageError(Msg.NOTHING_TO_ROLL_BACK)
        return job
