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
from importer.settings import API_URL_ENV, CONFIG_ENV, JOBS_FILE_NAME, SETTINGS, TOKEN_ENV, environment_variables

_TYPES = {"int": int, "float": float}
# Settings a cron line can leave to the environment: (option, variable, type), from the one
# table of settings (importer.settings.SETTINGS). A flag on the command line wins over the variable.
ENVIRONMENT_SETTINGS: tuple[tuple[str, str, type], ...] = tuple(
    (s.name, s.env, _TYPES.get(s.kind, str)) for s in SETTINGS if s.env and s.kind != "duration")


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
    UNKNOWN_OPTION = "unrecognized arguments: {args}{hint}"
    DID_YOU_MEAN = " (did you mean {guess}?)"


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


def given_settings(args: argparse.Namespace) -> dict:
    """The run settings the user typed (argparse leaves the others None), for importer.settings.resolve."""
    given = {s.name: getattr(args, s.name, None) for s in SETTINGS if s.name != "input"}
    given["input"] = list(getattr(args, "files", None) or []) or None
    return given


def unknown_arguments(parser: "Parser", command: str | None, extras: list[str]) -> None:
    """Exits 2 with the command's own usage (not the top level's) and the option most likely meant."""
    import difflib

    target = parser.subcommands.get(command) if command else None
    target = target or parser
    known = [o for action in target._actions for o in action.option_strings]
    guesses = [g for e in extras if e.startswith("-")
               for g in difflib.get_close_matches(e.split("=")[0], known, n=1, cutoff=0.6)]
    hint = Msg.DID_YOU_MEAN.format(guess=" ".join(guesses)) if guesses else ""
    target.error(Msg.UNKNOWN_OPTION.format(args=" ".join(extras), hint=hint))


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
# What a shell completes for an option's value (importer.completion reads it): "file" any
# file, "yaml" *.yaml/*.yml, "dir" a folder, "job" a job of ./copernica-import.toml.
COMPLETE_ATTRIBUTE = "completes"


def _completes(action: argparse.Action, kind: str) -> argparse.Action:
    setattr(action, COMPLETE_ATTRIBUTE, kind)
    return action


# exit codes each command can end with: code -> meaning (run's are importer.summary.EXIT_CODES)
def _run_exit_codes() -> dict[int, str]:
    from importer.summary import EXIT_CODES
    return {code: text for code, (_, text) in EXIT_CODES.items()}


_SETUP = "nothing was sent: fix the arguments, mapping, file, token or database, then run it again"
_TEMPORARY = "Copernica could not be reached (or another run holds the lock): try again later"
EXIT_CODES_OF = {
    "check": {0: "every row would be sent", 1: "some rows are invalid (see --report)", 2: _SETUP, 75: _TEMPORARY},
    "init": {0: "the draft mapping was written", 2: _SETUP, 75: _TEMPORARY},
    "schema": {0: "the structure was written", 2: _SETUP, 75: _TEMPORARY},
    "rollback": {0: "every created profile was deleted (or --dry-run listed them)", 1: "some deletes failed",
                 2: "nothing was deleted (declined, or a setup problem)",
                 3: "stopped after deleting some: run the same command again to continue", 75: _TEMPORARY},
    "config": {0: "the settings were printed", 2: "the jobs file, a job's name or a setting is wrong"},
    "completion": {0: "the script was printed", 2: "an unknown shell"},
}

