"""Process-wide pacing under the dashboard's per-organization rate limit, shared by all workers."""

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


@dataclass
class OrgRateLimiter:
    """A thread-safe token bucket per organization: `rate` tokens/s, at most `burst` at once.

    Each caller reserves its token under the lock and sleeps outside it, so N threads of one
    process together never exceed the rate. A 429 pauses the organization's bucket for its
    Retry-After, so every worker backs off, not only the one that was refused.
    """

    rate: float = 9.0
    burst: float | None = None
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


def shared_limiter(rate: float) -> OrgRateLimiter:
    """The one limiter of this process for `rate` requests/s per organization."""
    with _shared_lock:
        if rate not in _shared:
            _shared[rate] = OrgRateLimiter(rate=rate)
        return _shared[rate]
