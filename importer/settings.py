"""The settings of a run, the jobs file, and where each value came from.

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

Relative paths in the file are relative to the file's folder. ``SETTINGS`` is
the one table of a run's settings: each with its command-line option, its
``COPERNICA_*`` variable, its type and its default (the parser's help, the
README and `config` read it). A setting is taken from the first of: the
command line, the environment, the job's section, ``[defaults]``, the mapping
file (``database``, ``on_existing``), the built-in default. ``resolve()``
returns the values with their sources; ``config_text``/``config_dict`` show
them (the token only as where it is set from). Running a job is
``importer.jobs``.

Knows nothing about argv: the command line arrives as a dict of the values
the user gave.
"""
from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.connection import (
    DEFAULT_API_URL,
    DEFAULT_API_URL_V4,
    DEFAULT_MAX_OUTAGE,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
)
from importer.errors import CopernicaImportError, UsageError
from importer.times import duration_text, parse_duration

JOBS_FILE_NAME = "copernica-import.toml"
CONFIG_ENV = "COPERNICA_CONFIG"
TOKEN_ENV = "COPERNICA_ACCESS_TOKEN"
API_URL_ENV = "COPERNICA_API_URL"
STATE_DIR_ENV = "COPERNICA_STATE_DIR"
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class Msg:
    """What the jobs file and the settings tell a user."""
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
    BAD_ENV_NUMBER = "the environment variable {name} must be a number, not {value!r}"
    ENV_VARIABLE = "the environment variable {name}"
    BAD_API_VERSION = "--api-version (or COPERNICA_API_VERSION) must be 3 or 4, not {value}"
    TOKEN_FILE = "set from the token file {path}"
    TOKEN_FILE_MISSING = "token file {path} (it does not exist or cannot be read)"
    TOKEN_ENV = "set from ${env}"
    TOKEN_NONE = "not set: set ${env} or token_file (--token-file)"
    ONE_STDOUT = "only one output can go to standard output ('-'): {outputs}"


# -- the settings -----------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One setting of a run: its command-line option, its variable, its type, its default."""
    name: str
    option: str | None            # the command line's flag (None: positional FILE, or not on the command line)
    env: str | None
    kind: str                     # path, paths, text, int, float, bool, duration, choice
    default: Any = None
    help: str = ""
    in_jobs_file: bool = True
    choices: tuple = ()
    from_mapping: bool = False    # the mapping file may set it
    shown: bool = True            # listed by `config`


