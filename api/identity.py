"""Who is calling: verified tokens cached per process, and refused attempts kept without a flood.

Revocation reaches every process within `REVOCATION_CHECK_SECONDS` (plus one request): a
process re-reads the number of revoked tokens at most that often, and empties its cache when the
number moved, whichever process or CLI revoked. The device read on PostgreSQL sees it at once: it
reads the read counter with the device and confirms the cache with it (`TokenCache.confirm`).

A refused token costs no write: each refusal is one log line (source, route, reason), and the
audit table gets at most one `auth.refused` entry per (source, token identity, reason) per
`RefusalLedger.window` seconds, with at most `RefusalLedger.max_keys` keys open at once; an entry
carries how many refusals of its key only the log holds since the previous one. So a flood of bad
tokens from one address writes one row a minute, and from any number of addresses at most
2 x `max_keys` rows in any minute per process (128 with the defaults).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from core.db import PreparedQuery
from core.models import ApiToken

log = logging.getLogger("netkeep.auth")

REVOCATION_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: str
    customer: str | None = None


REVOKED_COUNT = PreparedQuery(
    select(func.count().label("revoked"))
    .select_from(ApiToken)
    .where(ApiToken.revoked_at.isnot(None))  # type: ignore[union-attr]
)
"""How many tokens have ever been revoked: it only grows, so a change means a revocation."""


class TokenCache:
    """Verified tokens by digest for `ttl` seconds, so a read costs no token query.

    A revocation through this process clears it at once; one made elsewhere (the CLI, another
    worker) is seen at the next check of the revocation counter, at most
    REVOCATION_CHECK_SECONDS later.
    """

    def __init__(
        self,
        ttl: float,
        check_seconds: float = REVOCATION_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.check_seconds = check_seconds
        self.clock = clock
        self._entries: dict[str, tuple[Identity, float]] = {}
        self._revoked: int | None = None
        self._checked = float("-inf")
        self.generation = 0
        """Moves whenever the cache is emptied: an identity loaded before is not put back."""
        self.confirmed: int | None = None
        """The read counter's value (PostgreSQL) the cache was last emptied at: see `confirm`."""

    def get(self, digest: str) -> Identity | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < self.clock():
            return None
        return entry[0]

    def put(self, digest: str, identity: Identity, generation: int | None = None) -> None:
        """Keep `identity`; if it was loaded when the cache was at `generation`, only if the
        cache has not been emptied since (the load may predate a revocation)."""
        if self.ttl > 0 and (generation is None or generation == self.generation):
            self._entries[digest] = (identity, self.clock() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1

    def confirm(self, version: int) -> None:
        """Take the read counter's value, read after every identity now cached was: a value other
        than `confirmed` (a token may have changed since) empties the cache.

        Every identity cached while `confirmed` is N was loaded after the counter read N; so for
        a request that found `confirmed` at N before its identity was looked up, a later read of
        the counter that still finds N proves no token changed in between (`api.deps`)."""
        if version != self.confirmed:
            self.clear()
            self.confirmed = version

    def needs_check(self) -> bool:
        """True when the revocation counter is due to be read again."""
        return bool(self._entries) and self.clock() - self._checked >= self.check_seconds

    def claim_check(self) -> bool:
        """`needs_check`, and if so the check is this caller's: concurrent requests keep serving
        from the cache (still within the bound) instead of all reading the counter at once."""
        if not self.needs_check():
            return False
        self._checked = self.clock()
        return True

    def check_failed(self) -> None:
        """The claimed check did not complete: the next request checks again."""
        self._checked = float("-inf")

    def observe(self, revoked: int) -> None:
        """Take a fresh revocation count: a different one (or the first) empties the cache."""
        if revoked != self._revoked:
            self.clear()
        self._revoked = revoked
        self._checked = self.clock()


@dataclass(slots=True)
class _Tally:
    opened: float
    since_entry: int = 0


class RefusalLedger:
    """Decides which refusals reach the audit table; every one reaches the log."""

    def __init__(
        self, window: float = 60.0, max_keys: int = 64, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, str, str], _Tally] = {}

    def note(self, *, source: str, actor: str, route: str, reason: str) -> int | None:
        """Log a refusal; the number of refusals since the last entry if one is due, else None."""
        log.warning(
            "auth refused: source=%s actor=%s route=%s reason=%s", source, actor, route, reason
        )
        now = self.clock()
        key = (source, actor, reason)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is not None and now - tally.opened < self.window:
                tally.since_entry += 1
                return None
            if tally is None and len(self._tallies) >= self.max_keys:
                self._tallies = {
                    k: t for k, t in self._tallies.items() if now - t.opened < self.window
                }
                if len(self._tallies) >= self.max_keys:
                    return None
            missed = tally.since_entry if tally is not None else 0
            self._tallies[key] = _Tally(opened=now)
            return missed
