"""The real meraki SDK against the sandbox over HTTP: claims, networks, VLANs, firewall, SSIDs."""

import time

import httpx
import meraki
import pytest

from sandbox.seeds import DEMO_NETWORKS
from sandbox.testing import CLAIM_SETTLE

ORG = "537758"


def test_claim_devices_into_network_moves_them_out_of_unused_inventory(sandbox):
    dash = sandbox.dashboard_api()
    dash.networks.claimNetworkDevices("N_demo_osaka", serials=["Q2FY-AAAA-0002"])
    time.sleep(CLAIM_SETTLE)  # a newly claimed device answers 404 for a moment
    unused = dash.organizations.getOrganizationInventoryDevices(
        ORG, total_pages="all", usedState="unused"
    )
    assert "Q2FY-AAAA-0002" not in {d["serial"] for d in unused}
    assert dash.devices.getDevice("Q2FY-AAAA-0002")["networkId"] == "N_demo_osaka"
    statuses = dash.organizations.getOrganizationDevicesStatuses(ORG, total_pages="all")
    by_serial = {s["serial"]: s for s in statuses}
    assert by_serial["Q2FY-AAAA-0002"]["status"] == "online"
    assert by_serial["Q2FY-AAAA-0001"]["networkId"] == "N_demo_tokyo"
    assert "Q2KY-BBBB-0001" not in by_serial


def test_claiming_an_ap_into_an_appliance_only_network_is_refused(sandbox):
    dash = sandbox.dashboard_api()
    with pytest.raises(meraki.APIError) as caught:
        dash.networks.claimNetworkDevices("N_demo_osaka", serials=["Q3AJ-DDDD-0002"])
    assert caught.value.status == 400
    assert "Q3AJ-DDDD-0002" in str(caught.value.message)
    inv = dash.organizations.getOrganizationInventoryDevice(ORG, "Q3AJ-DDDD-0002")
    assert inv["networkId"] is None


def test_inventory_claim_release_and_network_remove(sandbox):
    dash = sandbox.dashboard_api()
    dash.organizations.claimIntoOrganizationInventory(ORG, serials=["Q2FY-NEWW-0001"])
    inv = dash.organizations.getOrganizationInventoryDevice(ORG, "Q2FY-NEWW-0001")
    assert inv["model"] == "MX67"
    dash.networks.removeNetworkDevices("N_demo_tokyo", "Q3AJ-DDDD-0001")
    with pytest.raises(meraki.APIError) as caught:
        dash.devices.getDevice("Q3AJ-DDDD-0001")
    assert caught.value.status == 404
    dash.organizations.releaseFromOrganizationInventory(ORG, serials=["Q3AJ-DDDD-0001"])
    serials = {
        d["serial"]
        for d in dash.organizations.getOrganizationInventoryDevices(ORG, total_pages="all")
    }
    assert "Q3AJ-DDDD-0001" not in serials
    assert "Q2FY-NEWW-0001" in serials


def test_create_update_delete_network(sandbox):
    dash = sandbox.dashboard_api()
    created = dash.organizations.createOrganizationNetwork(
        ORG,
        "福岡 Fukuoka",
        ["appliance", "wireless"],
        tags=["branch"],
        timeZone="Asia/Tokyo",
        notes="new site",
    )
    dash.networks.updateNetwork(created["id"], notes="opened 2024")
    listed = {n["id"]: n for n in dash.organizations.getOrganizationNetworks(ORG)}
    assert listed[created["id"]]["name"] == "福岡 Fukuoka"
    assert listed[created["id"]]["notes"] == "opened 2024"
    assert listed[created["id"]]["productTypes"] == ["appliance", "wireless"]
    assert len(dash.wireless.getNetworkWirelessSsids(created["id"])) == 15
    with pytest.raises(meraki.APIError) as caught:
        dash.organizations.createOrganizationNetwork(ORG, "福岡 Fukuoka", ["appliance"])
    assert caught.value.status == 400
    dash.networks.deleteNetwork(created["id"])
    assert created["id"] not in {n["id"] for n in dash.organizations.getOrganizationNetworks(ORG)}


