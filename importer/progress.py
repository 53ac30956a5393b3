"""Progress on stderr: a tqdm bar at a terminal, a plain line every few
seconds otherwise (cron logs), nothing with --quiet. Also keeps a few
(elapsed, rows done) samples per second for the HTML report's chart.

The line counts every status, skipped rows too. After ``--resume`` the rows
the journal already finished count as done from the start (``replayed``), and
the speed shown is that of the rows this run handles, not the instant replay
of the finished ones. The total of a text file counts records, not lines: a
line break inside a quoted cell does not make a row; when the run ends the
bar's total is what was done.
"""
from __future__ import annotations

import re
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from importer.models import Outcome, Status

LOG_EVERY_SECONDS = 5.0
SAMPLE_EVERY_SECONDS = 0.5
MAX_SAMPLES = 2000  # a week-long run still makes a small report: thinned when full
CHUNK = 1 << 20
MAX_OPEN_QUOTE = 16 << 20   # a quoted cell longer than this: the rest is counted by lines


class Msg:
    """The progress line."""
    LINE = "{stamp} progress: {done:,} rows done, {rate:,.0f} rows/s; {counts}"
    COUNTS = "created {created:,} updated {updated:,} skipped {skipped:,} invalid {invalid:,} failed {failed:,}"
    CHECK_COUNTS = "valid {valid:,} skipped {skipped:,} invalid {invalid:,}"


_QUOTED = re.compile(rb'"[^"]*"')


def count_records(stream) -> int:
    """Records of a CSV read from a binary ``stream``: line breaks outside quoted cells, plus an unended last line.

    A quoted cell ("Street 1\nFlat 2") is cut out before the line breaks are
    counted; a doubled quote inside a cell pairs up the same way.
    """
    records, carry, last = 0, b"", b"\n"
    while chunk := stream.read(CHUNK):
        last = chunk[-1:]
        text = carry + chunk
        outside = _QUOTED.sub(b"", text)
        open_quote = outside.find(b'"')
        if open_quote < 0:
            records += outside.count(b"\n")
            carry = b""
            continue
        records += outside[:open_quote].count(b"\n")
        carry = text[text.rfind(b'"'):]       # the open quoted cell goes on in the next chunk
        if len(carry) > MAX_OPEN_QUOTE:       # no closing quote in sight: count its lines after all
            records += carry.count(b"\n")
            carry = b""
    if carry:
        records += carry.count(b"\n")
    return records + (0 if last in (b"\n", b"") else 1)


def resumed_rows(journal_path, *, retry_failed: bool = True) -> int:
    """Rows an earlier run of this journal finished, which a resumed run counts at once (read-only, no lock)."""
    from pathlib import Path

    if not Path(journal_path).exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{journal_path}?mode=ro", uri=True)
        try:
            query = "SELECT count(*) FROM rows WHERE state='final'" + (" AND status != 'failed'" if retry_failed else "")
            return int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def estimate_rows(path) -> int | None:
    """A quick guess of the data rows, only for the progress bar's ETA.

    Text files: records counted in the raw bytes (``count_records``: a line
    break inside a quoted cell is no new row); workbooks: the sheet's
    recorded size. Empty lines and a title above the header still count.
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
            with opener(path, "rb") as f:
                return max(count_records(f) - 1, 0)
    except Exception:  # noqa: BLE001 - a guess for a display; the reader reports real problems
        return None
    return None


class Progress:
    def __init__(self, *, quiet: bool = False, total: int | None = None, stream=None,
                 interval: float = LOG_EVERY_SECONDS, sample_every: float = SAMPLE_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic, replayed: int = 0, check: bool = False) -> None:
        """``replayed``: rows an earlier run finished (``--resume``): done at once, not part of the speed.
        ``check``: the counts of a check (valid, skipped, invalid) instead of a run's."""
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.check = check
        self.replayed = replayed
        self._replays_left = replayed
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
            # tqdm's rate counts from `initial`: the replayed rows are done, but not at 2,000 rows/s
            self._bar = tqdm(total=total, unit=" rows", file=self.stream, dynamic_ncols=True, mininterval=0.5,
                             initial=replayed)

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
            replay = self._replays_left > 0
            if replay:
                self._replays_left -= 1
            if self._bar is not None:
                if not replay:      # already in the bar's `initial`
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
        if self.check:
            return Msg.CHECK_COUNTS.format(valid=c[Status.VALID], skipped=c[Status.SKIPPED],
                                           invalid=c[Status.INVALID])
        return Msg.COUNTS.format(created=c[Status.CREATED], updated=c[Status.UPDATED], skipped=c[Status.SKIPPED],
                                 invalid=c[Status.INVALID], failed=c[Status.FAILED])

    @property
    def rate(self) -> float:
        """Rows per second handled by this run (replayed rows left out)."""
        handled = self.done - (self.replayed - self._replays_left)
        return handled / max(self._clock() - self._started, 1e-9)

    def _line(self, now: float) -> str:
        return Msg.LINE.format(stamp=time.strftime("%H:%M:%S"), done=self.done, rate=self.rate,
                               counts=self._counts_text())

    def close(self, *, finished: bool = True) -> None:
        """``finished``: the file was read to its end, so what was done is the total (not after a stop)."""
        with self._lock:
            now = self._clock()
            if self.samples[-1][1] != self.done or len(self.samples) == 1:
                self._sample(now)
        if self._bar is not None:
            if finished and self._bar.total != self._bar.n:
                self._bar.total = self._bar.n     # the estimate was off (empty lines, a title row): show 100%
            self._bar.set_postfix_str(self._counts_text())
            self._bar.close()
            self._bar = None
