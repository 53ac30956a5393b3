"""Several files in one go: drop rules, a sandbox rehearsal, the confirmation
before a real send, one run per file, archiving. The library layer under the
``run`` command (and under any other front end):

    result = run_batch(BatchOptions(inputs=["drops/*.csv"], mapping=Path("shop.yaml"), yes=True),
                       Connection(token=token))
    result.exit_code

Each file gets its own results file and journal, one after the other. One
broken drop file does not hold back the night's other files; an error that
would fail every file alike (a refused token, an unreachable API) stops the
batch. What happened is returned as a ``BatchResult``; what the user sees
along the way goes through a ``BatchReporter``.

``-`` as the input reads standard input (copied to a temporary file named
after its content digest, so ``--resume`` recognises the same data piped
again: ``importer.readers.stdin``). Two limits stop a batch the way Ctrl-C
does (resumably, exit 3): ``max_runtime`` and ``max_outage`` (Copernica
unreachable for that long, as the client's circuit breaker sees it).
"""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from importer.batch_files import archive_finished, checked_archive_dir, files_to_import, housekeeping
from importer.confirm import Confirmation, OverwriteQuestion, confirm_send, guard_overwrite, needs_confirmation
from importer.connection import DEFAULT_MAX_OUTAGE, DEFAULT_WORKERS, Connection
from importer.errors import ApiError, CopernicaImportError, DatabaseNotFound, UsageError
from importer.models import Outcome, Status, StopReason
from importer.prepare import ImportOptions, results_name
from importer.runner import run_import
from importer.summary import RunSummary
from importer.watchdog import AnyOf, Watchdog

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.readers.stdin import Spooled
    from importer.sandbox import Sandbox

__all__ = ["BatchOptions", "BatchReporter", "BatchResult", "Confirmation", "FileResult", "OverwriteQuestion",
           "check_input", "created_any", "run_batch"]

log = logging.getLogger("importer")

# Log records a front end shows the user itself (notes, errors): a console log handler may skip them.
SHOWN = {"shown": True}


class Msg:
    """What the batch layer says."""
    WORKERS = "--workers must be at least 1"
    SKIP_FAILED = "--skip-failed only makes sense with --resume"
    ONE_RESULTS = ("--results names one file; with several input files each gets <name>.results.csv "
                   "(use --results-dir DIR to choose where)")
    NO_API = "nothing to send to: give a Connection, or use the sandbox or a dry run"
    NOTHING_TO_RESUME = "nothing to resume for {file}: starting it"
    STDIN_ALONE = "'-' (standard input) must be the only input of a run"
    FORMAT_WITHOUT_STDIN = "--format is for '-' (standard input); a file's format is read from its name"
    NOT_STARTED = "not started, left for the next run: {files} (the run stopped: {why})"
    ROW = "row {row}: {status}{profile}{reasons}"


@dataclass
class BatchOptions:
    """Everything ``run`` is asked to do, for one file or a folder of drops."""
    inputs: list[str]                       # files and patterns ('drops/*.csv', expanded here)
    mapping: Path
    database: int | None = None
    schema: Path | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = None           # overrides the mapping's header_row
    on_existing: str | None = None
    results: Path | None = None             # one input only
    results_delimiter: str | None = None    # the results CSV's delimiter (default: the mapping's, else ",")
    results_dir: Path | None = None         # default: the current folder
    archive_dir: Path | None = None         # move finished files (with results and journal) here
    settle_seconds: float | None = None     # None: drops.DEFAULT_SETTLE_SECONDS
    dry_run: bool = False
    resume: bool = False
    overwrite: bool = False
    retry_failed: bool = True
    workers: int = DEFAULT_WORKERS
    max_errors: int | None = None
    sandbox: bool = False                   # rehearse in a built-in sandbox instead of Copernica
    sandbox_api_version: int = 3
    yes: bool = False                       # no confirmation needed
    always_confirm: bool = False            # ask even when the API is on this computer
    wait_for_lock: float = 0.0              # seconds to wait while another run sends to the same database
    input_format: str | None = None         # '-' only: csv, tsv, csv.gz, xlsx, xls, ods, json, ndjson (None: detected)
    stdin: BinaryIO | None = None           # what '-' reads (None: this process's standard input)
    max_runtime: float | None = None        # seconds; then stop resumably (exit 3)
    max_outage: float | None = DEFAULT_MAX_OUTAGE  # seconds Copernica may be unreachable; None: wait forever
    expect_files: bool = False              # no input file found is an error (exit 66), not a quiet night
    keep_days: float | None = None          # remove files archived longer ago than this

    def for_file(self, file: Path) -> ImportOptions:
        results = self.results
        if results is None and self.results_dir is not None:
            results = self.results_dir / results_name(file)
        return ImportOptions(
            file=Path(file), mapping=self.mapping, database=self.database, results=results,
            schema=self.schema, dry_run=self.dry_run, resume=self.resume, overwrite=self.overwrite,
            workers=self.workers, on_existing=self.on_existing, max_errors=self.max_errors,
            retry_failed=self.retry_failed, encoding=self.encoding, delimiter=self.delimiter, sheet=self.sheet,
            wait_for_lock=self.wait_for_lock, header_row=self.header_row,
            results_delimiter=self.results_delimiter, sandbox=self.sandbox)


