"""Outcomes to the journal first, then to the results file, in row order.

The results file never holds an outcome the journal could forget: lines are
written only after the journal committed them.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from importer.journal import Journal
from importer.models import Outcome, Status
from importer.results import ResultsWriter
from importer.summary import RunSummary


class ResultsRecorder:
    """Journal first, then the results line.

    Lines are written in the file's row order as far as possible: a line
    waits for the rows read before it, up to ``MAX_HELD`` lines (a row stuck in
    retries must not hold the whole file in memory); past that, or at the
    end, the waiting lines are written in row order anyway.
    """

    MAX_HELD = 5_000

    def __init__(self, journal: Journal, writer: ResultsWriter, summary: RunSummary,
                 on_outcome: Callable[[Outcome], None] | None) -> None:
        self._journal, self._writer, self._summary = journal, writer, summary
        self._on_outcome = on_outcome
        self._lock = threading.Lock()
        self._lines: list[tuple[Outcome, dict[str, str]]] = []   # not yet committed
        self._expected: deque[int] = deque()                     # rows read, in reading order
        self._ready: dict[int, tuple[Outcome, dict[str, str]]] = {}  # committed, waiting for earlier rows
        self._written_early: set[int] = set()
        self.failed = 0  # rows failed at the API in this run (for --max-errors)

    def expect(self, row: int) -> None:
        """The feeder read this row: its line comes after those of earlier rows."""
        with self._lock:
            self._expected.append(row)

    def record(self, outcome: Outcome, values: dict[str, str], digest: str = "", *, journaled: bool = False) -> None:
        with self._lock:
            if not journaled:
                self._journal.record(outcome, digest)
                self.failed += outcome.status is Status.FAILED
            self._lines.append((outcome, values))
            self._summary.add(outcome)
            if self._journal.commit_due():
                self._flush()
        if self._on_outcome:
            self._on_outcome(outcome)

    def tick(self) -> None:
        with self._lock:
            if self._journal.commit_due():
                self._flush()

    def close(self) -> None:
        with self._lock:
            self._flush(everything=True)

    def _flush(self, everything: bool = False) -> None:
        self._journal.commit()
        for outcome, values in self._lines:
            self._ready[outcome.row] = (outcome, values)
        self._lines.clear()
        expected, ready = self._expected, self._ready
        while expected and (expected[0] in ready or expected[0] in self._written_early):
            row = expected.popleft()
            if row in self._written_early:
                self._written_early.discard(row)
            else:
                self._writer.write(*ready.pop(row))
        if everything or len(ready) > self.MAX_HELD:
            for row in sorted(ready):
                self._writer.write(*ready[row])
            self._written_early.update(ready)
            ready.clear()
        self._writer.flush()
