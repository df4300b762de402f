"""Process-wide pacing under the dashboard's rate limits, shared by all workers.

The dashboard allows 10 requests/s per organization and 100 requests/s per source IP. Each
organization has its token bucket (`OrgRateLimiter`); every organization's requests of the
process also pass one `IpCap`, so a rollout over many organizations at once stays under the
per-IP limit (12 organizations at 9 req/s would otherwise send 108 req/s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float
    paused_until: float = 0.0


IP_RATE = 90.0
"""Requests/s the whole process allows itself from its one source IP (the limit is 100)."""
IP_BURST = 5.0
"""Requests the process may send at once above the steady IP rate."""


@dataclass
class IpCap:
    """One schedule for every request of the process, whatever its organization.

    Virtual scheduling (GCRA): each request is given the earliest time at or after the one its
    organization allows such that at most `burst` go at once and then `rate` per second; so any
    one second holds at most ``burst + rate`` requests. Thread-safe; the caller sleeps.
    """

    rate: float = IP_RATE
    burst: float = IP_BURST
    _next: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, ready: float) -> float:
        """The time a request ready at `ready` may go (at or after `ready`)."""
        interval = 1.0 / self.rate
        with self._lock:
            at = max(ready, self._next - (self.burst - 1.0) * interval)
            self._next = max(self._next, at) + interval
        return at


@dataclass
class OrgRateLimiter:
    """A thread-safe token bucket per organization: `rate` tokens/s, at most `burst` at once.

    Each caller reserves its token under the lock and sleeps outside it, so N threads of one
    process together never exceed the rate. A 429 pauses the organization's bucket for its
    Retry-After, so every worker backs off, not only the one that was refused.
    """

    rate: float = 9.0
    burst: float | None = None
    ip_cap: IpCap | None = None
    """The process's cap over all organizations (None: only the per-organization buckets)."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    waited: float = 0.0

    def acquire(self, organization_id: str) -> float:
        """Wait for a token of `organization_id`; returns the seconds waited."""
        capacity = self.burst if self.burst is not None else self.rate
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(organization_id)
            if bucket is None:
                bucket = self._buckets[organization_id] = _Bucket(capacity, now)
            start = max(now, bucket.paused_until)
            bucket.tokens = min(capacity, bucket.tokens + (start - bucket.updated) * self.rate)
            bucket.updated = start
            bucket.tokens -= 1.0
            wait = (start - now) + (-bucket.tokens / self.rate if bucket.tokens < 0 else 0.0)
            if self.ip_cap is not None:
                wait = self.ip_cap.reserve(now + wait) - now
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
        return wait

    def pause(self, organization_id: str, seconds: float) -> None:
        """Hold every request of the organization for `seconds` (a 429's Retry-After)."""
        with self._lock:
            until = self.clock() + seconds
            bucket = self._buckets.setdefault(organization_id, _Bucket(0.0, self.clock()))
            bucket.paused_until = max(bucket.paused_until, until)


_shared: dict[float, OrgRateLimiter] = {}
_shared_lock = threading.Lock()
PROCESS_IP_CAP = IpCap()
"""The one per-IP schedule of this process: every shared limiter passes it."""


def shared_limiter(rate: float) -> OrgRateLimiter:
    """The one limiter of this process for `rate` requests/s per organization, under the
    process's per-IP cap."""
    with _shared_lock:
        if rate not in _shared:
            _shared[rate] = OrgRateLimiter(rate=rate, ip_cap=PROCESS_IP_CAP)
        return _shared[rate]
