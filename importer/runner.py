"""One file: reader -> mapping -> duplicate check -> sender -> journal -> results.

``run_import`` and ``check_file`` are the library entry points for one file
(``importer.batch`` runs several, with drop rules and archiving). They
install no signal handlers: a caller who wants Ctrl-C to stop a run passes
a ``threading.Event`` as ``stop`` and sets it (the CLI does so from its
handlers). A run stops taking rows, lets the requests in flight finish,
writes everything and returns a summary whose ``stopped`` says why.

Instead of a file, ``ImportOptions(rows=...)`` takes rows from memory (a
pandas DataFrame or any iterable of dicts; see ``importer.frames``), and the
mapping may be a dict; ``keep_outcomes=True`` returns every row's outcome in
``summary.outcomes`` (``summary.outcomes_frame()`` with pandas). A mapping with
``collection:`` imports subprofiles (``importer.subprofiles``).
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from importer.connection import DEFAULT_WORKERS, Connection
from importer.dedupe import DuplicateIndex
from importer.earlier import set_aside
from importer.errors import (
    InputFileError,
    OutputError,
    RunStopped,
    UsageError,
)
from importer.journal import (
    Journal,
    RunIdentity,
    RunLock,
    journal_path_for,
    rollback_path_for,
    row_digest,
)
from importer.mapping import Mapping, RowConverter, compile_mapping, load_mapping
from importer.mapping.spec import mapping_from_dict
from importer.models import Outcome, Profile, Reason, Row, RowError, Status, StopReason
from importer.reader import Sheet, file_fingerprint, open_sheet
from importer.recorder import ResultsRecorder
from importer.results import (
    is_results_header,
    open_results_writer,
    sent_cells,
    sent_labels,
    source_columns,
    source_values,
    with_extra_cells,
)
from importer.resume import FileWatch, Final, ResumePlan, journal_states
from importer.schema import DatabaseSchema, load_schema_file
from importer.state import DatabaseLock
from importer.summary import RunSummary
from importer.workers import StopFlag, put, send_rows

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.sender import ProfileSender

log = logging.getLogger("importer")

# a results file imported again: only its invalid and failed rows are sent
DONE_BEFORE = ("created", "updated", "skipped", "unknown")


class Msg:
    """What a run says to a user."""
    DUPLICATE = "duplicate of row {row}"
    DUPLICATE_LAST = "duplicate of row {row} (the later row is imported)"
    DONE_BEFORE = "already {status} in the run this results file came from{profile}; not sent again"
    DONE_BEFORE_PROFILE = " (profile {pid})"
    NO_DATABASE = "the mapping names no database: add `database: ID` to it or use --database"
    RESULTS_EXIST = ("the results file {path} exists already; choose another --results path, "
                     "or add --overwrite to replace it")
    NEEDS_API = "run_import needs a Connection or a client to send (or dry_run=True)"
    FILE_CHANGED = ("{file} changed while it was being imported (its size or modification time changed): "
                    "the run stopped. When the file is complete, run the same command with --resume: rows "
                    "already imported are not sent again")
    CREATED_BEFORE = "a profile with this key was created by this run already (from row {row}); not created again"
    DUPLICATE_RANKED = "duplicate of row {row}, whose {column!r} is {which} ({value})"
    DUPLICATE_UNRANKED = ("duplicate of row {row}: this row's {column!r} ({value}) is not a date or a number, so the "
                          "row whose {column!r} is {which} was imported")
    RANK_WORDS = {"newest": "newer", "oldest": "older"}
    NO_MAPPING = "ImportOptions needs a mapping: a mapping file's path, or its settings as a dict"
    RANK_COLUMN_MISSING = ("{source}: duplicates.by: the file has no column {column!r}{hint} (its columns: {columns})")
    KEYS_UNREAD = "the database's keys could not be read at once ({why}); every row is looked up on its own"


@dataclass
class ImportOptions:
    """What to import and how; where to send it is a ``Connection``.

    ``file`` or ``rows``: a file, or rows from memory (a pandas DataFrame or an
    iterable of dicts, see ``importer.frames``). ``mapping``: a mapping file's
    path, its settings as a dict, or a ``Mapping``."""
    file: Path | None = None
    mapping: "Path | dict | Mapping | None" = None
    database: int | None = None        # overrides the mapping's
    results: Path | None = None        # default: <input name>.results.csv in the current folder
    schema: Path | None = None         # check against this structure file instead of asking the API
    dry_run: bool = False
    resume: bool = False
    overwrite: bool = False
    workers: int = DEFAULT_WORKERS     # requests in flight at most
    on_existing: str | None = None     # overrides the mapping's
    max_errors: int | None = None      # stop (resumably) after this many rows failed at the API
    retry_failed: bool = True          # on resume, send rows that failed again
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    wait_for_lock: float = 0.0         # seconds to wait while another run sends to the same database
    discard_earlier: bool = False      # --overwrite deletes (instead of setting aside) the earlier run's files
    header_row: int | None = None      # overrides the mapping's header_row
    results_delimiter: str | None = None  # the results CSV's delimiter (default: the mapping's, else ",")
    rows: Any = None                   # rows from memory instead of a file (a DataFrame, an iterable of dicts)
    keep_outcomes: bool = False        # summary.outcomes: every row's outcome, in row order

    def results_path(self) -> Path:
        if self.results is not None:
            return Path(self.results)
        from importer.frames import SPOOL_NAME
        return Path.cwd() / results_name(Path(self.file) if self.file is not None else Path(SPOOL_NAME))


def results_name(file: Path) -> str:
    """orders.csv.gz -> orders.results.csv; a results file imported again gets
    a numbered name instead of a stacked one (x.results.csv -> x.results-2.csv)."""
    stem = Path(Path(file).name.removesuffix(".gz")).stem
    again = _RESULTS_STEM.fullmatch(stem)
    if again is None:
        return stem + ".results.csv"
    return f"{again['base']}.results-{int(again['n'] or 1) + 1}.csv"


_RESULTS_STEM = re.compile(r"(?P<base>.+?)\.results(?:-(?P<n>[0-9]+))?")


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
    given = options.mapping
    if given is None:
        raise UsageError(Msg.NO_MAPPING)
    if isinstance(given, Mapping):
        mapping = given
    elif isinstance(given, dict):
        mapping = mapping_from_dict(given)
    else:
        mapping = load_mapping(given)
    return mapping.with_overrides(database=options.database, on_existing=options.on_existing)


def _rows_as_file(options: ImportOptions, stack: ExitStack) -> ImportOptions:
    """Rows from memory are written once to a temporary NDJSON file and read from there like any file
    (``importer.frames``): the same checks, journal, results and resume."""
    from importer.frames import SPOOL_NAME, spool
    from importer.frames import Msg as FramesMsg
    if options.rows is None:
        if options.file is None:
            raise UsageError(FramesMsg.NEITHER)
        return options
    if options.file is not None:
        raise UsageError(FramesMsg.BOTH)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="copernica-rows-")))
    spool(options.rows, folder / SPOOL_NAME)
    return dataclasses.replace(options, file=folder / SPOOL_NAME, rows=None,
                               results=options.results_path())


def resolve_schema(options: ImportOptions, mapping: Mapping, client: "CopernicaClient | None") -> DatabaseSchema | None:
    """The database structure from --schema, else from the API, else None."""
    if options.schema is not None:
        schema_file = load_schema_file(options.schema)
        if mapping.database is None:
            if len(schema_file.databases) != 1:
                raise UsageError(Msg.NO_DATABASE)
            return schema_file.databases[0]
        return schema_file.database(mapping.database)
    if client is None:
        return None
    if mapping.database is None:
        raise UsageError(Msg.NO_DATABASE)
    return client.fetch_schema(mapping.database, collections=mapping.is_collection)


def open_input(options: ImportOptions, mapping: Mapping) -> Sheet:
    """The input file, read with the mapping's header settings (--header-row wins)."""
    return open_sheet(options.file, encoding=options.encoding, delimiter=options.delimiter, sheet=options.sheet,
                      header_row=options.header_row or mapping.header_row, no_header=mapping.header == "none",
                      expected_columns=mapping.source_columns())


