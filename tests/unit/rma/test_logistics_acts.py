"""Which hand acts the RMA page offers in each state (stated here from the business rules)."""

from __future__ import annotations

import pytest

from rma.domain import LogisticsAct, RmaStatus, logistics_acts

A = LogisticsAct
S = RmaStatus
EXPECTED: dict[RmaStatus, set[LogisticsAct]] = {
    S.OPEN: set(),  # NOC has not decided yet
    S.RESOLVED_REMOTELY: set(),
    S.REPLACEMENT_NEEDED: {A.RESERVE},
    S.REPLACEMENT_RESERVED: {A.RESERVE, A.RELEASE},  # re-reserve, or give it back
    S.SHIPPED: {A.SWAP, A.PICKUP},
    S.SWAPPED: {A.PICKUP},  # swapped already (`swapped` is then always true)
    S.PICKUP_REQUESTED: {A.SWAP},
    S.OVERDUE: {A.SWAP, A.PICKUP},
    S.CHARGED: {A.SWAP},
    S.WAIVED: {A.SWAP},
    S.EXCEPTION: {A.SWAP, A.PICKUP},  # collect the right unit again
    S.RECEIVED: set(),
    S.CLOSED: set(),
}


@pytest.mark.parametrize("status", list(RmaStatus))
def test_the_acts_each_state_allows(status: RmaStatus) -> None:
    swapped = status is S.SWAPPED
    assert logistics_acts(status, swapped=swapped) == EXPECTED[status]


@pytest.mark.parametrize("status", [S.SHIPPED, S.PICKUP_REQUESTED, S.OVERDUE, S.EXCEPTION])
def test_a_swap_already_recorded_is_not_offered_again(status: RmaStatus) -> None:
    assert A.SWAP not in logistics_acts(status, swapped=True)
