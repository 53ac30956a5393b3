"""What the ``run`` command shows on a terminal while a batch runs: progress,
each file's summary, its error, and the hint for what to do next.

Every hint names a command that cannot create a profile twice: ``--resume``
after a stop (never ``--overwrite``), ``rollback`` after a run that created.
"""
from __future__ import annotations

import argparse
import logging
import shlex
import sys

from importer.batch import BatchReporter, FileResult, created_any

log = logging.getLogger("importer")


class Msg:
    """What a terminal user reads during and after a run."""
    ERROR = "error: {message}"
    FILE_ERROR = "error: {file}: {message}"
    FILE_HEADER = "[{number}/{total}] {file}"
    SANDBOX_USED = "Using the built-in sandbox at {url} (nothing is sent to Copernica)"
    SANDBOX_GONE = ("The sandbox stops with this command; its profiles are gone. To keep them, start "
                    "`copernica-import sandbox --db FILE.sqlite` and import with --api-url.")
    UNDO_HINT = "To undo what this run created: copernica-import rollback {results}"
    RESUME_HINT = "The run stopped early. To continue where it stopped:\n  {command}"
    RETRY_HINT = "To retry the rows that are not finished (nothing done is sent again):\n  {command}"
    SANDBOX_NO_RESUME = ("The rehearsal stopped early. Its built-in sandbox stopped with it, so there is nothing to "
                         "resume: run the same command again.")


class TerminalReporter(BatchReporter):
    """Progress and summaries on the terminal (stderr; the summary on stdout)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.progress = None
        self.several = False

    def note(self, text: str) -> None:
        print(text, file=sys.stderr)
        log.info(text)  # already on the screen; the log file gets it too

    def sandbox_started(self, api_url: str) -> None:
        print(Msg.SANDBOX_USED.format(url=api_url), file=sys.stderr)

    def file_started(self, number: int, total: int, options) -> None:
        from importer.journal import journal_path_for
        from importer.progress import Progress, estimate_rows, resumed_rows

        self.several = self.several or total > 1 or any(set("*?[") & set(a) for a in self.args.files)
        if total > 1:
            print(Msg.FILE_HEADER.format(number=number, total=total, file=options.file), file=sys.stderr)
        quiet = self.args.quiet
        # after --resume, the rows the journal finished count as done at once, not in the speed
        replayed = resumed_rows(journal_path_for(options.results_path()), retry_failed=options.retry_failed) \
            if options.resume and not quiet else 0
        self.progress = Progress(quiet=quiet, total=estimate_rows(options.file) if not quiet and sys.stderr.isatty()
                                 else None, replayed=replayed, check=bool(options.dry_run))

    def outcome(self, outcome) -> None:
        if self.progress is not None:
            self.progress.update(outcome)

    def file_finished(self, result: FileResult) -> None:
        summary = result.summary
        if self.progress is not None:
            self.progress.close(finished=summary is not None and summary.stopped is None)
        if summary is not None:
            if self.progress is not None:
                summary.throughput = list(self.progress.samples)
            print(summary.format_text())
        error = result.error or (summary.stop_error if summary is not None else None)
        if error is not None:
            template = Msg.FILE_ERROR if self.several else Msg.ERROR
            print(template.format(file=result.path, message=error), file=sys.stderr)
        for hint in self.hints(result):
            print(hint, file=sys.stderr)

    def hints(self, result: FileResult) -> list[str]:
        """What to do next; every hint is a command that cannot create a profile twice."""
        summary, args = result.summary, self.args
        if summary is None or args.dry_run:
            return []
        if args.sandbox:
            return [Msg.SANDBOX_NO_RESUME if summary.exit_code == 3 else Msg.SANDBOX_GONE]
        if summary.exit_code == 3:
            return [Msg.RESUME_HINT.format(command=resume_command(sys.argv[1:]))]
        if result.kept_for_retry:
            return [Msg.RETRY_HINT.format(command=resume_command(sys.argv[1:]))]
        if created_any(result):
            results = result.archived[1] if len(result.archived) > 1 else summary.results_path
            return [Msg.UNDO_HINT.format(results=results)]
        return []


def resume_command(words: list[str]) -> str:
    """The user's own command line (it never holds the token) with --resume."""
    words = [w for w in words if w != "--overwrite"]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(["copernica-import", *words])
