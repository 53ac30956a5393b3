"""What a night leaves for the morning: the history file and the log's lines.

The history file (``--history FILE``, or ``history`` in the jobs file) gets
one JSON line when a run starts and one when it ends, appended, never
rewritten, so it holds every night (empty ones included)::

    {"event": "started", "time": "2026-01-05T02:00:03+01:00", "run_id": "...", "job": "leads", "pid": 4242, ...}
    {"event": "finished", "time": "...", "run_id": "...", "job": "leads", "exit_code": 0, "counts": {...},
     "files": [{"file": "archive/a.csv", "source": "drops/a.csv", "results": "archive/a.results.csv", ...}], ...}

A run killed with ``kill -9`` (or a power cut) cannot write its end; its
``started`` line stays alone, and the next run of the same job appends a
``vanished`` line for it (and logs it), so no night goes unrecorded. The
``finished`` line carries the summary's JSON fields (``importer.summary``).

Each line is one ``write`` on a file opened for appending, so two processes
appending at once do not interleave their lines.

Log lines name the job (or the inputs of a run without one) and carry the
time with its zone: ``2026-01-05T02:00:03+01:00 INFO [leads] importing
drops/leads/a.csv``. ``feed`` sets the name for the records made inside it.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from importer.errors import OutputError
from importer.redaction import RedactingFormatter
from importer.summary import SUMMARY_SCHEMA_VERSION
from importer.times import local_text

log = logging.getLogger("importer")

TAIL_BYTES = 256 * 1024   # how far back a start looks for runs that never ended


class Msg:
    """What the history tells a user and the log."""
    CANNOT_WRITE = "the history file could not be written ({why})"


# -- the history file -----------------------------------------------------------------
def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class History:
    """Appends a run's ``started`` and ``finished`` lines to one JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(self.path, Msg.CANNOT_WRITE.format(why=exc.strerror or exc)) from None

    def started(self, run_id: str, *, job: str | None, inputs: list[str], started_at: str) -> None:
        self.append({"event": "started", "schema_version": SUMMARY_SCHEMA_VERSION, "time": started_at,
                     "run_id": run_id, "job": job, "pid": os.getpid(), "inputs": inputs})

    def finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """``summary``: the run's ``combined_dict``; the throughput samples are left out."""
        files = [{k: v for k, v in f.items() if k != "throughput"} for f in summary.get("files", [])]
        self.append({"event": "finished", **{k: v for k, v in summary.items() if k != "files"},
                     "time": local_text(), "run_id": run_id, "pid": os.getpid(), "files": files})

    def vanished(self, job: str | None) -> list[dict[str, Any]]:
        """Earlier runs of ``job`` that started and never ended (their process is gone);
        each gets a ``vanished`` line now, so it is reported once."""
        lines = self._tail()
        closed = {r.get("run_id") for r in lines if r.get("event") in ("finished", "vanished")}
        gone = [r for r in lines if r.get("event") == "started" and r.get("job") == job
                and r.get("run_id") not in closed and not _alive(r.get("pid"))]
        for record in gone:
            self.append({"event": "vanished", "schema_version": SUMMARY_SCHEMA_VERSION, "time": local_text(),
                         "run_id": record.get("run_id"), "job": job, "pid": record.get("pid"),
                         "started_at": record.get("time")})
        return gone

    def _tail(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - TAIL_BYTES))
                data = f.read()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise OutputError(self.path, Msg.CANNOT_WRITE.format(why=exc.strerror or exc)) from None
        records = []
        for raw in data.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # the first line of the tail may be cut
            if isinstance(record, dict):
                records.append(record)
        return records


def _alive(pid: object) -> bool:
    """Is the run of process ``pid`` still going? A zombie (killed, not yet reaped) is not,
    and neither is another program that got the number since (Linux: /proc tells)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # someone else's process: look closer below
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return True   # no /proc to ask (not Linux): alive, as far as we can tell
    return state != "Z" and (b"importer" in command or b"copernica" in command)


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every record of a history file (for tests and scripts)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


# -- the log's lines -------------------------------------------------------------------
class _Feed:
    name = "-"


_FEED = _Feed()


@contextmanager
def feed(name: str) -> Iterator[None]:
    """Log records made inside (in any thread) name this job or feed."""
    before, _FEED.name = _FEED.name, name
    try:
        yield
    finally:
        _FEED.name = before


class FeedFilter(logging.Filter):
    """Adds ``record.feed``: the job (or inputs) the process is working on."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.feed = _FEED.name
        return True


def not_shown(record: logging.LogRecord) -> bool:
    """Lines a front end prints itself (errors, notes: ``extra={"shown": True}``) are not printed
    twice by the console handler; the log file gets them."""
    return not getattr(record, "shown", False)


class CannotOpenLog(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


_console: logging.Handler | None = None


def configure_logging(verbose: int, log_file: str | None) -> logging.Handler | None:
    """stderr (cron's mail) gets warnings, ``-v`` adds what the run does (INFO), ``-vv`` every row
    and request (DEBUG), but only where there is no log file: with one, that detail goes into the
    file alone. The console handler is made once; a file handler for ``log_file`` is returned
    (the caller removes it when the job ends)."""
    global _console
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    if _console is None:
        _console = logging.StreamHandler()
        _console.addFilter(FeedFilter())
        _console.addFilter(not_shown)
        _console.addFilter(lambda record: not record.name.startswith(FILE_NOTES))
        _console.setFormatter(LogFormatter())
        root.addHandler(_console)
        notes = logging.StreamHandler()   # how an input file was read (encoding, header row): one plain line each
        notes.setFormatter(logging.Formatter("%(message)s"))
        logging.getLogger(FILE_NOTES).addHandler(notes)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    _console.setLevel(max(level, logging.INFO) if log_file else level)
    if not log_file:
        return None
    try:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    except OSError as exc:
        raise CannotOpenLog(str(exc.strerror or exc)) from None
    handler.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)
    handler.addFilter(FeedFilter())
    handler.setFormatter(LogFormatter())
    root.addHandler(handler)
    return handler


FILE_NOTES = "importer.file"  # the reader's notes logger (importer.reader.FILE_NOTES)


class LogFormatter(RedactingFormatter):
    """``2026-01-05T02:00:03+01:00 INFO [leads] message``, the access token never in it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(feed)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return local_text(record.created)
