"""Shared pieces of the benchmarks: a sandbox in its own process, generated
input files, and running the importer as a child process with its CPU time
and peak memory measured by the kernel (os.wait4), not by sampling.

Nothing here is imported by the importer; the benchmarks only use it the way a
user would: files on disk, `python -m importer ...`, HTTP to the sandbox.
"""
from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# BENCH_CODE=DIR: run the importer (and the sandbox) of another checkout, for
# before/after figures on one machine; the files and mappings stay this checkout's
CODE = Path(os.environ.get("BENCH_CODE") or REPO).resolve()
SCHEMA = REPO / "sample_data" / "schema.yaml"
MAPPING = REPO / "mappings" / "contacts.yaml"
TOKEN = "bench-token-4d1f"   # passed by file and environment, never on a command line
DATABASE_ID = 1

HEADERS = ["Customer no", "E-mail address", "First name", "Last name", "Phone", "Date of birth",
           "City", "Country", "Newsletter", "Sports", "Opt-in", "Score", "Notes"]
FIRST = ["Anna", "Sem", "Chloé", "Lucas", "Fleur", "Piet", "Zoë", "Ingrid", "Noah", "Émile"]
LAST = ["de Jong", "Smit", "Meijer", "Peeters", "van der Berg", "Çelik", "Lefèvre", "Dubois"]
CITIES = ["Amsterdam", "Utrecht", "Berlin", "Brussel", "Leuven", "London", "Düsseldorf"]
COUNTRIES = ["NL", "BE", "DE", "FR", "GB"]
SPORTS = ["", "Football", "Tennis;Running", "cycling", "football; tennis"]
# Several distinct domains, as in a real list (the email check caches per domain).
DOMAINS = [f"mail{i}.example.com" for i in range(50)] + ["example.org", "example.net"]


# ---------------------------------------------------------------- files
def contact_row(i: int, rng: random.Random) -> list[str]:
    """One valid row of the sample layout with a unique e-mail address."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    # addresses are ASCII as most real ones are (the names keep their accents)
    local = _ascii(f"{first}.{last.replace(' ', '')}{i}".lower())
    return [f"{i:06d}", f"{local}@{rng.choice(DOMAINS)}", first, last, f"06{rng.randrange(10**8):08d}",
            f"{rng.randint(1, 28):02d}-{rng.randint(1, 12):02d}-{rng.randint(1940, 2005)}",
            rng.choice(CITIES), rng.choice(COUNTRIES), rng.choice(["yes", "", "no", "x"]),
            rng.choice(SPORTS), rng.choice(["yes", "no"]), str(rng.randint(0, 100)),
            rng.choice(["", "", "VIP", "Called back twice"])]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def make_csv(path: Path, rows: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADERS)
        for i in range(1, rows + 1):
            w.writerow(contact_row(i, rng))
    return path


def make_xlsx(path: Path, rows: int, seed: int = 7) -> Path:
    from openpyxl import Workbook
    rng = random.Random(seed)
    wb = Workbook(write_only=True)   # streams rows: constant memory at 1M rows
    ws = wb.create_sheet("Contacts")
    ws.append(HEADERS)
    for i in range(1, rows + 1):
        ws.append(contact_row(i, rng))
    wb.save(path)
    return path


def cached_file(kind: str, rows: int, directory: Path) -> Path:
    """A generated file, reused across runs of a benchmark (generation is slow for XLSX)."""
    path = directory / f"contacts-{rows}.{kind}"
    if not path.exists():
        tmp = path.with_suffix(".part." + kind)
        (make_xlsx if kind == "xlsx" else make_csv)(tmp, rows)
        tmp.rename(path)
    return path


def work_dir(name: str) -> Path:
    """A directory for generated files that survives between runs (delete it freely)."""
    path = Path(os.environ.get("BENCH_DIR", Path(tempfile.gettempdir()) / "copernica-bench")) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------- sandbox
@dataclass
class SandboxProcess:
    api_url: str
    base_url: str
    process: subprocess.Popen

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/_sandbox/stats", timeout=10) as r:
            return json.load(r)

    def cpu_seconds(self) -> float:
        """The sandbox process's CPU time so far (Linux /proc), to show what the server costs."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def profile_count(self, database: int = DATABASE_ID) -> int:
        with urllib.request.urlopen(f"{self.base_url}/_sandbox/profiles?database={database}", timeout=60) as r:
            data = json.load(r)
        return len(data["profiles"] if isinstance(data, dict) else data)


