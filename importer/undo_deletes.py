"""The deletes of a rollback: N threads, each delete recorded (flushed) before its thread sends the next.

Whatever stops a rollback (Ctrl-C, SIGTERM, kill -9, a refused token,
Copernica unreachable) leaves a record that holds every delete Copernica may
have done but one per thread at most. A stop ends the waits at once (the
client's pacer is stopped, its waits between retries end), so SIGTERM during
an outage stops a rollback within seconds. Copernica unreachable after a
delete's retries stops the rollback too, naming the host. A profile (or
subprofile) that is already gone counts as rolled back and says so.
"""
from __future__ import annotations

import csv
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from importer.client import COPERNICA_ALREADY_REMOVED, COPERNICA_SUBPROFILE_ALREADY_REMOVED
from importer.errors import (
    ApiError,
    ApiUnreachable,
    CopernicaImportError,
    RequestFailed,
    RequestRefused,
    TemporaryFailure,
)
from importer.pacing import PacerStopped
from importer.undo_record import DELETED, FAILED

STOP_GRACE = 5.0   # seconds a stopped rollback waits for a request still in flight
ROLLBACK_COLUMNS = ("row", "status", "profile_id", "error")
COLLECTION_ROLLBACK_COLUMNS = ("row", "status", "profile_id", "subprofile_id", "error")
# Copernica's answers for a profile (or subprofile) that is not there (any more)
GONE_MESSAGES = (COPERNICA_ALREADY_REMOVED.lower(), COPERNICA_SUBPROFILE_ALREADY_REMOVED.lower(),
                 "already been removed", "no profile with supplied id", "no subprofile with supplied id")


class Msg:
    """What the deletes say when they end."""
    ALREADY_GONE = "was already removed (by an earlier rollback, by hand or by another tool): counts as rolled back"
    DONE = ("Deleted {deleted:,} profiles ({gone:,} of them were already gone), {failed:,} failed. "
            "Record: {output}")
    FAILED_HINT = "Run the same rollback command again to retry the failed ones."
    UNREACHABLE = "Copernica at {host} could not be reached ({why}); no more deletes were sent"
    STOPPED = ("Stopped: {deleted:,} deleted so far, each one recorded. Run the same command again to continue. "
               "Record: {output}")


@dataclass
class RollbackResult:
    output: Path
    todo: int = 0
    deleted: int = 0
    already_gone: int = 0     # counted in ``deleted`` as well
    failed: int = 0
    declined: bool = False
    stopped: bool = False
    error: CopernicaImportError | None = None   # what stopped it (a refused token, ...)

    @property
    def exit_code(self) -> int:
        if self.stopped or (self.error is not None and self.deleted):
            return 3  # stopped early: never 0, even with nothing deleted yet
        if self.error is not None:
            return self.error.exit_code
        if self.declined:
            return 2
        return 1 if self.failed else 0


@dataclass(frozen=True)
class Delete:
    """One delete: a profile, or (with ``subprofile_id``) a subprofile of that profile."""
    row: int
    profile_id: int | None
    subprofile_id: int | None = None


class Talk:
    def __init__(self, say: Callable[[str], None] | None) -> None:
        self._say = say

    def out(self, text: str) -> None:
        if self._say is not None:
            self._say(text)
        else:
            print(text)

    def note(self, text: str) -> None:
        if self._say is not None:
            self._say(text)
        else:
            print(text, file=sys.stderr)


def say_end(result: RollbackResult, talk: Talk, done: str) -> None:
    """How a rollback ended: ``done`` (the counts), or what stopped it and how to continue."""
    if result.error is not None:
        talk.note(f"error: {result.error}")
    if result.stopped or result.error is not None:
        talk.note(Msg.STOPPED.format(deleted=result.deleted, output=result.output))
        return
    talk.out(done)
    if result.failed:
        talk.note(Msg.FAILED_HINT)


