"""One file: reader -> mapping -> duplicate check -> sender -> journal -> results.

``run_import`` and ``check_file`` are the library entry points for one file
(``importer.batch`` runs several, with drop rules and archiving); the steps
before the first send, and ``check_file``, are in ``importer.prepare``. They
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

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from importer.connection import Connection
from importer.dedupe import DuplicateIndex
from importer.earlier import refuse_resume_after_rollback, set_aside
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
from importer.mapping import Mapping
from importer.models import Outcome, Profile, Row, StopReason
from importer.prepare import (
    ImportOptions,
    Prepared,
    build_index,
    check_file,
    classify,
    client_for,
    database_id,
    load_run_mapping,
    prepare,
    resolve_schema,
    rows_as_file,
    source_rows,
)
from importer.reader import file_fingerprint
from importer.recorder import ResultsRecorder
from importer.results import is_results_header, open_results_writer
from importer.resume import FileWatch, Final, ResumePlan, journal_states
from importer.schema import DatabaseSchema
from importer.state import DatabaseLock
from importer.summary import RunSummary
from importer.workers import StopFlag, put, send_rows

if TYPE_CHECKING:
    from importer.client import CopernicaClient
    from importer.sender import ProfileSender

__all__ = ["ImportOptions", "Prepared", "check_file", "run_import"]

log = logging.getLogger("importer")


class Msg:
    """What a run says to a user."""
    RESULTS_EXIST = ("the results file {path} exists already; choose another --results path, "
                     "or add --overwrite to replace it")
    NEEDS_API = "run_import needs a Connection or a client to send (or dry_run=True)"
    FILE_CHANGED = ("{file} changed while it was being imported (its size or modification time changed): "
                    "the run stopped. When the file is complete, run the same command with --resume: rows "
                    "already imported are not sent again")
    STILL_WRITTEN = ("{file} is still being written: its size or modification time changed while it was read, "
                     "before anything was sent. Nothing was sent; run the same command again when the program "
                     "writing it has finished")
    KEYS_UNREAD = "the database's keys could not be read at once ({why}); every row is looked up on its own"


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
        options = rows_as_file(options, stack)
        client = client_for(api, options, stack)
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
    started = time.monotonic()
    # watched from the start: a file still arriving is refused before its first row leaves
    watch = FileWatch(Path(options.file))
    mapping = load_run_mapping(options)
    database_id(mapping)
    schema = resolve_schema(options, mapping, client)
    index = build_index(options, mapping, schema)
    results_path = options.results_path()
    journal_path = journal_path_for(results_path)
    summary = RunSummary(results_path=results_path, journal_path=journal_path, schema_checked=schema is not None,
                         file=Path(options.file))
    pacer = client.pacer
    stop = StopFlag(external, on_stop=pacer.stop if pacer is not None else None)  # the pacer stays stopped afterwards
    with ExitStack() as stack:
        prepared = prepare(options, mapping, schema, stack)
        if watch.changed():
            raise InputFileError(Msg.STILL_WRITTEN.format(file=options.file))
        journal = _start_journal(options, client, mapping, summary, stop, stack, results_path, journal_path)
        writer = stack.enter_context(open_results_writer(
            results_path, prepared.columns, delimiter=options.results_delimiter or mapping.results_delimiter,
            original_rows=is_results_header(prepared.sheet.headers), collection=mapping.is_collection))
        summary.note_run(mapping=options.mapping, database_id=int(mapping.database),
                         database_name=schema.name if schema else None, api_url=client.api_url)
        recorder = ResultsRecorder(journal, writer, summary, on_outcome)
        sender = _sender(client, options, mapping, schema, prepared, journal, stop)
        if on_start:
            on_start(prepared)
        _send(prepared, index, journal, recorder, stop, options, watch, summary, sender)
        summary.empty_rows = prepared.sheet.empty_rows
        summary.notes = prepared.converter.notes()
        summary.sent = journal.sent()
    summary.elapsed = time.monotonic() - started
    _note_stop(summary, stop)
    return summary


def _start_journal(options: ImportOptions, client: "CopernicaClient", mapping: Mapping, summary: RunSummary,
                   stop: StopFlag, stack: ExitStack, results_path: Path, journal_path: Path) -> Journal:
    """The run's identity, the lock on its database, and its journal (which notes where `rollback` sends)."""
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
                             "database": int(mapping.database), "sandbox": options.sandbox})
    return journal


def _sender(client: "CopernicaClient", options: ImportOptions, mapping: Mapping, schema: DatabaseSchema | None,
            prepared: Prepared, journal: Journal, stop: StopFlag):
    """The run's sender: subprofiles for a collection, else profiles as ``on_existing`` says."""
    if mapping.is_collection:
        return _subprofile_sender(client, mapping, prepared, journal, stop)
    from importer.key_index import ValueForms  # after the first request: start-up stays short
    from importer.sender import ProfileSender  # the HTTP side only when sending

    return ProfileSender(
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


def _send(prepared: Prepared, index: DuplicateIndex, journal: Journal, recorder: ResultsRecorder, stop: StopFlag,
          options: ImportOptions, watch: FileWatch, summary: RunSummary, sender: "ProfileSender") -> None:
    """This thread reads and feeds the rows; ``options.workers`` threads send them over a bounded queue.
    Returns when every thread is done and the results are written."""
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


def _note_stop(summary: RunSummary, stop: StopFlag) -> None:
    """Why the run stopped early, if it did; a run that sent nothing leaves no files behind."""
    summary.stopped, summary.stop_error = stop.reason, stop.error
    summary.unresolved = sorted(stop.unresolved)
    if summary.unresolved and summary.stopped is None:
        summary.stopped = StopReason.UNRESOLVED
    if summary.stop_error is not None and not summary.sent:
        _forget(summary)  # nothing left: the same command works again, without --resume


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
        if options.resume and journal_path.exists():  # a rolled-back run is not continued: nothing is sent
            refuse_resume_after_rollback(journal_path, results_path, rollback_path_for(results_path))
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
                        resume=options.resume, retry_failed=options.retry_failed,
                        collection=bool(prepared.mapping.collection))
    try:
        items = classify(prepared, source_rows(prepared.sheet), index)
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
