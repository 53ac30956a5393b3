"""The shared pacer: window, pauses, rate cap, circuit breaker.

Pure tests: a fake clock where time matters, real threads only for blocking
behaviour (well under a second in total).
"""
from __future__ import annotations

import heapq
import random
import threading
import time

import pytest

from importer.pacing import CircuitBreaker, Pacer, PacerStopped


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def grown(pacer: Pacer, successes: int, latency: float = 0.05) -> Pacer:
    for _ in range(successes):
        pacer.record_success(latency)
    return pacer


# --- the window ------------------------------------------------------------------
def test_slow_start_reaches_the_ceiling_within_a_few_round_trips():
    pacer = Pacer(32, clock=FakeClock())
    assert pacer.current_limit() == 2
    grown(pacer, 30)   # 2 + 4 + 8 + 16: four round trips' worth
    assert pacer.current_limit() == 32
    grown(pacer, 100)
    assert pacer.window == 32


def test_an_overload_cuts_the_window_once_per_burst():
    clock = FakeClock()
    pacer = Pacer(32, slow_start=False, clock=clock)
    sent_before_cut = clock.now
    clock.now = 1.0
    pacer.record_overload(None, sent_at=sent_before_cut)
    assert pacer.window == pytest.approx(32 * Pacer.DECREASE_FACTOR)
    for _ in range(5):  # the rest of the same burst: sent before the cut
        pacer.record_overload(None, sent_at=sent_before_cut)
    assert pacer.window == pytest.approx(32 * Pacer.DECREASE_FACTOR)
    pacer.record_overload(None, sent_at=1.5)   # sent after the cut: counts again
    assert pacer.window == pytest.approx(32 * Pacer.DECREASE_FACTOR ** 2)
    assert pacer.stats()["overloads"] == 7 and pacer.stats()["window_cuts"] == 2


def test_the_window_stays_between_one_and_the_ceiling():
    clock = FakeClock()
    pacer = Pacer(4, slow_start=False, clock=clock)
    for _ in range(50):
        clock.now += 1
        pacer.record_overload(None, sent_at=clock.now)
    assert pacer.window == 1.0 and pacer.current_limit() == 1
    grown(pacer, 1000)
    assert pacer.window == 4.0


def test_after_a_cut_the_window_grows_slowly_near_the_size_that_was_too_large():
    clock = FakeClock()
    pacer = Pacer(32, slow_start=False, clock=clock)
    for _ in range(4):  # bring it down to a capacity-like size, ~7.7
        clock.now += 1
        pacer.record_overload(None, sent_at=clock.now)
    clock.now += 1
    grown(pacer, 200)    # additive growth: roughly +1 per two windows of successes
    pacer.record_overload(None, sent_at=clock.now)   # overload at window w
    too_large = pacer.stats()["window"] / Pacer.DECREASE_FACTOR
    successes_to_recover = 0
    while pacer.window < too_large - 1:
        pacer.record_success(0.05)
        successes_to_recover += 1
    successes_near = 0
    while pacer.window < too_large:
        pacer.record_success(0.05)
        successes_near += 1
    assert successes_near > 2 * successes_to_recover   # most time is spent just below it


# --- blocking: concurrency, pauses, stop ------------------------------------------
def test_no_more_requests_in_flight_than_the_window():
    pacer = Pacer(3, slow_start=False)
    tickets = [pacer.try_acquire() for _ in range(3)]
    assert all(tickets) and pacer.try_acquire() is None
    got_slot = threading.Event()

    def worker() -> None:
        with pacer.slot():
            got_slot.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert not got_slot.wait(0.1)      # blocked while three are in flight
    pacer.release()
    assert got_slot.wait(1.0)
    thread.join()
    assert pacer.stats()["max_in_flight"] == 3


def test_a_single_overload_shrinks_the_window_without_pausing_everyone():
    pacer = Pacer(8, slow_start=False)
    pacer.record_overload(5.0, sent_at=time.monotonic())
    assert pacer.paused_until == 0.0
    assert pacer.try_acquire() is not None


def test_overloads_that_continue_after_a_cut_pause_every_thread_for_retry_after():
    pacer = Pacer(8, slow_start=False)
    pacer.record_overload(0.3, sent_at=time.monotonic())
    pacer.record_overload(0.3, sent_at=time.monotonic())  # the cut did not help
    assert pacer.try_acquire() is None                      # everyone waits
    began = time.monotonic()
    with pacer.slot():
        waited = time.monotonic() - began
    assert 0.2 <= waited < 1.0
    assert pacer.stats()["paused_seconds"] == pytest.approx(0.3, abs=0.01)


def test_stop_wakes_waiting_threads():
    pacer = Pacer(1, slow_start=False)
    assert pacer.try_acquire() is not None
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with pacer.slot():
                pass
        except PacerStopped as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.05)
    pacer.stop()
    thread.join(1.0)
    assert not thread.is_alive() and len(errors) == 1


