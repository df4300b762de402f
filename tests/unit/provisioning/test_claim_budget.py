"""The claim budget: claimNetworkDevices "can be used up to ten times within a single five
minute window" (the specification), counted per claim request and per organization."""

from __future__ import annotations

import pytest

from provisioning.batching import claim_refusal, claim_wait, claims_free, claims_wait_total

TEN_IN_FIVE_MINUTES = {"limit": 10, "window": 300.0}


@pytest.mark.parametrize(
    ("sent", "now", "free"),
    [
        ([], 0.0, 10),
        ([0.0] * 3, 1.0, 7),
        ([0.0] * 10, 299.9, 0),
        ([0.0] * 10, 300.0, 10),  # a claim sent at t counts until t + 300, not at it
        ([0.0] * 5 + [200.0] * 5, 300.0, 5),
        ([0.0] * 12, 10.0, 0),  # never negative
    ],
)
def test_claims_free(sent: list[float], now: float, free: int) -> None:
    assert claims_free(sent, now, **TEN_IN_FIVE_MINUTES) == free


@pytest.mark.parametrize(
    ("sent", "now", "wait"),
    [
        ([], 0.0, 0.0),
        ([0.0] * 9, 5.0, 0.0),
        ([0.0] * 10, 5.0, 295.0),
        ([0.0] * 5 + [100.0] * 5, 120.0, 180.0),  # the oldest of the ten frees first
        ([0.0] + [100.0] * 10, 120.0, 280.0),  # eleven sent: two must end, the later at 400
        ([0.0] * 10, 300.0, 0.0),
    ],
)
def test_claim_wait(sent: list[float], now: float, wait: float) -> None:
    assert claim_wait(sent, now, **TEN_IN_FIVE_MINUTES) == pytest.approx(wait)


def test_short_window_as_in_the_tests() -> None:
    assert claim_wait([1.0] * 10, 2.5, limit=10, window=2.0) == pytest.approx(0.5)
    assert claims_free([1.0] * 10, 3.0, limit=10, window=2.0) == 10


@pytest.mark.parametrize(
    ("claims", "limit", "seconds"),
    [(0, 10, 0.0), (10, 10, 0.0), (11, 10, 300.0), (20, 10, 300.0), (25, 10, 600.0),
     (500, None, 0.0)],
)  # fmt: skip
def test_the_estimate_waits_a_window_per_further_ten(
    claims: int, limit: int | None, seconds: float
) -> None:
    assert claims_wait_total(claims, limit=limit, window=300.0) == seconds


def test_claim_refusal_reads_the_retry_after_or_waits_a_window() -> None:
    sandbox = (
        "Action at index 0: Claims are limited to 10 within 300 seconds; retry after 42 seconds"
    )
    assert claim_refusal([sandbox], 300.0) == 42.0
    assert claim_refusal(["Too many claims in this organization"], 300.0) == 300.0
    assert claim_refusal(["Device with serial Q2FY-AAAA-0001 is already claimed"], 300.0) is None
    assert claim_refusal([], 300.0) is None


@pytest.mark.parametrize(
    ("sent", "now", "count", "wait"),
    [
        ([], 0.0, 10, 0.0),  # a fresh budget: all ten at once
        ([0.0] * 7, 5.0, 3, 0.0),  # seven spent, three asked: room for them now
        ([0.0] * 7, 5.0, 4, 295.0),  # four asked: one of the seven must end first
        ([0.0] * 5 + [100.0] * 5, 120.0, 6, 280.0),  # six asked: all five at 0 and one at 100
        ([0.0] * 5 + [100.0] * 5, 120.0, 5, 180.0),  # five: the five sent at 0 end at 300
        ([0.0] * 3, 1.0, 0, 0.0),  # asking for none never waits
    ],
)
def test_claim_wait_for_several(sent: list[float], now: float, count: int, wait: float) -> None:
    assert claim_wait(sent, now, count=count, **TEN_IN_FIVE_MINUTES) == pytest.approx(wait)
