"""Command-line interface: arguments, environment, logging, signals, exit codes.

Everything else is the library's: ``cli`` turns argv into ``BatchOptions``
and a ``Connection``, calls ``run_batch`` (or ``check_file``, ``draft_mapping``,
``rollback``), prints what it hears and maps the result to an exit code.

Exit codes: 0 every row ended as configured; 1 the run finished but some rows
are invalid, failed or unknown; 2 nothing was sent (bad arguments, mapping,
file, token, schema mismatch); 3 the run stopped early after sending and can
be resumed.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from importer.arguments import apply_environment, build_parser, has_token, read_token
from importer.connection import Connection
from importer.errors import CopernicaImportError, UsageError
from importer.redaction import RedactingFormatter, install_log_redaction

if TYPE_CHECKING:
    from importer.batch import BatchOptions, BatchResult, Confirmation

log = logging.getLogger("importer")
FILE_NOTES = "importer.file"  # the reader's notes (encoding used, header row): on stderr, plain


class Msg:
    """The texts this module shows a user."""
    ERROR = "error: {message}"
    INTERRUPTED = "interrupted"
    CONFIRM = ("About to import {rows:,} row(s) from {files} into database {database_id} "
               "({database_name!r}) at {host}.")
    CONFIRM_QUESTION = "Send them? Type yes to continue: "
    NOTHING_TO_DO = "Nothing to import."
    DRAFT_WRITTEN = "Draft mapping written to {out}; review it, then: copernica-import check {file} --mapping {out}"
    DRAFT_EXISTS = "{out} exists already; choose another --output (it is not overwritten)"
    SCHEMA_WRITTEN = ("Database {id} ({name}): {fields} fields, {interests} interests, {collections} collections "
                      "written to {out}")
    RESULTS_MISSING = "results file {path} does not exist"
    LOG_FILE = "cannot write the log file {path}: {why}"
    WORKERS = "--workers must be at least 1"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        from importer.sandbox.cli import main as sandbox_main
        return sandbox_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.from_environment = apply_environment(args)
        _refuse_overlaps(args)
        _setup_logging(args)
        return COMMANDS[args.command](args)
    except CopernicaImportError as exc:
        print(Msg.ERROR.format(message=exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(Msg.INTERRUPTED, file=sys.stderr)
        if args.command == "run" and not getattr(args, "sandbox", False):
            from importer.terminal import Msg as TerminalMsg
            from importer.terminal import resume_command
            print(TerminalMsg.RESUME_HINT.format(command=resume_command(argv)), file=sys.stderr)
        return 3


# -- run ---------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from importer.batch import run_batch
    from importer.terminal import TerminalReporter

    options = _batch_options(args)
    connection = None
    if not args.sandbox and (not args.dry_run or has_token(args.token_file)):
        connection = _connection(args, rate=args.rate, sandbox_hint=True)
    reporter = TerminalReporter(args)
    result: "BatchResult | None" = None
    error: CopernicaImportError | None = None
    try:
        with _stop_on_signals() as stop:
            at_terminal = sys.stdin.isatty()
            result = run_batch(options, connection, reporter=reporter, stop=stop,
                               confirm=_ask if at_terminal else None,
                               confirm_overwrite=_ask_overwrite if at_terminal else None)
    except CopernicaImportError as exc:
        error = exc
        raise
    finally:
        _write_record(args, result, error)
    if not result.files:
        print(Msg.NOTHING_TO_DO, file=sys.stderr)
    return result.exit_code


def _batch_options(args: argparse.Namespace) -> "BatchOptions":
    from importer.batch import BatchOptions
    from importer.connection import DEFAULT_WORKERS

    return BatchOptions(
        inputs=list(args.files), mapping=Path(args.mapping), database=args.database,
        schema=Path(args.schema) if args.schema else None, encoding=args.encoding, delimiter=args.delimiter,
        sheet=args.sheet, header_row=args.header_row, on_existing=args.on_existing,
        results=Path(args.results) if args.results else None, results_delimiter=args.results_delimiter,
        results_dir=Path(args.results_dir) if args.results_dir else None,
        archive_dir=Path(args.archive_dir) if args.archive_dir else None, settle_seconds=args.settle_seconds,
        dry_run=args.dry_run, resume=args.resume, overwrite=args.overwrite, retry_failed=not args.skip_failed,
        workers=DEFAULT_WORKERS if args.workers is None else args.workers, max_errors=args.max_errors,
        sandbox=args.sandbox, sandbox_api_version=args.api_version or 3, yes=args.yes, always_confirm=args.confirm,
        wait_for_lock=args.wait_for_lock)


def _ask(confirmation: "Confirmation") -> bool:
    files = confirmation.files
    names = ", ".join(str(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    print(Msg.CONFIRM.format(rows=confirmation.rows, files=names, database_id=confirmation.database_id,
                             database_name=confirmation.database_name, host=confirmation.host), file=sys.stderr)
    return _prompt(Msg.CONFIRM_QUESTION).strip().lower() in ("y", "yes")


def _ask_overwrite(question) -> bool:
    from importer.batch import Msg as BatchMsg

    print(question.text, file=sys.stderr)
    return _prompt(BatchMsg.OVERWRITE_QUESTION).strip().lower() in ("y", "yes")


_prompting = threading.Event()


def _prompt(text: str) -> str:
    """A question at the terminal; Ctrl-C while it waits for the answer aborts."""
    print(text, end="", file=sys.stderr, flush=True)
    _prompting.set()
    try:
        return sys.stdin.readline()
    finally:
        _prompting.clear()


def _refuse_overlaps(args: argparse.Namespace) -> None:
    """Before anything is written (the log file included): no output on an input."""
    from importer.paths import refuse_overlaps

    def path(value) -> Path | None:
        return Path(value) if value else None

    inputs = [("the mapping", path(getattr(args, "mapping", None))), ("the schema", path(getattr(args, "schema", None))),
              ("the token file", path(getattr(args, "token_file", None)))]
    if args.command == "run":
        from importer.drops import expand_inputs
        try:
            inputs += [("the input file", f) for f in expand_inputs(args.files).files]
        except CopernicaImportError:
            pass  # reported by the run itself
    elif args.command in ("check", "init"):
        inputs.append(("the input file", path(args.file)))
    elif args.command == "rollback":
        from importer.journal import journal_path_for
        inputs += [("the results file", path(args.results)), ("the journal", journal_path_for(Path(args.results)))]
    outputs = [("--log-file", path(getattr(args, "log_file", None))),
               ("--summary-json", path(getattr(args, "summary_json", None))),
               ("--report-html", path(getattr(args, "report_html", None))),
               ("--report", path(getattr(args, "report", None))),
               ("--output", path(getattr(args, "output", None)))]
    if args.command == "run" and args.results:
        from importer.journal import journal_path_for
        outputs += [("the results file", Path(args.results)), ("the journal", journal_path_for(Path(args.results)))]
    refuse_overlaps(inputs, outputs)


def _write_record(args: argparse.Namespace, result: "BatchResult | None", error: CopernicaImportError | None) -> None:
    """--summary-json and --report-html, written even when the command ends with an error."""
    if not (args.summary_json or args.report_html):
        return
    summaries = result.summaries if result is not None else []
    notes = result.notes if result is not None else []
    first_error = error or (result.error if result is not None else None)
    exit_code = error.exit_code if error is not None else (result.exit_code if result is not None else 2)
    if args.summary_json:
        from importer.summary import combined_dict
        data = combined_dict(summaries, exit_code=exit_code, error=str(first_error) if first_error else None,
                             left_for_next_run=notes)
        Path(args.summary_json).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.report_html:
        from importer.report import write_html_report
        write_html_report(Path(args.report_html), summaries, exit_code=exit_code,
                          error=str(first_error) if first_error else None, notes=notes)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C / SIGTERM set an event: the run stops taking rows, lets the
    requests in flight finish, writes everything, and exits 3."""
    stop = threading.Event()

    def handler(signum, frame) -> None:
        if _prompting.is_set() or stop.is_set():
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
    from importer.progress import Progress
    from importer.runner import check_file

    options = _batch_options_for_check(args)
    connection = None
    if not args.offline and not args.schema and has_token(args.token_file):
        connection = _connection(args)
    progress = Progress(quiet=False, check=True)
    summary = check_file(options, connection, report=Path(args.report) if args.report else None,
                         on_outcome=progress.update)
    progress.close()
    print(summary.format_text())
    return 1 if summary.exit_code else 0