@dataclass
class FileResult:
    """One input file: its summary when it ran, the error when it could not."""
    path: Path
    summary: RunSummary | None = None
    error: CopernicaImportError | None = None
    archived: list[Path] = field(default_factory=list)   # the file, its results, its journal (new places)
    kept_for_retry: bool = False                          # not archived: rows left for --resume

    @property
    def exit_code(self) -> int:
        if self.summary is not None:
            return self.summary.exit_code
        return self.error.exit_code if self.error is not None else 0


@dataclass
class BatchResult:
    files: list[FileResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)        # files left for the next run, ...
    sandbox: bool = False
    stopped: StopReason | None = None                     # why the batch stopped early (the first reason)
    not_started: list[Path] = field(default_factory=list)  # files the batch did not reach (it stopped)
    archive_removed: list[Path] = field(default_factory=list)  # --keep-days housekeeping

    @property
    def summaries(self) -> list[RunSummary]:
        return [f.summary for f in self.files if f.summary is not None]

    @property
    def error(self) -> CopernicaImportError | None:
        return next((f.error for f in self.files if f.error is not None), None)

    @property
    def exit_code(self) -> int:
        code = max((f.exit_code for f in self.files), default=0)
        if self.stopped is not None and self.not_started:
            code = max(code, 3)  # files left undone: the next --resume run takes them
        return code


class BatchReporter:
    """What a front end hears while a batch runs; every method may be left as is."""

    def note(self, text: str) -> None:
        """A sentence for the user (a file left for the next run, ...)."""

    def sandbox_started(self, api_url: str) -> None:
        """A rehearsal sandbox is listening at ``api_url``."""

    def file_started(self, number: int, total: int, options: ImportOptions) -> None:
        """File ``number`` of ``total`` starts."""

    def outcome(self, outcome: Outcome) -> None:
        """One row ended (called from the sending threads)."""

    def file_finished(self, result: FileResult) -> None:
        """A file ended: ran (``result.summary``) or could not (``result.error``)."""


def run_batch(options: BatchOptions, connection: Connection | None = None, *,
              reporter: BatchReporter | None = None, confirm: Callable[[Confirmation], bool] | None = None,
              confirm_overwrite: Callable[[OverwriteQuestion], bool] | None = None,
              stop: threading.Event | None = None) -> BatchResult:
    """Imports every file ``options.inputs`` names. Raises only for problems
    found before any file starts (nothing sent); afterwards every problem is
    in the result. ``confirm`` is asked before a real send to a remote API
    (None: refuse unless ``options.yes``); ``confirm_overwrite`` before an
    --overwrite that would create an earlier run's profiles again; ``stop``
    interrupts, resumably."""
    reporter = reporter or BatchReporter()
    _check(options)
    result = BatchResult(sandbox=options.sandbox)
    batch = _Batch(options, result, reporter, stop, checked_archive_dir(options))
    with ExitStack() as stack:
        batch.watch = Watchdog(options.max_runtime, options.max_outage, stop)
        stack.callback(batch.watch.close)
        files = _inputs(batch, stack)
        if files:
            connection = _open_api(batch, connection, stack)
            batch.watch.start(batch.client.pacer if batch.client is not None else None)
            if batch.client is not None and connection is not None and needs_confirmation(options, connection):
                confirm_send(options, files, batch.client, connection, confirm)
            _import_files(batch, files, confirm_overwrite)
        housekeeping(options, result, batch.archive_dir, reporter)  # an empty night keeps the archive tidy too
    return result


@dataclass
class _Batch:
    """One ``run_batch`` call: what its steps share."""
    options: BatchOptions
    result: BatchResult
    reporter: BatchReporter
    stop: threading.Event | None
    archive_dir: Path | None
    watch: Watchdog = field(init=False)
    spooled: Spooled | None = None      # standard input's copy, when the input is '-'
    client: CopernicaClient | None = None
    sandbox: Sandbox | None = None


