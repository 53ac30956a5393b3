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
"""
from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from importer.batch import BatchOptions, BatchReporter, BatchResult, Confirmation, FileResult, run_batch
from importer.connection import Connection
from importer.errors import CopernicaImportError, InputFileError, MappingError, RequestFailed, UsageError
from importer.models import Outcome, Status
from importer.progress import Progress
from importer.schema import DatabaseSchema, SchemaFile, dump_schema
from importer.summary import RunSummary
from importer.ui.table import Line, MappingTable

log = logging.getLogger("importer.ui")

PREVIEW_ROWS = 10       # rows shown under the detection
SAMPLE_ROWS = 200       # rows the draft looks at (as `init`)
LIVE_ROWS = 5000        # rows the mapping page re-checks at every change (the Check step reads them all)
KEEP_ROWS = 200         # rows kept per reason for the page (the reports hold them all)
SAMPLE_VALUES = 4       # example values shown per column
LOOKUP_RETRIES = 2      # attempts for the page's own look-ups (databases, structure): a person is waiting


class Msg:
    """What the page's steps say (shown on the page)."""
    NOT_CONNECTED = "Connect first: choose Copernica or the sandbox."
    NO_TOKEN = "Give your access token to import into Copernica, or choose the sandbox to rehearse without one."
    NO_DATABASE = "Choose a database first."
    NO_FILE = "Upload a file first."
    BUSY = "An import is running; stop it or wait until it has finished."
    NO_DATABASES = "This access token sees no databases at {host}."
    DATABASES_FAILED = "The list of databases could not be read from {host}: {error}"
    UNKNOWN_DATABASE = "There is no database {id} in the list."
    SANDBOX_LABEL = "the built-in sandbox (nothing is sent to Copernica)"
    SANDBOX_COPY_LABEL = ("the built-in sandbox, with a copy of the structure of database {id} ({name}) "
                          "at {host} (nothing is sent to Copernica)")
    COPERNICA_LABEL = "Copernica at {host}"
    NOT_A_MAPPING_FILE = "{name} is not a mapping file (.yaml or .yml)"
    CONFIRMATION_CHANGED = ("The import was not started: it would go to database {database} at {host}, "
                            "which is not what was confirmed.")
    NOTHING_TO_RESUME = "There is no stopped import to continue."
    NOTHING_TO_ROLL_BACK = "There is no finished import to roll back."
    COLUMN_EXAMPLE = "row {row}: {message}"
    UNEXPECTED = "An unexpected error stopped this step ({error}). Nothing more was sent; details are in the log."


class Enough(Exception):
    """Raised by a collector that has seen its rows (the live re-check reads only the first ones)."""


@dataclass
class ReasonRows:
    """The rows of one status that share a reason code."""
    status: str
    code: str
    title: str
    count: int = 0
    rows: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)  # (row, sentence, columns)


class OutcomeCollector:
    """An ``on_outcome`` callback: counts, reasons by code with their rows, problems by column."""

    def __init__(self, limit: int | None = None, keep: int = KEEP_ROWS) -> None:
        self.limit = limit
        self.keep = keep
        self.counts: Counter = Counter()
        self.groups: dict[tuple[str, str], ReasonRows] = {}
        self.column_problems: Counter = Counter()
        self.column_examples: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.status.value] += 1
            seen: set[str] = set()
            for reason in outcome.reasons:
                column = reason.params.get("column")
                if column is not None and outcome.status is Status.INVALID:
                    self.column_problems[column] += 1
                    self.column_examples.setdefault(column, Msg.COLUMN_EXAMPLE.format(row=outcome.row,
                                                                                     message=reason.message))
                if reason.code in seen:
                    continue
                seen.add(reason.code)
                group = self.groups.get((outcome.status.value, reason.code))
                if group is None:
                    group = self.groups[outcome.status.value, reason.code] = ReasonRows(
                        outcome.status.value, reason.code, reason.title)
                group.count += 1
                if len(group.rows) < self.keep:
                    columns = tuple(r.params["column"] for r in outcome.reasons
                                    if r.code == reason.code and "column" in r.params)
                    group.rows.append((outcome.row, outcome.error, columns))
            if self.limit is not None and self.total >= self.limit:
                raise Enough

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def sorted_groups(self) -> list[ReasonRows]:
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.status, g.code))


