"""Command-line interface: arguments, environment, logging, signals, exit codes.

Everything else is the library's: ``cli`` turns argv into settings (``jobs``:
the command line, the environment, the jobs file, the mapping, the defaults)
and a ``Connection``, calls ``run_job`` (or ``rollback``, or the bodies of
check, init and schema in ``importer.commands``), prints what it hears
(``importer.terminal``, ``importer.prompt``) and maps the result to an exit
code.

Exit codes (``importer.summary.EXIT_CODES``): 0 every row ended as configured;
1 the run finished but some rows are invalid, failed or unknown; 2 nothing was
sent (a setup problem: arguments, jobs file, mapping, file, token, schema);
3 the run stopped early after sending and can be resumed; 66 --expect-files
and no input; 75 nothing was sent, try again later (Copernica unreachable,
another run holds the lock).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from importer.arguments import (
    apply_environment,
    given_settings,
    has_token,
    read_token,
    refuse_overlapping_paths,
    unknown_arguments,
)
from importer.command_parsers import build_parser
from importer.connection import Connection
from importer.errors import CopernicaImportError, UsageError
from importer.redaction import install_log_redaction

if TYPE_CHECKING:
    from importer.jobs import JobRun
    from importer.settings import Settings

log = logging.getLogger("importer")


class Msg:
    """The texts this module shows a user."""
    ERROR = "error: {message}"
    JOB_ERROR = "error: job {job}: {message}"
    INTERRUPTED = "interrupted"
    NOTHING_TO_DO = "Nothing to import."
    RESULTS_MISSING = "results file {path} does not exist"
    LOG_FILE = "cannot write the log file {path}: {why}"
    WORKERS = "--workers must be at least 1"
    JOB_HEADER = "== job {job} =="
    JOBS_NOT_STARTED = "not started, the run was interrupted: job(s) {jobs}"
    # the catch-all (a bug): what stopped, then what to do (``unexpected_hint``), then where the details are
    UNEXPECTED = "an unexpected error stopped the command: {error} ({details}). {hint}"
    DETAILS = "with -v the details are shown"
    DETAILS_SHOWN = "the details are above"
    HINT_RESUME = "Nothing is lost; to continue where it stopped:\n  {command}"
    HINT_AGAIN = "Nothing is lost: run the same command again to continue."
    HINT_NOTHING_CHANGED = "Nothing was changed in Copernica; this is a bug in copernica-import."


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from importer.sandbox.cli import main as sandbox_main
        return sandbox_main(argv[1:])
    # before logging is set up, Python would print an error record's traceback on stderr: never
    logging.lastResort = logging.NullHandler()
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        unknown_arguments(parser, args.command, extras)  # the command's own usage, exit 2
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = argv
    try:
        if args.command in ("run", "config", "completion"):
            _setup_logging(getattr(args, "verbose", 0), None)  # a run's log file is its job's (cmd_run)
        else:
            args.from_environment = apply_environment(args)
            refuse_overlapping_paths(args)
            _setup_logging(getattr(args, "verbose", 0), getattr(args, "log_file", None))
            log.info("copernica-import %s started", args.command)
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # `... | head` stopped reading: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except CopernicaImportError as exc:
        print(Msg.ERROR.format(message=exc), file=sys.stderr)
        log.error("%s", exc, extra=_SHOWN)
        return exc.exit_code
    except KeyboardInterrupt:
        print(Msg.INTERRUPTED, file=sys.stderr)
        if args.command == "run" and not getattr(args, "sandbox", False):
            from importer.terminal import Msg as TerminalMsg
            from importer.terminal import resume_command
            print(TerminalMsg.RESUME_HINT.format(command=resume_command(argv)), file=sys.stderr)
        return 3
    except Exception as exc:  # a bug: one line for the user, the traceback in the log (and with -v)
        from importer.redaction import redact
        log.error("unexpected error", exc_info=exc, extra=_SHOWN if not getattr(args, "verbose", 0) else {})
        details = Msg.DETAILS_SHOWN if getattr(args, "verbose", 0) else Msg.DETAILS
        print(Msg.ERROR.format(message=Msg.UNEXPECTED.format(error=redact(repr(exc)), hint=unexpected_hint(args),
                                                             details=details)), file=sys.stderr)
        return 3 if args.command in ("run", "rollback") else 2


def unexpected_hint(args: argparse.Namespace) -> str:
    """What to do after a bug stopped ``args.command``: only commands that exist, and none
    that could create a profile twice. A run continues with --resume (its journal knows every
    row sent); a rehearsal (--sandbox, --dry-run) and a rollback, which only deletes what the
    run created, are run again; every other command changed nothing in Copernica."""
    if args.command == "run":
        if getattr(args, "sandbox", False) or getattr(args, "dry_run", False):
            return Msg.HINT_AGAIN
        from importer.terminal import resume_command
        return Msg.HINT_RESUME.format(command=resume_command(args.argv))
    if args.command == "rollback":
        return Msg.HINT_AGAIN
    return Msg.HINT_NOTHING_CHANGED


_SHOWN = {"shown": True}


# -- run ---------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from importer.jobs import JobRun, refuse_overlaps, run_job, select
    from importer.prompt import ask_overwrite, ask_send
    from importer.settings import stdout_outputs
    from importer.terminal import TerminalReporter, print_json, write_all_jobs

    runs = select(given_settings(args), os.environ, config=args.config, job=args.job, all_jobs=bool(args.all_jobs))
    all_jobs = bool(args.all_jobs)
    stdout_used = stdout_outputs(json=args.json, summary_json=args.summary_json, report_html=args.report_html)
    done: list[JobRun] = []
    with _stop_on_signals() as stop:
        for number, settings in enumerate(runs):
            if stop.is_set():
                names = ", ".join(s.job or "?" for s in runs[number:])
                print(Msg.JOBS_NOT_STARTED.format(jobs=names), file=sys.stderr)
                log.warning(Msg.JOBS_NOT_STARTED.format(jobs=names))
                break
            if all_jobs:
                print(Msg.JOB_HEADER.format(job=settings.job), file=sys.stderr)
            try:
                refuse_overlaps(settings)  # before the log file is opened
            except CopernicaImportError as exc:
                _print_error(settings, exc, all_jobs)
                done.append(JobRun.failed(settings, exc))
                print_json(done[-1], json_out=args.json, all_jobs=all_jobs)
                continue
            with _run_logging(args.verbose, settings):
                reporter = TerminalReporter(settings, argv=args.argv, summary_stream=sys.stderr if stdout_used
                                            else sys.stdout)
                at_terminal = sys.stdin.isatty() and settings.input != ["-"]
                run = run_job(settings, _connection_maker(settings), reporter=reporter, stop=stop,
                              confirm=ask_send if at_terminal else None,
                              confirm_overwrite=ask_overwrite if at_terminal else None,
                              stdin=sys.stdin.buffer, stdout=sys.stdout)
            done.append(run)
            if run.error is not None:
                _print_error(settings, run.error, all_jobs)
            elif run.result is not None and not run.result.files:
                print(Msg.NOTHING_TO_DO, file=sys.stderr)
            for problem in run.record_errors:
                print(Msg.ERROR.format(message=problem), file=sys.stderr)
            print_json(run, json_out=args.json, all_jobs=all_jobs)
    code = max((r.exit_code for r in done), default=0)
    if all_jobs:
        write_all_jobs(done, code, json_out=args.json, summary_json=args.summary_json, report_html=args.report_html)
    return code


def _print_error(settings: "Settings", exc: CopernicaImportError, all_jobs: bool) -> None:
    if all_jobs:
        print(Msg.JOB_ERROR.format(job=settings.job, message=exc), file=sys.stderr)
    else:
        print(Msg.ERROR.format(message=exc), file=sys.stderr)


def _connection_maker(settings: "Settings"):
    from importer.jobs import needs_connection

    def make() -> Connection | None:
        if not needs_connection(settings, has_token(settings.token_file)):
            return None
        return Connection(token=read_token(settings.token_file, sandbox_hint=True), api_url=settings.api_url,
                          api_version=settings.api_version or 3, auth_url=settings.auth_url,
                          timeout=settings.timeout, retries=settings.retries, rate=settings.rate)
    return make


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C / SIGTERM set an event: the run stops taking rows, lets the
    requests in flight finish, writes everything, and exits 3."""
    from importer.prompt import asking

    stop = threading.Event()

    def handler(signum, frame) -> None:
        if asking() or stop.is_set():
            raise KeyboardInterrupt  # at a question, or a second Ctrl-C: stop at once
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# -- the other commands -------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    from importer.commands import check

    def connect() -> Connection | None:
        if not args.offline and not args.schema and has_token(args.token_file):
            return _connection(args)
        return None

    return check(_check_options(args), connect, report=args.report, input_format=args.input_format,
                 json_out=args.json, summary_json=args.summary_json)