def prepare(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None, stack: ExitStack,
            announce: bool = True) -> Prepared:
    sheet = stack.enter_context(open_input(options, mapping))
    if announce:
        sheet.announce()  # how the file was read (encoding, header row, ...): one line each on stderr
    columns = source_columns(sheet.headers)
    if mapping.is_collection:
        from importer.subprofiles import compile_collection
        converter: RowConverter = compile_collection(mapping, columns, schema)  # type: ignore[assignment]
    else:
        converter = compile_mapping(mapping, columns, schema)
    database_id = schema.id if schema is not None else mapping.database
    return Prepared(sheet, mapping, converter, schema, database_id, columns)


def _rows(sheet: Sheet) -> Iterator[tuple[Row, dict[str, str] | None]]:
    """The sheet's rows, each with its earlier outcome when the file is one of
    our results files fed back in (its cells are then un-neutralised)."""
    if not is_results_header(sheet.headers):
        for row in sheet:
            if row.extra:
                row.values = with_extra_cells(row.values, row.extra)
            yield row, None
        return
    for row in sheet:
        row.values, earlier = source_values(row.values)
        if row.extra:
            row.values = with_extra_cells(row.values, row.extra)
        yield row, earlier


def classify(prepared: Prepared, rows: Iterator[tuple[Row, dict[str, str] | None]],
             index: DuplicateIndex) -> Iterator[tuple[Row, Profile | Outcome]]:
    """Each row with what to do: a Profile to send, or an Outcome already
    decided locally (invalid, skipped as a duplicate, or done in an earlier run)."""
    convert = prepared.converter
    duplicate = Msg.DUPLICATE_LAST if index.keep == "last" else Msg.DUPLICATE
    ranked = getattr(index, "ranked_by", None)
    for row, earlier in rows:
        verdict = convert(row)
        if earlier is not None and earlier["status"] in DONE_BEFORE:
            if isinstance(verdict, Profile):
                index.winner(row.number, verdict.key)  # the person exists: later rows are duplicates
            pid = earlier["profile_id"]
            reason = Reason("done_before", Msg.DONE_BEFORE, {
                "status": earlier["status"], "profile": Msg.DONE_BEFORE_PROFILE.format(pid=pid) if pid else ""})
            yield row, Outcome(row.number, Status.SKIPPED, int(pid) if pid.isdigit() else None, (reason,),
                               key=earlier["key"])
            continue
        if isinstance(verdict, RowError):
            yield row, Outcome(row.number, Status.INVALID, reasons=verdict.reasons, key=verdict.key)
            continue
        winner = index.winner(row.number, verdict.key)
        if winner is not None and ranked is not None:
            reason = _ranked_duplicate(index, row, winner, verdict.key)
            yield row, Outcome(row.number, Status.SKIPPED, reasons=(reason,), key=verdict.key)
            continue
        if winner is not None:
            reason = Reason("duplicate", duplicate, {"row": winner})
            yield row, Outcome(row.number, Status.SKIPPED, reasons=(reason,), key=verdict.key)
            continue
        yield row, verdict


