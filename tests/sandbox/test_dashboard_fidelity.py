"""Issue 13 B: the sandbox answers as Cisco's specification says, through the real meraki SDK.

Each rule is stated from the specification (v1.42 spec3.json) or the SDK's generated batch
helpers (`meraki/api/batch/`), not from the sandbox's own tables.
"""

import time

import httpx
import meraki
import pytest

from dashboard.meraki import MerakiDashboard
from sandbox.testing import CLAIM_SETTLE

ORG = "537758"
NET = "N_demo_osaka"
FREE_MX = "Q2FY-AAAA-0002"  # in the demo organization's inventory, in no network


def _batch(dash, actions):
    return dash.organizations.createOrganizationActionBatch(
        ORG, actions, confirmed=True, synchronous=True
    )


def test_claim_in_a_batch_is_the_sdk_helpers_documented_form(sandbox):
    dash = sandbox.dashboard_api()
    action = dash.batch.networks.claimNetworkDevices(NET, serials=[FREE_MX])
    assert (action["resource"], action["operation"]) == (f"/networks/{NET}/devices/claim", "claim")
    done = _batch(dash, [action])
    assert done["status"]["completed"] is True
    time.sleep(CLAIM_SETTLE)
    assert dash.devices.getDevice(FREE_MX)["networkId"] == NET


def test_a_newly_claimed_device_answers_404_for_a_moment(sandbox):
    sandbox.admin.set_claims(2.0)  # long enough for the calls below on a busy machine
    dash = sandbox.dashboard_api(maximum_retries=1)
    dash.networks.claimNetworkDevices(NET, serials=[FREE_MX])
    for call in (
        lambda: dash.devices.getDevice(FREE_MX),
        lambda: dash.devices.updateDevice(FREE_MX, name="new MX"),
        lambda: dash.devices.getDeviceManagementInterface(FREE_MX),
    ):
        with pytest.raises(meraki.APIError) as early:
            call()
        assert early.value.status == 404
    # claim and update in one batch: the update meets the same 404 and nothing is applied
    other = "Q2KY-BBBB-0001"
    both = [
        dash.batch.networks.claimNetworkDevices(NET, serials=[other]),
        dash.batch.devices.updateDevice(other, name="x"),
    ]
    failed = _batch(dash, both)["status"]
    assert failed["failed"] is True and other in " ".join(failed["errors"])
    assert dash.organizations.getOrganizationInventoryDevice(ORG, other)["networkId"] is None
    time.sleep(2.0)
    assert dash.devices.getDevice(FREE_MX)["networkId"] == NET


def test_claims_are_limited_to_ten_in_five_minutes_when_asked(sandbox):
    sandbox.admin.set_claims(0.0, limit=10)
    sandbox.admin.generate_inventory(ORG, 11)
    dash = sandbox.dashboard_api(maximum_retries=1)
    free = [
        d["serial"]
        for d in dash.organizations.getOrganizationInventoryDevices(
            ORG, total_pages="all", usedState="unused", productTypes=["wireless"]
        )
    ]
    net = dash.organizations.createOrganizationNetwork(ORG, "claims", ["wireless"])["id"]
    for serial in free[:10]:
        dash.networks.claimNetworkDevices(net, serials=[serial])
    answer = httpx.post(
        f"{sandbox.base_url}/networks/{net}/devices/claim",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        json={"serials": [free[10]]},
    )
    assert answer.status_code == 429
    assert 290 <= int(answer.headers["Retry-After"]) <= 300


def test_the_old_claim_form_is_refused_and_claims_nothing(sandbox):
    dash = sandbox.dashboard_api(maximum_retries=1)
    old = {
        "resource": f"/networks/{NET}/devices",
        "operation": "claim",
        "body": {"serials": [FREE_MX]},
    }
    with pytest.raises(meraki.APIError) as refused:
        _batch(dash, [old])
    assert refused.value.status == 400
    assert "claim" in str(refused.value.message)
    inventory = dash.organizations.getOrganizationInventoryDevice(ORG, FREE_MX)
    assert inventory["networkId"] is None


def test_remove_in_a_batch_is_the_sdk_helpers_form(sandbox):
    dash = sandbox.dashboard_api()
    action = dash.batch.networks.removeNetworkDevices("N_demo_tokyo", serial="Q3AJ-DDDD-0001")
    assert action["resource"] == "/networks/N_demo_tokyo/devices/remove"
    assert _batch(dash, [action])["status"]["completed"] is True
    inventory = dash.organizations.getOrganizationInventoryDevice(ORG, "Q3AJ-DDDD-0001")
    assert inventory["networkId"] is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("firewall/l3FirewallRules", {"rules": []}),
        ("security/intrusion", {"mode": "prevention"}),
        ("contentFiltering", {"blockedUrlPatterns": ["x.example"]}),
        ("firewall/portForwardingRules", {"rules": []}),
    ],
)
def test_operations_without_a_batch_helper_are_refused_in_a_batch(sandbox, path, body):
    dash = sandbox.dashboard_api(maximum_retries=1)
    vlans_on = {
        "resource": f"/networks/{NET}/appliance/vlans/settings",
        "operation": "update",
        "body": {"vlansEnabled": True},
    }
    direct = {"resource": f"/networks/{NET}/appliance/{path}", "operation": "update", "body": body}
    with pytest.raises(meraki.APIError) as refused:
        _batch(dash, [vlans_on, direct])
    assert refused.value.status == 400
    assert path in str(refused.value.message)
    assert dash.batch.appliance is not None
    assert not hasattr(dash.batch.appliance, "updateNetworkApplianceFirewallL3FirewallRules")
    assert not hasattr(dash.batch.appliance, "updateNetworkApplianceSecurityIntrusion")


