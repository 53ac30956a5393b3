"""kill -9 at many moments, then --resume: every row exactly once.

    python benchmarks/crash_resume.py [--moments 24] [--rows 600] [--seed 1]

For each moment: a fresh sandbox in its own process (it outlives the
importer), a run of the importer killed with SIGKILL once the sandbox has
seen a chosen number of POSTs (from before the first one to near the last),
sometimes a second kill during the resume, sometimes with answers dropped
after the store; then `--resume` until it finishes. Checked each time:

- every input row has a profile in the sandbox, exactly one;
- the results CSV has exactly one line per input row;
- every `created` line's ID exists and holds that row's e-mail address.

Prints one line per moment and a total; exits 1 if any check failed.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from _common import DATABASE_ID, MAPPING, REPO, _env, cached_file, header, sandbox, work_dir


def profiles(base_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{base_url}/_sandbox/profiles?database={DATABASE_ID}", timeout=60) as r:
        data = json.load(r)
    return data["profiles"] if isinstance(data, dict) else data


def posts_seen(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/_sandbox/stats", timeout=10) as r:
        return int(json.load(r)["posts"])


def run_args(file: Path, api_url: str, results: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "importer", "run", str(file), "--mapping", str(MAPPING), "--api-url", api_url,
            "--results", str(results), "--workers", "8", "--timeout", "1", "--quiet", *extra]


def kill_after_posts(args: list[str], base_url: str, posts: int, journal: Path) -> bool:
    """Start ARGS, SIGKILL it once the sandbox saw POSTS posts; False if it finished first."""
    proc = subprocess.Popen(args, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while posts_seen(base_url) < posts or not journal.exists():
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def check(file: Path, results: Path, stored: list[dict]) -> list[str]:
    """What is wrong (empty: every row exactly once)."""
    with open(file, newline="", encoding="utf-8") as f:
        emails = {n: line["E-mail address"].strip().lower() for n, line in enumerate(csv.DictReader(f), start=2)}
    with open(results, newline="", encoding="utf-8-sig") as f:
        lines = list(csv.DictReader(f))
    problems = []
    by_email = Counter(str(p["fields"].get("email", "")).lower() for p in stored)
    if by_email[""]:
        problems.append(f"{by_email.pop('')} profiles without an e-mail address (a cut request stored?)")
    by_id = {int(p["ID"]): str(p["fields"].get("email", "")).lower() for p in stored}
    missing = [r for r, e in emails.items() if by_email[e] == 0]
    doubled = [e for e, c in by_email.items() if c > 1]
    per_row = Counter(int(line["row"]) for line in lines)
    if missing:
        problems.append(f"{len(missing)} rows without a profile (e.g. row {missing[0]})")
    if doubled:
        problems.append(f"{len(doubled)} duplicate profiles (e.g. {doubled[0]})")
    if sorted(per_row) != sorted(emails) or set(per_row.values()) != {1}:
        problems.append(f"{len(lines)} results lines for {len(emails)} rows")
    for line in lines:
        if line["status"] != "created":
            problems.append(f"row {line['row']} is {line['status']}: {line['error']}")
        elif by_id.get(int(line["profile_id"])) != emails.get(int(line["row"])):
            problems.append(f"row {line['row']}: profile {line['profile_id']} missing or someone else's")
    return problems


def one_moment(file: Path, rows: int, posts: int, second_kill: bool, drops: bool, seed: int) -> tuple[str, bool]:
    flags = ["--latency-ms", "10", "--jitter-ms", "20", "--seed", str(seed)]
    if drops:
        flags += ["--drop-after-store", "0.1", "--slow-after-store", "0.03", "--slow-seconds", "2"]
    with sandbox(*flags) as sb, tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.csv"
        journal = Path(str(results) + ".journal")
        killed = kill_after_posts(run_args(file, sb.api_url, results, "--overwrite"), sb.base_url, posts, journal)
        how = f"killed after {posts:>3} posts" if killed else f"finished before {posts} posts"
        if killed and second_kill:
            again = posts_seen(sb.base_url) + max(1, (rows - posts) // 2)
            if kill_after_posts(run_args(file, sb.api_url, results, "--resume"), sb.base_url, again, journal):
                how += f", resume killed after {again}"
        resumed = subprocess.run(run_args(file, sb.api_url, results, "--resume"), cwd=REPO, env=_env(),
                                 capture_output=True, text=True)
        problems = check(file, results, profiles(sb.base_url))
        if resumed.returncode != 0:
            problems.insert(0, f"resume exit code {resumed.returncode}: {resumed.stderr.strip()[-300:]}")
        recovered = (results.read_text(encoding="utf-8-sig").count("found by its key")
                     if results.exists() else 0)
    label = how + (", answers dropped" if drops else "") + f"; {recovered} rows recovered by key look-up"
    return label + ("" if not problems else "\n      " + "\n      ".join(problems[:5])), not problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moments", type=int, default=24)
    p.add_argument("--rows", type=int, default=600)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    header(f"kill -9 then --resume at {args.moments} moments, {args.rows} rows each")
    file = cached_file("csv", args.rows, work_dir("files"))
    rng = random.Random(args.seed)
    # spread over the whole run: before the first POST, the first few, then anywhere up to the last
    moments = [0, 1, 2] + sorted(rng.randrange(3, args.rows) for _ in range(max(0, args.moments - 3)))
    failures = 0
    started = time.perf_counter()
    for i, posts in enumerate(moments[: args.moments], start=1):
        label, ok = one_moment(file, args.rows, posts, second_kill=i % 4 == 0, drops=i % 3 == 0,
                               seed=args.seed + i)
        failures += not ok
        print(f"{i:>3}. {'ok  ' if ok else 'FAIL'} {label}", flush=True)
    print(f"{len(moments[: args.moments]) - failures} of {len(moments[: args.moments])} moments: every row "
          f"exactly once ({time.perf_counter() - started:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
