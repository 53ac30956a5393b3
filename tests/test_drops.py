"""Nightly drops: which files a pattern finds, the still-being-written rule,
one broken file not holding back the others, and the archive."""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from importer.drops import archive, expand_inputs, ready_files, still_being_written
from tests.helpers import PEOPLE_MAPPING, cli, people, read_results, write_csv

MAPPING = PEOPLE_MAPPING


def an_hour_ago(*paths: Path) -> None:
    """A drop that arrived a while ago (the still-being-written rule passes it)."""
    past = time.time() - 3600
    for p in paths:
        os.utime(p, (past, past))


# -- the rules, one by one ------------------------------------------------------------
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


# -- a folder of drops through the run command ---------------------------------------------

def test_a_drop_folder_from_the_environment_is_imported_file_by_file_and_archived(tmp_path, sandbox):
    drops, archive, results = tmp_path / "drops", tmp_path / "archive", tmp_path / "results"
    drops.mkdir()
    first = write_csv(drops / "monday.csv", people(4))
    second = write_csv(drops / "tuesday.csv", people(3, start=100))
    an_hour_ago(first, second)
    arriving = write_csv(drops / "wednesday.csv", people(2, start=200))  # modified just now
    (tmp_path / "m.yaml").write_text(MAPPING)
    env = {"COPERNICA_API_URL": sandbox.api_url, "COPERNICA_MAPPING": str(tmp_path / "m.yaml"),
           "COPERNICA_RESULTS_DIR": str(results), "COPERNICA_ARCHIVE_DIR": str(archive),
           "COPERNICA_SETTLE_SECONDS": "30"}  # wednesday's file stays 'just modified' however slow the start
    # the pattern reaches the program unexpanded, as in a cron line with quotes
    done = cli("run", str(drops / "*.csv"), "--quiet", "--summary-json", "s.json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(sandbox.profiles(2)) == 7
    assert sorted(p.name for p in drops.iterdir()) == ["wednesday.csv"]
    assert "left for the next run" in done.stderr and "wednesday.csv" in done.stderr
    archived = sorted(p.name for p in archive.iterdir())
    assert archived == ["monday.csv", "monday.results.csv", "monday.results.csv.journal",
                        "tuesday.csv", "tuesday.results.csv", "tuesday.results.csv.journal"]
    assert [line["status"] for line in read_results(archive / "tuesday.results.csv")] == ["created"] * 3
    data = json.loads((tmp_path / "s.json").read_text())
    assert [Path(f["file"]).name for f in data["files"]] == ["monday.csv", "tuesday.csv"]
    assert data["counts"]["created"] == 7 and "wednesday.csv" in data["left_for_next_run"][0]

    # the next night: wednesday's file is complete; yesterday's names in the archive stay untouched.
    # The cron line always says --resume: a new file without a journal simply starts.
    an_hour_ago(arriving)
    again = cli("run", str(drops / "*.csv"), "--quiet", "--resume", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert list(drops.iterdir()) == [] and len(sandbox.profiles(2)) == 9
    assert (archive / "wednesday.csv").exists() and len(list(archive.iterdir())) == 9


def test_one_broken_drop_file_does_not_hold_back_the_others(tmp_path, sandbox):
    drops = tmp_path / "drops"
    drops.mkdir()
    good = write_csv(drops / "b_good.csv", people(3))
    broken = drops / "a_broken.csv"
    broken.write_bytes(b"")  # an empty upload
    an_hour_ago(good, broken)
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", "drops/*.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stderr  # the highest code of the night's files
    assert "a_broken.csv" in done.stderr and "empty" in done.stderr
    assert len(sandbox.profiles(2)) == 3
    assert [line["status"] for line in read_results(tmp_path / "b_good.results.csv")] == ["created"] * 3


def test_an_empty_drop_folder_is_a_quiet_night(tmp_path, sandbox):
    (tmp_path / "drops").mkdir()
    (tmp_path / "m.yaml").write_text(MAPPING)
    done = cli("run", "drops/*.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url, cwd=tmp_path)
    assert done.returncode == 0 and "no file matches 'drops/*.csv'" in done.stderr
