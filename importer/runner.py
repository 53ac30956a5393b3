"""Wires the stages: reader -> mapping -> duplicate check -> sender -> results.

``run_import`` and ``check_file`` are the library entry points under the CLI.
"""
from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from importer.dedupe import DuplicateIndex
from importer.errors import ApiError, ImporterError, InvalidTokenError, UsageError
from importer.journal import Journal, RunIdentity, journal_path_for
from importer.mapping import Mapping, RowConverter, compile_mapping, load_mapping
from importer.models import Outcome, Profile, Row, RowError, Status
from importer.pacing import PacerStopped
from importer.reader import Sheet, file_fingerprint, open_sheet
from importer.results import ResultsWriter, is_results_header, source_columns, source_values
from importer.schema import DatabaseSchema, load_schema_file
from importer.summary import RunSummary

DEFAULT_API_URL = "https://api.copernica.com/v3"
DEFAULT_WORKERS = 16

MSG_DUPLICATE = "duplicate of row {row}"
MSG_DUPLICATE_LAST = "duplicate of row {row} (the later row is imported)"
# a results file imported again: only its invalid and failed rows are sent
MSG_DONE_BEFORE = "already {status} in the run this results file came from{profile}; not sent again"
DONE_BEFORE = ("created", "updated", "skipped", "unknown")
MSG_UNEXPECTED = ("an unexpected error while sending row {row} stopped the run: {error}. Everything done so far "
                  "is recorded; run the same command with --resume to continue")

log = logging.getLogger("importer")


class RunStopped(ImporterError):
    """The run stopped early for a reason other than the user's; resumable."""
    exit_code = 3


@dataclass
class ImportOptions:
    """Everything a run needs; the CLI fills it from flags and environment."""
    file: Path
    mapping: Path
    database: int | None = None
    results: Path | None = None
    api_url: str = DEFAULT_API_URL
    api_version: int = 3
    auth_url: str | None = None
    token: str | None = field(default=None, repr=False)
    schema: Path | None = None
    dry_run: bool = False
    resume: bool = False
    overwrite: bool = False
    workers: int = DEFAULT_WORKERS
    rate: float | None = None
    on_existing: str | None = None
    max_errors: int | None = None
    retry_failed: bool = True
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    timeout: float = 30.0
    retries: int = 6

    def results_path(self) -> Path:
        if self.results is not None:
            return Path(self.results)
        name = Path(self.file).name
        for suffix in (".gz",):
            name = name.removesuffix(suffix)
        return Path.cwd() / (Path(name).stem + ".results.csv")


@dataclass
class Prepared:
    """A file and mapping that passed every check that needs no sending."""
    sheet: Sheet
    mapping: Mapping
    converter: RowConverter
    schema: DatabaseSchema | None
    database_id: int | None
    columns: list[str]  # the input's own columns (a results file's without ours)


# -- preparation (everything before a single row is sent) ----------------------
def load_run_mapping(options: ImportOptions) -> Mapping:
    mapping = load_mapping(options.mapping)
    return mapping.with_overrides(database=options.database, on_existing=options.on_existing)


def resolve_schema(options: ImportOptions, mapping: Mapping, client) -> DatabaseSchema | None:
    """The database structure from --schema, else from the API, else None."""
    if options.schema is not None:
        schema_file = load_schema_file(options.schema)
        if mapping.database is None:
            if len(schema_file.databases) != 1:
                raise UsageError("the mapping names no database: add `database: ID` to it or use --database")
            return schema_file.databases[0]
        return schema_file.database(mapping.database)
    if client is None:
        return None
    if mapping.database is None:
        raise UsageError("the mapping names no database: add `database: ID` to it or use --database")
    return client.fetch_schema(mapping.database)


def prepare(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None, stack: ExitStack) -> Prepared:
    sheet = stack.enter_context(open_sheet(options.file, encoding=options.encoding,
                                           delimiter=options.delimiter, sheet=options.sheet))
    columns = source_columns(sheet.headers)
    converter = compile_mapping(mapping, columns, schema)
    database_id = schema.id if schema is not None else mapping.database
    return Prepared(sheet, mapping, converter, schema, database_id, columns)


def _rows(sheet: Sheet) -> Iterator[tuple[Row, dict[str, str] | None]]:
    """The sheet's rows, each with its earlier outcome when the file is one of
    our results files fed back in (its cells are then un-neutralised)."""
    if not is_results_header(sheet.headers):
        for row in sheet:
            yield row, None
        return
    for row in sheet:
        row.values, earlier = source_values(row.values)
        yield row, earlier


