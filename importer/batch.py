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
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from importer.connection import DEFAULT_MAX_OUTAGE, DEFAULT_WORKERS, Connection
from importer.errors import ApiError, CopernicaImportError, DatabaseNotFound, NoInputFiles, RunStopped, UsageError
from importer.models import Outcome, Status, StopReason
from importer.runner import ImportOptions, load_run_mapping, resolve_schema, results_name, run_import
from importer.summary import RunSummary
from importer.times import duration_text, local_text

log = logging.getLogger("importer")

# Log records a front end shows the user itself (notes, errors): a console log handler may skip them.
SHOWN = {"shown": True}
WATCH_SECONDS = 0.25


class Msg:
    """What the batch layer says."""
    WORKERS = "--workers must be at least 1"
    SKIP_FAILED = "--skip-failed only makes sense with --resume"
    ONE_RESULTS = ("--results names one file; with several input files each gets <name>.results.csv "
                   "(use --results-dir DIR to choose where)")
    SAME_RESULTS = ("{a} and {b} would write the same results file {results}; "
                    "import them separately, or rename one")
    NEEDS_YES = ("refusing to import into {host} without confirmation: no terminal to ask on. "
                 "Add --yes to the command (for cron jobs and scripts); nothing was sent")
    DECLINED = "nothing was sent: the import was not confirmed"
    NO_API = "nothing to send to: give a Connection, or use the sandbox or a dry run"
    NOTHING_TO_RESUME = "nothing to resume for {file}: starting it"
    ARCHIVED = "archived {path} to {target}"
    NOT_ARCHIVED = ("{path} was not archived: {rows:,} rows are not finished ({what}); it stays where it is, "
                    "so that the next run with --resume retries them")
    NOT_FINISHED = "{failed:,} failed, {unknown:,} unknown, {unresolved:,} left for --resume"
    ARCHIVE_MATCHED = ("the archive folder {archive} is matched by the pattern {pattern!r}: archived files would "
                       "be imported again next time. Choose an archive folder outside the drop folder")
    OVERWRITE_CREATED = ("{results} belongs to an earlier run that created {created:,} profiles (its results and "
                         "journal will be kept under a dated name). Running the file again in create mode would "
                         "create them a second time. To undo that run first: copernica-import rollback {results}; "
                         "or to add only the people not in Copernica yet: --on-existing skip")
    OVERWRITE_QUESTION = "Create them again anyway? Type yes to continue: "
    CUT_OFF = "left for the next run: {path} is not complete yet ({why})"
    STDIN_ALONE = "'-' (standard input) must be the only input of a run"
    FORMAT_WITHOUT_STDIN = "--format is for '-' (standard input); a file's format is read from its name"
    NO_INPUT = "no input file: {patterns} found nothing, and --expect-files makes a night without input an error"
    MAX_RUNTIME = ("stopped: --max-runtime {limit} reached (the run began at {began}); nothing is lost: "
                   "run the same command with --resume to continue")
    OUTAGE = ("stopped: Copernica has been unreachable for {duration} (since {since}), longer than --max-outage "
              "{limit}; nothing is lost: run the same command with --resume when it answers again")
    NOT_STARTED = "not started, left for the next run: {files} (the run stopped: {why})"
    PRUNED = "removed {n} file(s) archived more than {days:g} days ago from {archive} (--keep-days)"
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
    input_format: str | None = None         # '-' only: csv, tsv, csv.gz, xlsx, xls, ods, ndjson (None: detected)
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
            results_delimiter=self.results_delimiter)


@dataclass(frozen=True)
class Confirmation:
    """What a user confirms before a real send."""
    rows: int
    files: list[Path]
    database_id: int | None
    database_name: str
    host: str


