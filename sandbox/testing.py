"""Pytest plugin: `sandbox_server` (session), `sandbox` (reset per test), `rate_limited_sandbox`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer, running_sandbox

CLAIM_SETTLE = 0.05
"""Seconds a newly claimed device answers 404 in tests (small, but never zero). New networks
answer at once in tests (network settle 0) unless a test turns it on with `set_claims`."""


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """One sandbox for the whole session with rate limits lifted."""
    with running_sandbox(
        SandboxConfig(rate_limit=None, ip_rate_limit=None, batch_delay=0.05, network_settle=0.0)
    ) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session sandbox reset to the demo seed, with no faults and zeroed counters."""
    sandbox_server.admin.reset("demo")
    sandbox_server.admin.clear_faults()
    sandbox_server.admin.set_rate_limit(None, None)
    sandbox_server.admin.set_batch_delay(0.05)
    sandbox_server.admin.set_claims(CLAIM_SETTLE)
    sandbox_server.admin.reset_counters()
    return sandbox_server


@pytest.fixture(scope="session")
def rate_limited_sandbox_server() -> Iterator[SandboxServer]:
    """A separate sandbox enforcing the real 10 req/s per organization."""
    with running_sandbox(
        SandboxConfig(rate_limit=10.0, ip_rate_limit=100.0, network_settle=0.0)
    ) as server:
        yield server


@pytest.fixture
def rate_limited_sandbox(rate_limited_sandbox_server: SandboxServer) -> SandboxServer:
    """The rate-limited sandbox reset to the demo seed with fresh buckets and counters."""
    server = rate_limited_sandbox_server
    server.admin.reset("demo")
    server.admin.clear_faults()
    server.admin.set_rate_limit(10.0, 100.0)
    server.admin.reset_counters()
    return server
