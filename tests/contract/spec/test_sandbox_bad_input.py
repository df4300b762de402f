"""The sandbox answers bad input as the dashboard does, through the real meraki SDK (issue 13).

400 with ``{"errors": [...]}`` naming the field for a client mistake (never a 500), 404 for an
unknown network or serial, 400 for a serial claimed in another organization, ``perPage`` outside
the documented range refused, and action batches all-or-nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import meraki
import pytest

from sandbox.engine import Dashboard
from sandbox.router import Reply, Route
from sandbox.seeds import build_seed
from sandbox.server import SandboxServer

ORG = "537758"
NET = "N_demo_tokyo"


def sdk(sb: SandboxServer) -> Any:
    """One attempt: a 500 must show as a 500, not be retried into a different answer."""
    return sb.dashboard_api(maximum_retries=1)


def raw(sb: SandboxServer, method: str, path: str, body: Any = None) -> httpx.Response:
    """A request the SDK would not send (it drops unknown kwargs and asserts enums itself)."""
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    return httpx.request(method, sb.base_url + path, json=body, headers=headers)


def server_errors(sb: SandboxServer) -> int:
    return int(sb.admin.counters()["totals"].get("500", 0))


def vlan_ids(dash: Any) -> list[str]:
    return [str(v["id"]) for v in dash.appliance.getNetworkApplianceVlans(NET)]


def test_vlan_with_a_bad_subnet_is_a_400_naming_the_field(sandbox: SandboxServer) -> None:
    dash = sdk(sandbox)
    with pytest.raises(meraki.APIError) as caught:
        dash.appliance.createNetworkApplianceVlan(
            NET, "20", "guests", subnet="not-a-subnet", applianceIp="10.20.0.1"
        )
    assert caught.value.status == 400
    assert any("subnet" in m for m in caught.value.message["errors"])
    assert server_errors(sandbox) == 0
    assert vlan_ids(dash) == ["1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "20", "name": "g", "subnet": "10.20.0.0/24", "bogusField": 1}, "bogusField"),
        ({"id": "20", "name": "g", "subnet": "10.20.0.0/24", "mask": "28"}, "mask"),
        ({"id": "20", "name": "g", "dhcpLeaseTime": "2 days"}, "dhcpLeaseTime"),
        ({"id": "20", "name": "g", "dhcpBootOptionsEnabled": "yes"}, "dhcpBootOptionsEnabled"),
        ({"name": "g", "subnet": "10.20.0.0/24", "applianceIp": "10.20.0.1"}, "id"),
    ],
    ids=["unknown-property", "wrong-type", "outside-enum", "string-for-boolean", "required"],
)
def test_a_body_breaking_the_published_schema_is_refused_naming_the_field(
    sandbox: SandboxServer, body: dict[str, Any], field: str
) -> None:
    answer = raw(sandbox, "POST", f"/networks/{NET}/appliance/vlans", body)
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert any(f"'{field}'" in e for e in errors), errors
    assert vlan_ids(sdk(sandbox)) == ["1"]


def test_an_undocumented_nested_property_and_a_null_wan_field_are_refused(
    sandbox: SandboxServer,
) -> None:
    path = "/devices/Q2FY-AAAA-0001/managementInterface"
    unknown = raw(sandbox, "PUT", path, {"wan2": {"usingStaticIp": False, "colour": "red"}})
    assert unknown.status_code == 400
    assert any("'wan2.colour'" in e for e in unknown.json()["errors"])
    null = raw(sandbox, "PUT", path, {"wan2": {"usingStaticIp": False, "staticIp": None}})
    assert null.status_code == 400
    assert any("'wan2.staticIp'" in e for e in null.json()["errors"])


def test_a_body_that_is_not_an_object_is_a_400(sandbox: SandboxServer) -> None:
    answer = raw(sandbox, "PUT", "/devices/Q2FY-AAAA-0001", ["name", "x"])
    assert answer.status_code == 400 and answer.json()["errors"]


def test_unknown_network_and_serial_are_404(sandbox: SandboxServer) -> None:
    dash = sdk(sandbox)
    with pytest.raises(meraki.APIError) as network:
        dash.appliance.getNetworkApplianceVlans("N_no_such_network")
    with pytest.raises(meraki.APIError) as device:
        dash.devices.getDevice("Q2XX-0000-0000")
    assert (network.value.status, device.value.status) == (404, 404)
    assert server_errors(sandbox) == 0


def test_a_serial_claimed_in_another_organization_is_a_400(sandbox: SandboxServer) -> None:
    (other,) = sandbox.admin.generate_organizations(1, devices_each=1)
    dash = sdk(sandbox)
    (theirs,) = dash.organizations.getOrganizationInventoryDevices(other)
    with pytest.raises(meraki.APIError) as caught:
        dash.networks.claimNetworkDevices(NET, serials=[theirs["serial"]])
    assert caught.value.status == 400
    assert any(theirs["serial"] in m for m in caught.value.message["errors"])
    assert [d["serial"] for d in dash.networks.getNetworkDevices(NET)].count(theirs["serial"]) == 0


@pytest.mark.parametrize("per_page", [2, 1001, "lots"])
def test_per_page_outside_the_documented_range_is_a_400(
    sandbox: SandboxServer, per_page: Any
) -> None:
    """getOrganizationInventoryDevices documents "Acceptable range is 3 - 1000"."""
    answer = raw(sandbox, "GET", f"/organizations/{ORG}/inventory/devices?perPage={per_page}")
    assert answer.status_code == 400
    assert any("perPage" in e for e in answer.json()["errors"])


def test_per_page_at_the_documented_bounds_pages_with_link_headers(sandbox: SandboxServer) -> None:
    three = raw(sandbox, "GET", f"/organizations/{ORG}/inventory/devices?perPage=3")
    assert three.status_code == 200 and len(three.json()) == 3
    assert "rel=next" in three.headers["Link"]
    full = raw(sandbox, "GET", f"/organizations/{ORG}/inventory/devices?perPage=1000")
    assert full.status_code == 200 and "rel=next" not in full.headers["Link"]
    every = sdk(sandbox).organizations.getOrganizationInventoryDevices(
        ORG, total_pages="all", perPage=3
    )
    assert len(every) == len(full.json()) == len({d["serial"] for d in every})


# --- action batches --------------------------------------------------------------------------


def vlan_action(vlan_id: str, subnet: str, ip: str) -> dict[str, Any]:
    return {
        "resource": f"/networks/{NET}/appliance/vlans",
        "operation": "create",
        "body": {"id": vlan_id, "name": f"v{vlan_id}", "subnet": subnet, "applianceIp": ip},
    }


def test_a_batch_whose_second_action_is_bad_applies_nothing(sandbox: SandboxServer) -> None:
    """The issue's example: VLAN 20 fine, VLAN 21 with subnet "not-a-subnet"."""
    dash = sdk(sandbox)
    actions = [
        vlan_action("20", "10.20.0.0/24", "10.20.0.1"),
        vlan_action("21", "not-a-subnet", "10.21.0.1"),
    ]
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, actions, confirmed=True, synchronous=True
    )
    status = batch["status"]
    assert (status["completed"], status["failed"]) == (False, True)
    assert status["errors"] and all(e.startswith("Action at index 1: ") for e in status["errors"])
    assert "subnet" in status["errors"][0]
    assert vlan_ids(dash) == ["1"]  # VLAN 20 absent
    again = dash.organizations.createOrganizationActionBatch(
        ORG, actions, confirmed=True, synchronous=True
    )
    assert again["status"] == status  # a retried POST is answered the same way
    assert vlan_ids(dash) == ["1"]
    assert server_errors(sandbox) == 0


