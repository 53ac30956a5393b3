"""Each command's parser: its options, their help, its examples and its exit codes.

``build_parser()`` is the whole command line (``importer.cli`` parses with
it; ``importer.completion`` writes shell completion from it). The epilog of
each command's help ends with real examples, its exit codes and the
``COPERNICA_*`` variables it reads (from the one table of settings,
``importer.settings.SETTINGS``). Turning the parsed text into settings is
``importer.arguments``.
"""
from __future__ import annotations

import argparse

from importer import __version__
from importer.settings import API_URL_ENV, CONFIG_ENV, JOBS_FILE_NAME, SETTINGS, TOKEN_ENV, environment_variables

RESULTS_DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|"}


class Msg:
    """What the parser says about a value it cannot take (argparse adds the option)."""
    BAD_RESULTS_DELIMITER = "{value!r} is not one of: , ; tab |"


def results_delimiter(text: str) -> str:
    """--results-delimiter: , ; tab or |"""
    if text not in RESULTS_DELIMITERS:
        raise argparse.ArgumentTypeError(Msg.BAD_RESULTS_DELIMITER.format(value=text))
    return RESULTS_DELIMITERS[text]


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
                 3: "stopped early (Ctrl-C, SIGTERM, Copernica gone after some deletes): run the same command "
                    "again to continue", 75: _TEMPORARY},
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
    p.add_argument("--format", dest="input_format", choices=("csv", "tsv", "csv.gz", "xlsx", "xls", "ods", "json",
                                                              "ndjson"),
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
    _jobs_options(run, all_jobs_help=all_jobs_help)
    _input_options(run)
    _api_options(run, run=True)
    _sending_options(run)
    _output_options(run)
    _drop_options(run)
    _night_options(run)


def _jobs_options(run: argparse.ArgumentParser, *, all_jobs_help: str) -> None:
    """--job, --all-jobs, --config."""
    jobs = run.add_argument_group("jobs (see `copernica-import config`)")
    _completes(jobs.add_argument("--job", metavar="NAME", help=f"the job NAME of the jobs file ({JOBS_FILE_NAME}"
                                 " here, or --config)"), "job")
    jobs.add_argument("--all-jobs", action="store_true", default=None, help=all_jobs_help)
    _completes(jobs.add_argument("--config", metavar="FILE",
                                 help=f"the jobs file (default: ./{JOBS_FILE_NAME}, or $COPERNICA_CONFIG)"), "file")


def _sending_options(run: argparse.ArgumentParser) -> None:
    """Where the results go and how the rows are sent."""
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


def _output_options(p: argparse.ArgumentParser) -> None:
    _completes(p.add_argument("--summary-json", metavar="PATH",
                              help="write the summary as JSON (for scripts); '-': to stdout"), "file")
    p.add_argument("--json", action="store_true", default=None,
                   help="print the summary as JSON on stdout (schema_version 2; everything else goes to stderr)")
    _completes(p.add_argument("--report-html", metavar="PATH",
                              help="write a self-contained HTML report: counts, chart, reasons with example "
                                   "rows, speed; '-': to stdout"), "file")


def _drop_options(run: argparse.ArgumentParser) -> None:
    """Drop folders: results and archive folders, the lock, files still being written."""
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
                          "watched) are left for the next run (default 60; 0 turns the check off); given, "
                          "it applies to files named on the command line too")


def _night_options(run: argparse.ArgumentParser) -> None:
    """What a night (cron) needs: no input as an error, time limits, the history."""
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
    for add in (_run_parser, _check_parser, _init_parser, _schema_parser, _rollback_parser, _config_parser,
                _completion_parser, _ui_parser, _sandbox_parser):
        add(sub)
    parser.subcommands = dict(sub.choices)
    return parser


def _check_parser(sub) -> None:
    """check FILE: read, map and check every row; send nothing."""
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


def _init_parser(sub) -> None:
    """init FILE: draft a mapping."""
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


def _schema_parser(sub) -> None:
    """schema --database ID: a database's structure as YAML."""
    schema = _subparser(sub, "schema", help="write a database's structure as YAML",
                        description="Fetch a database's fields and interests; print them as a schema file.")
    schema.add_argument("--database", type=int, required=True, metavar="ID")
    _completes(schema.add_argument("--output", "-o", metavar="S.yaml", help="write here (default: print)"), "yaml")
    _api_options(schema)
    _finish(schema, "schema")


def _rollback_parser(sub) -> None:
    """rollback RESULTS.csv: delete what a run created."""
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


def _config_parser(sub) -> None:
    """config: the settings a run (or each job) would use, and where each comes from."""
    config = _subparser(sub, "config", help="show the settings a job would use, and where each comes from",
                        usage="%(prog)s [--job NAME] [--config FILE] [--json] [run's options]",
                        description="Print the settings a run (or each job of the jobs file) would use and where "
                                    "each one comes from: the command line, the environment, the jobs file, the "
                                    "mapping or the default, in that order. It takes run's options, to show what "
                                    "they would change. The access token is never shown, only where it is set "
                                    "from. --json prints the settings as JSON.")
    _run_options(config, all_jobs_help="every job (the default when no --job is given)")
    _finish(config, "config")


def _completion_parser(sub) -> None:
    """completion SHELL: a completion script."""
    completion = _subparser(sub, "completion", help="print a shell completion script",
                            description="Print a completion script for bash, zsh or fish: commands, options, "
                                        "mapping files (*.yaml), input files and job names.")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    _finish(completion, "completion")


def _ui_parser(sub) -> None:
    """ui: the import page."""
    ui = sub.add_parser("ui", help="the import page in your browser (no terminal needed after this)",
                        description="Start the import page on this computer (127.0.0.1) and open it in the browser.")
    ui.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ui.add_argument("--no-browser", action="store_true", help="print the address only (servers, tests)")
    ui.add_argument("--max-upload-mb", type=float, default=100, metavar="MB", help="largest file accepted (default 100)")
    ui.add_argument("--api-url", default=None, metavar="URL", help="the API address the page proposes")
    ui.add_argument("--verbose", "-v", action="count", default=0, help="more detail on stderr")


def _sandbox_parser(sub) -> None:
    """sandbox: the local Copernica stand-in (its own parser is importer.sandbox.cli's)."""
    sub.add_parser("sandbox", help="start a local Copernica-compatible sandbox server", add_help=False)