@dataclass(frozen=True)
class OverwriteQuestion:
    """--overwrite of a run that created profiles, in create mode: asked before anything is sent."""
    results: Path
    created: int
    text: str


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
    archive_dir = _archive_dir(options)
    with ExitStack() as stack:
        watch = _Watchdog(options, stop)
        stack.callback(watch.close)
        spooled = None
        if options.inputs == ["-"]:
            from importer.readers.stdin import spool_stdin
            spooled = stack.enter_context(spool_stdin(options.stdin or sys.stdin.buffer, options.input_format))
            log.info("read %s bytes from standard input (sha256 %s) into %s", f"{spooled.path.stat().st_size:,}",
                     spooled.digest, spooled.path)
            files = [spooled.path]
        else:
            files = _files_to_import(options, result, reporter)
        if not files:
            _housekeeping(options, result, archive_dir, reporter)  # an empty night keeps the archive tidy too
            return result
        sandbox = None
        if options.sandbox:
            sandbox, connection = _start_sandbox(options, stack)
            reporter.sandbox_started(connection.url)
        if connection is None and not (options.dry_run and not options.sandbox):
            raise UsageError(Msg.NO_API)
        client = stack.enter_context(connection.open_client(options.workers)) if connection is not None else None
        watch.start(client.pacer if client is not None else None)
        if client is not None and connection is not None and _needs_confirmation(options, connection):
            _confirm(options, files, client, connection, confirm)
        several = len(files) > 1 or any(set("*?[") & set(a) for a in options.inputs)
        for number, file in enumerate(files, start=1):
            if watch.cause is not None:
                _leave(result, files[number - 1:], watch, reporter)
                break
            file_options = _file_options(options, file, several or spooled is not None)
            reporter.file_started(number, len(files), file_options)
            try:
                _guard_overwrite(file_options, options, confirm_overwrite)
            except CopernicaImportError as exc:
                done = FileResult(Path(file), error=exc)
            else:
                done = _run_file(file_options, client, _AnyOf(watch.event, stop), reporter, sandbox)
            watch.explain(done)
            if spooled is not None and done.summary is not None:
                done.summary.file = done.summary.source = Path("-")
                done.summary.stdin_digest = spooled.digest
            if done.summary is not None and archive_dir is not None and not options.dry_run:
                _archive_finished(done, archive_dir, reporter, source=spooled.path if spooled else None)
            result.files.append(done)
            _log_file_end(done)
            reporter.file_finished(done)
            if done.summary is not None and done.summary.stopped is not None and result.stopped is None:
                result.stopped = done.summary.stopped
            if isinstance(done.error, ApiError) or (done.error is not None and not several):
                break  # a refused token or an unreachable API fails every file alike
            if done.summary is not None and done.summary.stopped is not None:
                if files[number:]:
                    _leave(result, files[number:], watch, reporter, why=done.summary.stopped)
                break  # interrupted, or stopped by the API: --resume continues, in file order
        _housekeeping(options, result, archive_dir, reporter)
    return result


def _housekeeping(options: BatchOptions, result: BatchResult, archive_dir: Path | None,
                  reporter: BatchReporter) -> None:
    if archive_dir is not None and options.keep_days is not None and not options.dry_run:
        _prune(result, archive_dir, options.keep_days, reporter)


