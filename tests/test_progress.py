"""Progress: plain lines without a terminal (cron), the throughput samples,
the row estimate behind the bar's ETA, and the bar on a real pseudo-terminal."""
from __future__ import annotations

import fcntl
import gzip
import io
import os
import pty
import struct
import subprocess
import sys
import termios

from importer.models import Outcome, Status
from importer.progress import Progress, estimate_rows
from tests.helpers import SAMPLE_CSV, SAMPLE_MAPPING, SAMPLE_XLSX, cli_env


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_a_plain_line_every_interval_with_running_counts():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream=stream, interval=5.0, clock=clock)
    for n in range(1, 13):
        clock.now += 1.0  # one row a second
        status = Status.INVALID if n % 4 == 0 else Status.CREATED
        progress.update(Outcome(n + 1, status))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # at 5 s and at 10 s
    assert lines[0].endswith("progress: 5 rows done, 1 rows/s; created 4 updated 0 skipped 0 invalid 1 failed 0")
    assert "progress: 10 rows done" in lines[1] and "created 8 updated 0 skipped 0 invalid 2" in lines[1]


def test_quiet_prints_nothing_but_still_samples_throughput():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream=stream, quiet=True, clock=clock, sample_every=1.0)
    for n in range(10):
        clock.now += 0.5
        progress.update(Outcome(n + 2, Status.CREATED))
    progress.close()
    assert stream.getvalue() == ""
    assert progress.samples[0] == (0.0, 0) and progress.samples[-1] == (5.0, 10)
    assert [n for _, n in progress.samples] == sorted(n for _, n in progress.samples)


def test_estimate_rows_for_the_bars_eta(tmp_path):
    assert estimate_rows(SAMPLE_XLSX) == 200
    assert estimate_rows(SAMPLE_CSV) == 200  # a line break inside a quoted cell is no row
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        f.write("Email\na@x.nl\nb@x.nl\n")
    assert estimate_rows(tmp_path / "a.csv.gz") == 2
    assert estimate_rows(tmp_path / "missing.csv") is None
    assert estimate_rows(tmp_path / "a.pdf") is None


def test_at_a_terminal_the_bar_shows_rows_done_of_the_estimate(tmp_path):
    """stderr on a pseudo-terminal: tqdm draws 'done/total' (hence an ETA) and the counts."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a terminal has a size
    proc = subprocess.Popen([sys.executable, "-m", "importer", "run", str(SAMPLE_XLSX),
                             "--mapping", str(SAMPLE_MAPPING), "--sandbox"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, cwd=tmp_path,
                            env=cli_env())
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 1
    screen = b"".join(chunks).decode(errors="replace")
    assert "/200" in screen and "rows/s" in screen
    assert "created 189" in screen
