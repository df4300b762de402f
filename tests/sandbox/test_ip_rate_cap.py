"""Issue 13 B item 7: many organizations at once stay under the dashboard's per-IP limit.

The dashboard allows 10 requests/s per organization and 100 requests/s per source IP; netkeep
paces each organization at 9/s, so 12 organizations together would send 108/s. Every shared
limiter of a process passes one `IpCap` (90/s, 5 at once).
"""

from __future__ import annotations

import threading

import pytest

from dashboard.pacing import IP_BURST, IP_RATE, PROCESS_IP_CAP, IpCap, OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_process_cap_stays_under_100_per_second_per_ip() -> None:
    assert IP_RATE + IP_BURST < 100  # any one second: the burst plus a second of the rate
    assert (PROCESS_IP_CAP.rate, PROCESS_IP_CAP.burst) == (IP_RATE, IP_BURST)


def test_twenty_organizations_at_9_per_second_never_exceed_the_ip_cap() -> None:
    clock = FakeClock()
    limiter = OrgRateLimiter(
        rate=9.0, ip_cap=IpCap(rate=90.0, burst=5.0), clock=clock, sleep=lambda s: None
    )
    sent: list[float] = []
    for _ in range(40):  # round-robin over 20 organizations, as 20 workers would
        for org in range(20):
            sent.append(clock.now + limiter.acquire(f"org{org}"))
    sent.sort()
    # any window of one second holds at most 5 + 90 requests
    worst = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert worst <= 95
    assert sent[-1] == pytest.approx((800 - 5) / 90, abs=0.05)  # ~90/s overall, not 180/s


def test_many_organizations_against_the_sandbox_get_no_per_ip_429(sandbox) -> None:
    # a smaller world with the same shape: the sandbox allows 10 req/s per IP, four
    # "organizations" each paced at 9/s (36/s together) share a cap of 9/s
    sandbox.admin.set_rate_limit(None, 10.0)

    def run(cap: IpCap | None) -> dict[str, int]:
        sandbox.admin.set_rate_limit(None, 10.0)  # fresh buckets
        sandbox.admin.reset_counters()
        limiter = OrgRateLimiter(rate=9.0, ip_cap=cap)

        def worker(key: str) -> None:
            sdk = build_sdk(
                api_key=sandbox.api_key,
                base_url=sandbox.base_url,
                maximum_retries=10,
                nginx_429_retry_wait_time=1,
            )
            adapter = MerakiProvisioning(sdk, organization_id=key, limiter=limiter)
            for _ in range(8):
                adapter.get_network("N_demo_tokyo")

        threads = [threading.Thread(target=worker, args=(f"org{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        totals: dict[str, int] = sandbox.admin.counters()["totals"]
        return totals

    uncapped = run(None)
    assert uncapped.get("429", 0) > 0  # the per-organization pacing alone is not enough
    capped = run(IpCap(rate=9.0, burst=1.0))
    assert capped.get("429", 0) == 0
    assert capped["200"] == 32