def _ranked_duplicate(index, row: Row, winner: int, key: str) -> Reason:
    """Why a row lost to another with its key under ``duplicates: {keep: newest|oldest, by: COLUMN}``."""
    column, keep = index.ranked_by, index.keep
    which = Msg.RANK_WORDS[keep]
    mine = row.values.get(column, "")
    if index.rank_of(mine) is None:
        return Reason("duplicate", Msg.DUPLICATE_UNRANKED, {"row": winner, "column": column,
                                                             "value": repr(mine), "which": which})
    return Reason("duplicate", Msg.DUPLICATE_RANKED, {"row": winner, "column": column, "which": which,
                                                       "value": index.winning_value(key)})


def build_index(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None) -> DuplicateIndex:
    """``duplicates: last`` (and ``newest``/``oldest``) need a first pass to know each key's winning row."""
    rule = mapping.duplicates
    if rule.ranked:
        return _ranked_index(options, mapping, schema)
    index = DuplicateIndex(rule.keep)
    if rule.keep == "last" and mapping.key_fields:
        with ExitStack() as stack:
            prepared = prepare(options, mapping, schema, stack, announce=False)
            # the key of every row; whole rows are checked only for a key's later rows
            convert = prepared.converter
            index.learn_later(((row.number, key, row) for row, _ in _rows(prepared.sheet)
                               if (key := convert.key_only(row)) is not None),
                              lambda row: convert.valid_key(row) is not None)
    return index


