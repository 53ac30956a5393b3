"""What the ``run`` command shows on a terminal while a batch runs: progress,
each file's summary, its error, and the hint for what to do next.

Every hint names a command that cannot create a profile twice: ``--resume``
after a stop (never ``--overwrite``), ``rollback`` after a run that created.
"""
from __future__ import annotations

import json
import logging
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from importer.batch import BatchReporter, FileResult, created_any

if TYPE_CHECKING:
    from importer.jobs import JobRun

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
    RESUME_STDIN = "  (pipe the same data into it again: it is recognised by its content)"
    RETRY_HINT = "To retry the rows that are not finished (nothing done is sent again):\n  {command}"
    SANDBOX_NO_RESUME = ("The rehearsal stopped early. Its built-in sandbox stopped with it, so there is nothing to "
                         "resume: run the same command again.")


class TerminalReporter(BatchReporter):
    """Progress and summaries on the terminal (stderr; the summary on stdout, or on
    stderr when stdout carries data: --json, '-' outputs).

    ``settings``: the run's (``importer.settings.Settings``: input, quiet, dry_run,
    sandbox, job); ``argv``: the command line, for the hint that resumes it."""

    def __init__(self, settings, *, argv: list[str] | None = None, summary_stream: TextIO | None = None) -> None:
        self.args = settings
        self.argv = list(sys.argv[1:] if argv is None else argv)
        self.summary_stream = summary_stream
        self.progress = None
        self.several = False

    def note(self, text: str) -> None:
        print(text, file=sys.stderr)  # the batch layer logs it

    def sandbox_started(self, api_url: str) -> None:
        print(Msg.SANDBOX_USED.format(url=api_url), file=sys.stderr)

    def file_started(self, number: int, total: int, options) -> None:
        from importer.journal import journal_path_for
        from importer.progress import Progress, estimate_rows, resumed_rows

        self.several = self.several or total > 1 or any(set("*?[") & set(a) for a in self.args.input or [])
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
            print(summary.format_text(), file=self.summary_stream or sys.stdout)
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
        command = resume_command(self.argv, job=getattr(args, "job", None))
        stdin = [Msg.RESUME_STDIN] if (args.input or []) == ["-"] else []
        if summary.exit_code == 3:
            return [Msg.RESUME_HINT.format(command=command), *stdin]
        if result.kept_for_retry:
            return [Msg.RETRY_HINT.format(command=command), *stdin]
        if created_any(result):
            results = result.archived[1] if len(result.archived) > 1 else summary.results_path
            return [Msg.UNDO_HINT.format(results=results)]
        return []


def copy_to_stdout(report: Path) -> None:
    """A report CSV on stdout, for a pipe: without the byte-order mark Excel wants in a file."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    with report.open("rb") as source:
        head = source.read(3)
        out.write(head[3:] if head == b"\xef\xbb\xbf" else head)
        shutil.copyfileobj(source, out)
    out.flush()


def resume_command(words: list[str], *, job: str | None = None) -> str:
    """The user's own command line (it never holds the token) with --resume; for one
    job of --all-jobs, that job's."""
    words = [w for w in words if w != "--overwrite"]
    if job and "--all-jobs" in words:
        words[words.index("--all-jobs"):words.index("--all-jobs") + 1] = ["--job", job]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(["copernica-import", *words])


def write_output(target: str, text: str) -> None:
    """A summary or report: to stdout for '-', else to the file ``target``."""
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        from importer.errors import OutputError
        raise OutputError(target, exc.strerror or str(exc)) from None


def print_json(run: JobRun, *, json_out: bool, all_jobs: bool) -> None:
    """--json: the run's summary on stdout (with --all-jobs: one document at the end, ``write_all_jobs``)."""
    if json_out and not all_jobs and run.settings.summary_json != "-":
        write_output("-", json.dumps(run.document, indent=2, ensure_ascii=False) + "\n")


def write_all_jobs(done: list[JobRun], code: int, *, json_out: bool, summary_json: str | None,
                   report_html: str | None) -> None:
    """--all-jobs: one JSON document (and one HTML report) for the whole command."""
    from importer.jobs import all_jobs_html, all_jobs_json

    for target in {t for t in (summary_json, "-" if json_out else None) if t}:
        write_output(target, all_jobs_json(done, code))
    if report_html:
        write_output(report_html, all_jobs_html(done, code))