def delete_all(todo: "list[tuple[int, int]] | list[Delete]", client, output: Path, workers: int,
                stop: threading.Event | None, talk: Talk, layout: tuple[bool, str] = (True, ","), *,
                collection: bool = False) -> RollbackResult:
    """Deletes ``todo`` (``(row, profile ID)`` pairs, or ``Delete``\\ s in a collection import's rollback),
    each recorded before the thread that sent it sends its next one."""
    result = RollbackResult(output, todo=len(todo))
    stop = stop or threading.Event()
    pending: Iterator = iter(todo)
    lock = threading.Lock()
    new_file = not output.exists() or output.stat().st_size == 0
    bom, delimiter = layout
    # the byte-order mark only at the start of a new record, never in the middle of one
    with open(output, "a", encoding="utf-8-sig" if new_file and bom else "utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if new_file:
            writer.writerow(COLLECTION_ROLLBACK_COLUMNS if collection else ROLLBACK_COLUMNS)
            f.flush()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    line = _delete_line(client, item)
                except (ApiError, PacerStopped) as exc:  # a refused token, Copernica unreachable; a stop
                    with lock:
                        if isinstance(exc, ApiError):
                            result.error = result.error or exc
                    stop.set()
                    return
                with lock:  # recorded before this thread sends its next delete
                    if f.closed:
                        return  # the rollback ended without this thread (see _wait_for)
                    writer.writerow(line)
                    f.flush()
                    status, message = line[1], line[-1]
                    result.failed += status == FAILED
                    result.deleted += status == DELETED
                    result.already_gone += message == Msg.ALREADY_GONE

        threads = [threading.Thread(target=work, name=f"rollback-{i}", daemon=True) for i in range(max(1, workers))]
        for t in threads:
            t.start()
        _wait_for(threads, stop, getattr(client, "pacer", None))
        lock.acquire()  # a thread left behind writes nothing more once the record is closed
    lock.release()
    result.stopped = stop.is_set() and result.error is None and result.deleted + result.failed < len(todo)
    say_end(result, talk, Msg.DONE.format(deleted=result.deleted, gone=result.already_gone, failed=result.failed,
                                          output=output))
    return result


def _wait_for(threads: list[threading.Thread], stop: threading.Event, pacer) -> None:
    """Until every thread is done; once ``stop`` is set, the pacer's waits end, and a thread still
    busy after ``STOP_GRACE`` seconds (a request that hangs) is left behind: its delete is not recorded,
    and the next rollback finds that profile gone or deletes it."""
    stopping_since = None
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.2)
            if stop.is_set():
                if pacer is not None:
                    pacer.stop()
                stopping_since = stopping_since or time.monotonic()
                if time.monotonic() - stopping_since > STOP_GRACE:
                    return


def _delete_line(client, item) -> list:
    """One delete, as its record line; errors that stop everything (an invalid token, Copernica
    unreachable) propagate."""
    if isinstance(item, Delete):
        status, message = _delete_record(client, item)
        return [item.row, status, item.profile_id or "", item.subprofile_id or "", message]
    row, pid, status, message = _delete_one(client, *item)
    return [row, status, pid, message]


def _unreachable(client, exc: TemporaryFailure) -> ApiUnreachable:
    host = urlsplit(getattr(client, "api_url", "")).netloc or "?"
    return ApiUnreachable(Msg.UNREACHABLE.format(host=host, why=exc))


def _delete_one(client, row: int, pid: int) -> tuple[int, int, str, str]:
    """(row, profile ID, status, message). Errors that stop everything (an
    invalid token) propagate."""
    try:
        client.delete_profile(pid)
        return row, pid, DELETED, ""
    except RequestRefused as exc:
        if any(text in exc.api_message.lower() for text in GONE_MESSAGES):
            # deleted by an earlier, interrupted rollback, by hand or by another tool: the goal is met
            return row, pid, DELETED, Msg.ALREADY_GONE
        return row, pid, FAILED, str(exc)
    except TemporaryFailure as exc:
        if exc.no_connection:  # no server there at all: every delete would fail alike
            raise _unreachable(client, exc) from None
        return row, pid, FAILED, str(exc)
    except RequestFailed as exc:
        return row, pid, FAILED, str(exc)


def _delete_record(client, item: Delete) -> tuple[str, str]:
    """(status, message) of one delete of a collection import's rollback; errors that stop everything propagate."""
    try:
        if item.subprofile_id is not None:
            client.delete_subprofile(item.subprofile_id)
        else:
            client.delete_profile(item.profile_id)
        return DELETED, ""
    except RequestRefused as exc:
        if any(text in exc.api_message.lower() for text in GONE_MESSAGES):
            return DELETED, Msg.ALREADY_GONE
        return FAILED, str(exc)
    except TemporaryFailure as exc:
        if exc.no_connection:  # no server there at all: every delete would fail alike
            raise _unreachable(client, exc) from None
        return FAILED, str(exc)
    except RequestFailed as exc:
        return FAILED, str(exc)
