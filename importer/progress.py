"""Progress on stderr: a tqdm bar at a terminal, a plain line every few
seconds otherwise (cron logs), nothing with --quiet."""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter

from importer.models import Outcome, Status

LOG_EVERY_SECONDS = 5.0


class Progress:
    def __init__(self, *, quiet: bool = False, total: int | None = None, stream=None,
                 interval: float = LOG_EVERY_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.counts: Counter = Counter()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_line = self._started
        self._interval = interval
        self._bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm
            self._bar = tqdm(total=total, unit=" rows", file=self.stream, dynamic_ncols=True, mininterval=0.5)

    def update(self, outcome: Outcome) -> None:
        if self.quiet:
            return
        with self._lock:
            self.counts[outcome.status] += 1
            if self._bar is not None:
                self._bar.update(1)
                if self._bar.n % 50 == 1:
                    self._bar.set_postfix_str(self._counts_text(), refresh=False)
                return
            now = time.monotonic()
            if now - self._last_line >= self._interval:
                self._last_line = now
                self.stream.write(self._line(now) + "\n")
                self.stream.flush()

    def _counts_text(self) -> str:
        c = self.counts
        return (f"created {c[Status.CREATED]:,} updated {c[Status.UPDATED]:,} "
                f"invalid {c[Status.INVALID]:,} failed {c[Status.FAILED]:,}")

    def _line(self, now: float) -> str:
        done = sum(self.counts.values())
        rate = done / max(now - self._started, 1e-9)
        return f"progress: {done:,} rows done, {rate:,.0f} rows/s; {self._counts_text()}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts_text())
            self._bar.close()
            self._bar = None