def _check_options(args: argparse.Namespace):
    from importer.prepare import ImportOptions

    return ImportOptions(file=Path(args.file), mapping=Path(args.mapping), database=args.database,
                         schema=Path(args.schema) if args.schema else None, on_existing=args.on_existing,
                         encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet, dry_run=True,
                         header_row=args.header_row, results_delimiter=args.results_delimiter)


def cmd_config(args: argparse.Namespace) -> int:
    """The settings a run (or each job) would use, and where each came from."""
    from importer.jobs_file import settings_to_show
    from importer.settings import config_dict, config_text

    settings = settings_to_show(given_settings(args), os.environ, config=args.config, job=args.job)
    if args.json:
        print(json.dumps(config_dict(settings), indent=2, ensure_ascii=False, default=str))
    else:
        print(config_text(settings), end="")
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    from importer.completion import script

    print(script(args.shell, build_parser()), end="")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from importer.commands import init

    return init(args.file, schema=args.schema, database=args.database, connect=lambda: _connection(args),
                encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet, header_row=args.header_row,
                output=args.output)


def cmd_schema(args: argparse.Namespace) -> int:
    from importer.commands import schema

    return schema(_connection(args), args.database, args.output)


def cmd_rollback(args: argparse.Namespace) -> int:
    from importer.earlier import recorded_api
    from importer.journal import journal_path_for
    from importer.prompt import prompt
    from importer.undo import refuse_sandbox_run, rollback

    results = Path(args.results)
    if not results.exists():
        raise UsageError(Msg.RESULTS_MISSING.format(path=results))
    refuse_sandbox_run(results)  # before a token is read or an address chosen
    recorded = recorded_api(journal_path_for(results))
    if recorded and (args.api_url is None or "api_url" in args.from_environment):
        # delete where the run created, whatever the environment's default address
        args.api_url, args.api_version = recorded["url"], recorded.get("version", 3)
    if args.workers < 1:
        raise UsageError(Msg.WORKERS)
    connection = None if args.dry_run else _connection(args, rate=args.rate)
    if recorded:
        target = f"database {recorded['database']} at {urlsplit(recorded['url']).netloc}"
    else:
        target = connection.host if connection is not None else "Copernica"
    with _stop_on_signals() as stop:
        done = rollback(results, connection, yes=args.yes, dry_run=args.dry_run, target=target, stop=stop,
                        confirm=prompt,
                        workers=args.workers, output=Path(args.output) if args.output else None)
    return done.exit_code


