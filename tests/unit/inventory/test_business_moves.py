"""Device statuses moved as the business moves units, written out from the contract.

Sources: docs/domain.md — advance send-back maintenance (a failed unit is replaced by a
checked unit, picked up, and the provider refurbishes or disposes of it; not back → charged as
lost), Art. 23 (provider-owned equipment comes back at contract end), and the inventory suite
conventions (stock, reservation for a site or an RMA, deployment).
"""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from inventory.domain import DeviceStatus, advance
from tests.unit.business_moves import every_pair

D = DeviceStatus
SERIAL = "Q2FY-AAAA-0001"

BUSINESS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    # stock is set aside, installed directly, or scrapped
    D.IN_STOCK: frozenset({D.RESERVED, D.DEPLOYED, D.DISPOSED}),
    # a reservation is released, the unit is installed (a site's), or shipped as a replacement
    D.RESERVED: frozenset({D.IN_STOCK, D.DEPLOYED, D.IN_TRANSIT}),
    # a shipped replacement is not in the warehouse: swapped in at the site, sent back
    # undelivered, or lost by the courier
    D.IN_TRANSIT: frozenset({D.DEPLOYED, D.RETURNED, D.LOST}),
    # an installed unit fails, or comes back at contract end (Art. 23)
    D.DEPLOYED: frozenset({D.FAILED, D.RETURNED}),
    # a failure fixed remotely puts it back; a replacement puts it in the RMA
    D.FAILED: frozenset({D.DEPLOYED, D.IN_RMA}),
    # the failed unit comes back, or is billed as lost
    D.IN_RMA: frozenset({D.RETURNED, D.LOST}),
    D.LOST: frozenset({D.RETURNED}),  # a late arrival after the damage charge
    # back at the warehouse: refurbished for stock, or disposed of
    D.RETURNED: frozenset({D.REFURBISHED, D.DISPOSED}),
    D.REFURBISHED: frozenset({D.IN_STOCK, D.DISPOSED}),
    D.DISPOSED: frozenset(),
}


@pytest.mark.parametrize(("current", "target", "allowed"), every_pair(D, BUSINESS))
def test_every_move_is_allowed_exactly_when_the_business_has_it(current, target, allowed):
    if allowed:
        assert advance(SERIAL, current, target) is target
        return
    with pytest.raises(InvalidTransition) as refused:
        advance(SERIAL, current, target)
    assert refused.value.allowed == sorted(s.value for s in BUSINESS[current])
    assert refused.value.message.startswith(f"device {SERIAL}: cannot move from '{current}'")


@pytest.mark.parametrize(
    "path",
    [
        # a unit's life through an RMA: failed, replaced, back, refurbished, stock again
        (D.IN_STOCK, D.DEPLOYED, D.FAILED, D.IN_RMA, D.RETURNED, D.REFURBISHED, D.IN_STOCK),
        # the replacement: reserved for the RMA, on the road, swapped in at the site
        (D.IN_STOCK, D.RESERVED, D.IN_TRANSIT, D.DEPLOYED),
        # a replacement the courier could not deliver comes back to stock
        (D.RESERVED, D.IN_TRANSIT, D.RETURNED, D.REFURBISHED, D.IN_STOCK),
        # never back, billed as lost, then arrives late and is disposed of
        (D.DEPLOYED, D.FAILED, D.IN_RMA, D.LOST, D.RETURNED, D.DISPOSED),
        # contract end: a provider-owned unit comes back
        (D.DEPLOYED, D.RETURNED, D.REFURBISHED, D.IN_STOCK),
    ],
)
def test_the_orders_the_business_has(path):
    status = path[0]
    for target in path[1:]:
        status = advance(SERIAL, status, target)
    assert status is path[-1]