EXAMPLES = {
    "run": [
        ("import one file", "copernica-import run contacts.csv --mapping contacts.yaml"),
        ("tonight's drops, then archive them (a cron line)",
         "copernica-import run 'drops/*.csv' --mapping shop.yaml --archive-dir archive --resume --yes --quiet"),
        (f"every job of ./{JOBS_FILE_NAME}", "copernica-import run --all-jobs --quiet"),
        ("from a pipe, the summary as JSON on stdout",
         "cat leads.ndjson | copernica-import run - --format ndjson --mapping leads.yaml --yes --json"),
    ],
    "check": [
        ("every row checked against the database", "copernica-import check contacts.csv --mapping contacts.yaml"),
        ("the verdict per row, as CSV on stdout",
         "copernica-import check contacts.xlsx --mapping contacts.yaml --report - > verdicts.csv"),
        ("for a script", "copernica-import check contacts.csv --mapping contacts.yaml --json"),
    ],
    "init": [
        ("draft a mapping from your file and your database",
         "copernica-import init contacts.csv --database 1234 --output contacts.yaml"),
        ("offline, against a structure file", "copernica-import init contacts.xlsx --schema mydb.yaml"),
    ],
    "schema": [
        ("a database's fields and interests", "copernica-import schema --database 1234"),
        ("to rehearse in the sandbox", "copernica-import schema --database 1234 --output mydb.yaml"),
    ],
    "rollback": [
        ("list what would be deleted", "copernica-import rollback contacts.results.csv --dry-run"),
        ("delete what the run created", "copernica-import rollback contacts.results.csv --yes"),
    ],
    "config": [
        (f"every job of ./{JOBS_FILE_NAME}", "copernica-import config"),
        ("one job, for a script", "copernica-import config --job leads --json"),
    ],
    "completion": [
        ("bash, for this shell", "source <(copernica-import completion bash)"),
        ("zsh", "copernica-import completion zsh > ~/.zfunc/_copernica-import"),
        ("fish", "copernica-import completion fish > ~/.config/fish/completions/copernica-import.fish"),
    ],
}


def _epilog(command: str | None, options: set[str] | None = None) -> str:
    """Examples, the exit codes and the COPERNICA_* variables the command reads (``options``: its flags)."""
    lines = []
    examples = EXAMPLES.get(command or "run", []) if command else [EXAMPLES["run"][0], EXAMPLES["run"][2]] + \
        [EXAMPLES["check"][0], EXAMPLES["config"][0]]
    if examples:
        lines.append("examples:")
        for what, line in examples:
            lines += [f"  # {what}", f"  {line}"]
    codes = _run_exit_codes() if command in (None, "run") else EXIT_CODES_OF.get(command, {})
    if codes:
        lines += ["", "exit codes:"]
        lines += _wrapped([(str(code), text) for code, text in codes.items()], width=4)
    variables = environment_variables()
    if options is not None:  # the command's own: its options' variables, the token's, the state folder's
        by_env = {s.env: s.option for s in SETTINGS if s.env}
        needs = {**by_env, CONFIG_ENV: "--config", TOKEN_ENV: "--token-file"}
        variables = {k: v for k, v in variables.items() if k not in needs or needs[k] in options}
    if variables and command not in ("completion",):
        lines += ["", "environment (a flag on the command line wins; `copernica-import config` shows what is used):"]
        lines += _wrapped(list(variables.items()), width=max(map(len, variables)))
    return "\n".join(lines)


def _wrapped(rows: list[tuple[str, str]], *, width: int, total: int = 100) -> list[str]:
    import textwrap

    out = []
    for key, text in rows:
        wrapped = textwrap.wrap(text, total - width - 4) or [""]
        out.append(f"  {key:<{width}}  {wrapped[0]}")
        out += [f"  {'':<{width}}  {more}" for more in wrapped[1:]]
    return out