def cmd_ui(args: argparse.Namespace) -> int:
    from importer.ui import serve

    return serve(port=args.port, open_browser=not args.no_browser, max_upload_mb=args.max_upload_mb,
                 api_url=args.api_url)


COMMANDS = {"run": cmd_run, "check": cmd_check, "init": cmd_init, "schema": cmd_schema, "rollback": cmd_rollback,
            "config": cmd_config, "completion": cmd_completion, "ui": cmd_ui}


# -- settings -----------------------------------------------------------------------
def _connection(args: argparse.Namespace, *, rate: float | None = None, sandbox_hint: bool = False) -> Connection:
    return Connection(token=read_token(args.token_file, sandbox_hint=sandbox_hint), api_url=args.api_url,
                      api_version=args.api_version or 3, auth_url=args.auth_url, timeout=args.timeout,
                      retries=getattr(args, "retries", 6), rate=rate)


# -- logging ------------------------------------------------------------------------
def _setup_logging(verbose: int, log_file: str | None) -> logging.Handler | None:
    from importer.history import CannotOpenLog, configure_logging

    install_log_redaction()
    try:
        return configure_logging(verbose, log_file)
    except CannotOpenLog as exc:
        raise UsageError(Msg.LOG_FILE.format(path=log_file, why=exc.why)) from None


@contextmanager
def _run_logging(verbose: int, settings: "Settings") -> Iterator[None]:
    """One job's logging: its log file (each job may have its own)."""
    handler = _setup_logging(verbose, settings.log_file)
    try:
        yield
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()


if __name__ == "__main__":
    raise SystemExit(main())
