"""Progress on stderr: a tqdm bar at a terminal, a plain line every few
seconds otherwise (cron logs), nothing with --quiet. Also keeps a few
(elapsed, rows done) samples per second for the HTML report's chart."""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from importer.models import Outcome, Status

LOG_EVERY_SECONDS = 5.0
SAMPLE_EVERY_SECONDS = 0.5
MAX_SAMPLES = 2000  # a week-long run still makes a small report: thinned when full


def estimate_rows(path) -> int | None:
    """A quick guess of the data rows, only for the progress bar's ETA.

    Text files: line breaks counted in the raw bytes (a line break inside a
    quoted cell makes it a little high); workbooks: the sheet's recorded size.
    None when there is no cheap answer. Never used for anything but display.
    """
    import gzip
    from pathlib import Path

    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith((".xlsx", ".xlsm")):
            from openpyxl import load_workbook
            book = load_workbook(path, read_only=True)
            try:
                rows = book.worksheets[0].max_row
            finally:
                book.close()
            return max(rows - 1, 0) if rows else None
        if name.endswith((".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            lines = 0
            with opener(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    lines += chunk.count(b"\n")
            return max(lines - 1, 0)
    except Exception:  # noqa: BLE001 - a guess for a display; the reader reports real problems
        return None
    return None


class Progress:
    def __init__(self, *, quiet: bool = False, total: int | None = None, stream=None,
                 interval: float = LOG_EVERY_SECONDS, sample_every: float = SAMPLE_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.counts: Counter = Counter()
        self.samples: list[tuple[float, int]] = [(0.0, 0)]
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._last_line = self._started
        self._last_sample = self._started
        self._interval = interval
        self._sample_every = sample_every
        self._bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit=" rows", file=self.stream, dynamic_ncols=True, mininterval=0.5)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def update(self, outcome: Outcome) -> None:
        with self._lock:
            self.counts[outcome.status] += 1
            now = self._clock()
            if now - self._last_sample >= self._sample_every:
                self._sample(now)
            if self.quiet:
                return
            if self._bar is not None:
                self._bar.update(1)
                if self._bar.n % 50 == 1:
                    self._bar.set_postfix_str(self._counts_text(), refresh=False)
                return
            if now - self._last_line >= self._interval:
                self._last_line = now
                self.stream.write(self._line(now) + "\n")
                self.stream.flush()

    def _sample(self, now: float) -> None:
        self._last_sample = now
        self.samples.append((now - self._started, self.done))
        if len(self.samples) > MAX_SAMPLES:
            # keep every other sample (and the first): the chart's shape stays
            self.samples = self.samples[::2]
            self._sample_every *= 2

    def _counts_text(self) -> str:
        c = self.counts
        return (f"created {c[Status.CREATED]:,} updated {c[Status.UPDATED]:,} "
                f"invalid {c[Status.INVALID]:,} failed {c[Status.FAILED]:,}")

    def _line(self, now: float) -> str:
        done = self.done
        rate = done / max(now - self._started, 1e-9)
        stamp = time.strftime("%H:%M:%S")
        return f"{stamp} progress: {done:,} rows done, {rate:,.0f} rows/s; {self._counts_text()}"

    def close(self) -> None:
        with self._lock:
            now = self._clock()
            if self.samples[-1][1] != self.done or len(self.samples) == 1:
                self._sample(now)
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts_text())
            self._bar.close()
            self._bar = None
