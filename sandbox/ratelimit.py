"""Token buckets per organization and per source IP, as the dashboard enforces them.

The dashboard documents 10 requests/s per organization "with an additional burst of 10 in
the first second" (so at most 30 in the first two seconds). A bucket that refills at the rate
and holds `rate` tokens reproduces exactly that: a full bucket (10) plus one second of refill
(10) gives 20 in the first second, and 30 by the end of the second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Classic token bucket; `take` answers the seconds to wait, or 0 when admitted."""

    rate: float
    capacity: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> float:
        """Consume one token if available; otherwise return how long until one is."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def retry_after_header(wait: float) -> str:
    """Whole seconds, at least 1, as the dashboard sends Retry-After."""
    return str(max(1, math.ceil(wait)))


@dataclass
class RateLimiter:
    """Per-organization and per-IP limits; None or 0 lifts a limit."""

    org_rate: float | None = 10.0
    ip_rate: float | None = 100.0
    _orgs: dict[str, TokenBucket] = field(default_factory=dict)
    _ips: dict[str, TokenBucket] = field(default_factory=dict)

    def configure(self, org_rate: float | None, ip_rate: float | None) -> None:
        """Change the limits and forget bucket levels."""
        self.org_rate, self.ip_rate = org_rate or None, ip_rate or None
        self._orgs.clear()
        self._ips.clear()

    def check(self, org_id: str | None, ip: str, now: float) -> tuple[str, float] | None:
        """None when admitted, else (which limit, seconds to wait)."""
        if self.ip_rate:
            bucket = self._ips.setdefault(ip, TokenBucket(self.ip_rate, self.ip_rate))
            wait = bucket.take(now)
            if wait:
                return "ip", wait
        if self.org_rate and org_id is not None:
            bucket = self._orgs.setdefault(org_id, TokenBucket(self.org_rate, self.org_rate))
            wait = bucket.take(now)
            if wait:
                return "organization", wait
        return None
