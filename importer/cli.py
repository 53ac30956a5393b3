"""Command-line interface: argument parsing and exit codes only.

Exit codes: 0 every row ended as configured; 1 the run finished but some rows
are invalid, failed or unknown; 2 nothing was sent (bad arguments, mapping,
file, token, schema mismatch); 3 the run stopped early and can be resumed.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import stat
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from importer import __version__
from importer.errors import ApiError, ImporterError, UsageError
from importer.models import Status

TOKEN_ENV = "COPERNICA_ACCESS_TOKEN"
API_URL_ENV = "COPERNICA_API_URL"
log = logging.getLogger("importer")

# Settings a cron line can leave to the environment: (option, variable, type).
# A flag on the command line wins over the variable.
ENVIRONMENT_SETTINGS: tuple[tuple[str, str, type], ...] = (
    ("token_file", "COPERNICA_TOKEN_FILE", str),
    ("api_url", API_URL_ENV, str),
    ("api_version", "COPERNICA_API_VERSION", int),
    ("auth_url", "COPERNICA_AUTH_URL", str),
    ("mapping", "COPERNICA_MAPPING", str),
    ("database", "COPERNICA_DATABASE", int),
    ("workers", "COPERNICA_WORKERS", int),
    ("results_dir", "COPERNICA_RESULTS_DIR", str),
    ("archive_dir", "COPERNICA_ARCHIVE_DIR", str),
    ("settle_seconds", "COPERNICA_SETTLE_SECONDS", float),
    ("log_file", "COPERNICA_LOG_FILE", str),
)


class Msg:
    """The texts this module shows a user, in one place."""
    NO_MAPPING = "no mapping: use --mapping M.yaml (or set COPERNICA_MAPPING)"
    BAD_ENV_NUMBER = "the environment variable {name} must be a number, not {value!r}"
    BAD_API_VERSION = "--api-version (or COPERNICA_API_VERSION) must be 3 or 4, not {value}"
    CONFIRM = ("About to import {rows:,} row(s) from {files} into database {database_id} "
               "({database_name!r}) at {host}.")
    CONFIRM_QUESTION = "Send them? Type yes to continue: "
    CONFIRM_DECLINED = "nothing was sent: the import was not confirmed"
    CONFIRM_NEEDS_YES = ("refusing to import into {host} without confirmation: no terminal to ask on. "
                         "Add --yes to the command (for cron jobs and scripts); nothing was sent")
    SAME_RESULTS = ("{a} and {b} would write the same results file {results}; "
                    "import them separately, or rename one")
    NOTHING_TO_DO = "Nothing to import."
    UNDO_HINT = "To undo what this run created: copernica-import rollback {results}"
    API_URL_NO_VERSION = ("the API address {url} does not end in a version: use for example "
                          "https://api.copernica.com/v{version} (a sandbox: http://127.0.0.1:PORT/v{version})")
    API_URL_WRONG_VERSION = ("the API address {url} does not fit --api-version {version}: v4 is served under "
                             "/v4 (with --api-version 4), v1-v3 under /v1, /v2 or /v3")
    SANDBOX_NO_DATABASE = ("{error}. The built-in sandbox has {databases}; to rehearse with your own database's "
                           "structure: copernica-import schema --database ID --output S.yaml, then run "
                           "--sandbox --schema S.yaml (or use --database with one of the sandbox's)")
    FILE_FAILED = "{file}: {error}"


# -- the token: from the environment or a file, never from argv (ps shows argv) --
def read_token(token_file: str | None, *, sandbox_hint: bool = False) -> str:
    if token_file:
        path = Path(token_file)
        try:
            mode = path.stat().st_mode
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"cannot read the token file {path}: {exc.strerror}") from None
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            print(f"warning: the token file {path} is readable by other users; "
                  f"restrict it with: chmod 600 {path}", file=sys.stderr)
        if not token:
            raise UsageError(f"the token file {path} is empty")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    hint = " (or --sandbox to try the import against the built-in sandbox)" if sandbox_hint else ""
    raise UsageError(f"no access token: set {TOKEN_ENV} or use --token-file FILE{hint}")


# -- parser --------------------------------------------------------------------
def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", "-m", metavar="M.yaml", help="the YAML column mapping (default: $COPERNICA_MAPPING)")
    p.add_argument("--database", type=int, metavar="ID", help="database ID (overrides the mapping's)")
    p.add_argument("--schema", metavar="S.yaml",
                   help="check against this database structure file instead of asking the API")
    p.add_argument("--encoding", help="text encoding of a CSV (default: detected)")
    p.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")
    p.add_argument("--sheet", help="workbook sheet by name or position (default: first visible)")
    p.add_argument("--on-existing", choices=("create", "skip", "update", "upsert"),
                   help="what to do when a profile with the same key exists (default: the mapping's, else create)")


def _add_api_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api-url", default=None, metavar="URL",
                   help=f"API base URL (default: ${API_URL_ENV} or https://api.copernica.com/v3, /v4 with "
                        "--api-version 4)")
    p.add_argument("--api-version", type=int, default=None,
                   help="3: token in the query string (default); 4: bearer JWT from the authentication service")
    p.add_argument("--auth-url", default=None, metavar="URL",
                   help="v4 authentication address (default: https://authenticate.copernica.com, or "
                        "/authenticate on the API's host when that is this computer, e.g. a sandbox)")
    p.add_argument("--token-file", metavar="FILE", help=f"file holding the access token (default: ${TOKEN_ENV})")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="read timeout per request (default 30)")
    p.add_argument("--verbose", "-v", action="count", default=0,
                   help="more detail on stderr (-vv: every request, for troubleshooting)")
    p.add_argument("--log-file", metavar="FILE",
                   help="append a timestamped log here (never contains the access token)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copernica-import",
        description="Import contact spreadsheets into Copernica: one profile per row, "
                    "a results CSV pairing every row with its profile ID or the reason it has none.")
    parser.add_argument("--version", action="version", version=f"copernica-import {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="import files", description="Import FILE(s) with a mapping.")
    run.add_argument("files", nargs="+", metavar="FILE",
                     help="CSV, TSV, TXT, XLSX, XLS, ODS or .csv.gz; several, or patterns like 'drops/*.csv', "
                          "are imported one after the other")
    _add_input_options(run)
    _add_api_options(run)
    run.add_argument("--results", metavar="OUT.csv", help="results file (default: <input name>.results.csv here)")
    run.add_argument("--dry-run", action="store_true", help="do everything but sending")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run of the same file")
    run.add_argument("--skip-failed", action="store_true", help="with --resume: do not retry rows that failed")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier run's results and journal")
    run.add_argument("--workers", type=int, default=None, metavar="N", help="requests in flight at most (default 16)")
    run.add_argument("--rate", type=float, default=None, metavar="R", help="at most R requests per second")
    run.add_argument("--max-errors", type=int, default=None, metavar="N",
                     help="stop (resumable, exit 3) after N rows failed at the API")
    run.add_argument("--retries", type=int, default=6, metavar="N", help="attempts per request for temporary errors")
    run.add_argument("--sandbox", action="store_true",
                     help="import into a built-in local sandbox instead of Copernica (a rehearsal)")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    run.add_argument("--yes", "-y", action="store_true",
                     help="do not ask for confirmation before sending (needed without a terminal, e.g. cron)")
    run.add_argument("--confirm", action="store_true",
                     help="ask for confirmation even when the API is on this computer")
    run.add_argument("--summary-json", metavar="PATH", help="write the summary as JSON (for scripts)")
    run.add_argument("--report-html", metavar="PATH",
                     help="write a self-contained HTML report: counts, chart, reasons with example rows, speed")
    run.add_argument("--results-dir", metavar="DIR",
                     help="write each file's results (and journal) in DIR (default: the current folder)")
    run.add_argument("--archive-dir", metavar="DIR",
                     help="move each fully processed file, with its results and journal, to DIR")
    run.add_argument("--settle-seconds", type=float, default=None, metavar="S",
                     help="files found by a pattern that changed in the last S seconds (or change while "
                          "watched) are left for the next run (default 60; 0 turns the check off)")

    check = sub.add_parser("check", help="check a file without sending anything",
                           description="Read, map and check every row; send nothing.")
    check.add_argument("file", metavar="FILE")
    _add_input_options(check)
    _add_api_options(check)
    check.add_argument("--report", metavar="OUT.csv", help="write every row's verdict to a CSV")
    check.add_argument("--offline", action="store_true",
                       help="do not ask the API for the database structure (use --schema for type checks)")

    init = sub.add_parser("init", help="draft a mapping for a file", description="Draft a mapping YAML for FILE.")
    init.add_argument("file", metavar="FILE")
    init.add_argument("--database", type=int, metavar="ID",
                      help="match columns to this database's fields (from the API, or picks it in --schema)")
    init.add_argument("--schema", metavar="S.yaml", help="match columns to a database structure file")
    init.add_argument("--output", "-o", metavar="M.yaml", help="write the draft here (default: print it)")
    init.add_argument("--encoding")
    init.add_argument("--delimiter")
    init.add_argument("--sheet")
    _add_api_options(init)

    schema = sub.add_parser("schema", help="write a database's structure as YAML",
                            description="Fetch a database's fields and interests; print them as a schema file.")
    schema.add_argument("--database", type=int, required=True, metavar="ID")
    schema.add_argument("--output", "-o", metavar="S.yaml", help="write here (default: print)")
    _add_api_options(schema)

    rollback = sub.add_parser("rollback", help="delete the profiles a run created",
                              description="Delete every profile a run created (not the ones it updated).")
    rollback.add_argument("results", metavar="RESULTS.csv")
    rollback.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    rollback.add_argument("--output", metavar="OUT.csv", help="rollback results file (default: RESULTS.rollback.csv)")
    _add_api_options(rollback)

    sub.add_parser("sandbox", help="start a local Copernica-compatible sandbox server", add_help=False)
    return parser


# -- commands ------------------------------------------------------------------
def _check_api_url(api_url: str, version: int) -> None:
    """Copernica's paths start with the version: .../v3 (or /v1, /v2; /v4 for
    --api-version 4). Without it every call answers a puzzling 'Invalid method'."""
    match = re.search(r"/v([1-4])/?$", urlsplit(api_url).path)
    if match is None:
        raise UsageError(Msg.API_URL_NO_VERSION.format(url=api_url, version=version))
    if (int(match.group(1)) == 4) != (version == 4):
        raise UsageError(Msg.API_URL_WRONG_VERSION.format(url=api_url, version=version))


def _api_address(args) -> tuple[str, str | None]:
    """The API base URL and (for v4) the authentication URL to use."""
    from importer.client import DEFAULT_API_URL, DEFAULT_API_URL_V4, DEFAULT_AUTH_URL, _is_loopback

    version = args.api_version or 3
    api_url = args.api_url or (DEFAULT_API_URL_V4 if version == 4 else DEFAULT_API_URL)
    _check_api_url(api_url, version)
    if version != 4:
        return api_url, None
    if args.auth_url:
        return api_url, args.auth_url
    parts = urlsplit(api_url)
    if parts.hostname and _is_loopback(parts.hostname):
        # a sandbox serves /authenticate next to /v4 on the same host and port
        return api_url, f"{parts.scheme}://{parts.netloc}/authenticate"
    return api_url, DEFAULT_AUTH_URL


def _client_for(args, *, token: str | None = None, workers: int = 16, rate: float | None = None):
    from importer.client import CopernicaClient, RetryPolicy
    from importer.pacing import Pacer

    api_url, auth_url = _api_address(args)
    token = token or read_token(args.token_file, sandbox_hint=getattr(args, "command", None) == "run")
    return CopernicaClient(api_url, token, api_version=args.api_version or 3, auth_url=auth_url,
                           timeout=(10.0, args.timeout),
                           retry=RetryPolicy(attempts=getattr(args, "retries", 6)),
                           pacer=Pacer(workers, rate=rate))


def _options_from(args, file: str | Path):
    from importer.runner import DEFAULT_WORKERS, ImportOptions
    results = Path(args.results) if getattr(args, "results", None) else None
    if results is None and getattr(args, "results_dir", None):
        results = Path(args.results_dir) / _results_name(Path(file))
    return ImportOptions(
        file=Path(file), mapping=Path(args.mapping), database=args.database,
        results=results,
        schema=Path(args.schema) if args.schema else None,
        dry_run=getattr(args, "dry_run", False), resume=getattr(args, "resume", False),
        overwrite=getattr(args, "overwrite", False),
        workers=getattr(args, "workers", None) or DEFAULT_WORKERS, rate=getattr(args, "rate", None),
        on_existing=args.on_existing, max_errors=getattr(args, "max_errors", None),
        retry_failed=not getattr(args, "skip_failed", False),
        encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet, timeout=args.timeout,
        retries=getattr(args, "retries", 6))


def _results_name(file: Path) -> str:
    """orders.csv.gz -> orders.results.csv (as ImportOptions.results_path names it)."""
    from importer.runner import ImportOptions
    return ImportOptions(file=file, mapping=Path()).results_path().name


# -- run: several files, confirmation, reports, archiving ---------------------
def _check_run_args(args) -> None:
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.skip_failed and not args.resume:
        raise UsageError("--skip-failed only makes sense with --resume")
    if len(args.files) > 1 and args.results:
        raise UsageError("--results names one file; with several input files each gets <name>.results.csv "
                         "(use --results-dir DIR to choose where)")


def _files_to_import(args) -> tuple[list[Path], list[str]]:
    """The inputs, minus the drops still being written; notes say what was left."""
    from importer.drops import DEFAULT_SETTLE_SECONDS, expand_inputs, ready_files

    inputs = expand_inputs(args.files)
    notes = list(inputs.notes)
    settle = DEFAULT_SETTLE_SECONDS if args.settle_seconds is None else args.settle_seconds
    # Only files a pattern found are checked: a file named on the command line
    # is the user's explicit choice (a marketer's list saved a minute ago).
    drops = [f for f in inputs.files if f in inputs.from_patterns]
    if drops and settle > 0:
        ready, left = ready_files(drops, settle_seconds=settle, observe_seconds=min(2.0, settle))
        left_paths = {s.path for s in left}
        notes += [s.reason for s in left]
        files = [f for f in inputs.files if f not in left_paths]
    else:
        files = list(inputs.files)
    if len(files) > 1 and not args.resume:
        _refuse_shared_results(args, files)
    return files, notes


def _refuse_shared_results(args, files: list[Path]) -> None:
    taken: dict[Path, Path] = {}
    for file in files:
        results = _options_from(args, file).results_path().resolve()
        if results in taken:
            raise UsageError(Msg.SAME_RESULTS.format(a=taken[results], b=file, results=results))
        taken[results] = file


def _needs_confirmation(args, api_url: str) -> bool:
    from importer.client import _is_loopback
    if args.yes or args.dry_run:
        return False
    if args.confirm:
        return True
    host = urlsplit(api_url).hostname or ""
    return not _is_loopback(host)


def _confirm_send(args, files: list[Path], client) -> None:
    """Before the first row is sent to a real Copernica: which database, where,
    how many rows. Uses --schema when given, so no request is needed to ask."""
    from importer.reader import open_sheet
    from importer.runner import load_run_mapping, resolve_schema

    api_url = client.api_url
    if not _needs_confirmation(args, api_url):
        return
    host = urlsplit(api_url).netloc
    if not sys.stdin.isatty():
        raise UsageError(Msg.CONFIRM_NEEDS_YES.format(host=host))
    options = _options_from(args, files[0])
    mapping = load_run_mapping(options)
    schema = resolve_schema(options, mapping, client)
    database_id = schema.id if schema is not None else mapping.database
    rows = 0
    for file in files:
        with open_sheet(file, encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet) as sheet:
            rows += sum(1 for _ in sheet)
    names = ", ".join(str(f) for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    print(Msg.CONFIRM.format(rows=rows, files=names, database_id=database_id,
                             database_name=schema.name if schema is not None else "?", host=host),
          file=sys.stderr)
    print(Msg.CONFIRM_QUESTION, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError(Msg.CONFIRM_DECLINED)


class _RunRecord:
    """What the run did, for --summary-json and --report-html, written even
    when the command ends with an error."""

    def __init__(self) -> None:
        self.summaries: list = []
        self.notes: list[str] = []
        self.error: str | None = None

    def write(self, args, exit_code: int) -> None:
        if args.summary_json:
            import json

            from importer.summary import combined_dict
            data = combined_dict(self.summaries, exit_code=exit_code, error=self.error,
                                 left_for_next_run=self.notes)
            Path(args.summary_json).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                                               encoding="utf-8")
        if args.report_html:
            from importer.report import write_html_report
            write_html_report(Path(args.report_html), self.summaries, exit_code=exit_code,
                              error=self.error, notes=self.notes)


def cmd_run(args) -> int:
    _check_run_args(args)
    record = _RunRecord()
    exit_code = 2
    try:
        exit_code = _run_files(args, record)
        return exit_code
    except ImporterError as exc:
        record.error = str(exc)
        exit_code = exc.exit_code
        raise
    except Exception as exc:
        record.error = str(exc)  # shown in the JSON and report; main() decides how to end
        raise
    finally:
        record.write(args, exit_code)


def _run_files(args, record: _RunRecord) -> int:
    files, notes = _files_to_import(args)
    record.notes = notes
    for note in notes:
        print(note, file=sys.stderr)
        log.info(note)  # already on the screen; the log file gets it too
    if not files:
        print(Msg.NOTHING_TO_DO, file=sys.stderr)
        return 0
    archive_dir = None
    if args.archive_dir:
        from importer.drops import check_archive_dir
        archive_dir = check_archive_dir(Path(args.archive_dir))
    exit_code = 0
    with ExitStack() as stack:
        token = None
        if args.sandbox:
            from importer.sandbox import Sandbox
            sb = stack.enter_context(Sandbox(schema=args.schema) if args.schema else Sandbox())
            token = sb.token
            args.sandbox_databases = ", ".join(f"database {db.id} ({db.name})" for db in sb.schema.databases)
            args.api_url = sb.api_url if (args.api_version or 3) == 3 else sb.base_url + "/v4"
            args.auth_url = sb.auth_url
            print(f"Using the built-in sandbox at {args.api_url} (nothing is sent to Copernica)", file=sys.stderr)
        client = None
        if not args.dry_run or not args.schema:
            if args.dry_run and not args.sandbox and not os.environ.get(TOKEN_ENV) and not args.token_file:
                client = None  # an offline dry run: checks without the database's field types
            else:
                workers = _options_from(args, files[0]).workers
                client = stack.enter_context(_closing(_client_for(args, token=token, workers=workers,
                                                                  rate=args.rate)))
        if client is not None:
            _confirm_send(args, files, client)
        for number, file in enumerate(files, start=1):
            if len(files) > 1:
                print(f"[{number}/{len(files)}] {file}", file=sys.stderr)
            several = len(files) > 1 or any(set("*?[") & set(a) for a in args.files)
            try:
                summary = _run_one(args, file, client, record, several=several)
            except ApiError:
                raise  # a refused token or unreachable API fails every file alike
            except ImporterError as exc:
                if not several:
                    raise
                # one broken drop file must not hold back the night's other files
                print(f"error: {exc}", file=sys.stderr)
                exit_code = max(exit_code, exc.exit_code)
                continue
            exit_code = max(exit_code, summary.exit_code)
            if summary.exit_code == 3 or summary.stopped in ("token", "api"):
                break
            if archive_dir is not None and not args.dry_run and summary.stopped is None:
                _archive(file, summary, archive_dir)
    return exit_code


def _reworded(exc: ImporterError, message: str) -> ImporterError:
    """The same stop (same exit code, same class when it can be), told better."""
    try:
        new = type(exc)(message)
    except TypeError:  # error classes with other signatures
        new = ImporterError(message)
    new.exit_code = exc.exit_code
    return new


def _run_one(args, file: Path, client, record: _RunRecord, *, several: bool):
    from importer.journal import journal_path_for
    from importer.progress import Progress, estimate_rows
    from importer.runner import run_import

    options = _options_from(args, file)
    if options.resume and several and not journal_path_for(options.results_path()).exists():
        # a drop folder with --resume: continue the interrupted file, start the new ones
        options.resume = False
        log.info("nothing to resume for %s: starting it", file)
    if args.sandbox and not args.resume:
        # a rehearsal: the sandbox starts empty each time, so its results may be replaced
        options.overwrite = True
        if options.results is None:
            options.results = Path.cwd() / (Path(file).name.split(".")[0] + ".sandbox-results.csv")
    log.info("importing %s (results: %s)", file, options.results_path())
    total = estimate_rows(file) if not args.quiet and sys.stderr.isatty() else None
    progress = Progress(quiet=args.quiet, total=total)
    try:
        summary = run_import(options, client, on_outcome=progress.update)
    except ImporterError as exc:
        progress.close()
        partial = getattr(exc, "summary", None)
        if partial is not None:
            _finish_summary(partial, file, progress)
            record.summaries.append(partial)
            print(partial.format_text(), file=sys.stderr)
        message = str(exc)
        if args.sandbox and type(exc).__name__ == "DatabaseNotFound":
            message = Msg.SANDBOX_NO_DATABASE.format(error=message, databases=args.sandbox_databases)
        if several:  # which of the night's files it was
            message = Msg.FILE_FAILED.format(file=file, error=message)
        if message != str(exc):
            raise _reworded(exc, message) from None
        raise
    progress.close()
    _finish_summary(summary, file, progress)
    record.summaries.append(summary)
    text = summary.format_text()
    print(text)
    log.info("finished %s: %s", file, ", ".join(f"{n:,} {s}" for s, n in summary.counts.items()))
    if summary.stopped in ("interrupted", "max-errors", "unresolved"):
        print(_resume_hint(args, str(file)), file=sys.stderr)
    elif summary.counts.get(Status.CREATED) and summary.results_path and not args.sandbox and not args.archive_dir:
        print(Msg.UNDO_HINT.format(results=summary.results_path), file=sys.stderr)  # archived: _archive says
    if args.sandbox and not args.dry_run:
        print("The sandbox stops with this command; its profiles are gone. To keep them, start "
              "`copernica-import sandbox --db FILE.sqlite` and import with --api-url.", file=sys.stderr)
    return summary


def _finish_summary(summary, file: Path, progress) -> None:
    summary.file = Path(file)
    summary.throughput = list(progress.samples)


def _archive(file: Path, summary, archive_dir: Path) -> None:
    from importer.drops import Msg as DropMsg
    from importer.drops import archive

    companions = [p for p in (summary.results_path, summary.journal_path) if p is not None]
    moved = archive([Path(file), *companions], archive_dir)
    message = DropMsg.ARCHIVED.format(path=file, target=moved[0] if moved else archive_dir)
    print(message, file=sys.stderr)
    log.info(message)
    if summary.counts.get(Status.CREATED) and len(moved) > 1:
        print(Msg.UNDO_HINT.format(results=moved[1]), file=sys.stderr)


def _resume_hint(args, file: str) -> str:
    if args.sandbox:
        return ("The rehearsal stopped early. Its built-in sandbox stopped with it, so there is nothing to "
                "resume: run the same command again.")
    # the user's own command line (it never holds the token) plus --resume
    words = [w for w in sys.argv[1:] if w != "--overwrite"]
    if "--resume" not in words:
        words.append("--resume")
    return "The run stopped early. To continue where it stopped:\n  " + shlex.join(["copernica-import", *words])


def cmd_check(args) -> int:
    from importer.progress import Progress
    from importer.runner import check_file

    options = _options_from(args, args.file)
    client = None
    with ExitStack() as stack:
        if not args.offline and not args.schema and (os.environ.get(TOKEN_ENV) or args.token_file):
            client = stack.enter_context(_closing(_client_for(args)))
        progress = Progress(quiet=False)
        summary = check_file(options, client=client, report=Path(args.report) if args.report else None,
                             on_outcome=progress.update)
        progress.close()
    print(summary.format_text())
    return 1 if summary.exit_code else 0


def cmd_init(args) -> int:
    from importer.draft import draft_mapping
    from importer.reader import open_sheet
    from importer.schema import load_schema_file

    schema = None
    if args.schema:
        schema_file = load_schema_file(args.schema)
        schema = schema_file.database(args.database) if args.database else schema_file.databases[0]
    elif args.database:
        with _closing(_client_for(args)) as client:
            schema = client.fetch_schema(args.database)
    with open_sheet(args.file, encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet) as sheet:
        samples = []
        for row in sheet:
            samples.append(row)
            if len(samples) >= 200:
                break
        text = draft_mapping(sheet.headers, samples, schema,
                             database_id=schema.id if schema else args.database)
    if args.output:
        out = Path(args.output)
        if out.exists():
            raise UsageError(f"{out} exists already; choose another --output (it is not overwritten)")
        out.write_text(text, encoding="utf-8")
        print(f"Draft mapping written to {out}; review it, then: copernica-import check {args.file} --mapping {out}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_schema(args) -> int:
    from importer.schema import dump_schema

    with _closing(_client_for(args)) as client:
        db = client.fetch_schema(args.database)
    text = dump_schema([db])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Database {db.id} ({db.name}): {len(db.fields)} fields, {len(db.interests)} interests "
              f"written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_rollback(args) -> int:
    from importer.journal import journal_path_for, recorded_api
    from importer.rollback import rollback

    results = Path(args.results)
    if not results.exists():
        raise UsageError(f"results file {results} does not exist")
    recorded = recorded_api(journal_path_for(results))
    if recorded and (args.api_url is None or "api_url" in getattr(args, "from_environment", ())):
        # delete where the run created, whatever the environment's default address
        args.api_url, args.api_version = recorded["url"], recorded.get("version", 3)
    client = None if args.dry_run else _client_for(args)
    target = f"database {recorded['database']} at {urlsplit(recorded['url']).netloc}" if recorded else \
        urlsplit(_api_address(args)[0]).netloc
    with _closing(client):
        return rollback(results, client, yes=args.yes, dry_run=args.dry_run, target=target,
                        output=Path(args.output) if args.output else None)


def _apply_environment(args) -> None:
    """Fills options the command line left out from COPERNICA_* variables."""
    args.from_environment = set()
    for option, variable, kind in ENVIRONMENT_SETTINGS:
        if not hasattr(args, option) or getattr(args, option) is not None or variable not in os.environ:
            continue
        value = os.environ[variable].strip()
        if not value:
            continue
        try:
            setattr(args, option, kind(value))
        except ValueError:
            raise UsageError(Msg.BAD_ENV_NUMBER.format(name=variable, value=value)) from None
        args.from_environment.add(option)
    if getattr(args, "api_version", None) not in (None, 3, 4):
        raise UsageError(Msg.BAD_API_VERSION.format(value=args.api_version))
    if hasattr(args, "mapping") and not args.mapping:
        raise UsageError(Msg.NO_MAPPING)


class _RedactingFormatter(logging.Formatter):
    """Timestamps, and the access token (or JWT) scrubbed from the whole line,
    tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        from importer.client import redact
        return redact(super().format(record))


def _setup_logging(args) -> None:
    verbose = getattr(args, "verbose", 0)
    formatter = _RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))
    console.setFormatter(formatter)
    root.addHandler(console)
    if getattr(args, "log_file", None):
        try:
            handler = logging.FileHandler(args.log_file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the log file {args.log_file}: {exc.strerror}") from None
        handler.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    log.info("copernica-import %s started", args.command)


class _closing:
    """Closes a client (or nothing) at the end of a with-block."""

    def __init__(self, thing) -> None:
        self.thing = thing

    def __enter__(self):
        return self.thing

    def __exit__(self, *exc) -> None:
        if self.thing is not None:
            self.thing.close()


COMMANDS = {"run": cmd_run, "check": cmd_check, "init": cmd_init, "schema": cmd_schema, "rollback": cmd_rollback}


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
        _apply_environment(args)
        _setup_logging(args)
        return COMMANDS[args.command](args)
    except ImporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3
    except Exception as exc:
        # the API unreachable while reading the database structure: before any send
        from importer.client import RequestFailed
        if not isinstance(exc, RequestFailed):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
