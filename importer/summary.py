"""The end-of-run summary: counts per status, top reasons, speed, exit code."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from importer.models import Outcome, Status

EXAMPLE_ROWS = 5
# quoted values vary per row; the reason without them groups alike rows
_QUOTED_VALUE = re.compile(r"(?<=: )'[^']*'|\"[^\"]*\"|(?<=row )\d+")


def reason_of(message: str) -> str:
    """'column 'Age': '12a' is not ...' and '... '7b' ...' -> one reason."""
    first = message.split("; ")[0]
    return _QUOTED_VALUE.sub("…", first)


@dataclass
class Reason:
    count: int = 0
    rows: list[int] = field(default_factory=list)


@dataclass
class RunSummary:
    dry_run: bool = False
    schema_checked: bool = True
    counts: Counter = field(default_factory=Counter)
    reasons: dict[tuple[str, str], Reason] = field(default_factory=dict)
    empty_rows: int = 0
    elapsed: float = 0.0
    results_path: Path | None = None
    journal_path: Path | None = None
    stopped: str | None = None  # "interrupted", "max-errors", "token", "api", "unresolved", "error"
    unresolved: list[int] = field(default_factory=list)  # rows left for --resume to check
    file: Path | None = None    # the input file (set by the CLI)
    # (seconds since the start, rows done) a few times a second: the report's chart
    throughput: list[tuple[float, int]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.status in (Status.INVALID, Status.FAILED, Status.UNKNOWN, Status.SKIPPED) and outcome.error:
            key = (outcome.status.value, reason_of(outcome.error))
            reason = self.reasons.get(key)
            if reason is None:
                reason = self.reasons[key] = Reason()
            reason.count += 1
            if len(reason.rows) < EXAMPLE_ROWS:
                reason.rows.append(outcome.row)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def top_reasons(self, n: int = 10) -> list[tuple[str, str, Reason]]:
        ranked = sorted(self.reasons.items(), key=lambda kv: -kv[1].count)
        return [(status, text, r) for (status, text), r in ranked[:n]]

    @property
    def exit_code(self) -> int:
        """0 all rows ended as configured; 1 some invalid/failed/unknown; 3 stopped early."""
        if self.stopped in ("interrupted", "max-errors", "unresolved", "error"):
            return 3
        bad = self.counts[Status.INVALID] + self.counts[Status.FAILED] + self.counts[Status.UNKNOWN]
        return 1 if bad else 0

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": {s.value: self.counts[s] for s in Status if self.counts[s] or s in _MAIN},
            "empty_rows": self.empty_rows,
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "reasons": [{"status": s, "reason": t, "count": r.count, "rows": r.rows}
                        for s, t, r in self.top_reasons(50)],
            "results": str(self.results_path) if self.results_path else None,
            "journal": str(self.journal_path) if self.journal_path else None,
            "stopped": self.stopped,
            "unresolved_rows": self.unresolved,
            "exit_code": self.exit_code,
            "file": str(self.file) if self.file else None,
            "throughput": [[round(t, 2), n] for t, n in self.throughput],
        }

    def format_text(self) -> str:
        lines = []
        title = "Check" if self.dry_run else "Import"
        state = {"interrupted": " (stopped early: interrupted)", "max-errors": " (stopped early: --max-errors reached)",
                 "token": " (stopped: access token refused)", "api": " (stopped: API error)",
                 "unresolved": " (incomplete: some lost answers could not be checked)",
                 "error": " (stopped early: unexpected error)"}.get(self.stopped or "", "")
        lines.append(f"{title} summary{state}")
        statuses = [s for s in Status if self.counts[s] or s in (_CHECK if self.dry_run else _MAIN)]
        width = max(len(s.value) for s in statuses)
        for s in statuses:
            label = "would send" if s is Status.VALID else s.value
            lines.append(f"  {label:<{max(width, 10)}} {self.counts[s]:>9,}")
        lines.append(f"  {'rows':<{max(width, 10)}} {self.rows:>9,}   (+ {self.empty_rows:,} empty {'row' if self.empty_rows == 1 else 'rows'} skipped)")
        if not self.schema_checked:
            lines.append("  note: values were NOT checked against the database's field types "
                         "(no --schema and no API access)")
        if self.reasons:
            lines.append("Reasons:")
            for status, text, r in self.top_reasons():
                rows = ", ".join(str(n) for n in r.rows) + (", ..." if r.count > len(r.rows) else "")
                label = "row" if r.count == 1 else "rows"
                lines.append(f"  {r.count:>7,} {status}: {text}  ({label} {rows})")
        if self.unresolved:
            shown = ", ".join(str(r) for r in self.unresolved[:EXAMPLE_ROWS])
            more = ", ..." if len(self.unresolved) > EXAMPLE_ROWS else ""
            lines.append(f"  {len(self.unresolved):,} rows not finished: their answers were lost and Copernica "
                         f"could not be asked whether it stored them (rows {shown}{more}); they were not sent "
                         "again. Run the same command with --resume to check them.")
        lines.append(f"Time: {self.elapsed:.1f} s, {self.rows_per_second:,.0f} rows/s")
        if self.results_path:
            lines.append(f"Results: {self.results_path}")
        if self.journal_path:
            lines.append(f"Journal: {self.journal_path}")
        return "\n".join(lines)


_MAIN = (Status.CREATED, Status.INVALID, Status.FAILED)
_CHECK = (Status.VALID, Status.INVALID, Status.SKIPPED)


def combined_dict(summaries: list[RunSummary], *, exit_code: int, error: str | None = None,
                  left_for_next_run: list[str] | None = None) -> dict:
    """The whole command as JSON: totals over every file, then each file's own.

    One shape whatever the number of files, so a script reads ``counts`` and
    ``exit_code`` the same way for one file or a folder of drops.
    """
    totals: Counter = Counter()
    for s in summaries:
        totals.update(s.counts)
    return {
        "exit_code": exit_code,
        "error": error,
        "rows": sum(totals.values()),
        "counts": {s.value: totals[s] for s in Status if totals[s] or s in _MAIN},
        "elapsed_seconds": round(sum(s.elapsed for s in summaries), 3),
        "files": [s.to_dict() for s in summaries],
        "left_for_next_run": left_for_next_run or [],
    }