def _inputs(batch: _Batch, stack: ExitStack) -> list[Path]:
    """The files to import: standard input's copy, or the inputs the drop rules let through."""
    options = batch.options
    if options.inputs != ["-"]:
        return files_to_import(options, batch.result, batch.reporter)
    from importer.readers.stdin import spool_stdin
    spooled = batch.spooled = stack.enter_context(spool_stdin(options.stdin or sys.stdin.buffer, options.input_format))
    log.info("read %s bytes from standard input (sha256 %s) into %s", f"{spooled.path.stat().st_size:,}",
             spooled.digest, spooled.path)
    return [spooled.path]


def _open_api(batch: _Batch, connection: Connection | None, stack: ExitStack) -> Connection | None:
    """The rehearsal sandbox (when asked for) and the client; the connection used (the sandbox's, then)."""
    options = batch.options
    if options.sandbox:
        batch.sandbox, connection = _start_sandbox(options, stack)
        batch.reporter.sandbox_started(connection.url)
    if connection is None and not (options.dry_run and not options.sandbox):
        raise UsageError(Msg.NO_API)
    if connection is not None:
        batch.client = stack.enter_context(connection.open_client(options.workers))
    return connection


def _import_files(batch: _Batch, files: list[Path],
                  confirm_overwrite: Callable[[OverwriteQuestion], bool] | None) -> None:
    """One file after the other, until the last or a stop; the files not reached are named."""
    several = len(files) > 1 or any(set("*?[") & set(a) for a in batch.options.inputs)
    for number, file in enumerate(files, start=1):
        if batch.watch.cause is not None:
            _leave(batch.result, files[number - 1:], batch.watch, batch.reporter)
            return
        done = _import_file(batch, file, number, len(files), several, confirm_overwrite)
        if isinstance(done.error, ApiError) or (done.error is not None and not several):
            return  # a refused token or an unreachable API fails every file alike
        if done.summary is not None and done.summary.stopped is not None:
            if files[number:]:
                _leave(batch.result, files[number:], batch.watch, batch.reporter, why=done.summary.stopped)
            return  # interrupted, or stopped by the API: --resume continues, in file order


def _import_file(batch: _Batch, file: Path, number: int, total: int, several: bool,
                 confirm_overwrite: Callable[[OverwriteQuestion], bool] | None) -> FileResult:
    """One file: its run (or the reason it could not run), its archiving, its place in the result."""
    options, spooled, reporter = batch.options, batch.spooled, batch.reporter
    file_options = _file_options(options, file, several or spooled is not None)
    reporter.file_started(number, total, file_options)
    try:
        guard_overwrite(file_options, options, confirm_overwrite)
    except CopernicaImportError as exc:
        done = FileResult(Path(file), error=exc)
    else:
        done = _run_file(file_options, batch.client, AnyOf(batch.watch.event, batch.stop), reporter, batch.sandbox)
    batch.watch.explain(done.summary)
    if spooled is not None and done.summary is not None:
        done.summary.file = done.summary.source = Path("-")
        done.summary.stdin_digest = spooled.digest
    if done.summary is not None and batch.archive_dir is not None and not options.dry_run:
        archive_finished(done, batch.archive_dir, reporter, source=spooled.path if spooled else None)
    batch.result.files.append(done)
    _log_file_end(done)
    reporter.file_finished(done)
    if done.summary is not None and done.summary.stopped is not None and batch.result.stopped is None:
        batch.result.stopped = done.summary.stopped
    return done


def _leave(result: BatchResult, files: list[Path], watch: Watchdog, reporter: BatchReporter,
           why: StopReason | None = None) -> None:
    """Files the batch does not reach: named, so the morning knows what waits for the next run."""
    why = why or watch.cause or StopReason.INTERRUPTED
    result.not_started += [Path(f) for f in files]
    result.stopped = result.stopped or why
    reason = watch.message if why is watch.cause and watch.message else str(why)
    note = Msg.NOT_STARTED.format(files=", ".join(str(f) for f in files), why=reason)
    result.notes.append(note)
    reporter.note(note)
    log.warning(note, extra=SHOWN)


def _log_file_end(done: FileResult) -> None:
    summary = done.summary
    error = done.error or (summary.stop_error if summary is not None else None)
    if error is not None:
        log.error("%s: %s", done.path, error, extra=SHOWN)
    if summary is not None:
        log.info("finished %s: %s (exit %s%s)", done.path,
                 ", ".join(f"{n:,} {s}" for s, n in summary.counts.items()) or "no rows", summary.exit_code,
                 f", stopped: {summary.stopped}" if summary.stopped else "")


