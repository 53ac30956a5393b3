"""The end-of-run summary: counts per status, reasons grouped by code, speed, exit code.

Reasons are grouped by their stable ``code`` (never by reading the
sentences): one line per kind of reason with its total, example rows and the
first row's full sentence, so nine ambiguous dates read as one line with 9.
Each group also keeps its first example value (the cell it is about), which
the HTML report shows. ``notes`` say what only the whole file shows (empty
yes/no cells that switched nothing, numbers that lost their leading zeros).

The audit trail (``audit()``): the database (ID and name), the API host, the
mapping file and its sha256, the tool's version, the user and the machine,
and when the run started and ended; the JSON summary and the HTML report
carry it.

The JSON form (``--json``, ``--summary-json``, the history file) is a public,
versioned interface: ``combined_dict`` below, described field by field in
``importer/summary.schema.json`` (JSON Schema) and in the README. Fields are
only ever added; ``SUMMARY_SCHEMA_VERSION`` goes up when one changes meaning
or goes away. Version 2 (this one): ``file``, ``results`` and ``journal``
name where the files are after archiving (``source`` where the input was
found); ``command``, ``job``, times with a zone, ``exit_meaning``,
``stopped``, ``not_started`` and ``archive_removed`` were added.

``EXIT_CODES`` is the one table of exit codes: the help, the README, the
HTML report and the JSON's ``exit_meaning`` all read it.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import platform
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from importer.errors import EXIT_NO_INPUT, EXIT_TEMPORARY, CopernicaImportError
from importer.models import REASON_TITLES, Outcome, Reason, Status, StopReason

EXAMPLE_ROWS = 5
# the JSON summary's shape; raised whenever a field changes meaning or goes away
SUMMARY_SCHEMA_VERSION = 2

# exit code -> (the JSON's exit_meaning, what it means for a person / an automation)
EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("ok", "every row ended as configured (also a night without input files, unless --expect-files)"),
    1: ("rows_not_ok", "the run finished, but some rows are invalid, failed or unknown: see the results file"),
    2: ("setup_error", "nothing was sent: fix the arguments, jobs file, mapping, input file, token or database, "
                       "then run the same command again"),
    3: ("stopped", "stopped after rows were sent (Ctrl-C, SIGTERM, --max-errors, --max-runtime, --max-outage, "
                   "a token refused mid-run, a read or write error): --resume continues"),
    EXIT_NO_INPUT: ("no_input", "--expect-files, and no input file was found: nothing was sent"),
    EXIT_TEMPORARY: ("temporary", "nothing was sent, and nothing is wrong with the setup: Copernica could not be "
                                  "reached, or another run holds the lock; run again later"),
}


def exit_meaning(code: int | None) -> str:
    return EXIT_CODES.get(code, ("unexpected", ""))[0] if code is not None else "unexpected"


class Msg:
    """The summary's own words."""
    TITLE = "{what} summary{state}"
    STATE = {
        StopReason.INTERRUPTED: " (stopped early: interrupted)",
        StopReason.MAX_ERRORS: " (stopped early: --max-errors reached)",
        StopReason.TOKEN: " (stopped: access token refused)",
        StopReason.API: " (stopped: API error)",
        StopReason.UNRESOLVED: " (incomplete: some lost answers could not be checked)",
        StopReason.ERROR: " (stopped early: unexpected error)",
        StopReason.MAX_RUNTIME: " (stopped early: --max-runtime reached)",
        StopReason.OUTAGE: " (stopped early: Copernica unreachable for too long)",
    }
    COUNT = "  {label:<{width}} {count:>9,}"
    ROWS = "  {label:<{width}} {count:>9,}   (+ {empty:,} empty {rows} skipped)"
    NOT_CHECKED = ("  note: values were NOT checked against the database's field types "
                   "(no --schema and no API access)")
    REASONS = "Reasons:"
    REASON = "  {count:>7,} {status:<8} {code}: {title}  ({rows_label} {rows})"
    EXAMPLE = "  {indent}e.g. row {row}: {example}"
    UNRESOLVED = ("  {n:,} rows not finished: their answers were lost and Copernica could not be asked "
                  "whether it stored them (rows {rows}); they were not sent again. "
                  "Run the same command with --resume to check them.")
    SENT_BEFORE_STOP = "  {n:,} rows had been sent when the run stopped."
    FILE_CHANGED = ("  The input file changed since the run began: {changed:,} rows changed, {added:,} rows new or "
                    "not reached by the earlier run (unchanged or moved rows kept their outcome; see the README, "
                    "'Never a lost row').")
    SET_ASIDE = "  The earlier run's files were kept as: {paths}"
    TIME = "Time: {elapsed:.1f} s, {rate:,.0f} rows/s"
    RESULTS = "Results: {path}"
    JOURNAL = "Journal: {path}"
    NOTES = "Notes:"
    NOTE = "  {message}"
    UNKNOWN = "unknown"