def _ranked_index(options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None):
    from importer.dedupe import RankedDuplicateIndex
    rule = mapping.duplicates
    index = RankedDuplicateIndex(rule.keep, rule.by or "", list(rule.date_format))
    with ExitStack() as stack:
        prepared = prepare(options, mapping, schema, stack)
        if index.ranked_by not in prepared.columns:
            from importer.mapping.names import closest
            raise UsageError(Msg.RANK_COLUMN_MISSING.format(source=mapping.source, column=index.ranked_by,
                                                            hint=closest(index.ranked_by, prepared.columns),
                                                            columns=", ".join(prepared.columns)))
        convert = prepared.converter
        for row, _ in _rows(prepared.sheet):
            verdict = convert(row)
            if isinstance(verdict, Profile) and verdict.key:
                index.learn(row.number, verdict.key, row.values.get(index.ranked_by, ""))
    return index


# -- check: everything but sending ---------------------------------------------
def check_file(options: ImportOptions, api: "Connection | CopernicaClient | None" = None, *,
               report: Path | None = None, on_outcome: Callable[[Outcome], None] | None = None) -> RunSummary:
    """Reads, maps and checks every row against the database; sends nothing.

    Rows that would be sent are reported with status ``valid``. ``api`` is
    only asked for the database's structure (None: ``options.schema``, or no
    type checks at all).
    """
    started = time.monotonic()
    with ExitStack() as stack:
        from_memory = options.rows is not None
        options = _rows_as_file(options, stack)
        client = _client_for(api, options, stack)
        mapping = load_run_mapping(options)
        schema = resolve_schema(options, mapping, client)
        index = build_index(options, mapping, schema)
        summary = RunSummary(dry_run=True, schema_checked=schema is not None, file=Path(options.file))
        summary.note_run(mapping=options.mapping, database_id=schema.id if schema else mapping.database,
                         database_name=schema.name if schema else None, api_url=client.api_url if client else None)
        prepared = prepare(options, mapping, schema, stack)
        # the report shows, beside the source cells, the value each mapped field would get
        fields, interests = prepared.converter.field_names, prepared.converter.interest_names
        writer = stack.enter_context(open_results_writer(
            report, prepared.columns, delimiter=options.results_delimiter or mapping.results_delimiter,
            original_rows=is_results_header(prepared.sheet.headers),
            sent=sent_labels(fields, interests), collection=mapping.is_collection)) if report else None
        summary.results_path = report
        for row, verdict in classify(prepared, _rows(prepared.sheet), index):
            outcome = verdict if isinstance(verdict, Outcome) else Outcome(
                row.number, Status.VALID, reasons=tuple(verdict.warnings), key=verdict.key)
            summary.add(outcome)
            if writer:
                sent = sent_cells(fields, interests, verdict.fields, {  # an empty yes/no cell switches nothing
                    k: v for k, v in verdict.interests.items() if k not in verdict.empty_interests}) \
                    if isinstance(verdict, Profile) else None
                writer.write(outcome, row.values, sent)
            if options.keep_outcomes:
                summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        summary.empty_rows = prepared.sheet.empty_rows
        summary.notes = prepared.converter.notes()
        if from_memory:
            summary.file = None   # the temporary file the rows were read from is gone
    summary.elapsed = time.monotonic() - started
    return summary


def _client_for(api: "Connection | CopernicaClient | None", options: ImportOptions,
                stack: ExitStack) -> "CopernicaClient | None":
    """The caller's client, or one made (and closed at the end) from a Connection."""
    if isinstance(api, Connection):
        return stack.enter_context(api.open_client(options.workers))
    return api


