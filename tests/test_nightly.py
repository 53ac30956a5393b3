"""What the night leaves for the morning (issue 15, points 6 and 7), tried as an
operator would: the README's crontab line, run by /bin/sh with cron's bare
environment, over ten simulated nights with two jobs and a drop folder: an
empty night, an outage, a refused token, a kill -9, an overlap, a name that
comes back, archive retention. Then the log, the history, the archive and
the exit codes are read the way one reads them in the morning."""
from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from importer.history import read_history
from importer.sandbox import Faults, Sandbox
from tests.helpers import PEOPLE_MAPPING, REPO, SAMPLE_SCHEMA, TOKEN, people, read_results, write_csv
from tests.test_pipes import install

README = (REPO / "README.md").read_text(encoding="utf-8")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00 (DEBUG|INFO|WARNING|ERROR) \[(leads|orders)\] ")
CRON_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00 cron: exit 75, nothing sent")

JOBS = """\
[defaults]
token_file = "token"
log_file = "import.log"
resume = true
yes = true
archive_dir = "archive/{{job}}"
keep_days = 3
settle_seconds = 0
retries = 1
workers = 2
api_url = "{api_url}"

[jobs.leads]
input = "drops/leads/*.csv"
mapping = "leads.yaml"

[jobs.orders]
input = "drops/orders/*.csv"
mapping = "orders.yaml"
on_existing = "upsert"
expect_files = true
"""