def _check(options: BatchOptions) -> None:
    if "-" in options.inputs and len(options.inputs) > 1:
        raise UsageError(Msg.STDIN_ALONE)
    if options.input_format is not None and options.inputs != ["-"]:
        raise UsageError(Msg.FORMAT_WITHOUT_STDIN)
    if options.workers < 1:
        raise UsageError(Msg.WORKERS)
    if not options.retry_failed and not options.resume:
        raise UsageError(Msg.SKIP_FAILED)
    if len(options.inputs) > 1 and options.results is not None:
        raise UsageError(Msg.ONE_RESULTS)


def _start_sandbox(options: BatchOptions, stack: ExitStack):
    from importer.sandbox import Sandbox  # only a rehearsal needs the sandbox

    sandbox = stack.enter_context(Sandbox(schema=options.schema) if options.schema else Sandbox())
    version = options.sandbox_api_version
    api_url = sandbox.api_url if version == 3 else sandbox.base_url + "/v4"
    return sandbox, Connection(token=sandbox.token, api_url=api_url, api_version=version, auth_url=sandbox.auth_url)


def _file_options(options: BatchOptions, file: Path, several: bool) -> ImportOptions:
    from importer.journal import journal_path_for

    file_options = options.for_file(file)
    if file_options.resume and several and not journal_path_for(file_options.results_path()).exists():
        # a drop folder (or a pipe) with --resume: continue the interrupted file, start the new ones
        file_options.resume = False
        log.info(Msg.NOTHING_TO_RESUME.format(file=file))
    if options.sandbox and not options.resume:
        # a rehearsal: the sandbox starts empty each time, so its results may be replaced
        file_options.overwrite = True
        file_options.discard_earlier = True
        if file_options.results is None:
            file_options.results = Path.cwd() / (Path(file).name.split(".")[0] + ".sandbox-results.csv")
    return file_options


def _run_file(options: ImportOptions, client, stop: threading.Event | None, reporter: BatchReporter,
              sandbox) -> FileResult:
    log.info("importing %s (results: %s)", options.file, options.results_path())
    on_outcome = reporter.outcome
    if log.isEnabledFor(logging.DEBUG):
        def on_outcome(outcome: Outcome) -> None:  # -vv: every row's outcome, to the log file only
            _log_row(outcome)
            reporter.outcome(outcome)
    try:
        summary = run_import(options, client, stop=stop, on_outcome=on_outcome)
    except DatabaseNotFound as exc:
        if sandbox is not None:
            available = ", ".join(f"database {db.id} ({db.name})" for db in sandbox.schema.databases)
            exc = DatabaseNotFound(exc.database_id, sandbox_databases=available)
        return FileResult(Path(options.file), error=exc)
    except CopernicaImportError as exc:
        return FileResult(Path(options.file), error=exc)
    return FileResult(Path(options.file), summary=summary)


def _log_row(outcome: Outcome) -> None:
    reasons = "; ".join(f"{r.code}: {r.message}" for r in outcome.reasons)
    log.debug(Msg.ROW.format(row=outcome.row, status=outcome.status,
                             profile=f", profile {outcome.profile_id}" if outcome.profile_id else "",
                             reasons=f" ({reasons})" if reasons else ""), extra={"row_detail": True})


@contextmanager
def check_input(options: ImportOptions, api: Connection | None = None, *, report: str | None = None,
                input_format: str | None = None, stdin: BinaryIO | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> Iterator[RunSummary]:
    """``check_file`` with '-' for standard input (``options.file``) and for the report: a
    report to '-' is written to a temporary file, there as ``summary.results_path`` until
    the ``with`` block ends (the caller copies it to stdout)."""
    from importer.prepare import check_file

    with ExitStack() as stack:
        file, digest = Path(options.file), None
        if str(options.file) == "-":
            from importer.readers.stdin import spool_stdin
            spooled = stack.enter_context(spool_stdin(stdin or sys.stdin.buffer, input_format))
            file, digest = spooled.path, spooled.digest
        elif input_format:
            raise UsageError(Msg.FORMAT_WITHOUT_STDIN)
        report_path = Path(report) if report and report != "-" else None
        if report == "-":
            import tempfile
            report_path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "report.csv"
        options.file = file
        summary = check_file(options, api, report=report_path, on_outcome=on_outcome)
        if digest is not None:
            summary.file, summary.stdin_digest = Path("-"), digest
        yield summary


def created_any(result: FileResult) -> bool:
    return bool(result.summary is not None and result.summary.counts.get(Status.CREATED))
