"""One dashboard request budget per organization, shared by every netkeep process and machine.

The dashboard allows 10 requests/s per organization to everyone using it; netkeep takes a share
(`provisioning_rate_per_org`, default 8) and leaves the rest to the provider's other tools.
`budget_from_settings` picks where the budget lives:

- Redis when `NETKEEP_REDIS_URL` is set (`RedisBudget`);
- PostgreSQL when the database is PostgreSQL (`PostgresBudget`, table `dashboard_budget`);
- on SQLite the in-process token bucket (`dashboard.pacing.shared_limiter`): one process.

Both shared budgets hand out request *slots* by the same rule (GCRA, the token bucket written as
"the next free slot"): a request takes the later of the organization's next free slot, now, and
the end of a 429's pause; the next free slot moves one interval (1/share s) past it; the caller
sleeps until its slot. One atomic step per request reserves the slot, the clock is the shared
server's (PostgreSQL `statement_timestamp()`, Redis `TIME`), so machines with different clocks
agree. With no burst the requests of all processes together are spaced 1/share s apart, so no
second sees more than the share. A 429 pauses the organization for everyone until its
Retry-After has passed (the rate is zero meanwhile); the slots then resume at the share.

Why not a library: pyrate-limiter's and limits' Redis backends answer "allowed now or not"
(sliding-window logs), so callers poll, and neither can hold everyone back for a Retry-After; the
reservation here is a dozen lines of Lua or one SQL statement, and the two backends behave alike.
Why one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` rather than an advisory lock: the row lock
is held for that one statement only (one round trip, autocommit), where lock, read, write and
unlock would be four and a crash between them would leave the lock to the session's end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.settings import Settings
from dashboard.pacing import shared_limiter
from dashboard.transport import Budget

_PG_RESERVE = text(
    """
    INSERT INTO dashboard_budget AS b (organization_id, next_at, paused_until)
    VALUES (:org, extract(epoch FROM statement_timestamp()) + :interval, 0)
    ON CONFLICT (organization_id) DO UPDATE SET next_at = GREATEST(
        b.next_at, extract(epoch FROM statement_timestamp()) - :tolerance, b.paused_until
    ) + :interval
    RETURNING b.next_at - :interval - extract(epoch FROM statement_timestamp())
    """
)
_PG_PAUSE = text(
    """
    INSERT INTO dashboard_budget AS b (organization_id, next_at, paused_until)
    VALUES (:org, 0, extract(epoch FROM statement_timestamp()) + :seconds)
    ON CONFLICT (organization_id) DO UPDATE SET paused_until = GREATEST(
        b.paused_until, extract(epoch FROM statement_timestamp()) + :seconds
    )
    """
)

# KEYS[1] the organization's hash; ARGV interval, tolerance. Returns the wait as text (a Lua
# number would come back truncated to an integer).
_LUA_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next_at') or '0')
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
local slot = math.max(next_at, now - tonumber(ARGV[2]), paused)
redis.call('HSET', KEYS[1], 'next_at', string.format('%.6f', slot + tonumber(ARGV[1])))
redis.call('EXPIRE', KEYS[1], 3600)
return string.format('%.6f', slot - now)
"""
# KEYS[1] the organization's hash; ARGV seconds.
_LUA_PAUSE = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
redis.call('HSET', KEYS[1], 'paused_until', string.format('%.6f', math.max(paused, until_)))
redis.call('EXPIRE', KEYS[1], 3600)
return 1
"""


class _SlotBudget:
    """The part both shared budgets have: sleep until the reserved slot, count the wait."""

    def __init__(
        self, *, rate: float, burst: float = 1.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        if rate <= 0:
            raise ValueError(f"the dashboard share must be above 0 requests/s, got {rate}")
        self.rate = rate
        self.interval = 1.0 / rate
        # How far a slot may lie before now: a burst of `burst` requests after a quiet spell.
        self.tolerance = max(burst - 1.0, 0.0) * self.interval
        self.sleep = sleep
        self.waited = 0.0
        self._lock = threading.Lock()

    def _reserve(self, organization_id: str) -> float:
        raise NotImplementedError

    def acquire(self, organization_id: str) -> float:
        """Wait for this process's slot of `organization_id`; returns the seconds waited."""
        wait = max(self._reserve(organization_id), 0.0)
        with self._lock:
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
        return wait


class PostgresBudget(_SlotBudget):
    """The organization's slots in table `dashboard_budget`, one atomic upsert per request."""

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def _reserve(self, organization_id: str) -> float:
        with self.engine.connect() as conn:
            wait = conn.execute(
                _PG_RESERVE,
                {"org": organization_id, "interval": self.interval, "tolerance": self.tolerance},
            ).scalar_one()
        return float(wait)

    def pause(self, organization_id: str, seconds: float) -> None:
        """Hold the organization's requests of every process for `seconds` (Retry-After)."""
        with self.engine.connect() as conn:
            conn.execute(_PG_PAUSE, {"org": organization_id, "seconds": seconds})


class RedisBudget(_SlotBudget):
    """The organization's slots in a Redis hash, reserved by a Lua script (atomic in Redis)."""

    KEY = "netkeep:dashboard-budget:{}"

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self._reserve_script = client.register_script(_LUA_RESERVE)
        self._pause_script = client.register_script(_LUA_PAUSE)

    def _reserve(self, organization_id: str) -> float:
        key = self.KEY.format(organization_id)
        return float(self._reserve_script(keys=[key], args=[self.interval, self.tolerance]))

    def pause(self, organization_id: str, seconds: float) -> None:
        """Hold the organization's requests of every process for `seconds` (Retry-After)."""
        self._pause_script(keys=[self.KEY.format(organization_id)], args=[seconds])


@lru_cache(maxsize=8)
def _postgres_budget(database_url: str, rate: float) -> PostgresBudget:
    from core.db import make_engine

    return PostgresBudget(make_engine(database_url, pool_size=4, max_overflow=8), rate=rate)


@lru_cache(maxsize=8)
def _redis_budget(redis_url: str, rate: float) -> RedisBudget:
    import redis

    return RedisBudget(redis.Redis.from_url(redis_url), rate=rate)


def budget_from_settings(settings: Settings) -> Budget:
    """This process's budget for the configured dashboard share (one per URL and share)."""
    rate = settings.provisioning_rate_per_org
    if settings.redis_url:
        return _redis_budget(settings.redis_url, rate)
    if settings.database_url.startswith("postgresql"):
        return _postgres_budget(settings.database_url, rate)
    return shared_limiter(rate)
