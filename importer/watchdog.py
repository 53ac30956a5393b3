"""The limits that stop a batch the way Ctrl-C does (resumably, exit 3).

``Watchdog`` sets the stop event the runner watches when the caller's own
event is set, ``max_runtime`` has passed, or Copernica has been unreachable
for ``max_outage`` (as the client's circuit breaker sees it); ``cause`` and
``message`` say which. ``AnyOf`` lets the runner see several stop events as
one.
"""
from __future__ import annotations

import threading
import time

from importer.errors import RunStopped
from importer.models import StopReason
from importer.summary import RunSummary
from importer.times import duration_text, local_text

WATCH_SECONDS = 0.25


class Msg:
    """Why a limit stopped the batch."""
    MAX_RUNTIME = ("stopped: --max-runtime {limit} reached (the run began at {began}); nothing is lost: "
                   "run the same command with --resume to continue")
    OUTAGE = ("stopped: Copernica has been unreachable for {duration} (since {since}), longer than --max-outage "
              "{limit}; nothing is lost: run the same command with --resume when it answers again")


class Watchdog:
    """Stops the batch (through the stop event the runner watches) when the
    caller's event is set, ``max_runtime`` has passed, or Copernica has been
    unreachable for ``max_outage``; ``cause`` says which."""

    def __init__(self, max_runtime: float | None, max_outage: float | None,
                 external: threading.Event | None) -> None:
        self.max_runtime, self.max_outage = max_runtime, max_outage
        self.external = external
        self.event = threading.Event()
        self.cause: StopReason | None = None
        self.message = ""
        self.began = time.monotonic()
        self.began_wall = time.time()
        self._pacer = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pacer) -> None:
        self._pacer = pacer
        self._check()
        self._thread = threading.Thread(target=self._watch, name="batch-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._closed.wait(WATCH_SECONDS):
            if self._check():
                return

    def _check(self) -> bool:
        """True once the batch must stop."""
        if self.event.is_set():
            return True
        if self.external is not None and self.external.is_set():
            self._stop(StopReason.INTERRUPTED, "")
        elif self.max_runtime is not None and time.monotonic() - self.began >= self.max_runtime:
            self._stop(StopReason.MAX_RUNTIME, Msg.MAX_RUNTIME.format(
                limit=duration_text(self.max_runtime), began=local_text(self.began_wall)))
        elif self.max_outage is not None and self._pacer is not None:
            outage = self._pacer.outage_seconds()
            if outage > 0 and outage >= self.max_outage:
                self._stop(StopReason.OUTAGE, Msg.OUTAGE.format(
                    duration=duration_text(outage), since=local_text(time.time() - outage),
                    limit=duration_text(self.max_outage)))
        return self.event.is_set()

    def _stop(self, cause: StopReason, message: str) -> None:
        self.cause, self.message = cause, message  # said by the file it stops (explain), or by the batch
        self.event.set()

    def explain(self, summary: RunSummary | None) -> None:
        """A file the watchdog stopped says why: --max-runtime or the outage, not 'interrupted'."""
        if summary is None or self.cause not in (StopReason.MAX_RUNTIME, StopReason.OUTAGE):
            return
        if summary.stopped is StopReason.INTERRUPTED:  # a file that ended just as it fired stays as it ended
            summary.stopped = self.cause
            summary.stop_error = RunStopped(self.cause, self.message, sent=summary.sent)

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class AnyOf:
    """Set when any of the events is: the runner sees the caller's stop at once, the
    watchdog's (max-runtime, outage) within its quarter of a second."""

    def __init__(self, *events: threading.Event | None) -> None:
        self._events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)
