"""The README's "Migrating from another system", run as written.

Every `copernica-import` line of its example block runs in order, in a copy
of sample_data/migration: the sandbox line as a background process (on a
free port instead of 8899), the first orders run killed with SIGKILL once it
is half-way, the others to their end. The counts the README promises are
checked on the sandbox itself.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter

from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def example_lines() -> list[str]:
    block = re.search(r"<!-- migration-example.*?```sh\n(.*?)```.*?<!-- /migration-example -->", README, re.S)
    assert block, "the README lost its migration example"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def inspect(base: str, what: str):
    with urllib.request.urlopen(f"{base}/_sandbox/{what}", timeout=30) as r:
        return json.load(r)


def test_the_migration_example_runs_as_written(tmp_path):
    lines = example_lines()
    assert lines[0] == "cd sample_data/migration"
    folder = tmp_path / "migration"
    shutil.copytree(REPO / "sample_data" / "migration", folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPERNICA_")}
    env["PYTHONPATH"] = str(REPO)
    sandbox = None
    base = ""
    killed_half_way = False
    try:
        for line in lines[1:]:
            words = shlex.split(line)
            if words[0] == "export":
                for pair in words[1:]:
                    name, value = pair.split("=", 1)
                    env[name] = value.replace("127.0.0.1:8899", base.removeprefix("http://"))
                continue
            assert words[0] == "copernica-import", line
            argv = [sys.executable, "-m", "importer", *words[1:]]
            if words[1] == "sandbox":
                argv[argv.index("8899")] = "0"
                sandbox = subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL, text=True)
                url = re.search(r"(http://127\.0\.0\.1:\d+)/v3", sandbox.stdout.readline()).group(1)
                base = url
                continue
            if words[1:3] == ["run", "orders.ndjson"] and "--resume" not in words:
                posts = inspect(base, "stats")["posts"]
                proc = subprocess.Popen(argv, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                deadline = time.monotonic() + 60
                while inspect(base, "stats")["posts"] < posts + 60:
                    assert proc.poll() is None, "the orders run ended before it could be stopped half-way"
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                stored = len(inspect(base, "subprofiles?collection=10"))
                killed_half_way = 0 < stored < 150
                continue
            done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
            expected = {"check": 1, "rollback": 0}.get(words[1], 1 if "--resume" in words else 0)
            assert done.returncode == expected, f"{line}: {done.stdout}{done.stderr}"
            if "--resume" in words:   # after step 5, what the README promises
                profiles = inspect(base, "profiles?database=1")
                subprofiles = inspect(base, "subprofiles?collection=10")
                assert len(profiles) == 60 and len({p["fields"]["email"] for p in profiles}) == 60
                assert len(subprofiles) == 150
                assert len({sp["fields"]["order_id"] for sp in subprofiles}) == 150
                with open(folder / "orders.results.csv", encoding="utf-8-sig", newline="") as f:
                    results = list(csv.DictReader(f))
                assert Counter(r["status"] for r in results) == {"created": 150, "skipped": 10, "invalid": 1}
                assert Counter(r["profile_status"] for r in results)["created"] == 20
                bad = next(r for r in results if r["status"] == "invalid")
                assert (bad["code"], bad["row"]) == ("bad_json", "78")
                assert "whose 'updated_at' is newer" in next(r for r in results if r["status"] == "skipped")["error"]
                shipped = {sp["fields"]["order_id"] for sp in subprofiles if sp["fields"]["status"] == "shipped"}
                assert len(shipped) == 10   # the newer version of each changed order won
        assert killed_half_way, "the orders run was not stopped half-way"
        assert inspect(base, "profiles?database=1") == []
        assert inspect(base, "subprofiles") == []
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=10)
