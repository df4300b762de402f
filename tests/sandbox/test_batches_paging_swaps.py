"""Action batches, paging over a large inventory, and bulk swaps through the real SDK."""

import time

import httpx
import meraki
import pytest

from sandbox.seeds import DEMO_DEVICES

ORG = "537758"


def _vlan_action(net, vlan_id, subnet, ip):
    return {
        "resource": f"/networks/{net}/appliance/vlans",
        "operation": "create",
        "body": {"id": str(vlan_id), "name": f"v{vlan_id}", "subnet": subnet, "applianceIp": ip},
    }


def test_synchronous_batch_applies_actions_in_order(sandbox):
    dash = sandbox.dashboard_api()
    batch = dash.organizations.createOrganizationActionBatch(
        ORG,
        [
            _vlan_action("N_demo_osaka", 10, "10.10.0.0/24", "10.10.0.1"),
            {
                "resource": "/networks/N_demo_osaka/appliance/vlans/10",
                "operation": "update",
                "body": {"dhcpLeaseTime": "1 hour"},
            },
            {"resource": "/devices/Q2FY-AAAA-0001", "operation": "update", "body": {"name": "MX"}},
        ],
        confirmed=True,
        synchronous=True,
    )
    assert batch["status"]["completed"] is True and batch["status"]["failed"] is False
    assert batch["status"]["createdResources"][0]["id"] == "10"
    vlan = dash.appliance.getNetworkApplianceVlan("N_demo_osaka", "10")
    assert vlan["dhcpLeaseTime"] == "1 hour"
    assert dash.devices.getDevice("Q2FY-AAAA-0001")["name"] == "MX"


def test_failing_action_rolls_back_the_whole_batch(sandbox):
    dash = sandbox.dashboard_api()
    batch = dash.organizations.createOrganizationActionBatch(
        ORG,
        [
            _vlan_action("N_demo_osaka", 11, "10.11.0.0/24", "10.11.0.1"),
            {"resource": "/devices/Q2FY-AAAA-0001", "operation": "update", "body": {"name": "MX"}},
            _vlan_action("N_demo_osaka", 12, "10.11.0.0/24", "10.11.0.2"),  # overlaps VLAN 11
        ],
        confirmed=True,
        synchronous=True,
    )
    assert batch["status"]["failed"] is True and batch["status"]["completed"] is False
    assert any("overlaps" in e for e in batch["status"]["errors"])
    ids = [v["id"] for v in dash.appliance.getNetworkApplianceVlans("N_demo_osaka")]
    assert ids == ["1"]
    assert dash.devices.getDevice("Q2FY-AAAA-0001")["name"] is None
    stored = dash.organizations.getOrganizationActionBatch(ORG, batch["id"])
    assert stored["status"]["failed"] is True


def test_asynchronous_batch_completes_and_sdk_can_poll(sandbox):
    dash = sandbox.dashboard_api()
    actions = [
        _vlan_action("N_demo_tokyo", 100 + i, f"10.{100 + i}.0.0/24", f"10.{100 + i}.0.1")
        for i in range(30)
    ]
    batch = dash.organizations.createOrganizationActionBatch(ORG, actions, confirmed=True)
    assert batch["status"]["completed"] is False
    deadline = time.monotonic() + 5
    while not batch["status"]["completed"] and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = dash.organizations.getOrganizationActionBatch(ORG, batch["id"])
    assert batch["status"]["completed"] is True
    assert len(dash.appliance.getNetworkApplianceVlans("N_demo_tokyo")) == 31


def test_batch_limits(sandbox):
    sandbox.admin.set_batch_delay(30)
    dash = sandbox.dashboard_api(action_batch_retry_wait_time=0, maximum_retries=1)
    too_many = [
        _vlan_action("N_demo_tokyo", 200 + i, f"10.{i}.1.0/24", f"10.{i}.1.1") for i in range(21)
    ]
    with pytest.raises(meraki.APIError) as caught:
        dash.organizations.createOrganizationActionBatch(
            ORG, too_many, confirmed=True, synchronous=True
        )
    assert caught.value.status == 400
    for i in range(5):
        dash.organizations.createOrganizationActionBatch(
            ORG,
            [_vlan_action("N_demo_tokyo", 300 + i, f"10.3.{i}.0/24", f"10.3.{i}.1")],
            confirmed=True,
        )
    with pytest.raises(meraki.APIError) as caught:
        dash.organizations.createOrganizationActionBatch(
            ORG, [_vlan_action("N_demo_tokyo", 399, "10.3.99.0/24", "10.3.99.1")], confirmed=True
        )
    assert "executing batches" in str(caught.value.message).lower()


