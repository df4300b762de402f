"""Rules that mutation testing (issue 22) showed were unstated: plan product types, owner labels."""

from __future__ import annotations

import pytest

from inventory.domain import PLAN_PRODUCT_TYPES, Owner, OwnerKind, Plan, ProductType


@pytest.mark.parametrize(
    ("plan", "types"),
    [
        # Appendix 1 II: the UTM plan is a Meraki MX security appliance.
        (Plan.UTM, {"appliance"}),
        # Appendix 1 III: the router plan is an MX or a Z (cellular gateway) in routed mode.
        (Plan.ROUTER, {"appliance", "cellularGateway"}),
        # Appendix 1 IV: the wireless plan is Meraki MR access points.
        (Plan.WIRELESS, {"wireless"}),
    ],
)
def test_each_plan_covers_exactly_its_product_types(plan: Plan, types: set[str]) -> None:
    assert {str(t) for t in PLAN_PRODUCT_TYPES[plan]} == types


def test_no_plan_covers_a_switch() -> None:
    assert all(ProductType.SWITCH not in types for types in PLAN_PRODUCT_TYPES.values())


@pytest.mark.parametrize(
    ("owner", "label"),
    [
        (Owner(OwnerKind.PROVIDER, "provider"), "provider:provider"),
        (Owner(OwnerKind.CUSTOMER, "ACME K.K."), "customer:ACME K.K."),
        (Owner(OwnerKind.LEASING_COMPANY, "Tokyo Lease"), "leasing_company:Tokyo Lease"),
    ],
)
def test_an_owner_reads_as_kind_and_name(owner: Owner, label: str) -> None:
    assert str(owner) == label