def _batch_options_for_check(args: argparse.Namespace):
    from importer.runner import ImportOptions

    return ImportOptions(file=Path(args.file), mapping=Path(args.mapping), database=args.database,
                         schema=Path(args.schema) if args.schema else None, on_existing=args.on_existing,
                         encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet, dry_run=True,
                         header_row=args.header_row, results_delimiter=args.results_delimiter)


def cmd_init(args: argparse.Namespace) -> int:
    from importer.draft import draft_mapping
    from importer.reader import open_sheet
    from importer.schema import load_schema_file

    schema = None
    if args.schema:
        schema_file = load_schema_file(args.schema)
        schema = schema_file.database(args.database) if args.database else schema_file.databases[0]
    elif args.database:
        with _connection(args).open_client() as client:
            schema = client.fetch_schema(args.database)
    with open_sheet(args.file, encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet,
                    header_row=args.header_row, allow_no_header=True) as sheet:
        sheet.announce()
        samples = []
        for row in sheet:
            samples.append(row)
            if len(samples) >= 200:
                break
        text = draft_mapping(sheet.headers, samples, schema, database_id=schema.id if schema else args.database,
                             no_header=not sheet.has_header, header_row=sheet.header_row if sheet.has_header else None)
    if not args.output:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists():
        raise UsageError(Msg.DRAFT_EXISTS.format(out=out))
    out.write_text(text, encoding="utf-8")
    print(Msg.DRAFT_WRITTEN.format(out=out, file=args.file), file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from importer.schema import dump_schema

    with _connection(args).open_client() as client:
        db = client.fetch_schema(args.database, collections=True)
    text = dump_schema([db])
    if not args.output:
        sys.stdout.write(text)
        return 0
    Path(args.output).write_text(text, encoding="utf-8")
    print(Msg.SCHEMA_WRITTEN.format(id=db.id, name=db.name, fields=len(db.fields), interests=len(db.interests),
                                    collections=len(db.collections), out=args.output), file=sys.stderr)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from importer.earlier import recorded_api
    from importer.journal import journal_path_for
    from importer.undo import rollback

    results = Path(args.results)
    if not results.exists():
        raise UsageError(Msg.RESULTS_MISSING.format(path=results))
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
                        confirm=_prompt,
                        workers=args.workers, output=Path(args.output) if args.output else None)
    return done.exit_code