@dataclass
class Destination:
    """Where profiles go; ``connection`` holds the token (in memory only)."""
    connection: Connection
    label: str
    sandbox: object | None = None          # importer.sandbox.Sandbox when rehearsing
    copy_from: Connection | None = None    # rehearsal with a copy of a real database's structure
    databases: list[tuple[int, str]] = field(default_factory=list)
    schema: DatabaseSchema | None = None   # the chosen database's structure

    @property
    def host(self) -> str:
        return self.connection.host

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None


@dataclass
class Detection:
    """What the reader found in the uploaded file, and the preview."""
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    headers: list[str]
    preview: list[tuple[int, list[str]]]
    samples: dict[str, list[str]]
    error: str | None = None


@dataclass
class Upload:
    path: Path
    name: str                           # as the user's computer named it
    encoding: str | None = None         # the user's choices (None: detected)
    delimiter: str | None = None
    sheet: str | None = None
    detection: Detection | None = None


@dataclass
class LiveCheck:
    """The mapping page's re-check: the first LIVE_ROWS rows."""
    error: str | None = None
    collector: OutcomeCollector | None = None
    rows: int = 0
    complete: bool = True               # every row of the file was checked

    @property
    def valid(self) -> int:
        return self.collector.counts[Status.VALID.value] if self.collector else 0


@dataclass
class CheckResult:
    summary: RunSummary
    collector: OutcomeCollector
    report: Path
    mapping_text: str


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