@contextmanager
def sandbox(*flags: str, db: Path | None = None) -> Iterator[SandboxProcess]:
    """`python -m importer.sandbox --port 0 FLAGS` in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(TOKEN)
        db_path = db or Path(tmp) / "sandbox.sqlite"
        cmd = [sys.executable, "-m", "importer.sandbox", "--port", "0", "--schema", str(SCHEMA),
               "--token-file", str(token_file), "--db", str(db_path), *flags]
        proc = subprocess.Popen(cmd, cwd=CODE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env=_env())
        try:
            first = proc.stdout.readline()      # "Sandbox listening on http://127.0.0.1:PORT/v3 ..."
            if "listening on" not in first:
                raise RuntimeError(f"the sandbox did not start: {first!r}")
            api_url = first.split("listening on", 1)[1].split()[0]
            base_url = api_url.rsplit("/", 1)[0]
            yield SandboxProcess(api_url, base_url, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------- child processes
@dataclass
class ChildRun:
    returncode: int
    wall: float           # seconds
    cpu: float            # user + system seconds of the child alone
    max_rss_mb: float     # peak resident set size of the child
    stdout: str
    stderr: str


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env["PYTHONPATH"] = str(CODE)
    env["COPERNICA_ACCESS_TOKEN"] = TOKEN
    env.update(extra or {})
    return env


def run_child(args: list[str], *, cwd: Path | None = None) -> ChildRun:
    """Runs ARGS, measuring that one child's CPU and peak RSS with os.wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd or CODE, env=_env(), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return ChildRun(proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                        out.read(), err.read())


def importer_run(file: Path, api_url: str, results: Path, *extra: str, mapping: Path = MAPPING) -> ChildRun:
    return run_child([sys.executable, "-m", "importer", "run", str(file), "--mapping", str(mapping),
                      "--api-url", api_url, "--results", str(results), "--overwrite", "--quiet", *extra])


def run_rate(run: ChildRun) -> float:
    """rows/s as the importer reports it (from its start to its last results line)."""
    import re
    m = re.search(r"Time: ([0-9.]+) s, ([0-9,]+) rows/s", run.stdout + run.stderr)
    if not m:
        sys.exit(f"no summary line in the importer's output:\n{run.stdout}\n{run.stderr}")
    return float(m[2].replace(",", ""))


# Database 1 of the sample schema, the contacts layout, no interests (issue 17's set-up)
PLAIN_MAPPING = """\
database: 1
key: email
fields:
  email: {column: E-mail address, transform: [trim, lower]}
  firstname: First name
  lastname: Last name
  phone: Phone
  city: City
  country: Country
  customer_number: Customer no
"""


def write_file(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def csv_rows(file: Path) -> tuple[list[str], list[list[str]]]:
    with open(file, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def seeded_database(db: Path, file: Path, mapping: Path) -> None:
    """A sandbox database file holding the profiles of ``file`` (imported in create mode, no latency)."""
    db.unlink(missing_ok=True)
    with sandbox(db=db) as sb, tempfile.TemporaryDirectory() as tmp:
        run = importer_run(file, sb.api_url, Path(tmp) / "seed.csv", mapping=mapping)
        if run.returncode != 0:
            sys.exit(f"seeding {db} failed:\n{run.stdout}\n{run.stderr}")


def importer_check(file: Path) -> ChildRun:
    return run_child([sys.executable, "-m", "importer", "check", str(file), "--mapping", str(MAPPING),
                      "--schema", str(SCHEMA), "--offline"])


def results_statuses(results: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(results, newline="", encoding="utf-8-sig") as f:
        for line in csv.DictReader(f):
            counts[line["status"]] = counts.get(line["status"], 0) + 1
    return counts


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def header(title: str) -> None:
    print(f"# {title}  ({time.strftime('%Y-%m-%d %H:%M')}, {machine()})")
