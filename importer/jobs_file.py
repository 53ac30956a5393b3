"""The jobs file: found, read and checked against the settings table (``importer.settings``).

``copernica-import.toml`` (in the working directory, or ``--config FILE``, or
``$COPERNICA_CONFIG``) names the nightly jobs::

    [defaults]                       # every job's, unless the job says otherwise
    token_file = "/srv/import/token"
    log_file = "import.log"
    resume = true
    yes = true

    [jobs.leads]
    input = "drops/leads/*.csv"      # a pattern, a file, or a list of them
    mapping = "leads.yaml"
    archive_dir = "archive/{job}"    # {job} is the job's name
    expect_files = true

    [jobs.orders]
    input = ["drops/orders/*.csv", "drops/orders/*.xlsx"]
    mapping = "orders.yaml"
    on_existing = "upsert"
    max_runtime = "2h"

Relative paths in the file are relative to the file's folder (``resolve``
places them). Every key must be a setting of the table that a jobs file may
hold, with a value of its type; the access token never belongs here (a
``token_file`` does).
"""
from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer.errors import UsageError
from importer.settings import BY_NAME, CONFIG_ENV, JOBS_FILE_NAME, SETTINGS, Setting, Settings, resolve
from importer.times import parse_duration

JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# jobs-file keys that are a mistake with a reason of their own
_TOKEN_KEYS = {"token", "access_token", "copernica_access_token"}


class Msg:
    """What the jobs file tells a user."""
    NO_JOBS_FILE = ("no jobs file: {name} is not in {folder} (give one with --config FILE or ${env}); "
                    "the README's 'Nightly drops' shows one")
    JOBS_FILE_MISSING = "the jobs file {path} does not exist"
    JOBS_FILE_UNREADABLE = "the jobs file {path} cannot be read: {why}"
    JOBS_FILE_SYNTAX = "the jobs file {path} is not valid TOML: {why}"
    UNKNOWN_SECTION = ("{path}: unknown section [{name}]; a jobs file has [defaults] and one [jobs.NAME] "
                       "section per job")
    NOT_A_TABLE = "{path}: [{name}] must be a section (a table of settings)"
    NO_JOBS = "{path} names no job: add a [jobs.NAME] section with input and mapping"
    BAD_JOB_NAME = ("{path}: the job name {name!r} may only hold letters, digits, '-', '_' and '.' "
                    "(it names the job on the command line, in the log and in lock files)")
    UNKNOWN_KEY = "{path}: [{section}] {key}: unknown setting{hint}. The settings are: {known}"
    DID_YOU_MEAN = " (did you mean {guess!r}?)"
    NOT_IN_JOBS_FILE = "{path}: [{section}] {key}: this setting is for the command line only"
    TOKEN_IN_FILE = ("{path}: [{section}] {key}: the access token does not belong in the jobs file (it is often "
                     "readable by others, and ends up in backups and repositories). Put it in a file only you "
                     "can read (chmod 600) and name that: token_file = \"/path/to/token\"")
    BAD_VALUE = "{path}: [{section}] {key}: {why}"
    WANT = {"path": "must be a path (text in quotes)", "paths": "must be a path or pattern, or a list of them",
            "text": "must be text (in quotes)", "int": "must be a whole number", "float": "must be a number",
            "bool": "must be true or false", "duration": "must be a duration such as \"90s\", \"45m\" or \"2h\""}
    NOT_A_CHOICE = "must be one of {choices}, not {value!r}"
    UNKNOWN_JOB = "{path} has no job {name!r}{hint}; its jobs are: {jobs}"


# -- the jobs file ------------------------------------------------------------------------
@dataclass
class JobsFile:
    """A parsed, checked jobs file."""
    path: Path
    defaults: dict[str, Any]
    jobs: dict[str, dict[str, Any]]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def job(self, name: str) -> dict[str, Any]:
        if name not in self.jobs:
            guess = difflib.get_close_matches(name, list(self.jobs), n=1)
            raise UsageError(Msg.UNKNOWN_JOB.format(path=self.path, name=name, jobs=", ".join(self.jobs),
                                                    hint=Msg.DID_YOU_MEAN.format(guess=guess[0]) if guess else ""))
        return self.jobs[name]


def no_jobs_file() -> UsageError:
    """The error for a job asked for when there is no jobs file to find it in."""
    return UsageError(Msg.NO_JOBS_FILE.format(name=JOBS_FILE_NAME, folder=Path.cwd(), env=CONFIG_ENV))


