"""The refusal ledger's bound and the token cache's revocation counter, on a hand-driven clock."""

from __future__ import annotations

from api.identity import Identity, RefusalLedger, TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_from_one_source_is_audited_once_a_minute_with_the_count_of_the_rest() -> None:
    clock = Clock()
    ledger = RefusalLedger(window=60, clock=clock)
    note = {"source": "10.0.0.9", "actor": "unknown-token", "route": "GET /x", "reason": "bad"}
    assert ledger.note(**note) == 0  # the first refusal is audited
    for _ in range(999):
        assert ledger.note(**note) is None  # logged only
    clock.now += 59.9
    assert ledger.note(**note) is None  # still inside the minute
    clock.now += 0.1
    assert ledger.note(**note) == 1000  # a new minute: one entry counting what only the log saw
    assert ledger.note(**note) is None


def test_sources_actors_and_reasons_are_counted_apart() -> None:
    ledger = RefusalLedger(window=60, clock=Clock())
    base = {"source": "a", "actor": "unknown-token", "route": "GET /x", "reason": "bad"}
    assert ledger.note(**base) == 0
    assert ledger.note(**(base | {"source": "b"})) == 0
    assert ledger.note(**(base | {"actor": "t-viewer"})) == 0
    assert ledger.note(**(base | {"reason": "denied"})) == 0
    assert ledger.note(**(base | {"route": "GET /y"})) is None  # the route is not part of the key


def test_no_more_keys_than_the_bound_are_audited_within_a_window() -> None:
    clock = Clock()
    ledger = RefusalLedger(window=60, max_keys=3, clock=clock)
    audited = [ledger.note(source=f"s{i}", actor="x", route="r", reason="bad") for i in range(5)]
    assert audited == [0, 0, 0, None, None]
    clock.now += 60
    assert ledger.note(source="s4", actor="x", route="r", reason="bad") == 0


def test_a_changed_revocation_count_empties_the_cache() -> None:
    clock = Clock()
    cache = TokenCache(ttl=30, check_seconds=1.0, clock=clock)
    cache.observe(3)
    cache.put("d1", Identity(name="desk", role="viewer"))
    assert cache.get("d1") == Identity(name="desk", role="viewer")
    assert not cache.needs_check()  # checked just now
    clock.now += 1.0
    assert cache.needs_check()
    cache.observe(3)
    assert cache.get("d1") is not None  # nothing revoked since
    clock.now += 1.0
    cache.observe(4)
    assert cache.get("d1") is None


def test_the_first_count_seen_empties_the_cache_as_a_change_would() -> None:
    cache = TokenCache(ttl=30, clock=Clock())
    cache.put("d1", Identity(name="desk", role="viewer"))
    assert cache.needs_check()
    cache.observe(7)
    assert cache.get("d1") is None


def test_cached_identities_expire_after_their_ttl() -> None:
    clock = Clock()
    cache = TokenCache(ttl=30, clock=clock)
    cache.put("d1", Identity(name="desk", role="viewer"))
    clock.now += 29.9
    assert cache.get("d1") is not None
    clock.now += 0.2
    assert cache.get("d1") is None


def test_one_caller_claims_a_due_check_and_a_failed_one_is_claimed_again() -> None:
    clock = Clock()
    cache = TokenCache(ttl=30, check_seconds=1.0, clock=clock)
    cache.observe(3)
    cache.put("d1", Identity(name="desk", role="viewer"))
    assert not cache.claim_check()  # checked just now
    clock.now += 1.0
    assert cache.claim_check()
    assert not cache.claim_check()  # the first caller is reading the counter
    cache.check_failed()
    assert cache.claim_check()  # its read failed: the next request reads it
    cache.observe(4)
    assert cache.get("d1") is None
