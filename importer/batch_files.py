"""Which files a batch takes, and where finished ones go: the batch's use of ``importer.drops``.

``files_to_import`` expands the inputs and leaves for the next run the
drops still being written and text files cut off mid-line (a stalled
upload); it refuses results or journals that would land on an input, and
two inputs that would share a results file. ``checked_archive_dir`` refuses
an archive folder a drop pattern would find files in; ``archive_finished``
moves a file whose rows all ended (with its results and journal) there;
``housekeeping`` removes what was archived longer ago than ``keep_days``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import CopernicaImportError, NoInputFiles, UsageError
from importer.models import Status
from importer.prepare import load_run_mapping

if TYPE_CHECKING:
    from importer.batch import BatchOptions, BatchReporter, BatchResult, FileResult

log = logging.getLogger("importer")

SHOWN = {"shown": True}  # a log record the front end prints itself (see batch.SHOWN)


class Msg:
    """What taking and archiving the files of a batch says."""
    SAME_RESULTS = ("{a} and {b} would write the same results file {results}; "
                    "import them separately, or rename one")
    ARCHIVED = "archived {path} to {target}"
    NOT_ARCHIVED = ("{path} was not archived: {rows:,} rows are not finished ({what}); it stays where it is, "
                    "so that the next run with --resume retries them")
    NOT_FINISHED = "{failed:,} failed, {unknown:,} unknown, {unresolved:,} left for --resume"
    ARCHIVE_MATCHED = ("the archive folder {archive} is matched by the pattern {pattern!r}: archived files would "
                       "be imported again next time. Choose an archive folder outside the drop folder")
    CUT_OFF = "left for the next run: {path} is not complete yet ({why})"
    NO_INPUT = "no input file: {patterns} found nothing, and --expect-files makes a night without input an error"
    PRUNED = "removed {n} file(s) archived more than {days:g} days ago from {archive} (--keep-days)"


def files_to_import(options: BatchOptions, result: BatchResult, reporter: BatchReporter) -> list[Path]:
    """The inputs, minus the drops still being written; notes say what was left."""
    from importer.drops import DEFAULT_SETTLE_SECONDS, expand_inputs, ready_files

    inputs = expand_inputs(options.inputs)
    if options.expect_files and not inputs.files:
        raise NoInputFiles(Msg.NO_INPUT.format(patterns=", ".join(repr(p) for p in options.inputs)))
    notes = list(inputs.notes)
    settle = DEFAULT_SETTLE_SECONDS if options.settle_seconds is None else options.settle_seconds
    # Files a pattern found wait until they settle. A file named on the command line
    # is the user's explicit choice (a marketer's list saved a minute ago): it waits
    # only when --settle-seconds is given (a cron line with a fixed name); otherwise
    # the run watches it and refuses it before sending if it changes (runner).
    named_settle = options.settle_seconds is not None
    drops = [f for f in inputs.files if f in inputs.from_patterns or named_settle]
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
    from importer.prepare import open_input
    from importer.reader import TEXT_SUFFIXES, last_row_cut_off

    if not file.name.lower().endswith(TEXT_SUFFIXES):
        return None
    try:
        with open_input(options.for_file(file), load_run_mapping(options.for_file(file))) as sheet:
            return last_row_cut_off(sheet)
    except CopernicaImportError:
        return None   # the file's own run says what is wrong with it


def checked_archive_dir(options: BatchOptions) -> Path | None:
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


def archive_finished(done: FileResult, archive_dir: Path, reporter: BatchReporter, *,
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


def housekeeping(options: BatchOptions, result: BatchResult, archive_dir: Path | None,
                  reporter: BatchReporter) -> None:
    if archive_dir is not None and options.keep_days is not None and not options.dry_run:
        _prune(result, archive_dir, options.keep_days, reporter)


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
