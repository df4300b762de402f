"""The operations read from the installed meraki SDK say what the published documentation says.

Each fact below is copied from developer.cisco.com/meraki/api-v1 (the operation's page), not
from the parser, so a parser that misreads the SDK fails here.
"""

from __future__ import annotations

from sandbox.spec.sdk import catalog, shape_of


def test_a_vlan_create_is_a_post_on_the_vlans_collection_with_its_documented_fields() -> None:
    op = catalog().operations["createNetworkApplianceVlan"]
    assert (op.method, op.template) == ("POST", "/networks/{networkId}/appliance/vlans")
    assert {"id", "name", "subnet", "applianceIp"} <= set(op.body)
    assert (op.body["id"].required, op.body["name"].required) == (True, True)
    assert op.body["subnet"].type == "string" and op.body["mask"].type == "integer"
    assert op.body["dhcpBootOptionsEnabled"].type == "boolean"
    lease = op.body["dhcpLeaseTime"].enum or ()
    assert {"30 minutes", "1 hour", "4 hours", "12 hours", "1 day", "1 week"} == set(lease)
    assert "dnsNameservers" not in op.body  # only the update takes it
    assert "dnsNameservers" in catalog().operations["updateNetworkApplianceVlan"].body


def test_paged_operations_carry_their_documented_per_page_range() -> None:
    inventory = catalog().operations["getOrganizationInventoryDevices"]
    assert inventory.paged and inventory.per_page == (3, 1000)
    networks = catalog().operations["getOrganizationNetworks"]
    assert networks.paged and networks.per_page == (3, 100000)


def test_the_batch_module_names_claim_and_vlan_operations_as_documented() -> None:
    batch = catalog().batchable
    claim = batch["claimNetworkDevices"]
    assert (claim.resource, claim.operation) == ("/networks/{networkId}/devices/claim", "claim")
    vlan = batch["updateNetworkApplianceVlan"]
    assert (shape_of(vlan.resource), vlan.operation) == (
        "/networks/{}/appliance/vlans/{}",
        "update",
    )
    assert batch["deleteNetworkApplianceVlan"].operation == "destroy"
    assert "updateNetworkApplianceFirewallL3FirewallRules" not in batch
    assert "updateNetworkApplianceSecurityIntrusion" not in batch


def test_lookup_by_route_ignores_parameter_names() -> None:
    ops = catalog()
    found = ops.find("PUT", "/networks/{id}/appliance/vlans/{vlan}")
    assert found is not None and found.operation_id == "updateNetworkApplianceVlan"
    assert ops.find("PATCH", "/networks/{id}/appliance/vlans/{vlan}") is None
    assert ops.find_batch("/networks/{x}/devices", "claim") is None