def test_created_resources_uris_leave_out_the_api_base(sandbox):
    dash = sandbox.dashboard_api()
    create = dash.batch.appliance.createNetworkApplianceVlan(
        "N_demo_tokyo", "40", "guests", subnet="10.40.0.0/24", applianceIp="10.40.0.1"
    )
    done = _batch(dash, [create])
    assert done["status"]["createdResources"] == [
        {"id": "40", "uri": "/networks/N_demo_tokyo/appliance/vlans/40"}
    ]


def test_vlan_create_refuses_fields_only_the_update_takes(sandbox):
    # the SDK's own createNetworkApplianceVlan drops such keyword arguments; a batch action's
    # body goes as written, so that is where a wrong body reaches the dashboard
    dash = sandbox.dashboard_api(maximum_retries=1)
    create = {"id": "41", "name": "x", "subnet": "10.41.0.0/24", "applianceIp": "10.41.0.1"}
    for field, value in [
        ("dnsNameservers", "google_dns"),
        ("reservedIpRanges", []),
        ("fixedIpAssignments", {}),
        ("bogusField", 1),
    ]:
        action = {
            "resource": "/networks/N_demo_tokyo/appliance/vlans",
            "operation": "create",
            "body": {**create, field: value},
        }
        failed = _batch(dash, [action])["status"]
        assert failed["failed"] is True
        assert field in " ".join(failed["errors"])
    ids = {v["id"] for v in dash.appliance.getNetworkApplianceVlans("N_demo_tokyo")}
    assert "41" not in ids
    update = {
        "resource": "/networks/N_demo_tokyo/appliance/vlans/41",
        "operation": "update",
        "body": {"dnsNameservers": "google_dns"},
    }
    made = {"resource": "/networks/N_demo_tokyo/appliance/vlans", "operation": "create"}
    assert _batch(dash, [{**made, "body": create}, update])["status"]["completed"] is True
    assert dash.appliance.getNetworkApplianceVlan("N_demo_tokyo", "41")["dnsNameservers"] == (
        "google_dns"
    )


def test_content_filtering_categories_are_answered_as_id_and_name(sandbox):
    dash = sandbox.dashboard_api()
    category = "meraki:contentFiltering/category/C7"
    dash.appliance.updateNetworkApplianceContentFiltering(
        "N_demo_tokyo", blockedUrlCategories=[category]
    )
    (answered,) = dash.appliance.getNetworkApplianceContentFiltering("N_demo_tokyo")[
        "blockedUrlCategories"
    ]
    assert set(answered) == {"id", "name"}
    assert answered["id"] == category


def test_l7_rule_value_is_a_string_and_categories_come_back_named(sandbox):
    dash = sandbox.dashboard_api(maximum_retries=1)
    with pytest.raises(meraki.APIError) as refused:
        dash.appliance.updateNetworkApplianceFirewallL7FirewallRules(
            "N_demo_tokyo",
            rules=[{"policy": "deny", "type": "applicationCategory", "value": {"id": "x"}}],
        )
    assert refused.value.status == 400
    category = "meraki:layer7/category/9"
    dash.appliance.updateNetworkApplianceFirewallL7FirewallRules(
        "N_demo_tokyo", rules=[{"policy": "deny", "type": "applicationCategory", "value": category}]
    )
    (rule,) = dash.appliance.getNetworkApplianceFirewallL7FirewallRules("N_demo_tokyo")["rules"]
    assert rule["value"]["id"] == category


def test_the_sdk_smart_flow_route_is_not_served_and_netkeep_does_not_ask_for_it(sandbox):
    answer = httpx.get(
        f"{sandbox.base_url}/organizations/{ORG}/inventoryDevices",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    assert answer.status_code == 404
    sandbox.admin.reset_counters()
    adapter = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url)
    assert FREE_MX in {item.serial for item in adapter.list_inventory(ORG)}
    adapter.sdk.devices.getDevice("Q2FY-AAAA-0001")
    adapter.sdk.networks.getNetwork(NET)
    seen = set(sandbox.admin.counters()["operations"])
    assert seen == {
        "GET /organizations/{organizationId}/inventory/devices",
        "GET /devices/{serial}",
        "GET /networks/{networkId}",
    }