# --- the rate cap -------------------------------------------------------------------
def test_the_rate_cap_spaces_sends():
    clock = FakeClock()
    pacer = Pacer(10, rate=4.0, slow_start=False, clock=clock)
    starts = [pacer.try_acquire().started for _ in range(5)]  # type: ignore[union-attr]
    assert starts == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_slot_waits_for_its_rate_reserved_time():
    pacer = Pacer(10, rate=20.0, slow_start=False)
    began = time.monotonic()
    for _ in range(4):
        with pacer.slot():
            pass
    assert time.monotonic() - began >= 0.14   # three gaps of 50 ms


# --- the circuit breaker -----------------------------------------------------------
def test_a_burst_of_failures_shorter_than_min_span_does_not_open_the_circuit():
    clock = FakeClock()
    pacer = Pacer(4, breaker=CircuitBreaker(threshold=3, min_span=5.0, cooldown=10.0), clock=clock)
    for _ in range(10):
        pacer.record_failure()
    assert not pacer.circuit_open


def test_the_circuit_opens_probes_once_and_backs_off_doubling():
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, min_span=1.0, cooldown=10.0, max_cooldown=25.0)
    pacer = Pacer(4, slow_start=False, breaker=breaker, clock=clock)
    for t in (0.0, 0.5, 1.0):
        clock.now = t
        pacer.record_failure()
    assert pacer.circuit_open and pacer.window == 1.0
    clock.now = 10.9
    assert pacer.try_acquire() is None            # cooling down
    clock.now = 11.0
    assert pacer.try_acquire() is not None        # the probe
    assert pacer.try_acquire() is None            # only one probe at a time
    pacer.record_failure()                        # the probe failed: open again, 20 s
    pacer.release()
    clock.now = 30.9
    assert pacer.try_acquire() is None
    clock.now = 31.0
    assert pacer.try_acquire() is not None
    pacer.record_overload(None)                   # failed again: 40 s capped to 25 s
    pacer.release()
    clock.now = 56.0
    assert pacer.try_acquire() is not None
    pacer.record_success(0.05)                    # the service is back
    pacer.release()
    assert not pacer.circuit_open
    assert pacer.stats()["circuit_opened"] == 3 and breaker.cooldown == 10.0


def test_a_probe_that_ends_without_an_outcome_lets_another_probe_go():
    clock = FakeClock()
    pacer = Pacer(4, breaker=CircuitBreaker(threshold=1, min_span=0.0, cooldown=1.0), clock=clock)
    pacer.record_failure()
    clock.now = 2.0
    assert pacer.try_acquire() is not None
    pacer.release()                               # e.g. the caller raised
    assert pacer.try_acquire() is not None


# --- the issue-7 targets, in a deterministic simulation -----------------------------
def simulate(workers: int, capacity: int, latency: float = 0.05, seconds: float = 10.0,
             retry_after: float | None = 1.0, seed: int = 0) -> tuple[float, float]:
    """Event simulation of N senders against a server with a capacity limit.

    Returns (throughput as a share of capacity / latency, share refused).
    A refused sender waits a random backoff (as the client's tenacity does).
    """
    rnd = random.Random(seed)
    clock = FakeClock()
    pacer = Pacer(workers, clock=clock)
    events: list[tuple[float, int, str, object]] = []
    counter = 0
    idle, busy_at_server, done, refused = workers, 0, 0, 0

    def push(at: float, kind: str, payload: object = None) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(events, (at, counter, kind, payload))

    push(0.0, "tick")
    while events:
        clock.now, _, kind, payload = heapq.heappop(events)
        if clock.now > seconds:
            break
        if kind == "done":
            busy_at_server -= 1
            done += 1
            pacer.record_success(clock.now - payload.started)  # type: ignore[attr-defined]
            pacer.release()
            idle += 1
        elif kind == "refused":
            refused += 1
            pacer.record_overload(retry_after, sent_at=payload.started)  # type: ignore[attr-defined]
            pacer.release()
            push(clock.now + rnd.uniform(0, 0.5), "backoff-over")
        elif kind == "backoff-over":
            idle += 1
        else:
            push(clock.now + 0.01, "tick")
        while idle and (ticket := pacer.try_acquire()) is not None:
            idle -= 1
            if busy_at_server >= capacity:
                push(clock.now + 0.001, "refused", ticket)
            else:
                busy_at_server += 1
                push(clock.now + latency * rnd.uniform(1.0, 1.2), "done", ticket)
    throughput = done / seconds / (capacity / latency)
    return throughput, refused / max(1, done + refused)


@pytest.mark.parametrize("seed", [0, 1])
def test_simulated_capacity_limit_is_used_well_with_few_refusals(seed):
    share_of_capacity, share_refused = simulate(workers=32, capacity=10, seed=seed)
    assert share_of_capacity >= 0.85
    assert share_refused <= 0.02


@pytest.mark.parametrize("workers", [8, 16, 32])
def test_simulated_unlimited_server_keeps_every_worker_busy(workers):
    throughput, refused = simulate(workers=workers, capacity=10**9, seconds=3.0)
    mean_latency_factor = 1.1   # the simulated latency is 1.0-1.2 x 50 ms
    efficiency = throughput * 10**9 / workers * mean_latency_factor  # rows/s / (workers / latency)
    assert efficiency >= 0.9 and refused == 0