def test_unconfirmed_batch_runs_only_when_confirmed(sandbox):
    dash = sandbox.dashboard_api()
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, [_vlan_action("N_demo_tokyo", 50, "10.50.0.0/24", "10.50.0.1")], synchronous=True
    )
    assert [v["id"] for v in dash.appliance.getNetworkApplianceVlans("N_demo_tokyo")] == ["1"]
    done = dash.organizations.updateOrganizationActionBatch(ORG, batch["id"], confirmed=True)
    assert done["status"]["completed"] is True
    assert len(dash.appliance.getNetworkApplianceVlans("N_demo_tokyo")) == 2


def test_paging_all_of_1200_devices_follows_link_headers(sandbox):
    sandbox.admin.generate_inventory(ORG, 1200)
    dash = sandbox.dashboard_api()
    devices = dash.organizations.getOrganizationInventoryDevices(
        ORG, total_pages="all", perPage=100
    )
    serials = [d["serial"] for d in devices]
    assert len(serials) == len(DEMO_DEVICES) + 1200 == len(set(serials))
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/inventory/devices") == 13
    first = httpx.get(
        f"{sandbox.base_url}/organizations/{ORG}/inventory/devices?perPage=1000",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    nxt = first.links["next"]["url"]
    assert nxt.startswith(sandbox.base_url)
    second = httpx.get(nxt, headers={"Authorization": f"Bearer {sandbox.api_key}"})
    assert len(first.json()) + len(second.json()) == len(DEMO_DEVICES) + 1200
    assert "next" not in second.links
    prev = httpx.get(
        second.links["prev"]["url"], headers={"Authorization": f"Bearer {sandbox.api_key}"}
    )
    assert prev.json() == first.json()


def test_bulk_swap_moves_network_and_device_settings(sandbox):
    dash = sandbox.dashboard_api()
    dash.devices.updateDevice(
        "Q2FY-AAAA-0001", name="HQ-MX", tags=["hq"], address="東京都千代田区", notes="rack 3"
    )
    dash.devices.updateDeviceManagementInterface(
        "Q2FY-AAAA-0001",
        wan1={
            "usingStaticIp": True,
            "staticIp": "203.0.113.5",
            "staticSubnetMask": "255.255.255.0",
            "staticGatewayIp": "203.0.113.1",
        },
    )
    swap = dash.organizations.createOrganizationInventoryDevicesSwapsBulk(
        ORG,
        [
            {
                "devices": {"old": "Q2FY-AAAA-0001", "new": "Q2FY-AAAA-0002"},
                "afterAction": "remove from network",
            }
        ],
    )
    # the specification's 207 answer: a job id and each swap, still pending
    (submitted,) = swap["swaps"]
    assert set(swap) == {"jobId", "swaps"}
    assert submitted["status"] == "pending"
    assert submitted["devices"]["old"]["serial"] == "Q2FY-AAAA-0001"
    assert submitted["devices"]["new"]["serial"] == "Q2FY-AAAA-0002"
    assert submitted["afterAction"] == "remove from network"
    status = dash.organizations.getOrganizationInventoryDevicesSwapsBulk(ORG, swap["jobId"])
    assert status["swaps"][0]["status"] == "complete"
    assert status["swaps"][0]["id"] == submitted["id"]
    new = dash.devices.getDevice("Q2FY-AAAA-0002")
    assert (new["networkId"], new["name"], new["tags"], new["address"], new["notes"]) == (
        "N_demo_tokyo",
        "HQ-MX",
        ["hq"],
        "東京都千代田区",
        "rack 3",
    )
    wan1 = dash.devices.getDeviceManagementInterface("Q2FY-AAAA-0002")["wan1"]
    assert wan1["staticIp"] == "203.0.113.5"
    old = dash.organizations.getOrganizationInventoryDevice(ORG, "Q2FY-AAAA-0001")
    assert old["networkId"] is None


def test_swap_to_a_different_product_type_fails(sandbox):
    dash = sandbox.dashboard_api()
    swap = dash.organizations.createOrganizationInventoryDevicesSwapsBulk(
        ORG,
        [
            {
                "devices": {"old": "Q2FY-AAAA-0001", "new": "Q3AJ-DDDD-0002"},
                "afterAction": "remove from network",
            }
        ],
    )
    status = dash.organizations.getOrganizationInventoryDevicesSwapsBulk(ORG, swap["jobId"])
    assert status["swaps"][0]["status"] == "failed"
    assert "different product types" in status["swaps"][0]["errors"][0]
    assert dash.devices.getDevice("Q2FY-AAAA-0001")["networkId"] == "N_demo_tokyo"


def test_organization_devices_are_those_in_networks_filtered_by_network_and_paged(sandbox):
    sandbox.admin.generate_inventory(ORG, 12)
    dash = sandbox.dashboard_api()
    free = [
        d["serial"]
        for d in dash.organizations.getOrganizationInventoryDevices(ORG, usedState="unused")
    ]
    net = dash.organizations.createOrganizationNetwork(ORG, "paging", ["appliance", "wireless"])
    dash.networks.claimNetworkDevices(net["id"], serials=free[:5])
    everywhere = dash.organizations.getOrganizationDevices(ORG, total_pages="all", perPage=3)
    in_networks = [
        d
        for d in dash.organizations.getOrganizationInventoryDevices(ORG, total_pages="all")
        if d["networkId"]
    ]
    assert sorted(d["serial"] for d in everywhere) == sorted(d["serial"] for d in in_networks)
    assert len(everywhere) >= 7  # three pages followed
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/devices") >= 3
    tokyo = dash.organizations.getOrganizationDevices(ORG, networkIds=["N_demo_tokyo"])
    assert tokyo and {d["networkId"] for d in tokyo} == {"N_demo_tokyo"}
    assert tokyo == dash.networks.getNetworkDevices("N_demo_tokyo")


def test_a_failed_batch_undoes_its_creations_and_claims_and_leaves_other_organizations_alone(
    sandbox,
):
    """The rollback restores the batch's organization (a network it created, a unit it claimed,
    a device it renamed, a VLAN it added) and leaves another organization's records, which it
    shares rather than copies, as they are."""
    dash = sandbox.dashboard_api()
    [other] = sandbox.admin.generate_organizations(1)
    other_net = dash.organizations.createOrganizationNetwork(other, "other-site", ["appliance"])
    before = {n["id"] for n in dash.organizations.getOrganizationNetworks(ORG)}
    licenses = dash.organizations.getOrganizationLicenses(ORG, total_pages=-1)
    others = dash.organizations.getOrganizationNetworks(other)
    assert other_net in others
    actions = [
        {
            "resource": f"/organizations/{ORG}/networks",
            "operation": "create",
            "body": {"name": "created-then-undone", "productTypes": ["appliance"]},
        },
        dash.batch.networks.claimNetworkDevices("N_demo_osaka", serials=["Q2FY-AAAA-0002"]),
        {"resource": "/devices/Q2FY-AAAA-0001", "operation": "update", "body": {"name": "MX"}},
        _vlan_action("N_demo_osaka", 11, "10.11.0.0/24", "10.11.0.1"),
        _vlan_action("N_demo_osaka", 12, "10.11.0.0/24", "10.11.0.2"),  # overlaps VLAN 11
    ]
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, actions, confirmed=True, synchronous=True
    )
    assert batch["status"]["failed"] is True
    assert {n["id"] for n in dash.organizations.getOrganizationNetworks(ORG)} == before
    assert (
        dash.organizations.getOrganizationInventoryDevice(ORG, "Q2FY-AAAA-0002")["networkId"]
        is None
    )
    assert dash.devices.getDevice("Q2FY-AAAA-0001")["name"] is None
    assert [v["id"] for v in dash.appliance.getNetworkApplianceVlans("N_demo_osaka")] == ["1"]
    assert dash.organizations.getOrganizationLicenses(ORG, total_pages=-1) == licenses
    assert dash.organizations.getOrganizationNetworks(other) == others


@pytest.mark.parametrize("indexed", [True, False])
def test_a_batch_running_in_a_loaded_snapshot_still_runs(sandbox, indexed):
    """A state snapshot taken while an asynchronous batch runs, loaded again, runs it; also one
    saved by an older sandbox, without the index of running batches (built from the batches)."""
    sandbox.admin.set_batch_delay(0.3)
    dash = sandbox.dashboard_api()
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, [_vlan_action("N_demo_tokyo", 60, "10.60.0.0/24", "10.60.0.1")], confirmed=True
    )
    snap = sandbox.admin.snapshot()
    if not indexed:
        assert snap.pop("running_batches") == {
            batch["id"]: pytest.approx(snap["action_batches"][batch["id"]]["_runAt"])
        }
    sandbox.admin.load_state(snap)
    deadline = time.monotonic() + 5
    while not batch["status"]["completed"] and time.monotonic() < deadline:
        time.sleep(0.05)
        batch = dash.organizations.getOrganizationActionBatch(ORG, batch["id"])
    assert batch["status"]["completed"] is True
    assert "60" in [v["id"] for v in dash.appliance.getNetworkApplianceVlans("N_demo_tokyo")]