# -- run -------------------------------------------------------------------------
def run_import(options: ImportOptions, api: "Connection | CopernicaClient | None" = None, *,
               stop: threading.Event | None = None, on_outcome: Callable[[Outcome], None] | None = None,
               on_start: Callable[[Prepared], None] | None = None) -> RunSummary:
    """Imports one file; returns its summary (``summary.stopped`` says whether
    and why it stopped early, ``summary.exit_code`` what the CLI would exit with).

    ``api``: a ``Connection`` (a client with shared pacing is made and closed
    here) or a ``CopernicaClient``; None only for ``dry_run``. Problems found
    before anything is sent raise a ``CopernicaImportError``.
    """
    if options.dry_run:
        return check_file(options, api, on_outcome=on_outcome)
    if api is None:
        raise UsageError(Msg.NEEDS_API)
    with ExitStack() as stack:
        from_memory = options.rows is not None
        options = _rows_as_file(options, stack)
        client = _client_for(api, options, stack)
        assert client is not None
        kept: list[Outcome] = []
        if options.keep_outcomes:
            caller = on_outcome

            def on_outcome(outcome: Outcome) -> None:
                kept.append(outcome)
                if caller is not None:
                    caller(outcome)
        summary = _run(options, client, stop, on_outcome, on_start)
        summary.outcomes = sorted(kept, key=lambda o: o.row)
        if from_memory:
            summary.file = None   # the temporary file the rows were read from is gone
        return summary


def _run(options: ImportOptions, client: "CopernicaClient", external: threading.Event | None,
         on_outcome: Callable[[Outcome], None] | None, on_start: Callable[[Prepared], None] | None) -> RunSummary:
    from importer.sender import ProfileSender  # the HTTP side only when sending

    started = time.monotonic()
    mapping = load_run_mapping(options)
    if mapping.database is None:
        raise UsageError(Msg.NO_DATABASE)
    schema = resolve_schema(options, mapping, client)
    from importer.key_index import ValueForms  # after the first request: start-up stays short

    index = build_index(options, mapping, schema)
    results_path = options.results_path()
    journal_path = journal_path_for(results_path)
    summary = RunSummary(results_path=results_path, journal_path=journal_path, schema_checked=schema is not None,
                         file=Path(options.file))
    pacer = client.pacer
    stop = StopFlag(external, on_stop=pacer.stop if pacer is not None else None)  # the pacer stays stopped afterwards
    with ExitStack() as stack:
        prepared = prepare(options, mapping, schema, stack)
        watch = FileWatch(Path(options.file))
        identity = RunIdentity(Path(options.file).name, file_fingerprint(options.file), mapping.fingerprint(),
                               int(mapping.database), mapping.on_existing)
        if results_path.exists() and not (options.resume or options.overwrite) and not journal_path.exists():
            raise UsageError(Msg.RESULTS_EXIST.format(path=results_path))
        # one run at a time into one database from this computer
        database_lock = DatabaseLock(urlsplit(client.api_url).netloc, int(mapping.database), about=str(options.file))
        database_lock.acquire(options.wait_for_lock, stopping=lambda: bool(stop))
        stack.callback(database_lock.release)
        journal = stack.enter_context(_open_journal(options, journal_path, results_path, identity, summary))
        # so that `rollback` deletes where the run created, not at a default address
        journal.set_meta("api", {"url": client.api_url, "version": client.api_version,
                                 "database": int(mapping.database)})
        writer = stack.enter_context(open_results_writer(
            results_path, prepared.columns, delimiter=options.results_delimiter or mapping.results_delimiter,
            original_rows=is_results_header(prepared.sheet.headers), collection=mapping.is_collection))
        summary.note_run(mapping=options.mapping, database_id=int(mapping.database),
                         database_name=schema.name if schema else None, api_url=client.api_url)
        recorder = ResultsRecorder(journal, writer, summary, on_outcome)
        if mapping.is_collection:
            sender = _subprofile_sender(client, mapping, prepared, journal, stop)
        else:
            sender = ProfileSender(
                client, int(mapping.database), mapping.on_existing, tuple(prepared.converter.key_fields),
                replace_interests=mapping.interests_on_update == "replace",
                blank_fields=frozenset(n.lower() for n, spec in mapping.fields.items() if spec.blank_existing),
                blank_interests=frozenset(n.lower() for n, spec in mapping.interests.items() if spec.blank_existing),
                on_create=lambda profile: journal.mark_creating(profile.row), wait=stop.wait,
                # update/upsert: a profile that holds what the row would write is not written
                forms=ValueForms.for_mapping(mapping, schema) if mapping.on_existing in ("update", "upsert") else None,
                # the database's interests as the API gave them now: a replace in one request
                all_interests=tuple(i.name for i in schema.interests)
                if schema is not None and options.schema is None else None)
        if on_start:
            on_start(prepared)
        work: queue.Queue = queue.Queue(maxsize=max(2, options.workers * 2))
        workers = [threading.Thread(target=send_rows, args=(work, sender, journal, recorder, stop, options.max_errors),
                                    name=f"sender-{i}", daemon=True) for i in range(options.workers)]
        for t in workers:
            t.start()
        try:
            _feed(prepared, index, journal, recorder, work, stop, options, watch, summary, sender)
        finally:
            for _ in workers:
                put(work, None, None)
            for t in workers:
                while t.is_alive():
                    t.join(timeout=0.5)
                    bool(stop)  # notices the caller's stop event while requests finish
            try:
                recorder.close()
            except OutputError as exc:
                stop.set(StopReason.WRITE_ERROR, exc)
        summary.empty_rows = prepared.sheet.empty_rows
        summary.notes = prepared.converter.notes()
        summary.sent = journal.sent()
    summary.elapsed = time.monotonic() - started
    summary.stopped, summary.stop_error = stop.reason, stop.error
    summary.unresolved = sorted(stop.unresolved)
    if summary.unresolved and summary.stopped is None:
        summary.stopped = StopReason.UNRESOLVED
    if summary.stop_error is not None and not summary.sent:
        _forget(summary)  # nothing left: the same command works again, without --resume
    return summary


