"""The transport seam: every request an SDK session sends passes the meter, retries included.

The SDK offers no public way to reach its httpx client; if a meraki release moves it, the first
test fails here, loudly, instead of provisioning silently going unpaced and uncounted.
"""

from __future__ import annotations

import ssl

import httpx
import meraki
import pytest
import respx

from dashboard.pacing import OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk, patience_of
from dashboard.transport import RequestMeter, retry_after, sdk_http_client

BASE = "https://api.meraki.com/api/v1"
NETWORKS = f"{BASE}/organizations/537758/networks"


def sdk() -> object:
    return build_sdk(
        api_key="k" * 40, base_url=BASE, maximum_retries=3, nginx_429_retry_wait_time=0
    )


def test_the_sdk_still_keeps_one_httpx_client_where_the_seam_attaches() -> None:
    api = sdk()
    assert isinstance(sdk_http_client(api), httpx.Client)
    assert meraki.__version__.split(".")[0] == "4", "check dashboard.transport on a new major"


def _tls_of(api: object) -> ssl.SSLContext:
    context = sdk_http_client(api)._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert isinstance(context, ssl.SSLContext)
    return context


def test_clients_share_one_verifying_tls_context_unless_given_their_own() -> None:
    """Loading the CA roots is most of what a client costs (a rollout builds one per
    organization before its first write): they are loaded once, and still verified."""
    first, second = _tls_of(sdk()), _tls_of(sdk())
    assert first is second
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] > 0
    own = ssl.create_default_context()
    given = build_sdk(api_key="k" * 40, base_url=BASE, certificate_path=own)
    assert _tls_of(given) is own


def test_an_sdk_without_that_client_is_refused_by_name() -> None:
    class Elsewhere:
        _session = object()

    with pytest.raises(RuntimeError, match=r"sdk\._session\._client"):
        sdk_http_client(Elsewhere())


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@respx.mock
def test_retries_are_counted_and_a_429_pauses_the_organizations_budget() -> None:
    clock = FakeClock()
    limiter = OrgRateLimiter(rate=1000.0, clock=clock, sleep=clock.sleep)
    route = respx.get(NETWORKS).mock(
        side_effect=[
            httpx.Response(503, json={"errors": ["busy"]}),
            httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": ["slow"]}),
            httpx.Response(200, json=[{"id": "N_1", "name": "a"}]),
        ]
    )
    api = sdk()
    patience = patience_of(api)
    assert patience is not None
    patience.sleep, patience.jitter = (lambda s: None), (lambda: 0.0)  # only the bucket waits
    dash = MerakiProvisioning(api, organization_id="537758", limiter=limiter)
    assert dash.list_networks() == [{"id": "N_1", "name": "a"}]
    assert route.call_count == 3
    assert dash.stats.snapshot() == {
        "calls": 3, "rate_limited": 1, "server_errors": 1, "waits": 2, "waited_ms": 2500
    }  # fmt: skip
    # the request after the 429 waited for its Retry-After on the organization's bucket
    assert any(s >= 2.0 for s in clock.slept), clock.slept


@respx.mock
def test_two_clients_of_one_organization_share_one_budget() -> None:
    clock = FakeClock()
    limiter = OrgRateLimiter(rate=2.0, burst=1.0, clock=clock, sleep=clock.sleep)
    respx.get(NETWORKS).mock(return_value=httpx.Response(200, json=[]))
    first = MerakiProvisioning(sdk(), organization_id="537758", limiter=limiter)
    second = MerakiProvisioning(sdk(), organization_id="537758", limiter=limiter)
    for _ in range(3):
        first.list_networks()
        second.list_networks()
    # six requests at 2/s with a burst of one: the last leaves 2.5 s after the first
    assert clock.now - 100.0 == pytest.approx(2.5)
    assert first.stats.calls == second.stats.calls == 3


@pytest.mark.parametrize(
    ("header", "seconds"), [("3", 3.0), ("0.5", 0.5), (None, 1.0), ("soon", 1.0)]
)
def test_retry_after_reads_seconds_and_falls_back_to_one(
    header: str | None, seconds: float
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    assert retry_after(httpx.Response(429, headers=headers)) == seconds


def test_a_meter_counts_without_a_limiter() -> None:
    meter = RequestMeter("537758")
    meter.before_request(httpx.Request("GET", NETWORKS))
    meter.after_response(httpx.Response(500))
    meter.after_response(httpx.Response(200))
    assert meter.stats.snapshot() == {
        "calls": 1, "rate_limited": 0, "server_errors": 1, "waits": 0, "waited_ms": 0
    }  # fmt: skip