class Workspace:
    """The page's state for one person; every step is a method here."""

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
        self._sample_rows: list = []                # the file's first rows, for the draft

    # -- messages ---------------------------------------------------------------------
    def say(self, text: str, kind: str = "error") -> None:
        self.messages.append((kind, text))

    def take_messages(self) -> list[tuple[str, str]]:
        messages, self.messages = self.messages, []
        return messages

    # -- 1. where to -----------------------------------------------------------------
    def connect(self, *, api_url: str | None, token: str, api_version: int, sandbox: bool) -> None:
        """Copernica (URL + token), or the sandbox (with a token: to copy a database's structure)."""
        self.require_idle()
        if not sandbox and not token:
            raise UsageError(Msg.NO_TOKEN)
        self.disconnect()
        if sandbox and not token:
            self.destination = self._start_sandbox(None)
        else:
            connection = Connection(token=token, api_url=api_url or None, api_version=api_version)
            label = Msg.COPERNICA_LABEL.format(host=connection.host)
            self.destination = Destination(connection, label, copy_from=connection if sandbox else None)
        dest = self.destination
        source = dest.copy_from or dest.connection
        try:
            with replace(source, retries=LOOKUP_RETRIES).open_client(1) as client:
                listed = client.databases()
        except RequestFailed as exc:
            self.disconnect()
            raise UsageError(Msg.DATABASES_FAILED.format(host=source.host, error=exc)) from None
        except CopernicaImportError:
            self.disconnect()
            raise
        dest.databases = sorted((int(d.get("ID", d.get("id", 0))), str(d.get("name", ""))) for d in listed)
        if not dest.databases:
            host = source.host
            self.disconnect()
            raise UsageError(Msg.NO_DATABASES.format(host=host))

    def _start_sandbox(self, schema: DatabaseSchema | None, copied: str | None = None) -> Destination:
        from importer.sandbox import Sandbox

        sandbox = Sandbox(schema=SchemaFile(databases=[schema]) if schema is not None else None,
                          token=secrets.token_urlsafe(24)).start()
        connection = Connection(token=sandbox.token, api_url=sandbox.api_url)
        return Destination(connection, copied or Msg.SANDBOX_LABEL, sandbox=sandbox)

    def choose_database(self, database_id: int) -> None:
        self.require_idle()
        dest = self._destination()
        names = dict(dest.databases)
        if database_id not in names:
            raise UsageError(Msg.UNKNOWN_DATABASE.format(id=database_id))
        if dest.copy_from is not None:
            with replace(dest.copy_from, retries=LOOKUP_RETRIES).open_client(1) as client:
                schema = client.fetch_schema(database_id)
            label = Msg.SANDBOX_COPY_LABEL.format(id=database_id, name=names[database_id], host=dest.copy_from.host)
            rehearsal = self._start_sandbox(schema, label)   # the real token is dropped with dest
            rehearsal.databases = [(database_id, names[database_id])]
            self.destination = dest = rehearsal
        else:
            with replace(dest.connection, retries=LOOKUP_RETRIES).open_client(1) as client:
                schema = client.fetch_schema(database_id)
        dest.schema = schema
        (self.folder / "uploads" / "structure.yaml").write_text(dump_schema([schema]), encoding="utf-8")
        if self.table is not None:
            self.table.database = database_id
        if self.upload is not None and self.upload.detection and not self.upload.detection.error:
            self.draft()

    def disconnect(self) -> None:
        dest, self.destination = self.destination, None
        if dest is not None and dest.sandbox is not None:
            dest.sandbox.close()

    @property
    def schema_path(self) -> Path:
        return self.folder / "uploads" / "structure.yaml"

    # -- 2. the file ------------------------------------------------------------------
    def receive_file(self, name: str, save) -> None:
        """``save(path)`` writes the upload; the file gets a fresh private name with its suffix kept."""
        self.require_idle()
        from werkzeug.utils import secure_filename

        safe = secure_filename(name) or "upload"
        folder = self.folder / "uploads" / secrets.token_hex(4)
        folder.mkdir(mode=0o700)
        path = folder / safe
        save(path)
        self.upload = Upload(path, name)
        self.detect()
        if self.upload.detection is not None and not self.upload.detection.error:
            self.draft()

    def set_reading(self, encoding: str | None, delimiter: str | None, sheet: str | None) -> None:
        self.require_idle()
        upload = self._upload()
        upload.encoding, upload.delimiter, upload.sheet = encoding or None, delimiter or None, sheet or None
        self.detect()
        if upload.detection is not None and not upload.detection.error and self.table is not None:
            headers = upload.detection.headers
            if any(line.column not in headers for line in self.table.lines if not line.missing) or \
                    not self.table.lines:
                self.draft()   # other columns now: a new draft
        self.live, self.check = None, None

    def detect(self) -> None:
        from importer.reader import open_sheet

        upload = self._upload()
        sheets = _sheet_names(upload.path)
        try:
            with open_sheet(upload.path, encoding=upload.encoding, delimiter=upload.delimiter,
                            sheet=upload.sheet) as sheet:
                rows = []
                for row in sheet:
                    rows.append(row)
                    if len(rows) >= SAMPLE_ROWS:
                        break
                upload.detection = Detection(
                    format=sheet.format, encoding=sheet.encoding, delimiter=sheet.delimiter, sheet=sheet.sheet_name,
                    sheets=sheets, header_row=sheet.header_row, headers=list(sheet.headers),
                    preview=[(r.number, [r.values.get(h, "") for h in sheet.headers]) for r in rows[:PREVIEW_ROWS]],
                    samples={h: _samples(h, rows) for h in sheet.headers})
                self._sample_rows = rows
        except CopernicaImportError as exc:
            upload.detection = Detection(format="", encoding=upload.encoding, delimiter=upload.delimiter,
                                         sheet=upload.sheet, sheets=sheets, header_row=0, headers=[], preview=[],
                                         samples={}, error=str(exc))

    # -- 3. the mapping ---------------------------------------------------------------
    def draft(self) -> None:
        """The `init` draft for the file and the chosen database, as the table."""
        from importer.draft import draft_mapping
        from importer.mapping.load import parse_yaml
        from importer.mapping.spec import validated

        upload = self._upload()
        detection = upload.detection
        if detection is None or detection.error:
            return
        schema = self.destination.schema if self.destination is not None else None
        text = draft_mapping(detection.headers, self._sample_rows, schema,
                             database_id=schema.id if schema is not None else None)
        data, lines = parse_yaml(text, "the draft")
        try:
            self.table = MappingTable.from_mapping(validated(data, "the draft", lines), detection.headers)
        except MappingError:   # a draft that maps nothing: every column, not imported yet
            self.table = MappingTable([Line(column=h) for h in detection.headers],
                                      database=schema.id if schema is not None else None)
        self.mapping_name = Path(upload.name).stem + ".yaml"
        self.live = None
        self.check = None

    def open_mapping(self, name: str, save) -> None:
        """An existing mapping file, as the table (validated as the CLI validates it)."""
        from importer.mapping import load_mapping

        self.require_idle()
        upload = self._upload()
        if upload.detection is None or upload.detection.error:
            raise UsageError(Msg.NO_FILE)
        if not name.lower().endswith((".yaml", ".yml")):
            raise UsageError(Msg.NOT_A_MAPPING_FILE.format(name=name))
        path = self.folder / "uploads" / "opened.yaml"
        save(path)
        try:
            mapping = load_mapping(path)
        except MappingError as exc:
            raise MappingError(str(exc).replace(str(path), name)) from None
        self.table = MappingTable.from_mapping(mapping, upload.detection.headers)
        if self.destination is not None and self.destination.schema is not None:
            self.table.database = self.destination.schema.id
        self.mapping_name = Path(name).name
        self.live = None
        self.check = None

    def mapping_text(self) -> str:
        """The YAML of the table (MappingError when the table is not a valid mapping)."""
        upload = self._upload()
        return self._table().yaml_text(upload.name, self.mapping_name)

    def write_mapping(self, path: Path) -> str:
        text = self.mapping_text()
        path.write_text(text, encoding="utf-8")
        return text

    def live_check(self) -> LiveCheck:
        """Checks the first LIVE_ROWS rows with the table as it is now."""
        from importer.runner import check_file

        path = self.folder / "uploads" / "mapping.yaml"
        self.check = None          # the mapping may have changed: the Check step reads the file again
        try:
            self.write_mapping(path)
        except MappingError as exc:
            self.live = LiveCheck(error=str(exc))
            return self.live
        collector = OutcomeCollector(limit=LIVE_ROWS)
        complete = True
        try:
            check_file(self._options(path, dry_run=True), on_outcome=collector)
        except Enough:
            complete = False
        except CopernicaImportError as exc:
            self.live = LiveCheck(error=str(exc).replace(str(path), "the mapping"))
            return self.live
        self.live = LiveCheck(collector=collector, rows=collector.total, complete=complete)
        return self.live

    # -- 4. check -----------------------------------------------------------------------
    def run_check(self) -> CheckResult:
        from importer.runner import check_file

        self.require_idle()
        path = self.folder / "uploads" / "mapping.yaml"
        text = self.write_mapping(path)
        report = self.folder / "uploads" / (Path(self._upload().name).stem + ".check.csv")
        collector = OutcomeCollector()
        try:
            summary = check_file(self._options(path, dry_run=True), report=report, on_outcome=collector)
        except MappingError as exc:
            raise MappingError(str(exc).replace(str(path), "the mapping")) from None
        self.check = CheckResult(summary, collector, report, text)
        return self.check

    def _options(self, mapping: Path, *, dry_run: bool):
        from importer.runner import ImportOptions

        upload = self._upload()
        schema = self.schema_path if self.destination is not None and self.destination.schema else None
        return ImportOptions(file=upload.path, mapping=mapping, schema=schema, dry_run=dry_run,
                             encoding=upload.encoding, delimiter=upload.delimiter, sheet=upload.sheet)

    # -- 5. import ---------------------------------------------------------------------
    def confirmation(self, mode: str) -> dict:
        """What the person confirms before an import: database, host, rows."""
        dest = self._destination()
        if dest.schema is None:
            raise UsageError(Msg.NO_DATABASE)
        check = self.check or self.run_check()
        counts = check.summary.counts
        return {"database_id": dest.schema.id, "database_name": dest.schema.name, "host": dest.host,
                "label": dest.label, "rows": check.summary.rows, "file": self._upload().name,
                "to_send": counts[Status.VALID], "invalid": counts[Status.INVALID],
                "skipped": counts[Status.SKIPPED], "mode": mode, "sandbox": dest.is_sandbox}

    def start_import(self, mode: str, confirmed_database: int, confirmed_host: str) -> ImportJob:
        """Starts an import in the background (after the page's confirmation)."""
        with self.lock:
            self.require_idle()
            dest = self._destination()
            if dest.schema is None:
                raise UsageError(Msg.NO_DATABASE)
            if (dest.schema.id, dest.host) != (confirmed_database, confirmed_host):
                raise UsageError(Msg.CONFIRMATION_CHANGED.format(database=dest.schema.id, host=dest.host))
            table = self._table()
            table.on_existing = mode
            number = len(self.jobs) + 1
            folder = self.folder / "runs" / str(number)
            folder.mkdir(mode=0o700, parents=True)
            upload = self._upload()
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
        dest = self._destination()
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

    @property
    def current_job(self) -> ImportJob | None:
        return self.jobs[-1] if self.jobs else None

    @property
    def busy(self) -> bool:
        job = self.current_job
        return job is not None and job.state == "running"

    # -- 6. results and rollback --------------------------------------------------------
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
            done = rollback(job.results, self._destination().connection, yes=True,
                            target=f"database {job.database_id} at {job.host}", output=record, say=notes.append)
            job.rollback = RollbackResult(done.exit_code, done.deleted, done.failed, record, notes)
            return job.rollback

    def _finished_job(self) -> ImportJob:
        job = self.current_job
        if job is None or job.state == "running" or not job.results.exists():
            raise UsageError(Msg.NOTHING_TO_ROLL_BACK)
        return job

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

    # -- guards ----------------------------------------------------------------------------
    def require_idle(self) -> None:
        if self.busy:
            raise UsageError(Msg.BUSY)

    def _destination(self) -> Destination:
        if self.destination is None:
            raise UsageError(Msg.NOT_CONNECTED)
        return self.destination

    def _upload(self) -> Upload:
        if self.upload is None:
            raise UsageError(Msg.NO_FILE)
        return self.upload

    def _table(self) -> MappingTable:
        if self.table is None:
            raise UsageError(Msg.NO_FILE)
        return self.table


