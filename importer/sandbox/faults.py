"""Switchable faults: the ways the live API and its load balancer misbehave.

Random faults draw from one ``random.Random(seed)`` under a lock, so a run
with the same seed and the same request order makes the same decisions; a
rate of 0.0 never and 1.0 always fires, which is what tests rely on.
"""
from __future__ import annotations

import dataclasses
import random
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. All rates are probabilities 0..1."""
    latency_ms: float = 0            # added to every API request
    jitter_ms: float = 0             # plus a uniform random 0..jitter_ms
    capacity: int | None = None      # more requests in flight -> 503 "too many requests"
    seed: int = 0
    rate_429: float = 0.0
    rate_503: float = 0.0
    retry_after: int | None = 1      # Retry-After seconds on 429/503; None: no header
    drop_before_store: float = 0.0   # close the socket, nothing stored
    drop_after_store: float = 0.0    # store, then close the socket: the ambiguous case
    slow_after_store: float = 0.0    # store, then wait slow_seconds before answering
    slow_seconds: float = 3.0
    expire_token_after: int | None = None  # from the K-th API request on: "Invalid access token"
    jwt_lifetime: float = 86400      # seconds a v4 JWT stays valid
    lookup_lag_ms: float = 0         # look-ups do not see profiles younger than this (an eventually consistent store)

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_503", "drop_before_store", "drop_after_store", "slow_after_store"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a rate between 0 and 1, not {rate}")
        for name in ("latency_ms", "jitter_ms", "slow_seconds", "jwt_lifetime", "lookup_lag_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.capacity is not None and self.capacity < 1:
            raise ValueError("capacity must be at least 1 request in flight")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after cannot be negative")
        if self.expire_token_after is not None and self.expire_token_after < 1:
            raise ValueError("expire_token_after counts requests from 1")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def replaced(self, **changes: Any) -> "Faults":
        unknown = set(changes) - set(self.field_names())
        if unknown:
            raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


class EarlyAnswer(Enum):
    """What the load balancer does with a request before the API sees it."""
    OVER_CAPACITY = "over_capacity"
    RATE_LIMITED = "429"
    UNAVAILABLE = "503"
    DROP = "drop_before_store"


class AfterStore(Enum):
    """What happens to a profile write's answer after the profile is stored."""
    ANSWER = "answer"
    DROP = "drop_after_store"
    SLOW = "slow_after_store"


class FaultInjector:
    """Thread-safe fault decisions plus the in-flight count they depend on."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._in_flight = 0
        self._max_in_flight = 0
        self._api_requests_since_expiry_set = 0
        self._born: dict[int, float] = {}  # profile ID -> monotonic creation time (lookup_lag_ms)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, **changes: Any) -> Faults:
        with self._lock:
            new = self._faults.replaced(**changes)
            if "seed" in changes:
                self._random = random.Random(new.seed)
            if "expire_token_after" in changes:
                self._api_requests_since_expiry_set = 0
            self._faults = new
            return new

    def enter(self) -> int:
        """One more request in flight; returns how many are now in flight."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return self._in_flight

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def in_flight(self) -> tuple[int, int]:
        with self._lock:
            return self._in_flight, self._max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._lock:
            self._max_in_flight = self._in_flight

    def delay_seconds(self) -> float:
        with self._lock:
            f = self._faults
            jitter = self._random.uniform(0, f.jitter_ms) if f.jitter_ms else 0.0
            return (f.latency_ms + jitter) / 1000.0

    def early_answer(self, in_flight: int) -> EarlyAnswer | None:
        """Decide whether the load balancer answers instead of the API."""
        with self._lock:
            f = self._faults
            if f.capacity is not None and in_flight > f.capacity:
                return EarlyAnswer.OVER_CAPACITY
            if self._draw(f.rate_429):
                return EarlyAnswer.RATE_LIMITED
            if self._draw(f.rate_503):
                return EarlyAnswer.UNAVAILABLE
            if self._draw(f.drop_before_store):
                return EarlyAnswer.DROP
            return None

    def token_expired(self) -> bool:
        """Count one API request; True from the K-th request on (K = expire_token_after)."""
        with self._lock:
            self._api_requests_since_expiry_set += 1
            limit = self._faults.expire_token_after
            return limit is not None and self._api_requests_since_expiry_set >= limit

    def token_already_expired(self) -> bool:
        """True when the access token has expired (without counting a request)."""
        with self._lock:
            limit = self._faults.expire_token_after
            return limit is not None and self._api_requests_since_expiry_set >= limit

    def after_store(self) -> AfterStore:
        with self._lock:
            f = self._faults
            if self._draw(f.drop_after_store):
                return AfterStore.DROP
            if self._draw(f.slow_after_store):
                return AfterStore.SLOW
            return AfterStore.ANSWER

    def note_created(self, ids: list[int]) -> None:
        """Remember when profiles were created, for ``lookup_lag_ms``."""
        with self._lock:
            if self._faults.lookup_lag_ms > 0:
                now = time.monotonic()
                self._born.update((i, now) for i in ids)

    def visible(self, profile_id: int) -> bool:
        """False while a new profile is younger than ``lookup_lag_ms`` (look-ups miss it)."""
        with self._lock:
            lag = self._faults.lookup_lag_ms / 1000.0
            born = self._born.get(profile_id)
            if born is None:
                return True
            if time.monotonic() - born >= lag:
                del self._born[profile_id]
                return True
            return False

    def _draw(self, rate: float) -> bool:
        # no draw for a switched-off fault, so adding one fault does not
        # shift the random sequence of requests that never reach it
        return rate > 0 and self._random.random() < rate
