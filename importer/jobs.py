"""Running jobs: which ones a `run` runs, and one job from start to end.

``select()`` picks the settings of each job (``importer.settings`` resolves
them: command line > environment > jobs file > mapping > defaults);
``run_job()`` runs one (or a run without a job): its lock (one run of a job
at a time), its history's start line, the log's start line, the batch, the
end line with the exit code, its summary files, the history's end line.
Each job keeps its own lock, results (default ``results/<job>``), journals,
archive and history lines; ``run --all-jobs`` exits with the highest code.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from importer.connection import DEFAULT_API_URL, DEFAULT_API_URL_V4, Connection
from importer.errors import CopernicaImportError, OutputError, RunBusy, UsageError
from importer.history import History, feed, new_run_id
from importer.jobs_file import find_jobs_file, load_jobs_file, no_jobs_file
from importer.settings import BY_NAME, MAPPING_FILE, Settings, fill_from_mapping, resolve, shown_value
from importer.summary import combined_dict, exit_meaning
from importer.times import local_text

if TYPE_CHECKING:  # the batch layer (and the readers under it) load only when a job runs
    from importer.batch import BatchOptions, BatchReporter, BatchResult

log = logging.getLogger("importer")

SHOWN = {"shown": True}  # a log record the front end prints itself (see batch.SHOWN)


class Msg:
    """What running a job tells a user and the log."""
    NO_MAPPING = "no mapping: use --mapping M.yaml (or set COPERNICA_MAPPING)"
    NO_MAPPING_JOB = "job {job} has no mapping: add mapping = \"M.yaml\" to [jobs.{job}] in {path}"
    NO_INPUT = "no input: give FILE(s), '-' for standard input, --job NAME or --all-jobs"
    NO_INPUT_JOB = "job {job} has no input: add input = \"drops/*.csv\" to [jobs.{job}] in {path}"
    JOB_BUSY = ("job {job} is still running (process {pid}, since {since}): this run is skipped, nothing was "
                "sent. It is picked up by the next run")
    STARTED = "run started: {what} -> database {database} at {host}, on_existing {mode}{extras}"
    STARTED_DRY = "check started (dry run): {what}"
    ENDED = "run ended: exit {code} ({meaning}){counts}{error}"
    LEFT = "left unprocessed: {what}"
    VANISHED = ("the run of {job} that started at {started} (process {pid}) ended without a record: it was "
                "killed or the computer stopped. Nothing is lost: its journal keeps every row, and a run "
                "with --resume continues it")
    RECORD_FAILED = "could not write {what}: {why}"
    JOBS_AND_FILES = "--all-jobs runs the jobs file's inputs: leave out FILE(s) (or use --job NAME FILE...)"
    JOB_AND_ALL = "--job and --all-jobs exclude each other"
    NOT_TO_STDOUT = ("{option} cannot be '-' (standard output): {why}")
    WHY_RESULTS = "the results file stays beside its journal, for --resume; --json puts the summary on stdout"
    WHY_LOG = "the log already goes to stderr with -v; give a file"


def select(given: Mapping[str, Any], environ: Mapping[str, str], *, config: str | None = None,
           job: str | None = None, all_jobs: bool = False) -> list[Settings]:
    """The settings of each job a `run` runs: ``job``, every job (``all_jobs``), or the one run
    without a job (the jobs file's [defaults] still apply when there is one)."""
    if all_jobs and job:
        raise UsageError(Msg.JOB_AND_ALL)
    if all_jobs and given.get("input"):
        raise UsageError(Msg.JOBS_AND_FILES)
    path = find_jobs_file(config, environ)
    jobs_file = load_jobs_file(path) if path is not None else None
    if (job or all_jobs) and jobs_file is None:
        raise no_jobs_file()
    names: list[str | None] = [job]
    if all_jobs:  # a --summary-json/--report-html on the command line is the whole command's
        given = {**given, "summary_json": None, "report_html": None}
        names = list(jobs_file.jobs) if jobs_file is not None else []
    if jobs_file is not None and job:
        jobs_file.job(job)  # an unknown name: one clear error, before anything runs
    return [resolve(given, environ, jobs_file=jobs_file, job=name) for name in names]


def check_run_settings(settings: Settings) -> None:
    """What a run cannot do without (before anything is written)."""
    where = settings.jobs_file
    if not settings.values.get("input"):
        if settings.job:
            raise UsageError(Msg.NO_INPUT_JOB.format(job=settings.job, path=where))
        raise UsageError(Msg.NO_INPUT)
    if not settings.values.get("mapping"):
        if settings.job:
            raise UsageError(Msg.NO_MAPPING_JOB.format(job=settings.job, path=where))
        raise UsageError(Msg.NO_MAPPING)
    for name, why in (("results", Msg.WHY_RESULTS), ("results_dir", Msg.WHY_RESULTS), ("log_file", Msg.WHY_LOG),
                      ("history", Msg.WHY_LOG)):
        if settings.values.get(name) == "-":
            raise UsageError(Msg.NOT_TO_STDOUT.format(option=BY_NAME[name].option, why=why))


def refuse_overlaps(settings: Settings) -> None:
    """No output on an input: results, journal, reports, log and history against the
    inputs, the mapping, the schema and the token file."""
    from importer.drops import expand_inputs
    from importer.journal import journal_path_for
    from importer.paths import refuse_overlaps as refuse

    v = settings.values

    def path(value: Any) -> Path | None:
        return Path(value) if value and value != "-" else None

    inputs = [("the mapping", path(v["mapping"])), ("the schema", path(v["schema"])),
              ("the token file", path(v["token_file"]))]
    try:
        inputs += [("the input file", f) for f in expand_inputs([i for i in v["input"] or [] if i != "-"]).files]
    except CopernicaImportError:
        pass  # reported by the run itself
    outputs = [("--log-file", path(v["log_file"])), ("--history", path(v["history"])),
               ("--summary-json", path(v["summary_json"])), ("--report-html", path(v["report_html"]))]
    if v["results"]:
        outputs += [("the results file", Path(v["results"])), ("the journal", journal_path_for(Path(v["results"])))]
    refuse(inputs, outputs)


def batch_options(settings: Settings, stdin=None) -> "BatchOptions":
    """The batch layer's options; database and on_existing only when set before the mapping."""
    from importer.batch import BatchOptions

    v = settings.values

    def path(name: str) -> Path | None:
        return Path(v[name]) if v[name] else None

    def before_mapping(name: str) -> Any:
        return v[name] if settings.given(name) and not settings.sources[name].startswith(MAPPING_FILE) else None

    return BatchOptions(
        inputs=list(v["input"] or []), mapping=Path(v["mapping"]), database=before_mapping("database"),
        schema=path("schema"), encoding=v["encoding"], delimiter=v["delimiter"], sheet=v["sheet"],
        header_row=v["header_row"], results_delimiter=v["results_delimiter"],
        on_existing=before_mapping("on_existing"), results=path("results"), results_dir=path("results_dir"),
        archive_dir=path("archive_dir"), dry_run=bool(v["dry_run"]),
        settle_seconds=v["settle_seconds"] if settings.given("settle_seconds") else None,
        resume=bool(v["resume"]), overwrite=bool(v["overwrite"]), retry_failed=not v["skip_failed"],
        workers=v["workers"], max_errors=v["max_errors"], sandbox=bool(v["sandbox"]),
        sandbox_api_version=v["api_version"] or 3, yes=bool(v["yes"]), always_confirm=bool(v["confirm"]),
        wait_for_lock=v["wait_for_lock"], input_format=v["input_format"], stdin=stdin,
        max_runtime=v["max_runtime"], max_outage=v["max_outage"] or None, expect_files=bool(v["expect_files"]),
        keep_days=v["keep_days"])


def needs_connection(settings: Settings, has_token: bool) -> bool:
    """A Connection is needed for a real send, and for a dry run's type checks when a token is there."""
    return not settings.sandbox and (not settings.dry_run or has_token)


# -- running one job -----------------------------------------------------------------------
@dataclass
class JobRun:
    """What one job (or a run without a job) did, as the command and the history report it."""
    settings: Settings
    result: "BatchResult | None" = None
    error: CopernicaImportError | None = None
    exit_code: int = 0
    started_at: str = ""
    finished_at: str = ""
    document: dict = field(default_factory=dict)   # the summary JSON (importer.summary.combined_dict)
    record_errors: list[str] = field(default_factory=list)  # summary/report/history files that failed

    @property
    def summaries(self):
        return self.result.summaries if self.result is not None else []

    @classmethod
    def failed(cls, settings: Settings, error: CopernicaImportError) -> "JobRun":
        """A job that could not even start (its outputs overlap its inputs, ...)."""
        run = cls(settings, error=error, exit_code=error.exit_code)
        run.document = combined_dict([], exit_code=error.exit_code, error=str(error), job=settings.job)
        return run


def all_jobs_json(runs: list[JobRun], exit_code: int) -> str:
    """`run --all-jobs --json`: one document, each job's inside."""
    from importer.summary import jobs_dict

    return json.dumps(jobs_dict([r.document for r in runs], exit_code=exit_code), indent=2, ensure_ascii=False) + "\n"


def all_jobs_html(runs: list[JobRun], exit_code: int) -> str:
    """`run --all-jobs --report-html`: one page for every job's files."""
    from importer.report import render_html

    errors = "; ".join(f"job {r.settings.job}: {r.error}" for r in runs if r.error is not None)
    notes = [n for r in runs for n in r.document.get("left_for_next_run", [])]
    return render_html([s for r in runs for s in r.summaries], exit_code=exit_code, error=errors or None,
                       notes=notes)


def run_job(settings: Settings, connection: Callable[[], Connection | None], *,
            reporter: "BatchReporter | None" = None, stop: threading.Event | None = None,
            confirm=None, confirm_overwrite=None, stdin=None, stdout: TextIO | None = None,
            write_records: bool = True) -> JobRun:
    """Runs one job: its lock, its history's start line, the log's start line, the batch,
    the end line, the summary files, the history's end line. Errors end up in the
    ``JobRun`` (a KeyboardInterrupt is recorded, then raised again).

    ``connection`` makes the Connection (it reads the token: a missing token is this
    job's error, recorded like any other). ``write_records``: write summary_json and
    report_html (a '-' goes to ``stdout``)."""
    from importer.batch import run_batch

    done = JobRun(settings, started_at=local_text())
    history = History(Path(settings.history)) if settings.history else None
    run_id = new_run_id()
    with feed(settings.feed):
        lock = None
        try:
            if history is not None:
                for gone in history.vanished(settings.job):
                    log.warning(Msg.VANISHED.format(job=settings.feed, started=gone.get("time"), pid=gone.get("pid")))
                history.started(run_id, job=settings.job, inputs=list(settings.input or []),
                                started_at=done.started_at)
            check_run_settings(settings)
            fill_from_mapping(settings)  # for the log's start line (the batch reads the mapping itself)
            lock = job_lock(settings)
            options = batch_options(settings, stdin)
            _log_start(settings, options)
            done.result = run_batch(options, connection(), reporter=reporter, stop=stop, confirm=confirm,
                                    confirm_overwrite=confirm_overwrite)
        except CopernicaImportError as exc:
            done.error = exc
        except KeyboardInterrupt:
            done.error = _Interrupted()
            _finish(done, history, run_id, stdout, write_records)
            raise
        finally:
            if lock is not None:
                lock.release()
        _finish(done, history, run_id, stdout, write_records)
    return done


class _Interrupted(CopernicaImportError):
    exit_code = 3

    def __init__(self) -> None:
        super().__init__("interrupted")


def _finish(done: JobRun, history: History | None, run_id: str, stdout: TextIO | None, write_records: bool) -> None:
    result, error = done.result, done.error
    if error is not None:
        log.error("%s", error, extra=SHOWN)  # the front end prints it
    done.exit_code = error.exit_code if error is not None else (result.exit_code if result is not None else 0)
    done.finished_at = local_text()
    first_error = error or (result.error if result is not None else None) or next(
        (s.stop_error for s in done.summaries if s.stop_error is not None), None)
    done.document = combined_dict(
        done.summaries, exit_code=done.exit_code, error=str(first_error) if first_error else None,
        left_for_next_run=result.notes if result is not None else [], job=done.settings.job,
        command="check" if done.settings.dry_run else "run", started_at=done.started_at,
        finished_at=done.finished_at, stopped=str(result.stopped) if result is not None and result.stopped else None,
        not_started=[str(p) for p in result.not_started] if result is not None else [],
        archive_removed=[str(p) for p in result.archive_removed] if result is not None else [])
    if write_records:
        write_records_of(done, stdout=stdout)
    _log_end(done)
    if history is not None:
        try:
            history.finished(run_id, done.document)
        except OutputError as exc:
            _record_failed(done, "the history", exc)


def write_records_of(done: JobRun, *, summary_json: str | None = None, report_html: str | None = None,
                     stdout: TextIO | None = None) -> None:
    """--summary-json and --report-html ('-': ``stdout``), written even when the run ended with an error."""
    summary_json = summary_json or done.settings.summary_json
    report_html = report_html or done.settings.report_html
    if summary_json:
        text = json.dumps(done.document, indent=2, ensure_ascii=False) + "\n"
        _write(done, summary_json, text, stdout, "--summary-json")
    if report_html:
        from importer.report import render_html
        text = render_html(done.summaries, exit_code=done.exit_code, error=done.document.get("error"),
                           notes=done.document.get("left_for_next_run"))
        _write(done, report_html, text, stdout, "--report-html")


def _write(done: JobRun, target: str, text: str, stdout: TextIO | None, what: str) -> None:
    if target == "-":
        out = stdout or sys.stdout
        out.write(text)
        out.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        _record_failed(done, f"{what} {target}", OutputError(target, exc.strerror or str(exc)))


def _record_failed(done: JobRun, what: str, exc: OutputError) -> None:
    message = Msg.RECORD_FAILED.format(what=what, why=exc.why)
    done.record_errors.append(message)
    log.error(message)
    sent = any(s.sent for s in done.summaries)
    done.exit_code = max(done.exit_code, 3 if sent else 2)


def job_lock(settings: Settings):
    """One run of a job at a time (a night that overlaps the previous one): exit 75 when busy."""
    if not settings.job or settings.dry_run:
        return None
    from importer.state import Busy, lock_file, state_dir

    place = hashlib.blake2b(str(Path(settings.jobs_file or "").resolve()).encode(), digest_size=4).hexdigest()
    path = state_dir() / "locks" / f"job-{settings.job}-{place}.lock"
    try:
        handle = lock_file(path)
    except OSError as exc:
        raise OutputError(path.parent, str(exc.strerror or exc)) from None
    if isinstance(handle, Busy):
        info = _lock_info(handle.text)
        raise RunBusy(Msg.JOB_BUSY.format(job=settings.job, pid=info.get("pid", "?"), since=info.get("since", "?")))
    handle.seek(0)
    handle.truncate()
    json.dump({"pid": os.getpid(), "since": local_text()}, handle)
    handle.flush()
    return _HeldLock(path, handle)


def _lock_info(text: str) -> dict:
    try:
        info = json.loads(text or "{}")
        return info if isinstance(info, dict) else {}
    except ValueError:
        return {}


class _HeldLock:
    def __init__(self, path: Path, handle) -> None:
        self.path, self.handle = path, handle

    def release(self) -> None:
        from importer.state import unlock_file
        unlock_file(self.path, self.handle)


def _log_start(settings: Settings, options: "BatchOptions") -> None:
    what = ", ".join("standard input" if i == "-" else i for i in options.inputs)
    if options.dry_run:
        log.info(Msg.STARTED_DRY.format(what=what))
        return
    extras = []
    for name, label in (("resume", "--resume"), ("archive_dir", "archive {}"), ("max_runtime", "max runtime {}"),
                        ("expect_files", "--expect-files"), ("keep_days", "keep {} days")):
        value = settings.values[name]
        if value:
            extras.append(label.format(shown_value(BY_NAME[name], value, settings)))
    database = settings.values["database"] or "(none named)"
    host = "the built-in sandbox" if options.sandbox else _host(settings)
    log.info(Msg.STARTED.format(what=what, database=database, host=host, mode=settings.values["on_existing"],
                                extras="; " + ", ".join(extras) if extras else ""))


def _host(settings: Settings) -> str:
    from urllib.parse import urlsplit
    url = settings.api_url or (DEFAULT_API_URL_V4 if settings.api_version == 4 else DEFAULT_API_URL)
    return urlsplit(url).netloc or url


def _log_end(done: JobRun) -> None:
    doc = done.document
    counts = ", ".join(f"{n:,} {s}" for s, n in doc.get("counts", {}).items() if n)
    files = len(doc.get("files", []))
    counts = f": {files} file(s), {counts or 'no rows'}" if files else ": no input file"
    error = f"; error: {doc['error']}" if doc.get("error") else ""
    if doc.get("stopped"):
        error += f"; stopped: {doc['stopped']}"
    left = [*doc.get("not_started", []), *_unfinished(doc)]
    if left:
        log.warning(Msg.LEFT.format(what=", ".join(left)))
    # INFO: the error itself was logged (and shown) already; this line closes the run in the log
    log.info(Msg.ENDED.format(code=done.exit_code, meaning=exit_meaning(done.exit_code), counts=counts, error=error))


def _unfinished(doc: dict) -> Iterable[str]:
    """Files the run stopped in, or with rows left for --resume to check."""
    for f in doc.get("files", []):
        if f.get("stopped") or f.get("unresolved_rows"):
            where = str(f.get("source") or f.get("file"))
            yield "standard input" if where == "-" else where
