"""Rules of provisioning/batching.py stated from outside it (issue 22's mutation survivors).

- A VLAN create carries only what the SDK's ``createNetworkApplianceVlan`` documents as its body
  (the SDK, generated from Cisco's specification, is the referee); the DHCP lists go in the
  update.
- The dashboard allows ten claims within five minutes (claimNetworkDevices' description).
- A claim sent at ``t`` counts until ``t + window``: at that instant it is free again.
- ``/devices/{serial}/...`` resources name a serial; network resources name none.
"""

from __future__ import annotations

from provisioning import batching
from sandbox.spec.sdk import catalog


def test_vlan_create_fields_are_in_the_sdk_create_body_and_dhcp_lists_are_not() -> None:
    create = catalog().operations["createNetworkApplianceVlan"]
    update = catalog().operations["updateNetworkApplianceVlan"]
    assert set(batching.VLAN_CREATE_FIELDS) <= set(create.body)
    for update_only in ("dnsNameservers", "reservedIpRanges", "fixedIpAssignments"):
        assert update_only not in create.body and update_only in update.body
        assert update_only not in batching.VLAN_CREATE_FIELDS


def test_ten_claims_in_five_minutes() -> None:
    assert batching.CLAIM_LIMIT == 10
    assert batching.CLAIM_WINDOW == 300.0


def test_a_claim_is_free_again_exactly_one_window_later() -> None:
    assert batching.claims_free([0.0], 300.0, limit=1, window=300.0) == 1
    assert batching.claims_free([0.0], 299.5, limit=1, window=300.0) == 0
    assert batching.claim_wait([0.0], 299.5, limit=1, window=300.0) == 0.5


def test_only_device_resources_name_a_serial() -> None:
    assert batching.claimed_serial("/devices/Q2FY-AAAA-0001/managementInterface") == (
        "Q2FY-AAAA-0001"
    )
    assert batching.claimed_serial("/devices") is None
    assert batching.claimed_serial("/networks/N_1/devices/claim") is None
    assert batching.claimed_serial("/networks/N_1") is None