def classify(prepared: Prepared, rows: Iterator[tuple[Row, dict[str, str] | None]],
             index: DuplicateIndex) -> Iterator[tuple[Row, Profile | Outcome]]:
    """Each row with what to do: a Profile to send, or an Outcome already
    decided locally (invalid, skipped as a duplicate, or done in an earlier run)."""
    convert = prepared.converter
    dup_message = MSG_DUPLICATE_LAST if index.keep == "last" else MSG_DUPLICATE
    for row, earlier in rows:
        verdict = convert(row)
        if earlier is not None and earlier["status"] in DONE_BEFORE:
            if isinstance(verdict, Profile):
                index.winner(row.number, verdict.key)  # the person exists: later rows are duplicates
            pid = earlier["profile_id"]
            yield row, Outcome(row.number, Status.SKIPPED, int(pid) if pid.isdigit() else None,
                               MSG_DONE_BEFORE.format(status=earlier["status"],
                                                      profile=f" (profile {pid})" if pid else ""),
                               key=earlier["key"])
            continue
        if isinstance(verdict, RowError):
            yield row, Outcome(row.number, Status.INVALID, error=verdict.message, key=verdict.key)
            continue
        winner = index.winner(row.number, verdict.key)
        if winner is not None:
            yield row, Outcome(row.number, Status.SKIPPED, error=dup_message.format(row=winner), key=verdict.key)
            continue
        yield row, verdict


def build_index(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None) -> DuplicateIndex:
    """``duplicates: last`` needs a first pass to know each key's last row."""
    index = DuplicateIndex(mapping.duplicates)
    if mapping.duplicates == "last" and mapping.key_fields:
        with ExitStack() as stack:
            prepared = prepare(options, mapping, schema, stack)
            convert = prepared.converter
            index.learn((p.row, p.key) for p in (convert(row) for row, _ in _rows(prepared.sheet))
                        if isinstance(p, Profile))
    return index


# -- check: everything but sending ---------------------------------------------
def check_file(options: ImportOptions, *, client=None, report: Path | None = None,
               on_outcome: Callable[[Outcome], None] | None = None) -> RunSummary:
    """Reads, maps and checks every row against the database; sends nothing.

    Rows that would be sent are reported with status ``valid``.
    """
    started = time.monotonic()
    mapping = load_run_mapping(options)
    schema = resolve_schema(options, mapping, client)
    index = build_index(options, mapping, schema)
    summary = RunSummary(dry_run=True, schema_checked=schema is not None)
    with ExitStack() as stack:
        prepared = prepare(options, mapping, schema, stack)
        writer = stack.enter_context(ResultsWriter(report, prepared.columns)) if report else None
        summary.results_path = report
        for row, verdict in classify(prepared, _rows(prepared.sheet), index):
            outcome = verdict if isinstance(verdict, Outcome) else Outcome(row.number, Status.VALID, key=verdict.key,
                                                                         error="; ".join(verdict.warnings))
            summary.add(outcome)
            if writer:
                writer.write(outcome, row.values)
            if on_outcome:
                on_outcome(outcome)
        summary.empty_rows = prepared.sheet.empty_rows
    summary.elapsed = time.monotonic() - started
    return summary


# -- run -------------------------------------------------------------------------
class _Stop:
    """Why the run stops taking new rows (first reason wins).

    ``on_stop`` stops the client's pacer, so that senders waiting for a slot
    (an open circuit, a Retry-After pause) give up at once instead of after
    the cool-down: their rows are not in flight. Requests on the wire finish.
    """

    def __init__(self, on_stop: Callable[[], None] | None = None) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self.error: ImporterError | None = None
        self.unresolved: list[int] = []  # rows whose lost answer could not be checked: left 'sending'
        self._on_stop = on_stop

    def set(self, reason: str, error: ImporterError | None = None) -> None:
        if not self.event.is_set():
            self.reason, self.error = reason, error
            self.event.set()
            if self._on_stop is not None:
                self._on_stop()

    def __bool__(self) -> bool:
        return self.event.is_set()