def test_a_batch_action_breaking_the_schema_fails_before_anything_runs(
    sandbox: SandboxServer,
) -> None:
    dash = sdk(sandbox)
    actions = [
        vlan_action("20", "10.20.0.0/24", "10.20.0.1"),
        {"resource": "/devices/Q2FY-AAAA-0001", "operation": "update", "body": {"name": "MX"}},
        {
            "resource": f"/networks/{NET}/appliance/vlans/20",
            "operation": "update",
            "body": {"dhcpLeaseTime": "2 days"},
        },
    ]
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, actions, confirmed=True, synchronous=True
    )
    assert batch["status"]["failed"] is True
    assert [e.split(":")[0] for e in batch["status"]["errors"]] == ["Action at index 2"]
    assert vlan_ids(dash) == ["1"]
    assert dash.devices.getDevice("Q2FY-AAAA-0001")["name"] != "MX"


def test_an_asynchronous_batch_that_fails_late_is_rolled_back(sandbox: SandboxServer) -> None:
    dash = sdk(sandbox)
    actions = [
        vlan_action("30", "10.30.0.0/24", "10.30.0.1"),
        vlan_action("31", "10.30.0.0/24", "10.30.0.2"),  # overlaps VLAN 30: the handler refuses
    ]
    batch = dash.organizations.createOrganizationActionBatch(ORG, actions, confirmed=True)
    for _ in range(100):
        batch = dash.organizations.getOrganizationActionBatch(ORG, batch["id"])
        if batch["status"]["failed"] or batch["status"]["completed"]:
            break
    assert batch["status"]["failed"] is True
    assert batch["status"]["errors"][0].startswith("Action at index 1: ")
    assert vlan_ids(dash) == ["1"]