def shown_path(path: Path) -> str:
    """A path as the user most easily reads it: relative to the current folder when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def file_sha256(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def user_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):   # no name for this user id (a container)
        return os.environ.get("USER") or f"uid {os.getuid()}" if hasattr(os, "getuid") else Msg.UNKNOWN


@dataclass
class ReasonGroup:
    """All rows of one status that share a reason code."""
    status: str
    code: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    example_row: int = 0
    example: str = ""      # the first row's full sentence, never cut
    example_value: str | None = None   # the cell the first row's reason is about, when it names one
    example_column: str | None = None

    @property
    def title(self) -> str:
        return REASON_TITLES.get(self.code, self.code)


@dataclass
class RunSummary:
    dry_run: bool = False
    schema_checked: bool = True
    counts: Counter = field(default_factory=Counter)
    reasons: dict[tuple[str, str], ReasonGroup] = field(default_factory=dict)
    empty_rows: int = 0
    elapsed: float = 0.0
    results_path: Path | None = None
    journal_path: Path | None = None
    stopped: StopReason | None = None
    stop_error: CopernicaImportError | None = None  # what stopped it (token refused, ...), if anything
    sent: int = 0                # rows that may have reached Copernica (this run and the runs it resumes)
    unresolved: list[int] = field(default_factory=list)  # rows left for --resume to check
    file_changed: bool = False   # a resume found the input file changed since the first run
    changed_rows: int = 0        # ... rows whose cells changed (handled by the mode's rules)
    added_rows: int = 0          # ... rows the first run never saw
    set_aside: list[Path] = field(default_factory=list)  # --overwrite: the earlier run's files, renamed
    file: Path | None = None     # the input file (where it is now: in the archive after archiving; "-": stdin)
    source: Path | None = None   # where the input file was found (None: same as file)
    archived: bool = False       # file, results and journal were moved to the archive
    stdin_digest: str | None = None  # sha256 of what came through standard input
    # (seconds since the start, rows done) a few times a second: the report's chart
    throughput: list[tuple[float, int]] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)    # about the whole file (RowConverter.notes)
    started_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    database_id: int | None = None
    database_name: str | None = None
    api_host: str | None = None
    mapping_path: Path | None = None
    mapping_sha256: str | None = None

    def note_run(self, *, mapping: Path | None, database_id: int | None, database_name: str | None,
                 api_url: str | None) -> None:
        """What the audit trail names: the database, where it lives, and the mapping used."""
        # a mapping given as a dict (from Python) has no file: no path, no digest
        self.mapping_path = Path(mapping) if isinstance(mapping, (str, Path)) else None
        self.mapping_sha256 = file_sha256(self.mapping_path)
        self.database_id, self.database_name = database_id, database_name
        self.api_host = urlsplit(api_url).netloc if api_url else None

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.elapsed)

    def audit(self) -> dict:
        """Who ran what, where, against which database, when (the JSON summary's and HTML report's audit trail)."""
        from importer import __version__

        return {
            "database_id": self.database_id, "database_name": self.database_name, "api_host": self.api_host,
            "mapping": str(self.mapping_path) if self.mapping_path else None, "mapping_sha256": self.mapping_sha256,
            "tool_version": __version__, "user": user_name(), "machine": platform.node() or Msg.UNKNOWN,
            "started": self.started_at.isoformat(timespec="seconds"),
            "finished": self.finished_at.isoformat(timespec="seconds"),
        }
    # every row's outcome in row order, when asked for (ImportOptions.keep_outcomes)
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        seen: set[str] = set()
        for reason in outcome.reasons:
            if reason.code in seen:
                continue
            seen.add(reason.code)
            key = (outcome.status.value, reason.code)
            group = self.reasons.get(key)
            if group is None:
                value = reason.params.get("value")
                group = self.reasons[key] = ReasonGroup(
                    outcome.status.value, reason.code, example_row=outcome.row, example=reason.message,
                    example_value=None if value is None else str(value), example_column=reason.params.get("column"))
            group.count += 1
            if len(group.rows) < EXAMPLE_ROWS:
                group.rows.append(outcome.row)

    def outcomes_frame(self):
        """``outcomes`` as a pandas DataFrame (needs the extra: copernica-import[pandas])."""
        from importer.frames import outcomes_frame
        return outcomes_frame(self.outcomes)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def top_reasons(self, n: int = 10) -> list[ReasonGroup]:
        return sorted(self.reasons.values(), key=lambda g: (-g.count, g.status, g.code))[:n]

    @property
    def exit_code(self) -> int:
        """0 all rows ended as configured; 1 some invalid/failed/unknown; 3 stopped
        early after sending (2 when a refused token or the API stopped it before
        anything was sent)."""
        if self.stopped is not None:
            if self.stop_error is not None and not self.sent:
                return self.stop_error.exit_code
            return 3
        bad = self.counts[Status.INVALID] + self.counts[Status.FAILED] + self.counts[Status.UNKNOWN]
        return 1 if bad else 0

    def to_dict(self) -> dict:
        return {
            "file": str(self.file) if self.file else None,
            "source": str(self.source or self.file) if (self.source or self.file) else None,
            "archived": self.archived,
            "stdin_sha256": self.stdin_digest,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": {s.value: self.counts[s] for s in Status if self.counts[s] or s in _MAIN},
            "empty_rows": self.empty_rows,
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "reasons": [{"status": g.status, "code": g.code, "title": g.title, "count": g.count,
                         "rows": g.rows, "example": g.example, "example_value": g.example_value}
                        for g in self.top_reasons(1000)],
            "notes": [{"code": n.code, "title": n.title, "message": n.message} for n in self.notes],
            "audit": self.audit(),
            "results": str(self.results_path) if self.results_path else None,
            "journal": str(self.journal_path) if self.journal_path else None,
            "stopped": self.stopped.value if self.stopped else None,
            "stop_message": str(self.stop_error) if self.stop_error else None,
            "sent": self.sent,
            "unresolved_rows": self.unresolved,
            "file_changed": self.file_changed,
            "changed_rows": self.changed_rows,
            "added_rows": self.added_rows,
            "set_aside": [str(p) for p in self.set_aside],
            "exit_code": self.exit_code,
            "throughput": [[round(t, 2), n] for t, n in self.throughput],
        }

    def format_text(self) -> str:
        what = "Check" if self.dry_run else "Import"
        lines = [Msg.TITLE.format(what=what, state=Msg.STATE.get(self.stopped, "") if self.stopped else "")]
        statuses = [s for s in Status if self.counts[s] or s in (_CHECK if self.dry_run else _MAIN)]
        width = max(10, *(len(s.value) for s in statuses))
        for s in statuses:
            label = "would send" if s is Status.VALID else s.value
            lines.append(Msg.COUNT.format(label=label, width=width, count=self.counts[s]))
        lines.append(Msg.ROWS.format(label="rows", width=width, count=self.rows, empty=self.empty_rows,
                                     rows="row" if self.empty_rows == 1 else "rows"))
        if not self.schema_checked:
            lines.append(Msg.NOT_CHECKED)
        if self.reasons:
            lines.append(Msg.REASONS)
            for g in self.top_reasons():
                rows = ", ".join(str(n) for n in g.rows) + (", ..." if g.count > len(g.rows) else "")
                lines.append(Msg.REASON.format(count=g.count, status=g.status, code=g.code, title=g.title,
                                               rows_label="row" if g.count == 1 else "rows", rows=rows))
                lines.append(Msg.EXAMPLE.format(indent=" " * 17, row=g.example_row, example=g.example))
        if self.notes:
            lines.append(Msg.NOTES)
            lines += [Msg.NOTE.format(message=n.message) for n in self.notes]
        if self.unresolved:
            shown = ", ".join(str(r) for r in self.unresolved[:EXAMPLE_ROWS])
            more = ", ..." if len(self.unresolved) > EXAMPLE_ROWS else ""
            lines.append(Msg.UNRESOLVED.format(n=len(self.unresolved), rows=shown + more))
        if self.file_changed:
            lines.append(Msg.FILE_CHANGED.format(changed=self.changed_rows, added=self.added_rows))
        if self.set_aside:
            lines.append(Msg.SET_ASIDE.format(paths=", ".join(str(p) for p in self.set_aside)))
        if self.stopped is not None and self.sent:
            lines.append(Msg.SENT_BEFORE_STOP.format(n=self.sent))
        lines.append(Msg.TIME.format(elapsed=self.elapsed, rate=self.rows_per_second))
        if self.results_path:
            lines.append(Msg.RESULTS.format(path=shown_path(self.results_path)))
        if self.journal_path:
            lines.append(Msg.JOURNAL.format(path=shown_path(self.journal_path)))
        return "\n".join(lines)


_MAIN = (Status.CREATED, Status.INVALID, Status.FAILED)
_CHECK = (Status.VALID, Status.INVALID, Status.SKIPPED)


def combined_dict(summaries: list[RunSummary], *, exit_code: int, error: str | None = None,
                  left_for_next_run: list[str] | None = None, command: str = "run", job: str | None = None,
                  started_at: str | None = None, finished_at: str | None = None, stopped: str | None = None,
                  not_started: list[str] | None = None, archive_removed: list[str] | None = None) -> dict:
    """The whole command (or one job of it) as JSON: totals over every file, then each file's own.

    One shape whatever the number of files, so a script reads ``counts`` and
    ``exit_code`` the same way for one file or a folder of drops.
    """
    totals: Counter = Counter()
    for s in summaries:
        totals.update(s.counts)
    if stopped is None:
        stopped = next((str(s.stopped) for s in summaries if s.stopped is not None), None)
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "command": command,
        "job": job,
        "started_at": started_at,
        "finished_at": finished_at,
        "exit_code": exit_code,
        "exit_meaning": exit_meaning(exit_code),
        "error": error,
        "stopped": stopped,
        "rows": sum(totals.values()),
        "counts": {s.value: totals[s] for s in Status if totals[s] or s in _MAIN},
        "elapsed_seconds": round(sum(s.elapsed for s in summaries), 3),
        "files": [s.to_dict() for s in summaries],
        "left_for_next_run": left_for_next_run or [],
        "not_started": not_started or [],
        "archive_removed": archive_removed or [],
    }


def jobs_dict(runs: list[dict], *, exit_code: int) -> dict:
    """``run --all-jobs`` as JSON: each job's document (``combined_dict``) and the highest exit code."""
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "command": "run",
        "exit_code": exit_code,
        "exit_meaning": exit_meaning(exit_code),
        "jobs": runs,
    }
