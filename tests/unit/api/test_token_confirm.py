"""The token cache confirmed by the read counter: an identity looked up before the cache was
emptied is not put back, and a counter value other than the confirmed one empties the cache."""

from __future__ import annotations

from api.identity import Identity, TokenCache

DESK = Identity(name="desk", role="viewer")


def test_an_identity_loaded_before_the_cache_was_emptied_is_not_kept() -> None:
    cache = TokenCache(ttl=30)
    generation = cache.generation  # a load starts
    cache.clear()  # a revocation is seen meanwhile
    cache.put("d", DESK, generation)  # the load, possibly from before the revocation, ends
    assert cache.get("d") is None
    cache.put("d", DESK, cache.generation)  # a load started after it is kept
    assert cache.get("d") == DESK


def test_a_moved_counter_empties_the_cache_and_the_same_value_keeps_it() -> None:
    cache = TokenCache(ttl=30)
    cache.confirm(7)
    cache.put("d", DESK, cache.generation)
    cache.confirm(7)  # nothing changed since: the identity is still good
    assert cache.get("d") == DESK and cache.confirmed == 7
    loading = cache.generation
    cache.confirm(8)  # a token (or the device) changed: look every token up again
    assert cache.get("d") is None and cache.confirmed == 8
    cache.put("d", DESK, loading)  # looked up before the move: not kept
    assert cache.get("d") is None