class _Recorder:
    """Journal first, then the results line: the results file never holds an
    outcome the journal could forget.

    Lines are written in the file's row order as far as possible: a line
    waits for the rows read before it, up to ``MAX_HELD`` lines (a row stuck in
    retries must not hold the whole file in memory); past that, or at the
    end, the waiting lines are written in row order anyway.
    """

    MAX_HELD = 5_000

    def __init__(self, journal: Journal, writer: ResultsWriter, summary: RunSummary,
                 on_outcome: Callable[[Outcome], None] | None) -> None:
        self._journal, self._writer, self._summary = journal, writer, summary
        self._on_outcome = on_outcome
        self._lock = threading.Lock()
        self._lines: list[tuple[Outcome, dict[str, str]]] = []   # not yet committed
        self._expected: deque[int] = deque()                     # rows read, in reading order
        self._ready: dict[int, tuple[Outcome, dict[str, str]]] = {}  # committed, waiting for earlier rows
        self._written_early: set[int] = set()
        self.failed = 0  # rows failed at the API in this run (for --max-errors)

    def expect(self, row: int) -> None:
        """The feeder read this row: its line comes after those of earlier rows."""
        with self._lock:
            self._expected.append(row)

    def record(self, outcome: Outcome, values: dict[str, str], *, journaled: bool = False) -> None:
        with self._lock:
            if not journaled:
                self._journal.record(outcome)
                self.failed += outcome.status is Status.FAILED
            self._lines.append((outcome, values))
            self._summary.add(outcome)
            if self._journal.commit_due():
                self._flush()
        if self._on_outcome:
            self._on_outcome(outcome)

    def tick(self) -> None:
        with self._lock:
            if self._journal.commit_due():
                self._flush()

    def close(self) -> None:
        with self._lock:
            self._flush(everything=True)

    def _flush(self, everything: bool = False) -> None:
        self._journal.commit()
        for outcome, values in self._lines:
            self._ready[outcome.row] = (outcome, values)
        self._lines.clear()
        expected, ready = self._expected, self._ready
        while expected and (expected[0] in ready or expected[0] in self._written_early):
            row = expected.popleft()
            if row in self._written_early:
                self._written_early.discard(row)
            else:
                self._writer.write(*ready.pop(row))
        if everything or len(ready) > self.MAX_HELD:
            for row in sorted(ready):
                self._writer.write(*ready[row])
            self._written_early.update(ready)
            ready.clear()
        self._writer.flush()


