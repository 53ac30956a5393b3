"""The settings of a run: their one table, and where each value came from.

``copernica-import.toml`` (in the working directory, or ``--config FILE``, or
``$COPERNICA_CONFIG``) names the nightly jobs; ``importer.jobs_file`` reads
and checks it.

Relative paths in the jobs file are relative to its folder. ``SETTINGS`` is
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

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from importer.jobs_file import JobsFile

JOBS_FILE_NAME = "copernica-import.toml"
CONFIG_ENV = "COPERNICA_CONFIG"
TOKEN_ENV = "COPERNICA_ACCESS_TOKEN"
API_URL_ENV = "COPERNICA_API_URL"
STATE_DIR_ENV = "COPERNICA_STATE_DIR"


class Msg:
    """What the settings tell a user (the jobs file's own sentences: ``importer.jobs_file``)."""
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


def environment_variables() -> dict[str, str]:
    """Every COPERNICA_* variable the tool reads, with what it sets (for --help and the README)."""
    found = {TOKEN_ENV: OTHER_VARIABLES[TOKEN_ENV]}
    found.update({s.env: f"{s.option}: {s.help}" for s in SETTINGS if s.env})
    found.update({k: v for k, v in OTHER_VARIABLES.items() if k != TOKEN_ENV})
    return found


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