def _subparser(sub, name: str, *, help: str, description: str, **kwargs) -> argparse.ArgumentParser:
    """A command's parser; its epilog is written once its options are known (``_finish``)."""
    return sub.add_parser(name, help=help, description=description,
                          formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def _finish(parser: argparse.ArgumentParser, command: str) -> None:
    options = {o for action in parser._actions for o in action.option_strings}
    parser.epilog = _epilog(command, options)


def _input_options(p: argparse.ArgumentParser) -> None:
    _completes(p.add_argument("--mapping", "-m", metavar="M.yaml",
                              help="the YAML column mapping (default: $COPERNICA_MAPPING)"), "yaml")
    p.add_argument("--database", type=int, metavar="ID", help="database ID (overrides the mapping's)")
    _completes(p.add_argument("--schema", metavar="S.yaml",
                              help="check against this database structure file instead of asking the API"), "yaml")
    p.add_argument("--encoding", help="text encoding of a CSV (default: detected)")
    p.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")
    p.add_argument("--sheet", help="workbook sheet by name or position (default: first visible)")
    p.add_argument("--header-row", type=int, metavar="N",
                   help="the row holding the column names (default: found; overrides the mapping's header_row)")
    p.add_argument("--on-existing", choices=("create", "skip", "update", "upsert"),
                   help="what to do when a profile with the same key exists (default: the mapping's, else create)")
    p.add_argument("--format", dest="input_format", choices=("csv", "tsv", "csv.gz", "xlsx", "xls", "ods", "ndjson"),
                   help="the format of '-' (standard input); default: recognised from its first bytes")


def _api_options(p: argparse.ArgumentParser, *, run: bool = False) -> None:
    p.add_argument("--api-url", default=None, metavar="URL",
                   help=f"API base URL (default: ${API_URL_ENV} or https://api.copernica.com/v3, /v4 with "
                        "--api-version 4)")
    p.add_argument("--api-version", type=int, default=None,
                   help="3: token in the query string (default); 4: bearer JWT from the authentication service")
    p.add_argument("--auth-url", default=None, metavar="URL",
                   help="v4 authentication address (default: https://authenticate.copernica.com, or "
                        "/authenticate on the API's host when that is this computer, e.g. a sandbox)")
    _completes(p.add_argument("--token-file", metavar="FILE",
                              help=f"file holding the access token (default: ${TOKEN_ENV})"), "file")
    p.add_argument("--timeout", type=float, default=None if run else 30.0, metavar="S",
                   help="read timeout per request (default 30)")
    p.add_argument("--verbose", "-v", action="count", default=0,
                   help="-v: what the run does (start, files, archive, end) on stderr; -vv: every row and "
                        "request too, into --log-file only when there is one (not into cron's mail)")
    _completes(p.add_argument("--log-file", metavar="FILE",
                              help="append a log here, with times and zone (never contains the access token)"),
               "file")


def _run_parser(sub) -> None:
    run = _subparser(sub, "run", help="import files",
                     usage="%(prog)s [options] FILE... | - | --job NAME | --all-jobs",
                     description="Import FILE(s) with a mapping, or the jobs of a jobs file.")
    _run_options(run, all_jobs_help="run every job of the jobs file, one after the other; exits with the "
                                    "highest code")
    _finish(run, "run")


def _run_options(run: argparse.ArgumentParser, *, all_jobs_help: str) -> None:
    """run's options (config takes them too, to show what they change)."""
    _completes(run.add_argument(
        "files", nargs="*", metavar="FILE",
        help="CSV, TSV, TXT, XLSX, XLS, ODS, NDJSON or .csv.gz; several, or patterns like 'drops/*.csv', "
             "are imported one after the other; '-' reads standard input"), "file")
    jobs = run.add_argument_group("jobs (see `copernica-import config`)")
    _completes(jobs.add_argument("--job", metavar="NAME", help=f"the job NAME of the jobs file ({JOBS_FILE_NAME}"
                                 " here, or --config)"), "job")
    jobs.add_argument("--all-jobs", action="store_true", default=None, help=all_jobs_help)
    _completes(jobs.add_argument("--config", metavar="FILE",
                                 help=f"the jobs file (default: ./{JOBS_FILE_NAME}, or $COPERNICA_CONFIG)"), "file")
    _input_options(run)
    _api_options(run, run=True)
    _completes(run.add_argument("--results", metavar="OUT.csv",
                                help="results file (default: <input name>.results.csv here); "
                                     "a name ending in .xlsx writes an Excel workbook"), "file")
    run.add_argument("--results-delimiter", type=results_delimiter, metavar="D",
                     help="delimiter of the results CSV: , ; tab | (default: the mapping's results_delimiter, else ,)")
    run.add_argument("--dry-run", action="store_true", default=None, help="do everything but sending")
    run.add_argument("--resume", action="store_true", default=None,
                     help="continue an interrupted run of the same file")
    run.add_argument("--skip-failed", action="store_true", default=None,
                     help="with --resume: do not retry rows that failed")
    run.add_argument("--overwrite", action="store_true", default=None,
                     help="replace an earlier run's results and journal")
    run.add_argument("--workers", type=int, default=None, metavar="N", help="requests in flight at most (default 16)")
    run.add_argument("--rate", type=float, default=None, metavar="R", help="at most R requests per second")
    run.add_argument("--max-errors", type=int, default=None, metavar="N",
                     help="stop (resumable, exit 3) after N rows failed at the API")
    run.add_argument("--retries", type=int, default=None, metavar="N",
                     help="attempts per request for temporary errors (default 6)")
    run.add_argument("--sandbox", action="store_true", default=None,
                     help="import into a built-in local sandbox instead of Copernica (a rehearsal)")
    run.add_argument("--quiet", "-q", action="store_true", default=None, help="no progress output")
    run.add_argument("--yes", "-y", action="store_true", default=None,
                     help="do not ask for confirmation before sending (needed without a terminal, e.g. cron)")
    run.add_argument("--confirm", action="store_true", default=None,
                     help="ask for confirmation even when the API is on this computer")
    _output_options(run)
    _completes(run.add_argument("--results-dir", metavar="DIR",
                                help="write each file's results (and journal) in DIR (default: the current "
                                     "folder; a job's: results/<job>)"), "dir")
    _completes(run.add_argument("--archive-dir", metavar="DIR",
                                help="move each fully processed file, with its results and journal, to DIR"), "dir")
    run.add_argument("--keep-days", type=float, default=None, metavar="N",
                     help="with --archive-dir: remove files archived more than N days ago")
    run.add_argument("--wait-for-lock", type=float, default=None, metavar="S",
                     help="while another run on this computer sends to the same database, wait up to S seconds "
                          "(default: stop at once with a message naming it, exit 75)")
    run.add_argument("--settle-seconds", type=float, default=None, metavar="S",
                     help="files found by a pattern that changed in the last S seconds (or change while "
                          "watched) are left for the next run (default 60; 0 turns the check off)")
    night = run.add_argument_group("nights (cron)")
    night.add_argument("--expect-files", action="store_true", default=None,
                       help="a night on which the patterns find no input file is an error (exit 66), "
                            "not a quiet night (exit 0)")
    night.add_argument("--max-runtime", type=_duration("--max-runtime"), default=None, metavar="DURATION",
                       help="stop after this long (90m, 2h), resumably (exit 3), with one clear line")
    night.add_argument("--max-outage", type=_duration("--max-outage"), default=None, metavar="DURATION",
                       help="stop when Copernica has been unreachable this long (default 30m; 0: wait), "
                            "resumably (exit 3)")
    _completes(night.add_argument("--history", metavar="FILE",
                                  help="append one JSON line at each run's start and end here (a job's default: "
                                       "history.jsonl beside the jobs file)"), "file")


def _output_options(p: argparse.ArgumentParser) -> None:
    _completes(p.add_argument("--summary-json", metavar="PATH",
                              help="write the summary as JSON (for scripts); '-': to stdout"), "file")
    p.add_argument("--json", action="store_true", default=None,
                   help="print the summary as JSON on stdout (schema_version 2; everything else goes to stderr)")
    _completes(p.add_argument("--report-html", metavar="PATH",
                              help="write a self-contained HTML report: counts, chart, reasons with example "
                                   "rows, speed; '-': to stdout"), "file")


def _duration(name: str):
    from importer.times import parse_duration

    def parse(text: str) -> float:
        try:
            return parse_duration(text, name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = "duration"
    return parse


class Parser(argparse.ArgumentParser):
    """The top-level parser; ``subcommands`` maps each command to its own parser."""
    subcommands: dict[str, argparse.ArgumentParser]


def build_parser() -> Parser:
    parser = Parser(
        prog="copernica-import",
        description="Import contact spreadsheets into Copernica: one profile per row, "
                    "a results CSV pairing every row with its profile ID or the reason it has none.",
        epilog=_epilog(None), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"copernica-import {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _run_parser(sub)

    check = _subparser(sub, "check", help="check a file without sending anything",
                       description="Read, map and check every row; send nothing.")
    _completes(check.add_argument("file", metavar="FILE", help="the file to check; '-' reads standard input"), "file")
    _input_options(check)
    _api_options(check)
    _completes(check.add_argument("--report", metavar="OUT.csv",
                                  help="write every row's verdict, and the values each mapped field would get, to a "
                                       "CSV (or .xlsx); '-': to stdout"), "file")
    check.add_argument("--results-delimiter", type=results_delimiter, metavar="D",
                       help="delimiter of the report CSV: , ; tab | (default: the mapping's results_delimiter, else ,)")
    _completes(check.add_argument("--summary-json", metavar="PATH",
                                  help="write the summary as JSON; '-': to stdout"), "file")
    check.add_argument("--json", action="store_true",
                       help="print the summary as JSON on stdout (schema_version 2; everything else goes to stderr)")
    check.add_argument("--offline", action="store_true",
                       help="do not ask the API for the database structure (use --schema for type checks)")
    _finish(check, "check")

    init = _subparser(sub, "init", help="draft a mapping for a file", description="Draft a mapping YAML for FILE.")
    _completes(init.add_argument("file", metavar="FILE"), "file")
    init.add_argument("--database", type=int, metavar="ID",
                      help="match columns to this database's fields (from the API, or picks it in --schema)")
    _completes(init.add_argument("--schema", metavar="S.yaml", help="match columns to a database structure file"),
               "yaml")
    _completes(init.add_argument("--output", "-o", metavar="M.yaml", help="write the draft here (default: print it)"),
               "yaml")
    init.add_argument("--encoding")
    init.add_argument("--delimiter")
    init.add_argument("--sheet")
    init.add_argument("--header-row", type=int, metavar="N", help="the row holding the column names (default: found)")
    _api_options(init)
    _finish(init, "init")

    schema = _subparser(sub, "schema", help="write a database's structure as YAML",
                        description="Fetch a database's fields and interests; print them as a schema file.")
    schema.add_argument("--database", type=int, required=True, metavar="ID")
    _completes(schema.add_argument("--output", "-o", metavar="S.yaml", help="write here (default: print)"), "yaml")
    _api_options(schema)
    _finish(schema, "schema")

    rollback = _subparser(sub, "rollback", help="delete the profiles a run created",
                          description="Delete every profile a run created (not the ones it updated).")
    _completes(rollback.add_argument("results", metavar="RESULTS.csv"), "file")
    rollback.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--dry-run", action="store_true", help="list what would be deleted")
    _completes(rollback.add_argument("--output", metavar="OUT.csv",
                                     help="rollback results file (default: RESULTS.rollback.csv)"), "file")
    rollback.add_argument("--workers", type=int, default=8, metavar="N", help="deletes in flight at most (default 8)")
    rollback.add_argument("--rate", type=float, default=None, metavar="R", help="at most R requests per second")
    _api_options(rollback)
    _finish(rollback, "rollback")

    config = _subparser(sub, "config", help="show the settings a job would use, and where each comes from",
                        usage="%(prog)s [--job NAME] [--config FILE] [--json] [run's options]",
                        description="Print the settings a run (or each job of the jobs file) would use and where "
                                    "each one comes from: the command line, the environment, the jobs file, the "
                                    "mapping or the default, in that order. It takes run's options, to show what "
                                    "they would change. The access token is never shown, only where it is set "
                                    "from. --json prints the settings as JSON.")
    _run_options(config, all_jobs_help="every job (the default when no --job is given)")
    _finish(config, "config")

    completion = _subparser(sub, "completion", help="print a shell completion script",
                            description="Print a completion script for bash, zsh or fish: commands, options, "
                                        "mapping files (*.yaml), input files and job names.")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    _finish(completion, "completion")

    ui = sub.add_parser("ui", help="the import page in your browser (no terminal needed after this)",
                        description="Start the import page on this computer (127.0.0.1) and open it in the browser.")
    ui.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ui.add_argument("--no-browser", action="store_true", help="print the address only (servers, tests)")
    ui.add_argument("--max-upload-mb", type=float, default=100, metavar="MB", help="largest file accepted (default 100)")
    ui.add_argument("--api-url", default=None, metavar="URL", help="the API address the page proposes")
    ui.add_argument("--verbose", "-v", action="count", default=0, help="more detail on stderr")

    sub.add_parser("sandbox", help="start a local Copernica-compatible sandbox server", add_help=False)
    parser.subcommands = dict(sub.choices)
    return parser