def _samples(header: str, rows) -> list[str]:
    seen: list[str] = []
    for row in rows:
        value = row.values.get(header, "").strip()
        if value and value not in seen:
            seen.append(value)
            if len(seen) >= SAMPLE_VALUES:
                break
    return seen


def _sheet_names(path: Path) -> list[str]:
    """The visible sheets of a workbook ([] for a text file)."""
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".ods"):
        return []
    try:
        import python_calamine

        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            return [m.name for m in book.sheets_metadata
                    if m.typ == python_calamine.SheetTypeEnum.WorkSheet
                    and m.visible == python_calamine.SheetVisibleEnum.Visible]
        finally:
            book.close()
    except Exception:  # noqa: BLE001 - the reader itself says what is wrong with the file
        return []


def report_rows(report: Path, wanted: set[int]) -> tuple[list[str], dict[int, dict[str, str]]]:
    """The source columns of a check report or results file, and the cells of the ``wanted`` rows."""
    from importer.results import read_results, source_values

    columns: list[str] = []
    cells: dict[int, dict[str, str]] = {}
    try:
        for line in read_results(report):
            values, ours = source_values(line)
            if not columns:
                columns = list(values)
            number = int(ours["row"])
            if number in wanted:
                cells[number] = values
    except (OSError, InputFileError):
        pass
    return columns, cells