def cmd_ui(args: argparse.Namespace) -> int:
    from importer.ui import serve

    return serve(port=args.port, open_browser=not args.no_browser, max_upload_mb=args.max_upload_mb,
                 api_url=args.api_url)


COMMANDS = {"run": cmd_run, "check": cmd_check, "init": cmd_init, "schema": cmd_schema, "rollback": cmd_rollback,
            "ui": cmd_ui}


# -- settings -----------------------------------------------------------------------
def _connection(args: argparse.Namespace, *, rate: float | None = None, sandbox_hint: bool = False) -> Connection:
    return Connection(token=read_token(args.token_file, sandbox_hint=sandbox_hint), api_url=args.api_url,
                      api_version=args.api_version or 3, auth_url=args.auth_url, timeout=args.timeout,
                      retries=getattr(args, "retries", 6), rate=rate)


def _setup_logging(args: argparse.Namespace) -> None:
    install_log_redaction()
    verbose = getattr(args, "verbose", 0)
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))
    console.setFormatter(formatter)
    console.addFilter(lambda record: not record.name.startswith(FILE_NOTES))
    root.addHandler(console)
    notes = logging.StreamHandler(sys.stderr)   # how an input file was read: one plain line each
    notes.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger(FILE_NOTES).addHandler(notes)
    if getattr(args, "log_file", None):
        try:
            handler = logging.FileHandler(args.log_file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(Msg.LOG_FILE.format(path=args.log_file, why=exc.strerror)) from None
        handler.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    log.info("copernica-import %s started", args.command)


if __name__ == "__main__":
    raise SystemExit(main())
