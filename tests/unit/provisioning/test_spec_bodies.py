"""Write bodies and batches as Cisco's specification has them (issue 13 B), stated literally.

- createNetworkApplianceVlan takes id, name, subnet, applianceIp, groupPolicyId,
  templateVlanType, cidr, mask, ipv6, mandatoryDhcp; DHCP settings only the update takes;
- managementInterface wan1: staticIp/staticSubnetMask/staticGatewayIp are strings, staticDns an
  array, vlan an integer — never null; the static ones only with usingStaticIp;
- an L7 rule's value is a string; the dashboard answers application rules with {id, name};
- the batchable claim is resource /networks/{id}/devices/claim, operation claim; a device
  claimed moments ago may answer 404, so writes addressing it go in a later batch.
"""

from __future__ import annotations

from provisioning.batching import operations, pack
from provisioning.domain import Change, ChangeAction, normalise_current
from provisioning.sheet_io import dashboard_view
from provisioning.sheet_io import load_sheet as load
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

C, U = ChangeAction.CREATE, ChangeAction.UPDATE
N = "/networks/{networkId}"


def test_a_new_vlan_is_created_with_create_fields_and_updated_with_the_dhcp_ones() -> None:
    want = {
        "id": "30",
        "name": "guests",
        "subnet": "10.30.0.0/24",
        "applianceIp": "10.30.0.1",
        "dhcpHandling": "Run a DHCP server",
        "dnsNameservers": "google_dns",
        "reservedIpRanges": [{"start": "10.30.0.2", "end": "10.30.0.9", "comment": ""}],
        "fixedIpAssignments": {},
    }
    ops = operations(
        [Change("vlan/30", C)], {"vlan/30": want}, {}, organization_id="o", enable_vlans=False
    )
    assert [(o.action, o.resource, o.operation, o.body) for o in ops] == [
        (
            "create",
            f"{N}/appliance/vlans",
            "create",
            {"id": "30", "name": "guests", "subnet": "10.30.0.0/24", "applianceIp": "10.30.0.1"},
        ),
        (
            "update",
            f"{N}/appliance/vlans/30",
            "update",
            {
                "dhcpHandling": "Run a DHCP server",
                "dnsNameservers": "google_dns",
                "reservedIpRanges": [{"start": "10.30.0.2", "end": "10.30.0.9", "comment": ""}],
                "fixedIpAssignments": {},
            },
        ),
    ]
    assert len(pack(ops)) == 1  # still one batch


def test_a_vlan_with_only_create_fields_is_one_create() -> None:
    want = {"id": "5", "name": "x", "subnet": "10.5.0.0/24", "applianceIp": "10.5.0.1"}
    ops = operations(
        [Change("vlan/5", C)], {"vlan/5": want}, {}, organization_id="o", enable_vlans=False
    )
    assert [o.action for o in ops] == ["create"]


def test_writes_to_a_device_claimed_in_the_same_run_go_in_the_next_batch() -> None:
    serial = "Q2KY-BBBB-0001"
    changes = [Change(f"device/{serial}", C), Change("vlan/5", C)]
    desired = {
        f"device/{serial}": {"name": "MX"},
        "vlan/5": {"id": "5", "name": "x", "subnet": "10.5.0.0/24", "applianceIp": "10.5.0.1"},
    }
    steps = pack(operations(changes, desired, {}, organization_id="o", enable_vlans=True))
    assert [[(o.resource, o.operation) for o in s.operations] for s in steps] == [
        [
            (f"{N}/devices/claim", "claim"),
            (f"{N}/appliance/vlans/settings", "update"),
            (f"{N}/appliance/vlans", "create"),
        ],
        [(f"/devices/{serial}", "update")],
    ]
    # a device already in the network (no claim) is written in the same batch
    updated = [Change(f"device/{serial}", U), Change("vlan/5", C)]
    steps = pack(operations(updated, desired, {}, organization_id="o", enable_vlans=False))
    assert len(steps) == 1


def test_a_dhcp_uplink_sends_no_static_fields_and_no_nulls() -> None:
    view = dashboard_view(load(EXAMPLES / "router.yaml"), secret_key=b"k")
    (device,) = view["devices"].values()
    assert device["managementInterface"] == {"wan1": {"usingStaticIp": False}}
    wireless = load(EXAMPLES / "wireless.yaml", environ=EXAMPLE_ENV)
    static = dashboard_view(wireless, secret_key=b"k")
    wans = [
        d["managementInterface"]["wan1"]
        for d in static["devices"].values()
        if "managementInterface" in d
    ]
    assert {
        "usingStaticIp": True,
        "staticIp": "192.168.10.253",
        "staticSubnetMask": "255.255.255.0",
        "staticGatewayIp": "192.168.10.1",
        "staticDns": ["192.168.10.1"],
        "vlan": 10,
    } in wans


def test_l7_application_objects_read_back_as_their_id_strings() -> None:
    answered = {
        "rules": [
            {
                "policy": "deny",
                "type": "applicationCategory",
                "value": {"id": "meraki:layer7/category/9", "name": "Peer-to-peer (P2P)"},
            },
            {"policy": "deny", "type": "host", "value": "games.example.com"},
        ]
    }
    assert normalise_current("l7FirewallRules", answered)["rules"] == [
        {"policy": "deny", "type": "applicationCategory", "value": "meraki:layer7/category/9"},
        {"policy": "deny", "type": "host", "value": "games.example.com"},
    ]


def test_rf_profile_bitrates_are_whole_numbers_where_the_specification_types_integers() -> None:
    wireless = load(EXAMPLES / "wireless.yaml", environ=EXAMPLE_ENV)
    profiles = dashboard_view(wireless, secret_key=b"k")["wireless"]["rfProfiles"].values()
    for profile in profiles:
        five = profile["fiveGhzSettings"]["minBitrate"]
        assert isinstance(five, int) and not isinstance(five, bool)
        assert five in (6, 9, 12, 18, 24, 36, 48, 54)
        assert isinstance(profile["twoFourGhzSettings"]["minBitrate"], int | float)
