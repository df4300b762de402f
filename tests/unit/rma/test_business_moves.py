"""RMA moves as the business runs advance send-back maintenance, written out from the contract.

Source: docs/domain.md "Advance replacement" (seed 002 App.1 II(3)2, IV(4)3):
a failure report is judged; a replacement unit (same model, checked to work) is set aside and
shipped; the customer (wireless plan) or the provider swaps it; a courier picks the failed unit
up; if it is not back one month after shipping, an equipment damage charge is billed. An admin
may extend the period (back to the waiting state) or waive the charge; a unit with the wrong
serial is an exception, never a close; a unit arriving after the charge is still received.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from rma.domain import (
    ACTIVE,
    AWAITING_RETURN,
    CHARGEABLE,
    TERMINAL,
    UNRETURNED,
    RmaStatus,
    advance,
)
from tests.unit.business_moves import every_pair

R = RmaStatus
WAITING = frozenset({R.SHIPPED, R.SWAPPED, R.PICKUP_REQUESTED})

BUSINESS: dict[RmaStatus, frozenset[RmaStatus]] = {
    # judged: fixed remotely, or the device must be replaced
    R.OPEN: frozenset({R.RESOLVED_REMOTELY, R.REPLACEMENT_NEEDED}),
    # a checked unit is set aside, or the fault is fixed after all
    R.REPLACEMENT_NEEDED: frozenset({R.REPLACEMENT_RESERVED, R.RESOLVED_REMOTELY}),
    # shipped, or the reserved unit fails its check / is released
    R.REPLACEMENT_RESERVED: frozenset({R.SHIPPED, R.REPLACEMENT_NEEDED}),
    # the return period runs from shipping: swap, courier, the unit back without a pickup
    # request (customer sent it), a wrong unit back, or the period ends
    R.SHIPPED: frozenset({R.SWAPPED, R.PICKUP_REQUESTED, R.RECEIVED, R.EXCEPTION, R.OVERDUE}),
    R.SWAPPED: frozenset({R.PICKUP_REQUESTED, R.RECEIVED, R.EXCEPTION, R.OVERDUE}),
    R.PICKUP_REQUESTED: frozenset({R.RECEIVED, R.EXCEPTION, R.OVERDUE}),
    # period over: an extension goes back to waiting; late unit; charge; waiver
    R.OVERDUE: WAITING | {R.RECEIVED, R.EXCEPTION, R.CHARGED, R.WAIVED},
    # billed: the unit may still come back (late arrival), an admin may waive, or it ends
    R.CHARGED: frozenset({R.RECEIVED, R.EXCEPTION, R.WAIVED, R.CLOSED}),
    R.WAIVED: frozenset({R.RECEIVED, R.CLOSED}),
    # wrong serial: the right unit comes, collect again, or the money route
    R.EXCEPTION: frozenset({R.RECEIVED, R.PICKUP_REQUESTED, R.OVERDUE, R.CHARGED, R.WAIVED}),
    R.RECEIVED: frozenset({R.CLOSED}),
    R.RESOLVED_REMOTELY: frozenset(),
    R.CLOSED: frozenset(),
}


@pytest.mark.parametrize(("current", "target", "allowed"), every_pair(R, BUSINESS))
def test_every_move_is_allowed_exactly_when_the_business_has_it(current, target, allowed):
    if allowed:
        assert advance(current, target) is target
        return
    with pytest.raises(InvalidTransition) as refused:
        advance(current, target)
    assert refused.value.allowed == sorted(s.value for s in BUSINESS[current])
    assert (refused.value.current, refused.value.target) == (current.value, target.value)
    assert refused.value.message.startswith(f"rma: cannot move from '{current}' to '{target}'")


def test_the_state_groups():
    assert frozenset({R.SHIPPED, R.SWAPPED, R.PICKUP_REQUESTED}) == AWAITING_RETURN
    # the sweep bills every unit still out past its deadline, overdue ones included
    assert frozenset({R.SHIPPED, R.SWAPPED, R.PICKUP_REQUESTED, R.OVERDUE}) == CHARGEABLE
    assert frozenset({R.OVERDUE, R.CHARGED}) == UNRETURNED
    assert frozenset({R.CLOSED, R.RESOLVED_REMOTELY}) == TERMINAL
    assert set(RmaStatus) - {R.CLOSED, R.RESOLVED_REMOTELY} == ACTIVE


def _walk(*path: RmaStatus) -> RmaStatus:
    status = path[0]
    for target in path[1:]:
        status = advance(status, target)
    return status


@pytest.mark.parametrize(
    "path",
    [
        # the contract's happy path: provider swap, courier pickup, unit back
        (
            R.OPEN,
            R.REPLACEMENT_NEEDED,
            R.REPLACEMENT_RESERVED,
            R.SHIPPED,
            R.SWAPPED,
            R.PICKUP_REQUESTED,
            R.RECEIVED,
            R.CLOSED,
        ),
        # courier pickup skipped: the customer sends the failed unit back by itself
        (
            R.OPEN,
            R.REPLACEMENT_NEEDED,
            R.REPLACEMENT_RESERVED,
            R.SHIPPED,
            R.SWAPPED,
            R.RECEIVED,
            R.CLOSED,
        ),
        # swap never reported (wireless plan: the customer swaps), courier collects
        (
            R.OPEN,
            R.REPLACEMENT_NEEDED,
            R.REPLACEMENT_RESERVED,
            R.SHIPPED,
            R.PICKUP_REQUESTED,
            R.RECEIVED,
            R.CLOSED,
        ),
        # late arrival after the charge: still received, then closed
        (R.SHIPPED, R.SWAPPED, R.PICKUP_REQUESTED, R.OVERDUE, R.CHARGED, R.RECEIVED, R.CLOSED),
        # never back: charged and closed
        (R.SHIPPED, R.SWAPPED, R.OVERDUE, R.CHARGED, R.CLOSED),
        # extension by an admin, then the unit arrives in time
        (R.SHIPPED, R.SWAPPED, R.OVERDUE, R.SWAPPED, R.PICKUP_REQUESTED, R.RECEIVED, R.CLOSED),
        # wrong serial arrives, courier collects again, the right unit arrives
        (R.PICKUP_REQUESTED, R.EXCEPTION, R.PICKUP_REQUESTED, R.RECEIVED, R.CLOSED),
        # charge waived, the unit never comes
        (R.OVERDUE, R.CHARGED, R.WAIVED, R.CLOSED),
        # the reserved unit fails its check; another is reserved and shipped
        (
            R.REPLACEMENT_NEEDED,
            R.REPLACEMENT_RESERVED,
            R.REPLACEMENT_NEEDED,
            R.REPLACEMENT_RESERVED,
            R.SHIPPED,
        ),
        (R.OPEN, R.RESOLVED_REMOTELY),
    ],
)
def test_the_orders_the_business_has(path):
    assert _walk(*path) is path[-1]


@pytest.mark.parametrize(
    "path",
    [
        (R.OPEN, R.SHIPPED),  # nothing ships before a unit is judged and reserved
        (R.REPLACEMENT_NEEDED, R.SHIPPED),  # nor without a checked unit set aside
        (R.SHIPPED, R.CHARGED),  # no charge before the period is over
        (R.SWAPPED, R.CLOSED),  # the failed unit is still out
        (R.RECEIVED, R.CHARGED),  # a returned unit is never billed
        (R.CLOSED, R.OPEN),  # a closed RMA stays closed: a new failure is a new RMA
    ],
)
def test_orders_the_business_never_has(path):
    with pytest.raises(InvalidTransition):
        _walk(*path)
