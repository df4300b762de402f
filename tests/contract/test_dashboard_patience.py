"""Patience with 429 and 5xx, none with a dashboard that is not there (dashboard.patience).

Rules (issue 21): a 429 is waited out for its Retry-After with jitter, as long as the call's
deadline allows, whatever the number of answers; a 5xx or a dropped connection is waited out
with growing backoff; the SDK's retry count plays no part; a refused connection fails at once
(< 1 s) naming the dashboard's URL.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest
import respx

from core.errors import DashboardError
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk, patience_of

BASE = "https://api.meraki.com/api/v1"
NETWORKS = f"{BASE}/organizations/537758/networks"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def dashboard(clock: FakeClock, *, patience: float = 300.0, retries: int = 2) -> MerakiProvisioning:
    sdk = build_sdk(
        api_key="k" * 40, base_url=BASE, maximum_retries=retries, patience_seconds=patience
    )
    policy = patience_of(sdk)
    assert policy is not None
    policy.clock, policy.sleep, policy.jitter = clock, clock.sleep, lambda: 0.5
    return MerakiProvisioning(sdk, organization_id="537758")


def too_many(seconds: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": seconds}, json={"errors": ["slow"]})


@respx.mock
def test_a_storm_of_429s_longer_than_the_sdks_retry_count_is_waited_out() -> None:
    clock = FakeClock()
    route = respx.get(NETWORKS).mock(
        side_effect=[too_many("2")] * 25 + [httpx.Response(200, json=[{"id": "N_1"}])]
    )
    dash = dashboard(clock, retries=2)  # the SDK alone would give up after 2 answers
    assert dash.list_networks() == [{"id": "N_1"}]
    assert route.call_count == 26
    # each wait is Retry-After 2 s plus jitter (here half of the 20 % allowed): 2.2 s
    assert clock.slept == [pytest.approx(2.2)] * 25
    stats = dash.stats.snapshot()
    assert (stats["calls"], stats["rate_limited"], stats["waits"]) == (26, 25, 25)
    assert stats["waited_ms"] == 25 * 2200


@respx.mock
def test_fractional_retry_after_is_honoured() -> None:
    clock = FakeClock()
    respx.get(NETWORKS).mock(side_effect=[too_many("0.05"), httpx.Response(200, json=[])])
    dashboard(clock).list_networks()
    assert clock.slept == [pytest.approx(0.055)]


@respx.mock
def test_the_deadline_ends_the_patience_with_the_status_named() -> None:
    clock = FakeClock()
    respx.get(NETWORKS).mock(return_value=too_many("10"))
    dash = dashboard(clock, patience=60.0)
    with pytest.raises(DashboardError, match=r"still answering 429 .*patience 60 s") as caught:
        dash.list_networks()
    assert caught.value.details["status"] == 429
    # 11 s per wait: five fit in 60 s, the sixth would pass the deadline
    assert len(clock.slept) == 5 and clock.now - 100.0 <= 60.0


@respx.mock
def test_5xx_and_dropped_connections_back_off_and_then_succeed() -> None:
    clock = FakeClock()
    route = respx.get(NETWORKS).mock(
        side_effect=[
            httpx.Response(503, json={"errors": ["busy"]}),
            httpx.RemoteProtocolError("peer closed connection"),
            httpx.Response(502, json={"errors": ["busy"]}),
            httpx.Response(200, json=[]),
        ]
    )
    assert dashboard(clock, retries=1).list_networks() == []
    assert route.call_count == 4
    assert clock.slept == [pytest.approx(0.55), pytest.approx(1.1), pytest.approx(2.2)]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_fails_at_once_with_the_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/v1"
    dash = MerakiProvisioning(build_sdk(api_key="k" * 40, base_url=url), organization_id="1")
    started = time.monotonic()
    with pytest.raises(DashboardError) as caught:
        dash.list_networks()
    assert time.monotonic() - started < 1.0
    assert caught.value.message.startswith(f"dashboard unreachable at {url}: connection refused")
    assert dash.stats.snapshot()["waits"] == 0