def _subprofile_sender(client: "CopernicaClient", mapping: Mapping, prepared: Prepared, journal: Journal,
                       stop: StopFlag):
    """A collection import's sender; the journal notes the collection, so `rollback` knows subprofiles."""
    from importer.subprofiles import SubprofileSender
    converter = prepared.converter
    collection = getattr(converter, "collection", None)
    assert collection is not None and collection.id is not None  # a run always has the database's structure
    journal.set_meta("collection", {"id": collection.id, "name": collection.name})
    profile_specs = mapping.profile_field_specs()
    return SubprofileSender(
        client, int(mapping.database or 0), collection.id, mapping.on_existing, tuple(converter.key_fields),
        tuple(converter.profile_key_fields), missing_profile=mapping.missing_profile,
        existing_profile=mapping.existing_profile, replace_interests=mapping.interests_on_update == "replace",
        blank_fields=frozenset(n.lower() for n, spec in mapping.fields.items() if spec.blank_existing),
        profile_blank_fields=frozenset(n.lower() for n, spec in profile_specs.items() if spec.blank_existing),
        profile_blank_interests=frozenset(n.lower() for n, spec in mapping.profile_interests.items()
                                          if spec.blank_existing),
        journal=journal, wait=stop.wait)


def _open_journal(options: ImportOptions, journal_path: Path, results_path: Path, identity: RunIdentity,
                  summary: RunSummary) -> Journal:
    """The run's journal; with --overwrite the earlier run's files are first set
    aside under a dated name (never destroyed: it may still need a rollback)."""
    lock = RunLock(journal_path).acquire()
    try:
        if options.overwrite and not options.resume and (journal_path.exists() or results_path.exists()):
            earlier = [results_path, journal_path, rollback_path_for(results_path)]
            if options.discard_earlier:
                for path in earlier:
                    for suffix in ("", "-wal", "-shm"):
                        Path(str(path) + suffix).unlink(missing_ok=True)
            else:
                summary.set_aside = set_aside(earlier, datetime.now().strftime("%Y%m%d-%H%M%S"))
        journal = Journal.open(journal_path, identity, resume=options.resume, overwrite=options.overwrite,
                               lock=lock)
    except BaseException:
        lock.release()
        raise
    summary.file_changed = options.resume and journal.file_changed
    return journal