def test_a_batch_may_hold_only_batchable_operations(sandbox: SandboxServer) -> None:
    """L3 firewall rules and intrusion settings have no action-batch operation."""
    dash = sdk(sandbox)
    for resource in ("firewall/l3FirewallRules", "security/intrusion"):
        action = {
            "resource": f"/networks/{NET}/appliance/{resource}",
            "operation": "update",
            "body": {},
        }
        with pytest.raises(meraki.APIError) as caught:
            dash.organizations.createOrganizationActionBatch(
                ORG, [vlan_action("40", "10.40.0.0/24", "10.40.0.1"), action], confirmed=True
            )
        assert caught.value.status == 400
        assert caught.value.message["errors"][0].startswith("Action at index 1: ")
    assert vlan_ids(dash) == ["1"]
    assert dash.organizations.getOrganizationActionBatches(ORG) == []


def test_the_documented_batch_form_of_a_claim_is_accepted(sandbox: SandboxServer) -> None:
    """What the SDK's batch helper builds: resource .../devices/claim, operation claim."""
    dash = sdk(sandbox)
    action = meraki.DashboardAPI(
        "unused", suppress_logging=True, output_log=False
    ).batch.networks.claimNetworkDevices(NET, serials=["Q2FY-AAAA-0002"])
    assert (action["resource"], action["operation"]) == (f"/networks/{NET}/devices/claim", "claim")
    batch = dash.organizations.createOrganizationActionBatch(
        ORG, [action], confirmed=True, synchronous=True
    )
    assert batch["status"]["completed"] is True, batch["status"]
    assert "Q2FY-AAAA-0002" in [d["serial"] for d in dash.networks.getNetworkDevices(NET)]


def test_an_unexpected_exception_in_an_action_leaves_nothing_applied() -> None:
    """A sandbox bug inside a batch (not a client mistake): rolled back, reported, no 500."""
    dash = Dashboard(build_seed("demo"), batch_delay=0)

    def broken(st: Any, call: Any) -> Reply:
        raise RuntimeError("boom")

    for router in (dash.operations, dash.router):
        for routes in router._by_shape.values():
            for i, route in enumerate(routes):
                if (route.method, route.template) == ("PUT", "/devices/{serial}"):
                    routes[i] = Route(route.method, route.template, route.pattern, broken)
    body = {
        "actions": [
            vlan_action("50", "10.50.0.0/24", "10.50.0.1"),
            {"resource": "/devices/Q2FY-AAAA-0001", "operation": "update", "body": {"name": "x"}},
        ],
        "confirmed": True,
        "synchronous": True,
    }
    now = datetime.now(UTC)
    out = dash.dispatch("POST", f"/organizations/{ORG}/actionBatches", {}, body, now)
    assert out.reply.status == 201
    status = out.reply.body["status"]
    assert (status["completed"], status["failed"]) == (False, True)
    assert status["errors"] == ["Action at index 1: Internal server error"]
    vlans = dash.dispatch("GET", f"/networks/{NET}/appliance/vlans", {}, None, now)
    assert [v["id"] for v in vlans.reply.body] == ["1"]
    direct = dash.dispatch("PUT", "/devices/Q2FY-AAAA-0001", {}, {"name": "x"}, now)
    assert direct.reply.status == 500  # the same bug outside a batch: a 500, a true server error