SETTINGS: tuple[Setting, ...] = (
    Setting("input", None, None, "paths", None, "files and patterns to import ('-': standard input)"),
    Setting("mapping", "--mapping", "COPERNICA_MAPPING", "path", None, "the YAML column mapping"),
    Setting("database", "--database", "COPERNICA_DATABASE", "int", None, "database ID", from_mapping=True),
    Setting("on_existing", "--on-existing", None, "choice", "create", "create, skip, update or upsert",
            choices=("create", "skip", "update", "upsert"), from_mapping=True),
    Setting("schema", "--schema", None, "path", None, "database structure file instead of asking the API"),
    Setting("encoding", "--encoding", None, "text", None, "text encoding (default: detected)"),
    Setting("delimiter", "--delimiter", None, "text", None, "CSV delimiter (default: detected)"),
    Setting("sheet", "--sheet", None, "text", None, "workbook sheet (default: the first visible one)"),
    Setting("header_row", "--header-row", None, "int", None, "the row with the column names (default: found)"),
    Setting("results_delimiter", "--results-delimiter", None, "text", None,
            "delimiter of the results CSV (default: the mapping's results_delimiter, else ,)"),
    Setting("results", "--results", None, "path", None, "the results file (one input only)", in_jobs_file=False),
    Setting("results_dir", "--results-dir", "COPERNICA_RESULTS_DIR", "path", None,
            "folder of the results files and journals (jobs: results/<job>)"),
    Setting("archive_dir", "--archive-dir", "COPERNICA_ARCHIVE_DIR", "path", None,
            "move finished files, with results and journal, here"),
    Setting("keep_days", "--keep-days", "COPERNICA_KEEP_DAYS", "float", None,
            "remove files archived more than N days ago"),
    Setting("settle_seconds", "--settle-seconds", "COPERNICA_SETTLE_SECONDS", "float", 60.0,
            "leave files changed in the last S seconds for the next run"),
    Setting("expect_files", "--expect-files", None, "bool", False, "no input file found is an error (exit 66)"),
    Setting("resume", "--resume", None, "bool", False, "continue an interrupted run"),
    Setting("skip_failed", "--skip-failed", None, "bool", False, "with --resume: do not retry failed rows"),
    Setting("yes", "--yes", None, "bool", False, "no confirmation before sending"),
    Setting("quiet", "--quiet", None, "bool", False, "no progress output"),
    Setting("workers", "--workers", "COPERNICA_WORKERS", "int", DEFAULT_WORKERS, "requests in flight at most"),
    Setting("rate", "--rate", None, "float", None, "requests per second at most"),
    Setting("max_errors", "--max-errors", None, "int", None, "stop (resumably) after N rows failed"),
    Setting("retries", "--retries", None, "int", DEFAULT_RETRIES, "attempts per request"),
    Setting("timeout", "--timeout", None, "float", DEFAULT_TIMEOUT, "seconds to wait for an answer"),
    Setting("wait_for_lock", "--wait-for-lock", None, "float", 0.0,
            "seconds to wait while another run sends to the same database"),
    Setting("max_runtime", "--max-runtime", "COPERNICA_MAX_RUNTIME", "duration", None,
            "stop (resumably, exit 3) after this long"),
    Setting("max_outage", "--max-outage", "COPERNICA_MAX_OUTAGE", "duration", DEFAULT_MAX_OUTAGE,
            "stop (resumably, exit 3) when Copernica is unreachable this long"),
    Setting("api_url", "--api-url", API_URL_ENV, "text", None, "the API's address"),
    Setting("api_version", "--api-version", "COPERNICA_API_VERSION", "int", 3, "3 or 4", choices=(3, 4)),
    Setting("auth_url", "--auth-url", "COPERNICA_AUTH_URL", "text", None, "v4 authentication address"),
    Setting("token_file", "--token-file", "COPERNICA_TOKEN_FILE", "path", None, "file holding the access token"),
    Setting("log_file", "--log-file", "COPERNICA_LOG_FILE", "path", None, "append the log here"),
    Setting("history", "--history", "COPERNICA_HISTORY", "path", None,
            "append one JSON line per run start and end here (jobs: history.jsonl)"),
    Setting("summary_json", "--summary-json", None, "path", None, "write the summary as JSON ('-': stdout)"),
    Setting("report_html", "--report-html", None, "path", None, "write an HTML report ('-': stdout)"),
    # the command line's alone
    Setting("dry_run", "--dry-run", None, "bool", False, in_jobs_file=False, shown=False),
    Setting("overwrite", "--overwrite", None, "bool", False, in_jobs_file=False, shown=False),
    Setting("sandbox", "--sandbox", None, "bool", False, in_jobs_file=False, shown=False),
    Setting("confirm", "--confirm", None, "bool", False, in_jobs_file=False, shown=False),
    Setting("input_format", "--format", None, "text", None, in_jobs_file=False, shown=False),
)
BY_NAME = {s.name: s for s in SETTINGS}
# variables that are not a run setting's
OTHER_VARIABLES = {
    TOKEN_ENV: "the access token (a token file comes first: --token-file, $COPERNICA_TOKEN_FILE)",
    CONFIG_ENV: f"the jobs file (default: ./{JOBS_FILE_NAME})",
    STATE_DIR_ENV: "the state folder of the per-database and per-job locks (default ~/.local/state/copernica-import)",
}
# jobs-file keys that are a mistake with a reason of their own
_TOKEN_KEYS = {"token", "access_token", "copernica_access_token"}


def environment_variables() -> dict[str, str]:
    """Every COPERNICA_* variable the tool reads, with what it sets (for --help and the README)."""
    found = {TOKEN_ENV: OTHER_VARIABLES[TOKEN_ENV]}
    found.update({s.env: f"{s.option}: {s.help}" for s in SETTINGS if s.env})
    found.update({k: v for k, v in OTHER_VARIABLES.items() if k != TOKEN_ENV})
    return found


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


def _from_env(setting: Setting, text: str) -> Any:
    try:
        if setting.kind == "int":
            return int(text)
        if setting.kind == "float":
            return float(text)
        if setting.kind == "duration":
            return parse_duration(text, Msg.ENV_VARIABLE.format(name=setting.env))
    except ValueError as exc:
        if setting.kind == "duration":
            raise UsageError(str(exc)) from None
        raise UsageError(Msg.BAD_ENV_NUMBER.format(name=setting.env, value=text)) from None
    return text


