"""The sending side of a run: N threads taking rows from a bounded queue,
and the flag that tells every part of the run to stop taking rows."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from importer.errors import CopernicaImportError, InvalidTokenError, OutputError, RunStopped
from importer.journal import Journal
from importer.models import Status, StopReason
from importer.recorder import ResultsRecorder
from importer.redaction import redact

log = logging.getLogger("importer")


class Msg:
    # no command here: the CLI's hint below it says how to go on (a --sandbox run has no resume)
    UNEXPECTED = ("an unexpected error while sending row {row} stopped the run: {error}. Everything done so far "
                  "is recorded")


class StopFlag:
    """Why the run stops taking new rows (the first reason wins).

    Setting it stops the client's pacer, so that senders waiting for a slot
    (an open circuit, a Retry-After pause) give up at once instead of after
    the cool-down: their rows are not in flight. Requests on the wire finish.
    The caller's event counts as an interrupt; it is looked at whenever the
    run asks whether to go on.
    """

    def __init__(self, external: threading.Event | None, on_stop: Callable[[], None] | None) -> None:
        self.reason: StopReason | None = None
        self.error: CopernicaImportError | None = None
        self.unresolved: list[int] = []  # rows whose lost answer could not be checked: left 'sending'
        self._external = external
        self._on_stop = on_stop
        self._lock = threading.Lock()
        self._event = threading.Event()

    def set(self, reason: StopReason, error: CopernicaImportError | None = None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason, self.error = reason, error
            self._event.set()
        if self._on_stop is not None:
            self._on_stop()

    def __bool__(self) -> bool:
        if not self._event.is_set() and self._external is not None and self._external.is_set():
            self.set(StopReason.INTERRUPTED)
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Waits ``seconds`` unless the run stops first; True when it may go on."""
        deadline = time.monotonic() + seconds
        while not self:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self._event.wait(min(left, 0.2))
        return False


def put(work: queue.Queue, item, stop: StopFlag | None) -> bool:
    """Blocks while the senders are busy (so reading never runs far ahead)."""
    while True:
        if stop is not None and stop:
            return False
        try:
            work.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue


def stop_unexpectedly(stop: StopFlag, row: int, exc: Exception) -> None:
    log.error("row %s: unexpected error", row, exc_info=exc)
    stop.set(StopReason.ERROR, RunStopped(StopReason.ERROR, Msg.UNEXPECTED.format(row=row, error=redact(repr(exc)))))


def send_rows(work: queue.Queue, sender, journal: Journal, recorder: ResultsRecorder, stop: StopFlag,
              max_errors: int | None) -> None:
    """One sending thread: takes (profile, cells, digest, in-flight state) items until a None."""
    from importer.sender import Deferred  # the HTTP side only when sending
    while True:
        item = work.get()
        if item is None:
            return
        if stop:
            continue  # not sent, not journaled: a resume picks the row up
        profile, values, digest, in_flight = item
        try:
            if in_flight is None:
                journal.mark(profile.row, profile.key, digest)
            result = sender.send(profile, was_in_flight=in_flight is not None, create_sent=in_flight == "creating")
            if isinstance(result, Deferred):
                defer(result, profile.row, journal, stop)
                continue
            recorder.record(result, values, digest)
        except OutputError as exc:  # a full disk: the row keeps its mark, a resume looks it up
            stop.set(StopReason.WRITE_ERROR, exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a dead sender would lose its row and hang the run
            stop_unexpectedly(stop, profile.row, exc)  # the row keeps its 'sending' mark
            continue
        if max_errors is not None and result.status is Status.FAILED and recorder.failed >= max_errors:
            stop.set(StopReason.MAX_ERRORS)


def defer(deferred, row: int, journal: Journal, stop: StopFlag) -> None:
    """A row without an outcome in this run: its mark goes or stays; maybe the run stops."""
    if not deferred.keep_mark:
        journal.unmark(row)  # certainly not stored: a resume sends it, no look-up
    if deferred.unresolved:
        # not sent again and not called failed (a resume would re-send a failed row):
        # it keeps its 'sending' mark, the run goes on, and --resume looks it up
        log.warning("%s", deferred.unresolved)
        stop.unresolved.append(row)
    if deferred.stop is not None:
        reason = StopReason.TOKEN if isinstance(deferred.stop, InvalidTokenError) else StopReason.API
        stop.set(reason, deferred.stop)