def crontab_command(site: Path) -> str:
    """The README's crontab line, without its schedule, for this site instead of /srv/import."""
    block = re.search(r"```crontab\n(.*?)```", README, flags=re.S).group(1)
    (line,) = [x for x in block.splitlines() if x and not x.startswith("#")]
    schedule, command = line.split(maxsplit=5)[:5], line.split(maxsplit=5)[5]
    assert schedule == ["0", "2", "*", "*", "*"]
    assert "flock -n -E 75" in command and "--all-jobs" in command
    return command.replace("/srv/import", str(site))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Site:
    """/srv/import with its jobs file, drops, and cron's environment."""

    def __init__(self, root: Path, sandbox: Sandbox) -> None:
        self.root = root
        self.sandbox = sandbox
        for job in ("leads", "orders"):
            (root / "drops" / job).mkdir(parents=True)
            (root / f"{job}.yaml").write_text(PEOPLE_MAPPING)
        (root / "token").write_text(TOKEN + "\n")
        (root / "token").chmod(0o600)
        (root / "copernica-import.toml").write_text(JOBS.format(api_url=sandbox.api_url))
        env = install(root)
        self.state = Path(env["COPERNICA_STATE_DIR"])
        # cron's environment: no token in it (the jobs file names the token file), a zone with an offset
        self.env = {"PATH": env["PATH"], "HOME": str(root), "SHELL": "/bin/sh", "LANG": "C.UTF-8",
                    "PYTHONPATH": env["PYTHONPATH"], "COPERNICA_STATE_DIR": str(self.state),
                    "TZ": "Europe/Amsterdam"}
        self.command = crontab_command(root)
        self.log_seen = 0
        self.history_seen = 0
        self.next_person = 0

    def drop(self, job: str, name: str, rows: int) -> Path:
        path = write_csv(self.root / "drops" / job / name, people(rows, start=self.next_person))
        self.next_person += rows
        return path

    def night(self, env: dict | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(["/bin/sh", "-c", self.command], cwd=self.root, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=120)
        return done

    def start_night(self) -> subprocess.Popen:
        return subprocess.Popen(["/bin/sh", "-c", self.command], cwd=self.root, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def wait_until_unlocked(self, seconds: float = 20) -> None:
        folder = os.open(self.root, os.O_RDONLY)
        try:
            deadline = time.monotonic() + seconds
            while True:
                try:
                    fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    assert time.monotonic() < deadline, "the killed night still holds the folder's lock"
                    time.sleep(0.05)
        finally:
            os.close(folder)

    def new_log(self) -> list[str]:
        """The log lines written since the last look."""
        text = (self.root / "import.log").read_text(encoding="utf-8") if (self.root / "import.log").exists() else ""
        new, self.log_seen = text[self.log_seen:], len(text)
        return new.splitlines()

    def new_history(self) -> list[dict]:
        path = self.root / "history.jsonl"
        records = read_history(path) if path.exists() else []
        new, self.history_seen = records[self.history_seen:], len(records)
        return new

    def finished(self, history: list[dict]) -> dict[str, dict]:
        return {r["job"]: r for r in history if r["event"] == "finished"}

    def stored_emails(self) -> list[str]:
        return [p["fields"]["email"] for p in self.sandbox.profiles(2)]


def ended(lines: list[str], job: str) -> str:
    (line,) = [x for x in lines if f"[{job}] run ended: exit" in x]
    return line


@pytest.fixture
def site(tmp_path):
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN) as sb:
        yield Site(tmp_path / "srv", sb)


def test_ten_nights_with_the_readmes_crontab_line(site):
    # -- night 1: files for both jobs -------------------------------------------------------
    site.drop("leads", "n1.csv", 3)
    site.drop("leads", "n1b.csv", 2)
    site.drop("orders", "n1.csv", 2)
    done = site.night()
    assert done.returncode == 0, done.stderr
    log = site.new_log()
    assert all(LOG_LINE.match(line) for line in log), log
    assert "run started" in log[0] and "[leads]" in log[0] and "database 2 at 127.0.0.1" in log[0]
    assert "exit 0 (ok): 2 file(s), 5 created" in ended(log, "leads")
    assert "exit 0 (ok): 1 file(s), 2 created" in ended(log, "orders")
    history = site.new_history()
    assert [(r["event"], r["job"]) for r in history] == [("started", "leads"), ("finished", "leads"),
                                                          ("started", "orders"), ("finished", "orders")]
    leads = site.finished(history)["leads"]
    assert leads["exit_code"] == 0 and leads["counts"]["created"] == 5
    for f in leads["files"]:  # named where they are now: in the archive
        assert f["archived"] and Path(f["file"]).exists() and Path(f["results"]).exists()
        assert Path(f["file"]).parent == site.root / "archive" / "leads" and "drops" in f["source"]
    assert len(site.stored_emails()) == 7

    # -- night 2: nothing arrives; orders expects a file every night ----------------------------
    done = site.night()
    assert done.returncode == 66, done.stderr
    log = site.new_log()
    assert "exit 0 (ok): no input file" in ended(log, "leads")
    assert "exit 66 (no_input)" in ended(log, "orders")
    assert any("[orders] no input file:" in line and "ERROR" in line for line in log)
    finished = site.finished(site.new_history())
    assert finished["leads"]["exit_code"] == 0 and finished["leads"]["files"] == []  # the empty night is recorded
    assert finished["orders"]["exit_code"] == 66 and finished["orders"]["exit_meaning"] == "no_input"

    # -- night 3: Copernica cannot be reached ------------------------------------------------------
    site.drop("leads", "n3.csv", 2)
    site.drop("orders", "n3.csv", 2)
    done = site.night({"COPERNICA_API_URL": f"http://127.0.0.1:{closed_port()}/v3"})  # env beats the jobs file
    assert done.returncode == 75, done.stderr
    log = site.new_log()
    assert "exit 75 (temporary)" in ended(log, "leads") and "could not be reached" in ended(log, "leads")
    assert CRON_LINE.match(log[-1]), log[-1]   # the crontab line's own note of the 75
    assert (site.root / "drops" / "leads" / "n3.csv").exists()
    assert {r["exit_code"] for r in site.finished(site.new_history()).values()} == {75}

    # -- night 4: the token is refused ----------------------------------------------------------------
    done = site.night({"COPERNICA_ACCESS_TOKEN": "not-the-token-at-all"})
    assert done.returncode == 2, done.stderr
    log = site.new_log()
    assert "exit 2 (setup_error)" in ended(log, "leads") and "does not accept the access token" in ended(log, "leads")
    assert "not-the-token-at-all" not in "\n".join(log) + done.stderr
    assert {r["exit_code"] for r in site.finished(site.new_history()).values()} == {2}

    # -- night 5: killed (kill -9) in the middle of leads ----------------------------------------
    site.sandbox.set_faults(latency_ms=150)
    big = site.drop("leads", "n5.csv", 40)
    night = site.start_night()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(site.stored_emails()) < 7 + 2 + 3:  # n3 done, n5 begun
        time.sleep(0.02)
    os.killpg(night.pid, signal.SIGKILL)
    night.wait(timeout=30)
    site.wait_until_unlocked()  # every process of the killed night is gone
    site.sandbox.set_faults(latency_ms=0)
    log = site.new_log()
    assert len(site.stored_emails()) < 7 + 2 + 40, "killed in the middle"
    assert any("[leads] run started" in line for line in log) and not any("run ended" in line for line in log)
    history = site.new_history()
    assert [(r["event"], r["job"]) for r in history] == [("started", "leads")]  # the start, at least
    killed_pid = history[0]["pid"]

    # -- night 6: the next night says so, and --resume finishes every row exactly once ---------------
    done = site.night()
    assert done.returncode == 0, done.stderr
    log = site.new_log()
    vanished = [line for line in log if "ended without a record" in line]
    assert len(vanished) == 1 and f"(process {killed_pid})" in vanished[0] and "[leads]" in vanished[0]
    history = site.new_history()
    assert [r["event"] for r in history if r["job"] == "leads"] == ["vanished", "started", "finished"]
    emails = site.stored_emails()
    assert len(emails) == len(set(emails)) == 7 + 2 + 2 + 40, "every row exactly once after the kill"
    assert not big.exists() and not list((site.root / "drops").rglob("*.csv"))

    # -- night 7: last night's run still holds the lock ---------------------------------------------
    site.drop("leads", "n7.csv", 1)
    held = os.open(site.root, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        done = site.night()
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
    assert done.returncode == 75
    log = site.new_log()
    assert len(log) == 1 and CRON_LINE.match(log[0]) and "the previous night still holds the lock" in log[0]
    assert site.new_history() == [] and (site.root / "drops" / "leads" / "n7.csv").exists()

    # -- night 8: a name comes back: archived with a UTC stamp, nothing overwritten -------------------
    site.drop("leads", "n1.csv", 2)
    site.drop("orders", "n8.csv", 1)
    done = site.night()
    assert done.returncode == 0, done.stderr
    archive = site.root / "archive" / "leads"
    stamped = sorted(p.name for p in archive.iterdir() if re.search(r"\.\d{8}T\d{6}Z\.", p.name))
    assert len(stamped) == 3 and stamped[0].startswith("n1.") and stamped[0].endswith("Z.csv"), stamped
    assert len(read_results(archive / "n1.results.csv")) == 3  # night 1's, untouched
    leads = site.finished(site.new_history())["leads"]
    assert any(Path(f["file"]).name == stamped[0] and Path(f["file"]).exists() for f in leads["files"])
    site.new_log()

    # -- night 9: archive retention (keep_days = 3): night 1's files are ten days old ------------------
    old = time.time() - 10 * 86400
    aged = [archive / n for n in ("n1.csv", "n1.results.csv", "n1.results.csv.journal", "n1b.csv")]
    for path in aged:
        os.utime(path, (old, old))
    site.drop("orders", "n9.csv", 1)
    done = site.night()
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in aged) and (archive / stamped[0]).exists()
    log = site.new_log()
    assert any("removed" in line and "n1.results.csv" in line for line in log)
    removed = site.finished(site.new_history())["leads"]["archive_removed"]
    assert str(archive / "n1.csv") in removed

    # -- night 10: a plain night; then the morning's look around -------------------------------------
    site.drop("leads", "n10.csv", 2)
    site.drop("orders", "n10.csv", 2)
    done = site.night()
    assert done.returncode == 0, done.stderr
    everything = (site.root / "import.log").read_text(encoding="utf-8").splitlines()
    assert all(LOG_LINE.match(line) or CRON_LINE.match(line) for line in everything)
    assert TOKEN not in "\n".join(everything)
    # no lock file anywhere after ten nights: beside the results, in the drops, the archive, the state folder
    assert not list(site.root.rglob("*.lock")) and not list(site.state.rglob("*.lock"))
    history = read_history(site.root / "history.jsonl")
    runs = [r for r in history if r["event"] == "finished"]
    # both jobs of every night the tool ran to its end (not night 5: killed; not night 7: flock skipped it)
    assert len(runs) == 2 * 8
    assert [r["event"] for r in history].count("started") == 2 * 8 + 1  # night 5's leads started
    assert all(r["started_at"] and r["finished_at"].endswith(("+01:00", "+02:00")) for r in runs)


def test_an_outage_in_the_middle_stops_after_max_outage_with_one_line_and_resume_finishes(tmp_path):
    env = install(tmp_path)
    write_csv(tmp_path / "big.csv", people(200))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    with Sandbox(schema=SAMPLE_SCHEMA, token=TOKEN, faults=Faults(latency_ms=20)) as sb:
        command = [sys.executable, "-m", "importer", "run", "big.csv", "--mapping", "m.yaml", "--api-url", sb.api_url,
                   "--max-outage", "1s", "--quiet", "--log-file", "import.log", "--history", "history.jsonl"]
        run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        while len(sb.profiles(2)) < 20:
            time.sleep(0.02)
        sb.set_faults(rate_503=1.0, retry_after=1)  # Copernica answers nothing but 503 from now on
        out, err = run.communicate(timeout=120)
        assert run.returncode == 3, err
        stops = [line for line in err.splitlines() if line.startswith("error: stopped: Copernica has been unreachable")]
        assert len(stops) == 1 and "longer than --max-outage 1 s" in stops[0] and "--resume" in stops[0]
        assert "(stopped early: Copernica unreachable for too long)" in out
        log = (tmp_path / "import.log").read_text()
        assert re.search(r"WARNING \[big\.csv\] Copernica unreachable for \d+ s \(since \d{4}-.*\), retrying in 30 s",
                         log)
        assert "run ended: exit 3 (stopped)" in log and "left unprocessed: big.csv" in log
        (finished,) = [r for r in read_history(tmp_path / "history.jsonl") if r["event"] == "finished"]
        assert finished["stopped"] == "outage" and finished["exit_code"] == 3
        sb.set_faults(rate_503=0.0, latency_ms=0)
        again = subprocess.run([*command, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=120)
        assert again.returncode == 0, again.stderr
        emails = [p["fields"]["email"] for p in sb.profiles(2)]
        assert len(emails) == len(set(emails)) == 200


def test_v_shows_the_run_on_stderr_and_vv_puts_every_row_in_the_log_file_only(tmp_path, sandbox):
    env = install(tmp_path)
    write_csv(tmp_path / "a.csv", people(3) + [["broken", "X", "1", "no"]])
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    base = [sys.executable, "-m", "importer", "run", "a.csv", "--mapping", "m.yaml", "--api-url", sandbox.api_url,
            "--quiet", "--results-dir", "r"]
    plain = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "run started" not in plain.stderr  # cron's mail: no chatter
    one = subprocess.run([*base, "--overwrite", "--yes", "-v"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert "INFO [a.csv] run started" in one.stderr and "run ended: exit 1" in one.stderr
    two = subprocess.run([*base, "--overwrite", "--yes", "-vv", "--log-file", "import.log"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    log = (tmp_path / "import.log").read_text()
    assert re.search(r"DEBUG \[a\.csv\] row 5: invalid \(invalid_email: ", log)
    assert re.search(r"DEBUG \[a\.csv\] row 2: created, profile \d+", log)
    assert "row 5:" not in two.stderr and "DEBUG" not in two.stderr  # not into cron's mail
    assert "run started" in two.stderr  # -v's lines still are
    assert TOKEN not in log + two.stderr


def test_the_state_folder_has_no_lock_file_after_runs_and_a_busy_database_exits_75(tmp_path, sandbox):
    """Point 6: the lock files remove themselves; a second run into the same database is temporary (75)."""
    from importer.state import DatabaseLock

    env = install(tmp_path)
    write_csv(tmp_path / "a.csv", people(2))
    (tmp_path / "m.yaml").write_text(PEOPLE_MAPPING)
    state = Path(env["COPERNICA_STATE_DIR"])
    host = sandbox.api_url.split("/")[2]
    os.environ["COPERNICA_STATE_DIR"] = str(state)
    try:
        lock = DatabaseLock(host, 2, about="another.csv").acquire()
    finally:
        del os.environ["COPERNICA_STATE_DIR"]
    try:
        busy = subprocess.run([sys.executable, "-m", "importer", "run", "a.csv", "--mapping", "m.yaml", "--api-url",
                               sandbox.api_url, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
    finally:
        lock.release()
    assert busy.returncode == 75, busy.stderr
    assert json.loads(busy.stdout)["exit_meaning"] == "temporary" and "another.csv" in busy.stderr
    done = subprocess.run([sys.executable, "-m", "importer", "run", "a.csv", "--mapping", "m.yaml", "--api-url",
                           sandbox.api_url], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.rglob("*.lock")) and not list(state.rglob("*.lock"))


# -- the parts, on their own (fast) -------------------------------------------------------------
def test_durations_are_read_the_way_people_write_them():
    from importer.times import duration_text, parse_duration

    assert [parse_duration(v) for v in ("90", "90s", "45m", "2h", "1h30m", "1.5h", 30)] == \
        [90, 90, 2700, 7200, 5400, 5400, 30]
    for wrong in ("soon", "5 3h", "-3", ""):
        with pytest.raises(ValueError, match="such as 90s, 45m, 2h"):
            parse_duration(wrong, "--max-runtime")
    assert [duration_text(s) for s in (45, 250, 4200, 7200, 7500)] == ["45 s", "4 min", "70 min", "2 h", "2 h 5 min"]


def test_the_pacer_logs_when_copernica_becomes_unreachable_and_when_it_answers_again(caplog):
    from importer.pacing import CircuitBreaker, Pacer

    now = [1000.0]
    pacer = Pacer(4, breaker=CircuitBreaker(threshold=3, cooldown=30, min_span=5), clock=lambda: now[0])
    caplog.set_level("WARNING", logger="importer.pacing")
    for _ in range(3):
        pacer.record_failure()
        now[0] += 3
    assert pacer.outage_seconds() == pytest.approx(9)
    (opened,) = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(r"Copernica unreachable for 6 s \(since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\), "
                        r"retrying in 30 s", opened)
    now[0] += 240
    pacer.record_success(0.05)
    assert pacer.outage_seconds() == 0
    assert caplog.records[-1].getMessage().startswith("Copernica answers again after 4 min unreachable (since ")


def test_prune_archive_removes_only_old_plain_files_and_never_what_this_run_archived(tmp_path):
    from importer.drops import archive, prune_archive

    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "sub").mkdir()
    old, recent, mine = folder / "old.csv", folder / "recent.csv", tmp_path / "mine.csv"
    for path in (old, recent, mine):
        path.write_text("x")
    ten_days = time.time() - 10 * 86400
    os.utime(old, (ten_days, ten_days))
    os.utime(mine, (ten_days, ten_days))       # an old drop file: archiving makes it "archived now"
    (moved,) = archive([mine], folder)
    os.utime(folder / "sub", (ten_days, ten_days))
    removed = prune_archive(folder, 3)
    assert removed == [old] and recent.exists() and moved.exists() and (folder / "sub").exists()
    os.utime(moved, (ten_days, ten_days))
    assert prune_archive(folder, 3, keep=[moved]) == [] and moved.exists()


def test_a_run_that_never_ended_is_reported_once_and_a_live_one_not_at_all(tmp_path):
    from importer.history import History

    history = History(tmp_path / "history.jsonl")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    history.append({"event": "started", "run_id": "a", "job": "leads", "pid": int(dead), "time": "t1"})
    history.append({"event": "started", "run_id": "b", "job": "leads", "pid": os.getpid(), "time": "t2"})
    history.append({"event": "started", "run_id": "c", "job": "orders", "pid": int(dead), "time": "t3"})
    assert [r["run_id"] for r in history.vanished("leads")] == ["a"]
    assert history.vanished("leads") == []  # said once
    assert read_history(tmp_path / "history.jsonl")[-1] == {
        **read_history(tmp_path / "history.jsonl")[-1], "event": "vanished", "run_id": "a", "started_at": "t1"}
