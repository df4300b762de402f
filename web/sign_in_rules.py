"""The sign-in throttle's rules: pure, stdlib only, `now` passed in.

Failures are counted in a window that starts at the first failure; the `failures`-th failure of
a window locks the key. The first lock-out lasts `lockout`, each next one twice the one before
(at most `lockout_max`); a day without a failure forgets the lock-outs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures in which window lock a key, and for how long the first time."""

    failures: int
    window: timedelta
    lockout: timedelta
    lockout_max: timedelta


@dataclass(frozen=True, slots=True)
class Count:
    """One key's failures: in the current window, and the lock-outs in a row."""

    failures: int
    lockouts: int
    window_start: datetime
    last_failure: datetime
    locked_until: datetime | None = None


def lockout_length(earlier_lockouts: int, limits: Limits) -> timedelta:
    """The lock-out after `earlier_lockouts` others in a row: doubling, capped."""
    if earlier_lockouts >= 32:  # 2**32 times any lock-out is past any cap
        return limits.lockout_max
    longer: timedelta = limits.lockout * 2**earlier_lockouts
    return min(longer, limits.lockout_max)


def remaining_lock(count: Count | None, now: datetime) -> timedelta | None:
    """How long the key stays locked from `now`, or None when it is not locked."""
    if count is None or count.locked_until is None or now >= count.locked_until:
        return None
    return count.locked_until - now


def after_failure(count: Count | None, now: datetime, limits: Limits) -> Count:
    """The count once one more failure is added at `now` (the key is not locked at `now`)."""
    if count is None or now - count.last_failure >= FORGET_AFTER:
        count = Count(failures=0, lockouts=0, window_start=now, last_failure=now)
    if now >= count.window_start + limits.window:
        count = replace(count, failures=0, window_start=now)
    failures = count.failures + 1
    if failures < limits.failures:
        return replace(count, failures=failures, last_failure=now, locked_until=None)
    return Count(
        failures=0,
        lockouts=count.lockouts + 1,
        window_start=now,
        last_failure=now,
        locked_until=now + lockout_length(count.lockouts, limits),
    )


def retry_after_seconds(remaining: timedelta) -> int:
    """Whole seconds to wait (HTTP `Retry-After`), never 0 while still locked."""
    return max(1, math.ceil(remaining.total_seconds()))