@contextmanager
def _stop_on_signals(stop: _Stop):
    """Ctrl-C / SIGTERM: stop taking rows, let in-flight ones finish."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        stop.set("interrupted")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_import(options: ImportOptions, client, *, on_outcome: Callable[[Outcome], None] | None = None,
               on_start: Callable[[Prepared], None] | None = None) -> RunSummary:
    """Imports one file. ``client`` is a CopernicaClient (or None for --dry-run)."""
    if options.dry_run:
        return check_file(options, client=client, on_outcome=on_outcome)
    from importer.sender import ProfileSender  # the HTTP side only when sending

    started = time.monotonic()
    mapping = load_run_mapping(options)
    if mapping.database is None:
        raise UsageError("the mapping names no database: add `database: ID` to it or use --database")
    schema = resolve_schema(options, mapping, client)
    index = build_index(options, mapping, schema)
    results_path = options.results_path()
    journal_path = journal_path_for(results_path)
    summary = RunSummary(results_path=results_path, journal_path=journal_path, schema_checked=schema is not None)
    pacer = getattr(client, "pacer", None)
    stop = _Stop(on_stop=pacer.stop if pacer is not None else None)  # the pacer stays stopped afterwards
    with ExitStack() as stack:
        prepared = prepare(options, mapping, schema, stack)
        identity = RunIdentity(Path(options.file).name, file_fingerprint(options.file), mapping.fingerprint(),
                               int(mapping.database), mapping.on_existing)
        if results_path.exists() and not (options.resume or options.overwrite) and not journal_path.exists():
            raise UsageError(f"the results file {results_path} exists already; choose another --results "
                             "path, or add --overwrite to replace it")
        journal = stack.enter_context(Journal.open(journal_path, identity, resume=options.resume,
                                                   overwrite=options.overwrite))
        # so that `rollback` deletes where the run created, not at a default address
        journal.set_meta("api", {"url": client.api_url, "version": client.api_version,
                                 "database": int(mapping.database)})
        writer = stack.enter_context(ResultsWriter(results_path, prepared.columns))
        recorder = _Recorder(journal, writer, summary, on_outcome)
        sender = ProfileSender(client, int(mapping.database), mapping.on_existing,
                               tuple(prepared.converter.key_fields),
                               replace_interests=mapping.interests_on_update == "replace",
                               blank_fields=frozenset(
                                   n.lower() for n, spec in mapping.fields.items() if spec.blank_existing),
                               blank_interests=frozenset(
                                   n.lower() for n, spec in mapping.interests.items() if spec.blank_existing))
        if on_start:
            on_start(prepared)
        work: queue.Queue = queue.Queue(maxsize=max(2, options.workers * 2))
        workers = [threading.Thread(target=_work, args=(work, sender, journal, recorder, stop, options),
                                    name=f"sender-{i}", daemon=True) for i in range(options.workers)]
        for t in workers:
            t.start()
        try:
            with _stop_on_signals(stop):
                _feed(prepared, index, journal, recorder, work, stop, options)
        finally:
            for _ in workers:
                _put(work, None, None)
            for t in workers:
                while t.is_alive():
                    t.join(timeout=0.5)
            recorder.close()
        summary.empty_rows = prepared.sheet.empty_rows
    summary.elapsed = time.monotonic() - started
    summary.stopped = stop.reason
    summary.unresolved = sorted(stop.unresolved)
    if summary.unresolved and summary.stopped is None:
        summary.stopped = "unresolved"
    if stop.error is not None:
        stop.error.summary = summary  # type: ignore[attr-defined]
        raise stop.error
    return summary


def _journal_states(journal: Journal, resume: bool):
    """A cursor over the journal in row order, for a merge with the rows."""
    it = journal.states() if resume else iter(())
    current = next(it, None)

    def state_of(row_number: int):
        nonlocal current
        while current is not None and current[0] < row_number:
            current = next(it, None)
        if current is not None and current[0] == row_number:
            return current[1], current[2]
        return None, None
    return state_of


def _feed(prepared: Prepared, index: DuplicateIndex, journal: Journal, recorder: _Recorder,
          work: queue.Queue, stop: _Stop, options: ImportOptions) -> None:
    state_of = _journal_states(journal, options.resume)
    for row, verdict in classify(prepared, _rows(prepared.sheet), index):
        if stop:
            break
        recorder.expect(row.number)
        state, final = state_of(row.number)
        if final is not None and not (final.status is Status.FAILED and options.retry_failed):
            recorder.record(final, row.values, journaled=True)
            continue
        if isinstance(verdict, Outcome):
            recorder.record(verdict, row.values)
            continue
        if not _put(work, (verdict, row.values, state == "sending"), stop):
            break
        recorder.tick()


def _put(work: queue.Queue, item, stop: _Stop | None) -> bool:
    """Blocks while the senders are busy (so reading never runs far ahead)."""
    while True:
        if stop is not None and stop:
            return False
        try:
            work.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue


def _stop_unexpectedly(stop: _Stop, row: int, exc: Exception, redact) -> None:
    log.error("row %s: unexpected error", row, exc_info=exc)
    stop.set("error", RunStopped(MSG_UNEXPECTED.format(row=row, error=redact(repr(exc)))))


def _work(work: queue.Queue, sender, journal: Journal, recorder: _Recorder, stop: _Stop,
          options: ImportOptions) -> None:
    from importer.client import redact
    from importer.sender import NotSent, Unresolved  # the HTTP side only when sending
    while True:
        item = work.get()
        if item is None:
            return
        if stop:
            continue  # not sent, not journaled: a resume picks the row up
        profile, values, was_in_flight = item
        if not was_in_flight:
            journal.mark_sending([(profile.row, profile.key)])
        try:
            outcome = sender.send(profile, was_in_flight=was_in_flight)
        except NotSent:
            journal.unmark(profile.row)  # stopped before it left: a resume sends it, no look-up
            continue
        except PacerStopped:
            continue  # stopped while resolving a lost answer: stays 'sending', a resume looks it up
        except InvalidTokenError as exc:
            if not getattr(exc, "maybe_stored", False):
                journal.unmark(profile.row)  # refused at the door: certainly not stored
            stop.set("token", exc)
            continue
        except ApiError as exc:
            stop.set("api", exc)
            continue
        except Unresolved as exc:
            # not sent again and not called failed (a resume would re-send a failed row):
            # it keeps its 'sending' mark, the run goes on, and --resume looks it up
            log.warning("%s", exc)
            stop.unresolved.append(profile.row)
            continue
        except Exception as exc:  # noqa: BLE001 - a dead sender would lose its row and hang the run
            _stop_unexpectedly(stop, profile.row, exc, redact)
            continue
        try:
            recorder.record(outcome, values)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk: keep the 'sending' mark, stop
            _stop_unexpectedly(stop, profile.row, exc, redact)
            continue
        if (options.max_errors is not None and outcome.status is Status.FAILED
                and recorder.failed >= options.max_errors):
            stop.set("max-errors")
