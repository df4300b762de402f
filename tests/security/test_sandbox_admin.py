"""The sandbox's admin API (which returns every secret) has no well-known token."""

from __future__ import annotations

import httpx

from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer


def test_every_sandbox_gets_its_own_unguessable_admin_token() -> None:
    tokens = {SandboxConfig().admin_token for _ in range(5)}
    assert len(tokens) == 5
    assert "sandbox-admin" not in tokens
    assert all(len(t) >= 32 for t in tokens)


def test_the_old_default_token_is_refused(sandbox: SandboxServer) -> None:
    url = f"{sandbox.root_url}/_sandbox/counters"
    for token in ("sandbox-admin", ""):
        refused = httpx.get(url, headers={"X-Sandbox-Admin-Token": token})
        assert refused.status_code == 401
    own = httpx.get(url, headers={"X-Sandbox-Admin-Token": sandbox.config.admin_token})
    assert own.status_code == 200


def test_the_demo_tour_prints_the_sandbox_admin_token_once() -> None:
    from netkeep.demo import tour

    text = tour(
        token="nk_x",
        api_url="http://127.0.0.1:1",
        sandbox_url="http://s",
        sandbox_admin_token="T0k",
    )
    assert text.count("T0k") == 1