def find_jobs_file(given: str | None, environ: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """--config FILE, else $COPERNICA_CONFIG, else ./copernica-import.toml if it is there."""
    chosen = given or environ.get(CONFIG_ENV, "").strip() or None
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise UsageError(Msg.JOBS_FILE_MISSING.format(path=path))
        return path
    default = (cwd or Path.cwd()) / JOBS_FILE_NAME
    return default if default.is_file() else None


def load_jobs_file(path: Path) -> JobsFile:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise UsageError(Msg.JOBS_FILE_UNREADABLE.format(path=path, why=exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise UsageError(Msg.JOBS_FILE_UNREADABLE.format(path=path, why="it is not UTF-8 text")) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(Msg.JOBS_FILE_SYNTAX.format(path=path, why=exc)) from None
    for name in data:
        if name not in ("defaults", "jobs"):
            raise UsageError(Msg.UNKNOWN_SECTION.format(path=path, name=name))
    defaults = _section(path, "defaults", data.get("defaults", {}))
    jobs_table = data.get("jobs", {})
    if not isinstance(jobs_table, dict):
        raise UsageError(Msg.NOT_A_TABLE.format(path=path, name="jobs"))
    jobs = {}
    for name, table in jobs_table.items():
        if not JOB_NAME.fullmatch(name):
            raise UsageError(Msg.BAD_JOB_NAME.format(path=path, name=name))
        jobs[name] = _section(path, f"jobs.{name}", table)
    if not jobs:
        raise UsageError(Msg.NO_JOBS.format(path=path))
    return JobsFile(Path(path), defaults, jobs)


def _section(path: Path, section: str, table: Any) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise UsageError(Msg.NOT_A_TABLE.format(path=path, name=section))
    checked = {}
    for key, value in table.items():
        setting = BY_NAME.get(key)
        if key.lower() in _TOKEN_KEYS:
            raise UsageError(Msg.TOKEN_IN_FILE.format(path=path, section=section, key=key))
        if setting is None:
            known = [s.name for s in SETTINGS if s.in_jobs_file]
            guess = difflib.get_close_matches(key, known, n=1)
            raise UsageError(Msg.UNKNOWN_KEY.format(path=path, section=section, key=key, known=", ".join(known),
                                                    hint=Msg.DID_YOU_MEAN.format(guess=guess[0]) if guess else ""))
        if not setting.in_jobs_file:
            raise UsageError(Msg.NOT_IN_JOBS_FILE.format(path=path, section=section, key=key))
        try:
            checked[key] = _typed(setting, value)
        except ValueError as exc:
            raise UsageError(Msg.BAD_VALUE.format(path=path, section=section, key=key, why=exc)) from None
    return checked


def _typed(setting: Setting, value: Any) -> Any:
    """A jobs-file value checked against its setting's type (ValueError says what is wanted)."""
    kind, want = setting.kind, Msg.WANT.get(setting.kind, "")
    if kind == "paths":
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ValueError(want)
        return [str(v) for v in values]
    if kind in ("path", "text"):
        if not isinstance(value, str):
            raise ValueError(want)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(want)
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(want)
        return _choice(setting, value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(want)
        return float(value)
    if kind == "duration":
        try:
            return parse_duration(value, setting.name)
        except ValueError:
            raise ValueError(Msg.WANT["duration"]) from None
    if kind == "choice":
        if not isinstance(value, str):
            raise ValueError(Msg.WANT["text"])
        return _choice(setting, value)
    raise AssertionError(kind)


def _choice(setting: Setting, value: Any) -> Any:
    if setting.choices and value not in setting.choices:
        raise ValueError(Msg.NOT_A_CHOICE.format(choices=", ".join(str(c) for c in setting.choices), value=value))
    return value


def settings_to_show(given: Mapping[str, Any], environ: Mapping[str, str], *, config: str | None,
                     job: str | None) -> list[Settings]:
    """What `config` shows: the job's settings, each job's of the jobs file, or a run's without one."""
    path = find_jobs_file(config, environ)
    jobs_file = load_jobs_file(path) if path is not None else None
    if job and jobs_file is None:
        raise no_jobs_file()
    names: list[str | None] = [job] if job else (list(jobs_file.jobs) if jobs_file else [None])
    return [resolve(given, environ, jobs_file=jobs_file, job=name, read_mapping=True) for name in names]