def stdout_outputs(*, json: bool | None, summary_json: str | None, report_html: str | None = None,
                   report: str | None = None) -> bool:
    """True when stdout carries data (JSON, a report): every human line then goes to stderr.
    Two different things on stdout are refused."""
    outputs = [name for name, used in (("--json", json), ("--summary-json -", summary_json == "-"),
                                       ("--report-html -", report_html == "-"), ("--report -", report == "-"))
               if used]
    if len(outputs) > 1 and outputs != ["--json", "--summary-json -"]:
        raise UsageError(Msg.ONE_STDOUT.format(outputs=", ".join(outputs)))
    return bool(outputs)


# -- resolving ---------------------------------------------------------------------------
COMMAND_LINE, ENVIRONMENT, JOB_SECTION, DEFAULTS_SECTION, MAPPING_FILE, DEFAULT = (
    "command line", "environment", "jobs file", "jobs file [defaults]", "mapping", "default")


@dataclass
class Settings:
    """A run's settings and where each came from (``sources[name]``, a phrase)."""
    values: dict[str, Any]
    sources: dict[str, str]
    job: str | None = None
    jobs_file: Path | None = None
    token: str = ""               # where the token comes from, as `config` shows it (never the token)
    notes: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def given(self, name: str) -> bool:
        """Set by anything but the built-in default."""
        return self.sources.get(name, DEFAULT) != DEFAULT

    @property
    def feed(self) -> str:
        """The job's name, or the inputs of a run without one: what log lines are tagged with."""
        if self.job:
            return self.job
        inputs = self.values.get("input") or []
        text = ", ".join("stdin" if i == "-" else i for i in inputs)
        return text if len(text) <= 60 else text[:57] + "..."


def resolve(given: Mapping[str, Any], environ: Mapping[str, str], *, jobs_file: JobsFile | None = None,
            job: str | None = None, read_mapping: bool = False) -> Settings:
    """Each setting from the first of: the command line (``given``: the values the user
    typed, nothing else), the environment, the job's section, [defaults], the mapping
    (``read_mapping``: database and on_existing, for `config`), the default."""
    section = jobs_file.job(job) if (jobs_file is not None and job is not None) else {}
    defaults = jobs_file.defaults if jobs_file is not None else {}
    where = f"{jobs_file.path.name} [jobs.{job}]" if job and jobs_file else ""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        value, source = _pick(setting, given, environ, section, defaults, jobs_file, job, where)
        values[setting.name], sources[setting.name] = value, source
    settings = Settings(values, sources, job=job, jobs_file=jobs_file.path if jobs_file else None)
    if values["api_version"] not in (3, 4):
        raise UsageError(Msg.BAD_API_VERSION.format(value=values["api_version"]))
    if read_mapping:
        fill_from_mapping(settings)
    settings.token = token_source(settings, environ)
    return settings


def _pick(setting: Setting, given: Mapping[str, Any], environ: Mapping[str, str], section: dict, defaults: dict,
          jobs_file: JobsFile | None, job: str | None, where: str) -> tuple[Any, str]:
    name = setting.name
    if given.get(name) is not None and given.get(name) != []:
        return given[name], f"{COMMAND_LINE} ({setting.option or 'FILE'})"
    if setting.env and environ.get(setting.env, "").strip():
        return _from_env(setting, environ[setting.env].strip()), f"{ENVIRONMENT} (${setting.env})"
    if jobs_file is not None:
        for table, label in ((section, where), (defaults, f"{jobs_file.path.name} [defaults]")):
            if name in table:
                return _in_jobs_folder(setting, table[name], jobs_file, job), f"{JOB_SECTION} {label}"
    if jobs_file is not None and job is not None:
        if name == "results_dir":
            return str(jobs_file.folder / "results" / job), f"{DEFAULT} for jobs"
        if name == "history":
            return str(jobs_file.folder / "history.jsonl"), f"{DEFAULT} for jobs"
    return setting.default, DEFAULT


def _in_jobs_folder(setting: Setting, value: Any, jobs_file: JobsFile, job: str | None) -> Any:
    """Paths of the jobs file: relative to its folder, ~ expanded, {job} filled in."""
    if setting.kind not in ("path", "paths"):
        return value

    def place(text: str) -> str:
        text = text.replace("{job}", job or "")
        path = Path(os.path.expanduser(text))
        return str(path if path.is_absolute() else jobs_file.folder / path)

    return [place(v) for v in value] if setting.kind == "paths" else place(value)