def _forget(summary: RunSummary) -> None:
    """A run that stopped before anything reached Copernica leaves no journal
    and no results behind (they hold nothing a resume would need)."""
    for path in (summary.journal_path, summary.results_path):
        if path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
    summary.journal_path = summary.results_path = None


def _feed(prepared: Prepared, index: DuplicateIndex, journal: Journal, recorder: ResultsRecorder,
          work: queue.Queue, stop: StopFlag, options: ImportOptions, watch: FileWatch, summary: RunSummary,
          sender: "ProfileSender") -> None:
    state_of = journal_states(journal, options.resume)
    resume = ResumePlan(journal, prepared.mapping.on_existing, bool(prepared.converter.key_fields),
                        resume=options.resume, retry_failed=options.retry_failed)
    try:
        items = classify(prepared, _rows(prepared.sheet), index)
        if sender.looks_up:
            items = _keys_read_once(items, sender, stop, options.workers)
        for count, (row, verdict) in enumerate(items, start=1):
            if stop:
                break
            if count % watch.EVERY_ROWS == 0 and watch.changed():
                stop.set(StopReason.FILE_CHANGED, RunStopped(StopReason.FILE_CHANGED,
                                                             Msg.FILE_CHANGED.format(file=watch.path)))
                break
            recorder.expect(row.number)
            digest = row_digest(row.values)
            action = resume.decide(row.number, verdict, state_of(row.number), digest)
            if isinstance(action, Final):
                recorder.record(action.outcome, row.values, digest, journaled=action.journaled)
                continue
            if not put(work, (verdict, row.values, digest, action.in_flight), stop):
                break
            recorder.tick()
        else:
            if watch.changed():
                stop.set(StopReason.FILE_CHANGED, RunStopped(StopReason.FILE_CHANGED,
                                                             Msg.FILE_CHANGED.format(file=watch.path)))
    except InputFileError as exc:  # the file cannot be read on (a cell too large, a bad byte)
        stop.set(StopReason.READ_ERROR, exc)
    except OutputError as exc:
        stop.set(StopReason.WRITE_ERROR, exc)
    summary.changed_rows, summary.added_rows = resume.changed, resume.added




def _keys_read_once(items: Iterator[tuple[Row, Profile | Outcome]], sender: "ProfileSender", stop: StopFlag,
                    workers: int) -> Iterator[tuple[Row, Profile | Outcome]]:
    """skip/update/upsert: when the file is large relative to the database (``key_index.RATIO``
    rows to send per page of the database, found by reading that far ahead), the database's
    keys are read once and rows are matched there; otherwise every row is looked up."""
    from importer.errors import ApiError, InvalidTokenError, RequestFailed
    from importer.key_index import PAGES_IN_FLIGHT, RATIO, KeyIndex, pages_needed, read_key_index
    from importer.pacing import PacerStopped

    client, database_id = sender.client, sender.database_id
    ahead: list[tuple[Row, Profile | Outcome]] = []
    try:
        total = client.profile_total(database_id)
        if total == 0:  # an empty database: nobody to look up
            sender.index = KeyIndex()
            return items
        wanted = pages_needed(total, client.page_size) * RATIO
        sending = 0
        for item in items if wanted else ():
            ahead.append(item)
            sending += isinstance(item[1], Profile)
            if sending >= wanted or len(ahead) >= 4 * wanted:
                break
        if sending >= wanted:
            sender.index = read_key_index(client, database_id, list(sender.key_fields), sender.forms, total,
                                          min(workers, PAGES_IN_FLIGHT))
    except PacerStopped:
        pass  # the run is stopping
    except InvalidTokenError as exc:
        stop.set(StopReason.TOKEN, exc)
    except ApiError as exc:
        stop.set(StopReason.API, exc)
    except RequestFailed as exc:  # every row is looked up on its own instead
        log.warning(Msg.KEYS_UNREAD.format(why=exc))
    return itertools.chain(ahead, items)
