"""Command-line interface: argument parsing and exit codes only.

Exit codes: 0 every row ended as configured; 1 the run finished but some rows
are invalid, failed or unknown; 2 nothing was sent (bad arguments, mapping,
file, token, schema mismatch); 3 the run stopped early and can be resumed.
"""
from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
from contextlib import ExitStack
from pathlib import Path

from importer.errors import ImporterError, UsageError

TOKEN_ENV = "COPERNICA_ACCESS_TOKEN"
API_URL_ENV = "COPERNICA_API_URL"
log = logging.getLogger("importer")


# -- the token: from the environment or a file, never from argv (ps shows argv) --
def read_token(token_file: str | None, *, required: bool = True) -> str | None:
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
    if required:
        raise UsageError(f"no access token: set {TOKEN_ENV} or use --token-file FILE "
                         "(or --sandbox to try the import against the built-in sandbox)")
    return None


# -- parser --------------------------------------------------------------------
def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", "-m", required=True, metavar="M.yaml", help="the YAML column mapping")
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
                   help=f"API base URL (default: ${API_URL_ENV} or https://api.copernica.com/v3)")
    p.add_argument("--api-version", type=int, choices=(3, 4), default=None,
                   help="3: token in the query string (default); 4: bearer JWT")
    p.add_argument("--token-file", metavar="FILE", help=f"file holding the access token (default: ${TOKEN_ENV})")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="read timeout per request (default 30)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copernica-import",
        description="Import contact spreadsheets into Copernica: one profile per row, "
                    "a results CSV pairing every row with its profile ID or the reason it has none.")
    parser.add_argument("--version", action="version", version="copernica-import 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="import files", description="Import FILE(s) with a mapping.")
    run.add_argument("files", nargs="+", metavar="FILE", help="CSV, TSV, TXT, XLSX, XLS, ODS or .csv.gz")
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
def _client_for(args, *, token: str | None = None, workers: int = 16, rate: float | None = None):
    from importer.client import CopernicaClient, RetryPolicy
    from importer.pacing import Pacer
    from importer.runner import DEFAULT_API_URL

    api_url = args.api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    token = token or read_token(args.token_file)
    version = args.api_version or 3
    return CopernicaClient(api_url, token, api_version=version, timeout=(10.0, args.timeout),
                           retry=RetryPolicy(attempts=getattr(args, "retries", 6)),
                           pacer=Pacer(workers, rate=rate))


def _options_from(args, file: str):
    from importer.runner import DEFAULT_WORKERS, ImportOptions
    return ImportOptions(
        file=Path(file), mapping=Path(args.mapping), database=args.database,
        results=Path(args.results) if getattr(args, "results", None) else None,
        schema=Path(args.schema) if args.schema else None,
        dry_run=getattr(args, "dry_run", False), resume=getattr(args, "resume", False),
        overwrite=getattr(args, "overwrite", False),
        workers=getattr(args, "workers", None) or DEFAULT_WORKERS, rate=getattr(args, "rate", None),
        on_existing=args.on_existing, max_errors=getattr(args, "max_errors", None),
        retry_failed=not getattr(args, "skip_failed", False),
        encoding=args.encoding, delimiter=args.delimiter, sheet=args.sheet, timeout=args.timeout,
        retries=getattr(args, "retries", 6))


def cmd_run(args) -> int:
    from importer.progress import Progress
    from importer.runner import run_import

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.skip_failed and not args.resume:
        raise UsageError("--skip-failed only makes sense with --resume")
    if len(args.files) > 1 and args.results:
        raise UsageError("--results names one file; with several input files each gets <name>.results.csv")
    exit_code = 0
    with ExitStack() as stack:
        token = None
        if args.sandbox:
            from importer.sandbox import Sandbox
            sb = stack.enter_context(Sandbox(schema=args.schema) if args.schema else Sandbox())
            args.api_url, token = sb.api_url, sb.token
            args.api_version = 3
            print(f"Using the built-in sandbox at {sb.api_url} (nothing is sent to Copernica)", file=sys.stderr)
        client = None
        if not args.dry_run or not args.schema:
            if args.dry_run and not args.sandbox and not os.environ.get(TOKEN_ENV) and not args.token_file:
                client = None  # an offline dry run: checks without the database's field types
            else:
                options0 = _options_from(args, args.files[0])
                client = stack.enter_context(_closing(_client_for(args, token=token, workers=options0.workers,
                                                                  rate=args.rate)))
        for file in args.files:
            options = _options_from(args, file)
            if args.sandbox and not args.resume:
                # a rehearsal: the sandbox starts empty each time, so its results may be replaced
                options.overwrite = True
                if options.results is None:
                    options.results = Path.cwd() / (Path(file).name.split(".")[0] + ".sandbox-results.csv")
            progress = Progress(quiet=args.quiet)
            try:
                from importer.runner import run_import
                summary = run_import(options, client, on_outcome=progress.update)
            except ImporterError as exc:
                progress.close()
                partial = getattr(exc, "summary", None)
                if partial is not None:
                    print(partial.format_text(), file=sys.stderr)
                raise
            progress.close()
            print(summary.format_text())
            if summary.stopped in ("interrupted", "max-errors"):
                print(_resume_hint(args, file), file=sys.stderr)
            if args.sandbox and not args.dry_run:
                print("The sandbox stops with this command; its profiles are gone. To keep them, start "
                      "`copernica-import sandbox --db FILE.sqlite` and import with --api-url.", file=sys.stderr)
            exit_code = max(exit_code, summary.exit_code)
            if summary.exit_code == 3:
                break
    return exit_code


def _resume_hint(args, file: str) -> str:
    parts = ["copernica-import", "run", file, "--mapping", args.mapping]
    if args.results:
        parts += ["--results", args.results]
    if args.database:
        parts += ["--database", str(args.database)]
    return "The run stopped early. To continue where it stopped:\n  " + " ".join(parts) + " --resume"


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
    from importer.rollback import rollback

    client = None if args.dry_run else _client_for(args)
    with _closing(client):
        return rollback(Path(args.results), client, yes=args.yes, dry_run=args.dry_run,
                        output=Path(args.output) if args.output else None)


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
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return COMMANDS[args.command](args)
    except ImporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