def fill_from_mapping(settings: Settings) -> None:
    """database and on_existing, when nothing before the mapping set them."""
    from importer.mapping import load_mapping

    mapping_path = settings.values.get("mapping")
    if not mapping_path:
        return
    try:
        mapping = load_mapping(mapping_path)
    except CopernicaImportError as exc:
        settings.notes.append(f"the mapping cannot be read: {exc}")
        return
    label = f"{MAPPING_FILE} {Path(mapping_path).name}"
    if not settings.given("database") and mapping.database is not None:
        settings.values["database"], settings.sources["database"] = mapping.database, label
    if not settings.given("on_existing") and "on_existing" in mapping.model_fields_set:
        settings.values["on_existing"], settings.sources["on_existing"] = mapping.on_existing, label


def token_source(settings: Settings, environ: Mapping[str, str]) -> str:
    """Where the token comes from, as a phrase (the token itself is never read here).

    --token-file and $COPERNICA_TOKEN_FILE come before $COPERNICA_ACCESS_TOKEN, which
    comes before a token_file of the jobs file (command line > environment > jobs file)."""
    token_file, source = settings.values.get("token_file"), settings.sources.get("token_file", DEFAULT)
    env_token = environ.get(TOKEN_ENV, "").strip()
    if env_token and (token_file is None or source.startswith(JOB_SECTION)):
        if token_file is not None:  # the environment's token wins over the jobs file's token_file
            settings.values["token_file"] = None
            settings.sources["token_file"] = f"{source}, unused: ${TOKEN_ENV} comes first"
        return f"{Msg.TOKEN_ENV.format(env=TOKEN_ENV)} ({ENVIRONMENT})"
    if token_file:
        readable = os.access(token_file, os.R_OK)
        text = Msg.TOKEN_FILE if readable else Msg.TOKEN_FILE_MISSING
        return f"{text.format(path=token_file)} ({source})"
    return Msg.TOKEN_NONE.format(env=TOKEN_ENV)


# -- `config` ----------------------------------------------------------------------------
def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(setting, value, source) rows as `config` prints them; the token only as 'set from ...'."""
    rows = []
    for setting in SETTINGS:
        if not setting.shown:
            continue
        value = settings.values[setting.name]
        rows.append((setting.name, shown_value(setting, value, settings), settings.sources[setting.name]))
        if setting.name == "token_file":
            rows.append(("token", settings.token, ""))
    return rows


def shown_value(setting: Setting, value: Any, settings: Settings) -> str:
    if setting.name == "api_url" and value is None:
        return DEFAULT_API_URL_V4 if settings.values["api_version"] == 4 else DEFAULT_API_URL
    if value is None:
        return "-"
    if setting.kind == "paths":
        return ", ".join(value)
    if setting.kind == "duration":
        return duration_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def config_text(all_settings: list[Settings]) -> str:
    lines = []
    for settings in all_settings:
        title = f"job {settings.job} ({settings.jobs_file})" if settings.job else \
            (f"a run without --job (jobs file {settings.jobs_file}: its [defaults] apply)" if settings.jobs_file
             else "a run without a jobs file")
        lines.append(title)
        rows = describe(settings)
        width = max(len(r[0]) for r in rows)
        value_width = min(48, max(len(r[1]) for r in rows))
        for name, value, source in rows:
            lines.append(f"  {name:<{width}}  {value:<{value_width}}  {source}".rstrip())
        lines += [f"  note: {n}" for n in settings.notes]
        lines.append("")
    return "\n".join(lines)


def config_dict(all_settings: list[Settings]) -> dict:
    """`config --json`: each job's settings as {name: {"value", "source"}}; the token as a phrase."""
    def one(settings: Settings) -> dict:
        out = {}
        for setting in SETTINGS:
            if setting.shown:
                out[setting.name] = {"value": settings.values[setting.name], "source": settings.sources[setting.name]}
        out["token"] = {"value": None, "source": settings.token}
        return out

    return {"jobs": [{"job": s.job, "jobs_file": str(s.jobs_file) if s.jobs_file else None, "settings": one(s),
                      "notes": s.notes} for s in all_settings]}


