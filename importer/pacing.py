"""Shared pacing for all sender threads: how many requests may be in flight.

One ``Pacer`` is shared by every worker thread. Each request runs inside
``with pacer.slot():``, which waits until

- the concurrency window has room (adaptive, AIMD, in ``[1, max_concurrency]``),
- no global pause is running (a ``Retry-After`` pauses every thread, not
  only the one that got it),
- the optional requests-per-second cap allows it, and
- the circuit breaker is not open (a long run of temporary failures means
  Copernica is down: wait, then let one probe request through).

Why AIMD with slow start: Copernica has no documented rate limit; its load
balancer answers 503 "too many requests" when a client pushes too hard. The
window starts small and doubles every round trip until the ceiling or the
first overload (so an unlimited API reaches full speed within a few round
trips). An overload cuts it to 70%, once per burst (refusals of requests sent
before the cut are ignored). It then grows back by one request per two
windows' worth of successes, and sixteen times slower within one of the size
that was too large last time, so that most of the time is spent just below
the server's capacity and few requests are refused (a deterministic
simulation in tests/test_pacing.py checks the issue-7 targets).

Retry-After: the refused request itself always waits its Retry-After (the
client's retry wait). The first refusal after the window grew is answered by
shrinking the window alone; refusals that keep coming within a few round
trips of a cut mean the server is overloaded whatever we do, and then the
Retry-After pauses every thread. (Pausing everyone for a full second on
every single capacity refusal would throw away most of the throughput.)
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from importer.times import duration_text, local_text

Clock = Callable[[], float]
log = logging.getLogger(__name__)


class Msg:
    """What the pacer tells the log (and, as warnings, cron's mail) about an outage."""
    UNREACHABLE = "Copernica unreachable for {duration} (since {since}), retrying in {retry}"
    REACHABLE_AGAIN = "Copernica answers again after {duration} unreachable (since {since})"


class PacerStopped(Exception):
    """``Pacer.stop()`` was called: no new request may start (Ctrl-C, shutdown)."""


@dataclass(slots=True)
class Ticket:
    """Handed out by ``Pacer.slot()``; ``started`` is the pacer clock at the send."""
    started: float


class CircuitBreaker:
    """Stops sending after a long run of temporary failures, then probes.

    Closed: requests flow. After ``threshold`` consecutive temporary failures
    that together span at least ``min_span`` seconds (so one burst of 503s from
    a too-large window does not trip it), the circuit opens: no request
    starts for ``cooldown`` seconds. Then it is half-open: exactly one probe
    request goes out. A probe that gets any answer closes the circuit; a probe
    that fails temporarily opens it again with the cool-down doubled, up to
    ``max_cooldown``. Not thread-safe on its own: the ``Pacer`` holds the lock.
    """

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(self, threshold: int = 20, cooldown: float = 30.0,
                 max_cooldown: float = 300.0, min_span: float = 5.0) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.min_span = min_span
        self.state = self.CLOSED
        self.cooldown = cooldown
        self.opened_at = 0.0
        self.times_opened = 0
        # the first failure of the streak that opened the circuit; None while it is closed
        self.outage_since: float | None = None
        self._consecutive = 0
        self._first_failure_at = 0.0
        self._probe_in_flight = False

    def on_failure(self, now: float) -> bool:
        """Record a temporary failure; True when this opened the circuit."""
        if self.state == self.HALF_OPEN:
            self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self._open(now)
            return True
        if self.state == self.OPEN:
            return False
        if self._consecutive == 0:
            self._first_failure_at = now
        self._consecutive += 1
        if self._consecutive >= self.threshold and now - self._first_failure_at >= self.min_span:
            self._open(now)
            return True
        return False

    def on_success(self) -> None:
        """Any answer that is not a temporary failure: the server is alive."""
        self.state = self.CLOSED
        self.cooldown = self.base_cooldown
        self._consecutive = 0
        self._probe_in_flight = False
        self.outage_since = None

    def wait_time(self, now: float) -> float | None:
        """0 when a request may start now; seconds to wait; None: wait for the probe."""
        if self.state == self.OPEN:
            remaining = self.opened_at + self.cooldown - now
            if remaining > 0:
                return remaining
            self.state = self.HALF_OPEN
        if self.state == self.HALF_OPEN and self._probe_in_flight:
            return None
        return 0.0

    def on_start(self) -> None:
        if self.state == self.HALF_OPEN:
            self._probe_in_flight = True

    def on_release(self) -> None:
        # A probe that ended without a recorded outcome (the caller raised,
        # or the answer was neither success nor temporary): let another probe go.
        if self.state == self.HALF_OPEN:
            self._probe_in_flight = False

    def _open(self, now: float) -> None:
        if self.outage_since is None:
            self.outage_since = self._first_failure_at if self._consecutive else now
        self.state = self.OPEN
        self.opened_at = now
        self.times_opened += 1
        self._consecutive = 0
        self._probe_in_flight = False


class Pacer:
    """Adaptive concurrency window + global pause + rate cap + circuit breaker."""

    DECREASE_FACTOR = 0.7       # window multiplier on an overload
    SLOW_START_DECREASE_FACTOR = 0.5  # ... on the first overload during slow start
    INCREASE_PER_WINDOW = 0.5   # window growth per window's worth of successes
    NEAR_LAST_OVERLOAD_SLOWDOWN = 16  # grow this much slower within 1 of the last overload's window
    INITIAL_WINDOW = 2          # slow start begins here (doubling per round trip)
    # An overload less than this many round trips after the previous window
    # cut means shrinking did not help: then a Retry-After pauses everyone.
    PERSISTENT_WITHIN_RTTS = 4
    # Never wait on the condition longer than this, so that pauses set by
    # another thread and the breaker's cool-down are re-checked promptly.
    MAX_WAIT_STEP = 0.25

    def __init__(self, max_concurrency: int, rate: float | None = None, *,
                 breaker: CircuitBreaker | None = None, slow_start: bool = True,
                 clock: Clock = time.monotonic) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.max_concurrency = max_concurrency
        self.rate = rate
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._clock = clock
        self._cond = threading.Condition()
        self._window = float(min(self.INITIAL_WINDOW, max_concurrency)) if slow_start else float(max_concurrency)
        # slow start (double per round trip) until this window, then additive growth
        self._ssthresh = float(max_concurrency)
        self._in_flight = 0
        self._paused_until = 0.0
        self._next_send_at = 0.0       # rate cap: earliest start of the next request
        self._last_decrease_at = -math.inf
        self._window_at_last_overload: float | None = None
        self._srtt: float | None = None
        self._stopped = False
        # figures for the summary
        self._overloads = 0
        self._decreases = 0
        self._failures = 0
        self._successes = 0
        self._paused_seconds = 0.0
        self._max_in_flight = 0

    # -- acquiring a slot -------------------------------------------------
    @contextmanager
    def slot(self) -> Iterator[Ticket]:
        """Wait for permission to send one request; hold it while sending."""
        ticket = self._acquire()
        try:
            delay = ticket.started - self._clock()
            if delay > 0:  # the rate cap reserved a later send time
                time.sleep(delay)
            yield ticket
        finally:
            self.release()

    def try_acquire(self) -> Ticket | None:
        """Take a slot if one is free now, else None (for event loops and tests).

        With a rate cap, ``ticket.started`` may lie in the future: send then.
        Every ticket must be given back with ``release()``.
        """
        with self._cond:
            if self._stopped:
                raise PacerStopped()
            now = self._clock()
            return self._take_slot(now) if self._blocked_for(now) == 0.0 else None

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self.breaker.on_release()
            self._cond.notify_all()

    def _acquire(self) -> Ticket:
        with self._cond:
            while True:
                if self._stopped:
                    raise PacerStopped()
                now = self._clock()
                wait = self._blocked_for(now)
                if wait == 0.0:
                    return self._take_slot(now)
                step = self.MAX_WAIT_STEP if wait is None else min(wait, self.MAX_WAIT_STEP)
                self._cond.wait(step)

    def _blocked_for(self, now: float) -> float | None:
        """0 if a request may start now, else seconds to wait (None: until notified)."""
        if now < self._paused_until:
            return self._paused_until - now
        breaker_wait = self.breaker.wait_time(now)
        if breaker_wait != 0.0:
            return breaker_wait
        if self._in_flight >= self.current_limit():
            return None
        return 0.0

    def _take_slot(self, now: float) -> Ticket:
        self._in_flight += 1
        self._max_in_flight = max(self._max_in_flight, self._in_flight)
        self.breaker.on_start()
        send_at = now
        if self.rate is not None:
            # Reserve the next free send time; strict spacing keeps any
            # one-second stretch within the contract limit.
            send_at = max(now, self._next_send_at)
            self._next_send_at = send_at + 1.0 / self.rate
        return Ticket(started=send_at)

    def current_limit(self) -> int:
        """How many requests may be in flight right now."""
        return max(1, min(self.max_concurrency, int(self._window)))

    # -- feedback from the client -----------------------------------------
    def record_success(self, latency_s: float) -> None:
        """An answer that was not an overload or a temporary failure."""
        with self._cond:
            self._successes += 1
            self._srtt = latency_s if self._srtt is None else 0.875 * self._srtt + 0.125 * latency_s
            since = self.breaker.outage_since
            self.breaker.on_success()
            if since is not None:
                now = self._clock()
                log.warning(Msg.REACHABLE_AGAIN.format(duration=duration_text(now - since),
                                                       since=self._wall_time(since, now)))
            self._window += self._growth()
            self._window = min(self._window, float(self.max_concurrency))
            self._cond.notify_all()

    def _growth(self) -> float:
        if self._window < self._ssthresh:
            return 1.0   # slow start: +1 per success doubles the window per round trip
        gain = self.INCREASE_PER_WINDOW
        last = self._window_at_last_overload
        if last is not None and abs(self._window - last) <= 1.0:
            # Probe slowly around the size that was too large last time: most
            # of the time is then spent just below the server's capacity.
            gain /= self.NEAR_LAST_OVERLOAD_SLOWDOWN
        return gain / self._window

    def record_overload(self, retry_after_s: float | None = None, sent_at: float | None = None) -> None:
        """A 429/503 'too many requests': shrink the window, pause all if asked.

        ``sent_at`` (the ``Ticket.started`` of the refused request) lets the
        pacer ignore refusals of requests sent before the last cut: they were
        caused by the old, larger window, which is already corrected.
        """
        with self._cond:
            now = self._clock()
            self._overloads += 1
            self._note_failure(now)
            if not self._caused_by_current_window(now, sent_at):
                return  # refused because of a window that is already cut
            if retry_after_s is not None and retry_after_s > 0 and self._cut_did_not_help(now):
                self._pause_until(now + retry_after_s, now)
            in_slow_start = self._window < self._ssthresh
            self._window_at_last_overload = self._window
            # slow start doubles per round trip, so it may overshoot by up to 2x
            factor = self.SLOW_START_DECREASE_FACTOR if in_slow_start else self.DECREASE_FACTOR
            self._window = max(1.0, self._window * factor)
            self._ssthresh = self._window
            self._last_decrease_at = now
            self._decreases += 1
            self._cond.notify_all()

    def record_failure(self) -> None:
        """A temporary failure that is not an overload (connection error, 502)."""
        with self._cond:
            self._note_failure(self._clock())
            self._cond.notify_all()

    def _note_failure(self, now: float) -> None:
        self._failures += 1
        if self.breaker.on_failure(now):
            # After an outage start gently again rather than with the old window.
            self._ssthresh = max(2.0, self._window / 2)
            self._window = 1.0
            since = self.breaker.outage_since if self.breaker.outage_since is not None else now
            log.warning(Msg.UNREACHABLE.format(duration=duration_text(now - since),
                                               since=self._wall_time(since, now),
                                               retry=duration_text(self.breaker.cooldown)))

    def _wall_time(self, moment: float, now: float) -> str:
        """A pacer-clock moment as a local time with its zone, for the log."""
        return local_text(time.time() - (now - moment))

    def outage_seconds(self) -> float:
        """How long Copernica has been unreachable (the circuit not closed); 0 when it answers."""
        with self._cond:
            since = self.breaker.outage_since
            if since is None or self.breaker.state == CircuitBreaker.CLOSED:
                return 0.0
            return max(0.0, self._clock() - since)

    def _caused_by_current_window(self, now: float, sent_at: float | None) -> bool:
        if sent_at is not None:
            return sent_at >= self._last_decrease_at
        rtt = self._srtt if self._srtt is not None else 0.0
        return now - self._last_decrease_at >= rtt

    def _cut_did_not_help(self, now: float) -> bool:
        # The first refusal after the window grew is answered by shrinking it
        # (the refused request itself waits its Retry-After in the client).
        # Refusals that keep coming right after a cut mean the server is
        # overloaded whatever we do: then every thread pauses.
        rtt = max(self._srtt or 0.0, 0.05)
        return now - self._last_decrease_at < self.PERSISTENT_WITHIN_RTTS * rtt

    def _pause_until(self, until: float, now: float) -> None:
        if until <= self._paused_until:
            return
        self._paused_seconds += until - max(now, self._paused_until)
        self._paused_until = until

    # -- control and figures ----------------------------------------------
    def stop(self) -> None:
        """Refuse all new slots (waiting threads raise ``PacerStopped``)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    @property
    def window(self) -> float:
        with self._cond:
            return self._window

    @property
    def circuit_open(self) -> bool:
        with self._cond:
            return self.breaker.state != CircuitBreaker.CLOSED

    @property
    def paused_until(self) -> float:
        with self._cond:
            return self._paused_until

    def stats(self) -> dict[str, float | int | str]:
        with self._cond:
            return {
                "window": round(self._window, 2),
                "max_concurrency": self.max_concurrency,
                "max_in_flight": self._max_in_flight,
                "successes": self._successes,
                "overloads": self._overloads,
                "window_cuts": self._decreases,
                "temporary_failures": self._failures,
                "paused_seconds": round(self._paused_seconds, 3),
                "circuit": self.breaker.state,
                "circuit_opened": self.breaker.times_opened,
            }

    def __repr__(self) -> str:
        return f"Pacer(window={self._window:.1f}, max_concurrency={self.max_concurrency}, rate={self.rate})"