def test_vlans_with_dhcp_fields_are_stored_and_validated(sandbox):
    dash = sandbox.dashboard_api()
    dash.appliance.createNetworkApplianceVlan(
        "N_demo_osaka", "20", "Staff", subnet="10.20.0.0/24", applianceIp="10.20.0.1"
    )
    dash.appliance.updateNetworkApplianceVlan(
        "N_demo_osaka",
        "20",
        dhcpLeaseTime="4 hours",
        dnsNameservers="8.8.8.8\n1.1.1.1",
        reservedIpRanges=[{"start": "10.20.0.2", "end": "10.20.0.20", "comment": "printers"}],
        fixedIpAssignments={"00:11:22:33:44:55": {"ip": "10.20.0.50", "name": "pos"}},
    )
    vlans = {v["id"]: v for v in dash.appliance.getNetworkApplianceVlans("N_demo_osaka")}
    assert set(vlans) == {"1", "20"}
    assert vlans["20"]["dhcpLeaseTime"] == "4 hours"
    assert vlans["20"]["fixedIpAssignments"]["00:11:22:33:44:55"]["ip"] == "10.20.0.50"
    assert vlans["20"]["reservedIpRanges"][0]["comment"] == "printers"
    with pytest.raises(meraki.APIError) as caught:
        dash.appliance.createNetworkApplianceVlan(
            "N_demo_osaka", "30", "Bad", subnet="10.30.0.0/24", applianceIp="10.31.0.1"
        )
    assert caught.value.status == 400
    with pytest.raises(meraki.APIError):
        dash.appliance.getNetworkApplianceVlans("N_demo_nagoya")


def test_enabling_vlans_creates_the_default_vlan(sandbox):
    dash = sandbox.dashboard_api()
    net = dash.organizations.createOrganizationNetwork(ORG, "Kobe", ["appliance"])
    assert dash.appliance.getNetworkApplianceVlansSettings(net["id"])["vlansEnabled"] is False
    dash.appliance.updateNetworkApplianceVlansSettings(net["id"], vlansEnabled=True)
    assert [v["id"] for v in dash.appliance.getNetworkApplianceVlans(net["id"])] == ["1"]


def test_l3_rules_end_with_default_rule_and_all_have_comments(sandbox):
    dash = sandbox.dashboard_api()
    dash.appliance.updateNetworkApplianceFirewallL3FirewallRules(
        "N_demo_tokyo",
        rules=[
            {
                "policy": "deny",
                "protocol": "tcp",
                "destPort": "23",
                "destCidr": "Any",
                "srcCidr": "Any",
                "comment": "no telnet",
            },
            {"policy": "allow", "protocol": "any", "destCidr": "10.0.0.0/8", "srcCidr": "Any"},
        ],
    )
    rules = dash.appliance.getNetworkApplianceFirewallL3FirewallRules("N_demo_tokyo")["rules"]
    assert [r["comment"] for r in rules] == ["no telnet", "", "Default rule"]
    assert rules[-1]["policy"] == "allow" and rules[-1]["destCidr"] == "Any"
    # sending the rules back as read (default rule included) does not duplicate it
    dash.appliance.updateNetworkApplianceFirewallL3FirewallRules("N_demo_tokyo", rules=rules)
    again = dash.appliance.getNetworkApplianceFirewallL3FirewallRules("N_demo_tokyo")["rules"]
    assert len(again) == 3


def test_ssids_always_fifteen_and_psk_is_validated(sandbox):
    dash = sandbox.dashboard_api()
    dash.wireless.updateNetworkWirelessSsid(
        "N_demo_nagoya", "0", name="Staff", enabled=True, authMode="psk", psk="correct horse"
    )
    ssids = dash.wireless.getNetworkWirelessSsids("N_demo_nagoya")
    assert len(ssids) == 15
    assert ssids[0]["name"] == "Staff" and ssids[0]["enabled"] is True
    assert ssids[14]["name"] == "Unconfigured SSID 15"
    with pytest.raises(meraki.APIError) as caught:
        dash.wireless.updateNetworkWirelessSsid("N_demo_nagoya", "1", authMode="psk", psk="short")
    assert caught.value.status == 400
    assert dash.wireless.getNetworkWirelessSsid("N_demo_nagoya", "1")["authMode"] == "open"


def test_static_wan_management_interface_round_trip(sandbox):
    dash = sandbox.dashboard_api()
    dash.devices.updateDeviceManagementInterface(
        "Q2FY-AAAA-0001",
        wan1={
            "usingStaticIp": True,
            "staticIp": "203.0.113.5",
            "staticSubnetMask": "255.255.255.248",
            "staticGatewayIp": "203.0.113.1",
            "staticDns": ["8.8.8.8"],
        },
    )
    wan1 = dash.devices.getDeviceManagementInterface("Q2FY-AAAA-0001")["wan1"]
    assert wan1["staticIp"] == "203.0.113.5" and wan1["usingStaticIp"] is True
    with pytest.raises(meraki.APIError):
        dash.devices.updateDeviceManagementInterface(
            "Q2FY-AAAA-0001", wan1={"staticGatewayIp": "198.51.100.1"}
        )
    assert (
        dash.devices.getDeviceManagementInterface("Q2FY-AAAA-0001")["wan1"]["staticGatewayIp"]
        == "203.0.113.1"
    )
    uplinks = dash.organizations.getOrganizationUplinksStatuses(ORG, total_pages="all")
    assert uplinks[0]["uplinks"][0]["ipAssignedBy"] == "static"


