"""The command line's vocabulary: the parser, the COPERNICA_* environment, the token.

Everything here turns text (argv, the environment, a token file) into
settings, and refuses an output named on the command line that is one of its
inputs; nothing here imports, checks or sends (``cli`` does that). Each
command's parser (its options, examples and exit codes) is
``importer.command_parsers``.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import UsageError
from importer.settings import SETTINGS, TOKEN_ENV

if TYPE_CHECKING:
    from importer.command_parsers import Parser

_TYPES = {"int": int, "float": float}
# Settings a cron line can leave to the environment: (option, variable, type), from the one
# table of settings (importer.settings.SETTINGS). A flag on the command line wins over the variable.
ENVIRONMENT_SETTINGS: tuple[tuple[str, str, type], ...] = tuple(
    (s.name, s.env, _TYPES.get(s.kind, str)) for s in SETTINGS if s.env and s.kind != "duration")


class Msg:
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


def refuse_overlapping_paths(args: argparse.Namespace) -> None:
    """Before anything is written (the log file included): no output on an input (not run's: see jobs)."""
    from importer.paths import refuse_overlaps

    def path(value) -> Path | None:
        return Path(value) if value and value != "-" else None

    inputs = [("the mapping", path(getattr(args, "mapping", None))), ("the schema", path(getattr(args, "schema", None))),
              ("the token file", path(getattr(args, "token_file", None)))]
    if args.command in ("check", "init"):
        inputs.append(("the input file", path(args.file)))
    elif args.command == "rollback":
        from importer.journal import journal_path_for
        inputs += [("the results file", path(args.results)), ("the journal", journal_path_for(Path(args.results)))]
    outputs = [("--log-file", path(getattr(args, "log_file", None))),
               ("--summary-json", path(getattr(args, "summary_json", None))),
               ("--report-html", path(getattr(args, "report_html", None))),
               ("--report", path(getattr(args, "report", None))),
               ("--output", path(getattr(args, "output", None)))]
    refuse_overlaps(inputs, outputs)
