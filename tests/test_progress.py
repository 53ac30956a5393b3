"""Progress output without a terminal (cron), the throughput samples, and
the still-being-written rule for nightly drops."""
from __future__ import annotations

import io
import os
import threading
import time

from importer.drops import archive, expand_inputs, ready_files, still_being_written
from importer.models import Outcome, Status
from importer.progress import Progress


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


def test_a_recently_modified_drop_waits_for_the_next_run(tmp_path):
    fresh = tmp_path / "fresh.csv"
    fresh.write_text("a\n1\n")
    reason = still_being_written(fresh, settle_seconds=60, observe_seconds=0)
    assert reason and "still being written" in reason and "fresh.csv" in reason
    past = time.time() - 120
    os.utime(fresh, (past, past))
    assert still_being_written(fresh, settle_seconds=60, observe_seconds=0) is None


def test_a_drop_that_grows_while_watched_waits_and_a_quiet_one_is_ready(tmp_path):
    growing, settled = tmp_path / "growing.csv", tmp_path / "settled.csv"
    for p in (growing, settled):
        p.write_text("email\n")
        os.utime(p, (time.time() - 600, time.time() - 600))

    def keep_writing() -> None:
        for i in range(20):
            with open(growing, "a") as f:
                f.write(f"p{i}@example.com\n")
            time.sleep(0.02)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        ready, left = ready_files([growing, settled], settle_seconds=0.01, observe_seconds=0.3)
    finally:
        writer.join()
    assert ready == [settled]
    assert [s.path for s in left] == [growing] and "still being written" in left[0].reason


def test_patterns_expand_in_order_skip_our_own_outputs_and_name_each_file_once(tmp_path):
    for name in ("b.csv", "a.csv", "a.results.csv", "a.results.csv.journal"):
        (tmp_path / name).write_text("x\n")
    inputs = expand_inputs([str(tmp_path / "*.csv"), str(tmp_path / "a.csv")])
    assert [p.name for p in inputs.files] == ["a.csv", "b.csv"]
    assert {p.name for p in inputs.from_patterns} == {"a.csv", "b.csv"}


def test_archiving_never_overwrites_an_earlier_night(tmp_path):
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    (archive_dir / "orders.csv").write_text("yesterday")
    today = tmp_path / "orders.csv"
    today.write_text("today")
    results = tmp_path / "orders.results.csv"
    results.write_text("r")
    moved = archive([today, results], archive_dir)
    assert (archive_dir / "orders.csv").read_text() == "yesterday"
    assert moved[0].read_text() == "today" and moved[0].name.startswith("orders.") and moved[0].suffix == ".csv"
    stamp = moved[0].name.split(".")[1]
    assert moved[1].name == f"orders.{stamp}.results.csv"
    assert not today.exists() and not results.exists()


def test_estimate_rows_for_the_bars_eta(tmp_path):
    import gzip

    from conftest import REPO

    from importer.progress import estimate_rows

    assert estimate_rows(REPO / "sample_data/contacts.xlsx") == 200
    assert estimate_rows(REPO / "sample_data/contacts.csv") == 200  # a line break inside a quoted cell is no row
    with gzip.open(tmp_path / "a.csv.gz", "wt") as f:
        f.write("Email\na@x.nl\nb@x.nl\n")
    assert estimate_rows(tmp_path / "a.csv.gz") == 2
    assert estimate_rows(tmp_path / "missing.csv") is None
    assert estimate_rows(tmp_path / "a.pdf") is None


def test_at_a_terminal_the_bar_shows_rows_done_of_the_estimate(tmp_path):
    """stderr on a pseudo-terminal: tqdm draws 'done/total' (hence an ETA) and the counts."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from conftest import REPO

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a terminal has a size
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")} | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "importer", "run", str(REPO / "sample_data/contacts.xlsx"),
                             "--mapping", str(REPO / "mappings/contacts.yaml"), "--sandbox"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, cwd=tmp_path, env=env)
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