def test_rf_profile_and_radio_settings(sandbox):
    dash = sandbox.dashboard_api()
    profile = dash.wireless.createNetworkWirelessRfProfile("N_demo_tokyo", "office", "ap")
    dash.wireless.updateDeviceWirelessRadioSettings("Q3AJ-DDDD-0001", rfProfileId=profile["id"])
    radio = dash.wireless.getDeviceWirelessRadioSettings("Q3AJ-DDDD-0001")
    assert radio["rfProfileId"] == profile["id"]
    with pytest.raises(meraki.APIError):
        dash.wireless.deleteNetworkWirelessRfProfile("N_demo_tokyo", profile["id"])
    rows = dash.wireless.getOrganizationWirelessRfProfilesAssignmentsByDevice(
        "537758", total_pages="all", networkIds=["N_demo_tokyo"]
    )
    mine = [r for r in rows if r["serial"] == "Q3AJ-DDDD-0001"]
    assert [(r["network"]["id"], r["rfProfile"]["name"]) for r in mine] == [
        ("N_demo_tokyo", "office")
    ]
    assert all(r["network"]["id"] == "N_demo_tokyo" for r in rows)
    dash.wireless.updateDeviceWirelessRadioSettings("Q3AJ-DDDD-0001", rfProfileId=None)
    rows = dash.wireless.getOrganizationWirelessRfProfilesAssignmentsByDevice(
        "537758", serials=["Q3AJ-DDDD-0001"]
    )
    assert [r["rfProfile"] for r in rows] == [None]


def test_client_vpn_user(sandbox):
    dash = sandbox.dashboard_api()
    user = dash.networks.createNetworkMerakiAuthUser(
        "N_demo_osaka",
        "taro@example.jp",
        [{"expiresAt": "Never"}],
        name="Taro",
        password="s3cret-pass",
        accountType="Client VPN",
    )
    users = dash.networks.getNetworkMerakiAuthUsers("N_demo_osaka")
    assert [u["email"] for u in users] == ["taro@example.jp"]
    assert "password" not in users[0]
    dash.networks.deleteNetworkMerakiAuthUser("N_demo_osaka", user["id"])
    assert dash.networks.getNetworkMerakiAuthUsers("N_demo_osaka") == []


def test_update_device_attributes(sandbox):
    dash = sandbox.dashboard_api()
    dash.devices.updateDevice("Q3AJ-DDDD-0001", name="AP-1F", tags=["floor1"], address="丸の内")
    dev = dash.devices.getDevice("Q3AJ-DDDD-0001")
    assert (dev["name"], dev["tags"], dev["address"]) == ("AP-1F", ["floor1"], "丸の内")


def test_missing_or_wrong_key_is_401(sandbox):
    response = httpx.get(f"{sandbox.base_url}/organizations")
    assert response.status_code == 401
    assert response.json() == {"errors": ["Invalid API key"]}
    ok = httpx.get(
        f"{sandbox.base_url}/organizations", headers={"X-Cisco-Meraki-API-Key": sandbox.api_key}
    )
    assert ok.status_code == 200
    with pytest.raises(meraki.APIError) as caught:
        sandbox.dashboard_api(api_key="wrong").organizations.getOrganizations()
    assert caught.value.status == 401


def test_unknown_path_is_404_json_and_trailing_slash_is_tolerated(sandbox):
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    response = httpx.get(f"{sandbox.base_url}/organizations/{ORG}/nothingHere", headers=headers)
    assert response.status_code == 404
    assert "errors" in response.json()
    assert httpx.get(f"{sandbox.root_url}/elsewhere").status_code == 404
    assert httpx.get(f"{sandbox.base_url}/networks/N_unknown", headers=headers).status_code == 404
    slash = httpx.get(f"{sandbox.base_url}/organizations/{ORG}/networks/", headers=headers)
    assert slash.status_code == 200 and len(slash.json()) == len(DEMO_NETWORKS)


def test_bad_json_body_is_400(sandbox):
    response = httpx.put(
        f"{sandbox.base_url}/networks/N_demo_tokyo",
        content=b"{not json",
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )
    assert response.status_code == 400
