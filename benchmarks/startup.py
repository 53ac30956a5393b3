"""Start-up: `--help`, and the time from starting `run` on a CSV to its first request.

    python benchmarks/startup.py [--repeat 7]

- `python -m importer --help`, wall time of the whole process, beside a bare
  `python -c pass` (the interpreter's own start) measured in the same run.
- The first request: the sandbox sits behind a small TCP relay in this
  process that notes when the first byte of the first request arrives; the
  figure is that moment minus the moment the importer was started (one
  monotonic clock). The input is a 200-row CSV; nothing is imported twice
  (a fresh sandbox database per run).
- `python -X importtime` of the same run: the heaviest imports, and whether
  openpyxl, numpy, pandas, pydantic or email_validator are loaded at all.

Targets (issue 17, on this machine): `--help` under 0.25 s; first request
under 0.4 s after start. The medians are the figures; the minimum shows the
machine's noise.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import CODE, MAPPING, _env, cached_file, header, sandbox, work_dir

HELP_TARGET, FIRST_REQUEST_TARGET = 0.25, 0.4
WATCHED = ("openpyxl", "numpy", "pandas", "pydantic", "email_validator", "charset_normalizer", "requests",
           "tenacity", "yaml", "tqdm", "python_calamine")


class Relay:
    """A TCP relay to the sandbox that notes when the first request byte arrives."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.first: float | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for src, dst, first in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(src, dst, first), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and self.first is None:
                    self.first = time.monotonic()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()


def wall(args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(args, cwd=CODE, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def first_request(file: Path, *python_flags: str) -> tuple[float, list[str]]:
    """Seconds from starting `run` to its first request's first byte; and the lines it
    wrote to stderr before that moment (with -X importtime: what it had imported)."""
    with sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        relay = Relay(int(sb.api_url.rsplit(":", 1)[1].split("/")[0]))
        try:
            args = [sys.executable, *python_flags, "-m", "importer", "run", str(file), "--mapping", str(MAPPING),
                    "--api-url", f"http://127.0.0.1:{relay.port}/v3", "--results", str(Path(tmp) / "r.csv"),
                    "--quiet"]
            lines: list[tuple[float, str]] = []
            started = time.monotonic()
            proc = subprocess.Popen(args, cwd=tmp, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            assert proc.stderr is not None
            for line in proc.stderr:   # importtime writes each line as an import ends
                lines.append((time.monotonic(), line))
            if proc.wait() not in (0, 1) or relay.first is None:
                sys.exit("the run failed:\n" + "".join(text for _, text in lines))
            return relay.first - started, [text for at, text in lines if at < relay.first]
        finally:
            relay.close()


def import_times(lines: list[str]) -> tuple[dict[str, int], int]:
    """Cumulative microseconds per module from `-X importtime` output, and the
    total of the imports at the outermost level (not nested in another)."""
    out: dict[str, int] = {}
    total = 0
    for line in lines:
        if line.startswith("import time:") and "|" in line:
            _, cumulative, raw = line[len("import time:"):].rstrip("\n").split("|")
            if cumulative.strip().isdigit():
                out[raw.strip()] = int(cumulative)
                if raw[1:2] != " ":   # "| name" at the outermost level, "|   name" nested
                    total += int(cumulative)
    return out, total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    header("start-up")
    file = cached_file("csv", 200, work_dir("files"))
    bare = [wall([sys.executable, "-c", "pass"]) for _ in range(args.repeat)]
    helps = [wall([sys.executable, "-m", "importer", "--help"]) for _ in range(args.repeat)]
    firsts = [first_request(file)[0] for _ in range(args.repeat)]
    print(f"{'':>26} {'median s':>9} {'min s':>7}")
    for name, times in (("python -c pass", bare), ("python -m importer --help", helps),
                        ("run: first request", firsts)):
        print(f"{name:>26} {statistics.median(times):>9.3f} {min(times):>7.3f}")
    help_ok = statistics.median(helps) < HELP_TARGET
    first_ok = statistics.median(firsts) < FIRST_REQUEST_TARGET
    print(f"--help: {'met' if help_ok else 'MISSED'} (target < {HELP_TARGET} s); "
          f"first request: {'met' if first_ok else 'MISSED'} (target < {FIRST_REQUEST_TARGET} s)")
    _, before = first_request(file, "-X", "importtime")
    times, total = import_times(before)
    top = sorted(((us, name) for name, us in times.items() if "." not in name), reverse=True)[:12]
    print("python -X importtime of `run` on a CSV, imports done before its first request (cumulative ms, "
          "top-level packages; -X importtime itself slows imports down):")
    print(f"  {total / 1000:.0f} ms in all; " + ", ".join(f"{name} {us / 1000:.0f}" for us, name in top))
    loaded = {m for m in WATCHED if any(name == m or name.startswith(m + ".") for name in times)}
    print("  imported: " + ", ".join(m for m in WATCHED if m in loaded))
    print("  not imported: " + ", ".join(m for m in WATCHED if m not in loaded))


if __name__ == "__main__":
    main()