class _Watchdog:
    """Stops the batch (through the stop event the runner watches) when the
    caller's event is set, ``max_runtime`` has passed, or Copernica has been
    unreachable for ``max_outage``; ``cause`` says which."""

    def __init__(self, options: BatchOptions, external: threading.Event | None) -> None:
        self.options = options
        self.external = external
        self.event = threading.Event()
        self.cause: StopReason | None = None
        self.message = ""
        self.began = time.monotonic()
        self.began_wall = time.time()
        self._pacer = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pacer) -> None:
        self._pacer = pacer
        self._check()
        self._thread = threading.Thread(target=self._watch, name="batch-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_SECONDS):
            if self._check():
                return

    def _check(self) -> bool:
        """True once the batch must stop."""
        if self.event.is_set():
            return True
        options = self.options
        if self.external is not None and self.external.is_set():
            self._stop(StopReason.INTERRUPTED, "")
        elif options.max_runtime is not None and time.monotonic() - self.began >= options.max_runtime:
            self._stop(StopReason.MAX_RUNTIME, Msg.MAX_RUNTIME.format(
                limit=duration_text(options.max_runtime), began=local_text(self.began_wall)))
        elif options.max_outage is not None and self._pacer is not None:
            outage = self._pacer.outage_seconds()
            if outage > 0 and outage >= options.max_outage:
                self._stop(StopReason.OUTAGE, Msg.OUTAGE.format(
                    duration=duration_text(outage), since=local_text(time.time() - outage),
                    limit=duration_text(options.max_outage)))
        return self.event.is_set()

    def _stop(self, cause: StopReason, message: str) -> None:
        self.cause, self.message = cause, message  # said by the file it stops (explain), or by _leave
        self.event.set()

    def explain(self, done: FileResult) -> None:
        """A file the watchdog stopped says why: --max-runtime or the outage, not 'interrupted'."""
        summary = done.summary
        if summary is None or self.cause not in (StopReason.MAX_RUNTIME, StopReason.OUTAGE):
            return
        if summary.stopped is StopReason.INTERRUPTED:  # a file that ended just as it fired stays as it ended
            summary.stopped = self.cause
            summary.stop_error = RunStopped(self.cause, self.message, sent=summary.sent)

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class _AnyOf:
    """Set when any of the events is: the runner sees the caller's stop at once, the
    watchdog's (max-runtime, outage) within its quarter of a second."""

    def __init__(self, *events: threading.Event | None) -> None:
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


def _leave(result: BatchResult, files: list[Path], watch: _Watchdog, reporter: BatchReporter,
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


def _prune(result: BatchResult, archive_dir: Path, keep_days: float, reporter: BatchReporter) -> None:
    from importer.drops import prune_archive

    keep = [p for f in result.files for p in f.archived]
    removed = prune_archive(archive_dir, keep_days, keep=keep)
    for path in removed:
        log.info("removed %s from the archive (older than %g days)", path, keep_days)
    if removed:
        result.archive_removed += removed
        note = Msg.PRUNED.format(n=len(removed), days=keep_days, archive=archive_dir)
        reporter.note(note)
        log.info(note, extra=SHOWN)


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


def _files_to_import(options: BatchOptions, result: BatchResult, reporter: BatchReporter) -> list[Path]:
    """The inputs, minus the drops still being written; notes say what was left."""
    from importer.drops import DEFAULT_SETTLE_SECONDS, expand_inputs, ready_files

    inputs = expand_inputs(options.inputs)
    if options.expect_files and not inputs.files:
        raise NoInputFiles(Msg.NO_INPUT.format(patterns=", ".join(repr(p) for p in options.inputs)))
    notes = list(inputs.notes)
    settle = DEFAULT_SETTLE_SECONDS if options.settle_seconds is None else options.settle_seconds
    # Only files a pattern found are checked: a file named on the command line
    # is the user's explicit choice (a marketer's list saved a minute ago).
    drops = [f for f in inputs.files if f in inputs.from_patterns]
    files = list(inputs.files)
    if drops and settle > 0:
        _, left = ready_files(drops, settle_seconds=settle, observe_seconds=min(2.0, settle))
        notes += [s.reason for s in left]
        left_paths = {s.path for s in left}
        files = [f for f in files if f not in left_paths]
    for file in [f for f in files if f in inputs.from_patterns]:
        why = _cut_off(options, file)   # a stalled upload: the rest may still arrive
        if why is not None:
            notes.append(Msg.CUT_OFF.format(path=file, why=why))
            files.remove(file)
    for note in notes:
        reporter.note(note)
        log.info(note, extra=SHOWN)
    result.notes += notes
    _refuse_overlaps(options, files)
    if len(files) > 1 and not options.resume:
        taken: dict[Path, Path] = {}
        for file in files:
            results = options.for_file(file).results_path().resolve()
            if results in taken:
                raise UsageError(Msg.SAME_RESULTS.format(a=taken[results], b=file, results=results))
            taken[results] = file
    return files


def _refuse_overlaps(options: BatchOptions, files: list[Path]) -> None:
    """No results or journal may land on an input file, the mapping or the schema."""
    from importer.journal import journal_path_for
    from importer.paths import refuse_overlaps

    inputs = [("the input file", f) for f in files] + [("the mapping", options.mapping), ("the schema", options.schema)]
    for file in files:
        results = options.for_file(file).results_path()
        refuse_overlaps(inputs, [("the results file", results), ("the journal", journal_path_for(results))])


def _cut_off(options: BatchOptions, file: Path) -> str | None:
    from importer.reader import TEXT_SUFFIXES, last_row_cut_off
    from importer.runner import open_input

    if not file.name.lower().endswith(TEXT_SUFFIXES):
        return None
    try:
        with open_input(options.for_file(file), load_run_mapping(options.for_file(file))) as sheet:
            return last_row_cut_off(sheet)
    except CopernicaImportError:
        return None   # the file's own run says what is wrong with it


def _archive_dir(options: BatchOptions) -> Path | None:
    """The archive folder, refused when a drop pattern could find files in it."""
    if options.archive_dir is None:
        return None
    import glob
    import os

    from importer.drops import check_archive_dir
    from importer.paths import inside

    archive = Path(options.archive_dir)
    for pattern in options.inputs:
        if not set("*?[") & set(pattern):
            continue
        expanded = os.path.expanduser(pattern)
        folder = Path(expanded).parent
        matches = [Path(p) for p in glob.glob(expanded, recursive=True)]
        if (archive.exists() and folder.exists() and folder.resolve() == archive.resolve()) \
                or any(inside(m, archive) for m in matches) or (not archive.exists() and folder == archive):
            raise UsageError(Msg.ARCHIVE_MATCHED.format(archive=archive, pattern=pattern))
    return check_archive_dir(archive)


def _guard_overwrite(file_options: ImportOptions, options: BatchOptions,
                     confirm: Callable[[OverwriteQuestion], bool] | None) -> None:
    """--overwrite of a run that created profiles, in create mode, needs an explicit yes."""
    from importer.earlier import earlier_run
    from importer.journal import journal_path_for, rollback_path_for

    if not file_options.overwrite or file_options.resume or file_options.discard_earlier or options.dry_run:
        return
    results = file_options.results_path()
    earlier = earlier_run(journal_path_for(results), rollback_path_for(results))
    remaining = earlier.created - earlier.rolled_back
    if remaining <= 0 or options.yes:
        return
    if load_run_mapping(file_options).on_existing != "create":
        return  # skip/update/upsert look every person up first: nobody is created twice
    text = Msg.OVERWRITE_CREATED.format(results=results, created=remaining)
    if confirm is None or not confirm(OverwriteQuestion(results, remaining, text)):
        raise UsageError(text)


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


def _needs_confirmation(options: BatchOptions, connection: Connection) -> bool:
    if options.yes or options.dry_run:
        return False
    return options.always_confirm or not connection.is_local


def _confirm(options: BatchOptions, files: list[Path], client, connection: Connection,
             confirm: Callable[[Confirmation], bool] | None) -> None:
    """Before the first row is sent to a real Copernica: which database, where,
    how many rows. Uses --schema when given, so no request is needed to ask."""
    from importer.runner import open_input

    if confirm is None:
        raise UsageError(Msg.NEEDS_YES.format(host=connection.host))
    first = options.for_file(files[0])
    mapping = load_run_mapping(first)
    schema = resolve_schema(first, mapping, client)
    rows = 0
    for file in files:
        with open_input(options.for_file(file), mapping) as sheet:
            rows += sum(1 for _ in sheet)
    asked = Confirmation(rows=rows, files=files, database_id=schema.id if schema is not None else mapping.database,
                         database_name=schema.name if schema is not None else "?", host=connection.host)
    if not confirm(asked):
        raise UsageError(Msg.DECLINED)


def _archive_finished(done: FileResult, archive_dir: Path, reporter: BatchReporter, *,
                      source: Path | None = None) -> None:
    """Moves a file whose rows all ended (with its results and journal) to the archive;
    a file with rows left to retry stays, and a file inside the archive is never moved again.
    The summary then names the files where they are now. ``source``: the file to move when
    it is not ``done.path`` (standard input's spool)."""
    from importer.drops import archive
    from importer.paths import inside

    summary = done.summary
    assert summary is not None
    if summary.stopped is not None or inside(source or done.path, archive_dir):
        return
    failed, unknown = summary.counts.get(Status.FAILED, 0), summary.counts.get(Status.UNKNOWN, 0)
    if failed or unknown or summary.unresolved:
        done.kept_for_retry = True
        what = Msg.NOT_FINISHED.format(failed=failed, unknown=unknown, unresolved=len(summary.unresolved))
        message = Msg.NOT_ARCHIVED.format(path=done.path, rows=failed + unknown + len(summary.unresolved), what=what)
        reporter.note(message)
        log.warning(message, extra=SHOWN)
        return
    companions = [p for p in (summary.results_path, summary.journal_path) if p is not None]
    moving = [source or done.path, *companions]
    done.archived = archive(moving, archive_dir)
    new_place = dict(zip(moving, done.archived))
    if summary.source is None:
        summary.source = summary.file
    summary.file = new_place.get(source or done.path, summary.file)
    summary.results_path = new_place.get(summary.results_path, summary.results_path)
    summary.journal_path = new_place.get(summary.journal_path, summary.journal_path)
    summary.archived = True
    message = Msg.ARCHIVED.format(path=done.path if source is None else "standard input",
                                  target=done.archived[0] if done.archived else archive_dir)
    reporter.note(message)
    log.info(message, extra=SHOWN)


@contextmanager
def check_input(options: ImportOptions, api: Connection | None = None, *, report: str | None = None,
                input_format: str | None = None, stdin: BinaryIO | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> Iterator[RunSummary]:
    """``check_file`` with '-' for standard input (``options.file``) and for the report: a
    report to '-' is written to a temporary file, there as ``summary.results_path`` until
    the ``with`` block ends (the caller copies it to stdout)."""
    from importer.runner import check_file

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
