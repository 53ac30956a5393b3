"""The command line's vocabulary: the parser, the COPERNICA_* environment, the token.

Everything here turns text (argv, the environment, a token file) into
settings; nothing here imports, checks or sends (``cli`` does that).
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from importer import __version__
from importer.errors import UsageError

TOKEN_ENV = "COPERNICA_ACCESS_TOKEN"
API_URL_ENV = "COPERNICA_API_URL"

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


RESULTS_DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|"}


def results_delimiter(text: str) -> str:
    """--results-delimiter: , ; tab or |"""
    if text not in RESULTS_DELIMITERS:
        raise argparse.ArgumentTypeError(Msg.BAD_RESULTS_DELIMITER.format(value=text))
    return RESULTS_DELIMITERS[text]


class Msg:
    BAD_RESULTS_DELIMITER = "{value!r} is not one of: , ; tab |"
    NO_MAPPING = "no mapping: use --mapping M.yaml (or set COPERNICA_MAPPING)"
    BAD_ENV_NUMBER = "the environment variable {name} must be a number, not {value!r}"
    BAD_API_VERSION = "--api-version (or COPERNICA_API_VERSION) must be 3 or 4, not {value}"
    NO_TOKEN = "no access token: set {env} or use --token-file FILE{hint}"
    NO_TOKEN_SANDBOX_HINT = " (or --sandbox to try the import against the built-in sandbox)"
    TOKEN_FILE_UNREADABLE = "cannot read the token file {path}: {why}"
    TOKEN_FILE_EMPTY = "the token file {path} is empty"
    TOKEN_FILE_OPEN = ("warning: the token file {path} is readable by other users; "
                       "restrict it with: chmod 600 {path}")


def read_token(token_file: str | None, *, sandbox_hint: bool = False) -> str:
    """The token from a file or the environment, never from argv (``ps`` shows argv).

    A byte-order mark (Notepad's UTF-8) and surrounding whitespace are removed.
    """
    if token_file:
        path = Path(token_file)
        try:
            mode = path.stat().st_mode
            token = path.read_text(encoding="utf-8-sig").strip().lstrip("\ufeff").strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise UsageError(Msg.TOKEN_FILE_UNREADABLE.format(path=path, why=why)) from None
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            print(Msg.TOKEN_FILE_OPEN.format(path=path), file=sys.stderr)
        if not token:
            raise UsageError(Msg.TOKEN_FILE_EMPTY.format(path=path))
        return token
    token = os.environ.get(TOKEN_ENV, "").strip().lstrip("\ufeff").strip()
    if token:
        return token
    raise UsageError(Msg.NO_TOKEN.format(env=TOKEN_ENV, hint=Msg.NO_TOKEN_SANDBOX_HINT if sandbox_hint else ""))


def has_token(token_file: str | None) -> bool:
    return bool(token_file or os.environ.get(TOKEN_ENV, "").strip())


def apply_environment(args: argparse.Namespace) -> set[str]:
    """Fills options the command line left out from COPERNICA_* variables;
    returns the names of the options that came from the environment."""
    filled: set[str] = set()
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
        filled.add(option)
    if getattr(args, "api_version", None) not in (None, 3, 4):
        raise UsageError(Msg.BAD_API_VERSION.format(value=args.api_version))
    if hasattr(args, "mapping") and not args.mapping:
        raise UsageError(Msg.NO_MAPPING)
    return filled


# -- the parser -----------------------------------------------------------------
def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", "-m", metavar="M.yaml", help="the YAML column mapping (default: $COPERNICA_MAPPING)")
    p.add_argument("--database", type=int, metavar="ID", help="database ID (overrides the mapping's)")
    p.add_argument("--schema", metavar="S.yaml",
                   help="check against this database structure file instead of asking the API")
    p.add_argument("--encoding", help="text encoding of a CSV (default: detected)")
    p.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")
    p.add_argument("--sheet", help="workbook sheet by name or position (default: first visible)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="the row holding the column names (default: found; overrides the mapping's header_row)")
    p.add_argument("--on-existing", choices=("create", "skip", "update", "upsert"),
                   help="what to do when a profile with the same key exists (default: the mapping's, else create)")


def _api_options(p: argparse.ArgumentParser) -> None:
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


def _run_parser(sub) -> None:
    run = sub.add_parser("run", help="import files", description="Import FILE(s) with a mapping.")
    run.add_argument("files", nargs="+", metavar="FILE",
                     help="CSV, TSV, TXT, XLSX, XLS, ODS or .csv.gz; several, or patterns like 'drops/*.csv', "
                          "are imported one after the other")
    _input_options(run)
    _api_options(run)
    run.add_argument("--results", metavar="OUT.csv", help="results file (default: <input name>.results.csv here); "
                                                           "a name ending in .xlsx writes an Excel workbook")
    run.add_argument("--results-delimiter", type=results_delimiter, metavar="D",
                     help="delimiter of the results CSV: , ; tab | (default: the mapping's results_delimiter, else ,)")
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
    run.add_argument("--wait-for-lock", type=float, default=0.0, metavar="S",
                     help="while another run on this computer sends to the same database, wait up to S seconds "
                          "(default: stop at once with a message naming it)")
    run.add_argument("--settle-seconds", type=float, default=None, metavar="S",
                     help="files found by a pattern that changed in the last S seconds (or change while "
                          "watched) are left for the next run (default 60; 0 turns the check off)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copernica-import",
        description="Import contact spreadsheets into Copernica: one profile per row, "
                    "a results CSV pairing every row with its profile ID or the reason it has none.")
    parser.add_argument("--version", action="version", version=f"copernica-import {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _run_parser(sub)

    check = sub.add_parser("check", help="check a file without sending anything",
                           description="Read, map and check every row; send nothing.")
    check.add_argument("file", metavar="FILE")
    _input_options(check)
    _api_options(check)
    check.add_argument("--report", metavar="OUT.csv",
                       help="write every row's verdict, and the values each mapped field would get, to a CSV "
                            "(or .xlsx)")
    check.add_argument("--results-delimiter", type=results_delimiter, metavar="D",
                       help="delimiter of the report CSV: , ; tab | (default: the mapping's results_delimiter, else ,)")
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
    init.add_argument("--header-row", type=int, metavar="N", help="the row holding the column names (default: found)")
    _api_options(init)

    schema = sub.add_parser("schema", help="write a database's structure as YAML",
                            description="Fetch a database's fields and interests; print them as a schema file.")
    schema.add_argument("--database", type=int, required=True, metavar="ID")
    schema.add_argument("--output", "-o", metavar="S.yaml", help="write here (default: print)")
    _api_options(schema)

    rollback = sub.add_parser("rollback", help="delete the profiles a run created",
                              description="Delete every profile a run created (not the ones it updated).")
    rollback.add_argument("results", metavar="RESULTS.csv")
    rollback.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    rollback.add_argument("--output", metavar="OUT.csv", help="rollback results file (default: RESULTS.rollback.csv)")
    rollback.add_argument("--workers", type=int, default=8, metavar="N", help="deletes in flight at most (default 8)")
    rollback.add_argument("--rate", type=float, default=None, metavar="R", help="at most R requests per second")
    _api_options(rollback)

    ui = sub.add_parser("ui", help="the import page in your browser (no terminal needed after this)",
                        description="Start the import page on this computer (127.0.0.1) and open it in the browser.")
    ui.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ui.add_argument("--no-browser", action="store_true", help="print the address only (servers, tests)")
    ui.add_argument("--max-upload-mb", type=float, default=100, metavar="MB", help="largest file accepted (default 100)")
    ui.add_argument("--api-url", default=None, metavar="URL", help="the API address the page proposes")
    ui.add_argument("--verbose", "-v", action="count", default=0, help="more detail on stderr")

    sub.add_parser("sandbox", help="start a local Copernica-compatible sandbox server", add_help=False)
    return parser
