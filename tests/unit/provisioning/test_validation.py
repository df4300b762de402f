"""Each rule has a failing case with the exact place and wording of its problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.errors import Problem
from provisioning.validation import key_path, validate_sheet

from . import sheets

Raw = dict[str, Any]


def _set(path: str, value: object) -> Callable[[Raw], None]:
    """A mutation that sets one dotted/indexed path, e.g. ``vlans.1.subnet``."""

    def apply(raw: Raw) -> None:
        target: Any = raw
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for key in keys[:-1]:
            target = target[key]
        if isinstance(target, list) and keys[-1] == len(target):
            target.append(value)
        else:
            target[keys[-1]] = value

    return apply


def _delete(path: str) -> Callable[[Raw], None]:
    def apply(raw: Raw) -> None:
        target: Any = raw
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return apply


def _both(*mutations: Callable[[Raw], None]) -> Callable[[Raw], None]:
    def apply(raw: Raw) -> None:
        for mutation in mutations:
            mutation(raw)

    return apply


PORT_HELP = "any, 1–65535, a range like 8000-8080 or a list like 80,443"
PSK_RULE = "psk must be 8–63 printable ASCII characters or 64 hex digits"

CASES = [
    # document
    ("utm", _set("format", "netkeep-sheet/2"), "format",
     "format netkeep-sheet/2 is not supported; this version reads netkeep-sheet/1"),
    ("utm", _set("kind", "order"), "kind", "kind: Input should be 'settings' or 'change_request'"),
    ("utm", _set("vlans.0.colour", "blue"), "vlans[0].colour", "colour is not a known field"),
    ("utm", _delete("vlans.0.name"), "vlans[0].name", "name is required"),
    ("utm", _set("site.timeZone", "Tokyo"), "site.timeZone",
     "timeZone Tokyo is not an IANA time zone like Asia/Tokyo"),
    # devices
    ("utm", _set("devices.0.serial", "Q2FY-AAA-0002"), "devices[0].serial",
     "serial Q2FY-AAA-0002 is not in the Meraki form XXXX-XXXX-XXXX"),
    ("utm", _set("devices.0.model", "MR36"), "devices[0].model",
     "model MR36 does not fit the utm plan (expected MX* or Z*)"),
    ("router", _set("devices.0.model", "MR46"), "devices[0].model",
     "model MR46 does not fit the router plan (expected MX* or Z*)"),
    ("wireless", _set("devices.0.model", "MX67"), "devices[0].model",
     "model MX67 does not fit the wireless plan (expected MR* or CW*)"),
    ("utm", _set("devices.0.rfProfile", "標準"), "devices[0].rfProfile",
     "rfProfile is for access points (MR*), not a MX67"),
    ("utm", _set("devices.1", {"serial": "q2fy-aaaa-0002", "model": "MX67"}), "devices[1].serial",
     "serial Q2FY-AAAA-0002 is already listed at devices[0]"),
    ("utm", _set("devices.0.managementInterface", {"wan1": {"usingStaticIp": True}}),
     "devices[0].managementInterface.wan1.staticIp",
     "staticIp is required when usingStaticIp is true"),
    ("utm", _set("devices.0.managementInterface", {"wan1": {
        "usingStaticIp": True, "staticIp": "203.0.113.10", "staticSubnetMask": "255.255.255.248",
        "staticGatewayIp": "203.0.113.1"}}),
     "devices[0].managementInterface.wan1.staticGatewayIp",
     "staticGatewayIp 203.0.113.1 is not inside 203.0.113.8/29"),
    # VLANs and DHCP
    ("utm", _set("vlans.0.id", 5000), "vlans[0].id", "id 5000 is out of range 1–4094"),
    ("utm", _set("vlans.0.id", 0), "vlans[0].id", "id 0 is out of range 1–4094"),
    ("utm", _set("vlans.1.id", 10), "vlans[1].id", "id 10 is already used by vlans[0]"),
    ("utm", _set("vlans.1.subnet", "192.168.10.0/33"), "vlans[1].subnet",
     "subnet 192.168.10.0/33 is not a valid IPv4 network"),
    ("utm", _set("vlans.1.subnet", "192.168.20.1/24"), "vlans[1].subnet",
     "subnet 192.168.20.1/24 is not a valid IPv4 network (host bits set)"),
    ("utm", _set("vlans.1.subnet", "192.168.0.0/16"), "vlans[1].subnet",
     "subnet 192.168.0.0/16 overlaps VLAN 10 (192.168.10.0/24) at vlans[0]"),
    ("utm", _set("vlans.0.applianceIp", "192.168.11.1"), "vlans[0].applianceIp",
     "applianceIp 192.168.11.1 is not inside subnet 192.168.10.0/24"),
    ("utm", _set("vlans.0.applianceIp", "192.168.10.0"), "vlans[0].applianceIp",
     "applianceIp 192.168.10.0 is the network address of subnet 192.168.10.0/24"),
    ("utm", _set("vlans.0.applianceIp", "192.168.10.255"), "vlans[0].applianceIp",
     "applianceIp 192.168.10.255 is the broadcast address of subnet 192.168.10.0/24"),
    ("utm", _set("vlans.0.applianceIp", "192.168.10.256"), "vlans[0].applianceIp",
     "applianceIp 192.168.10.256 is not a valid IPv4 address"),
    ("utm", _set("vlans.0.dhcpLeaseTime", "2 days"), "vlans[0].dhcpLeaseTime",
     "dhcpLeaseTime: Input should be '30 minutes', '1 hour', '4 hours', '12 hours', '1 day' or "
     "'1 week'"),
    ("utm", _set("vlans.0.dhcpHandling", "relay"), "vlans[0].dhcpRelayServerIps",
     "dhcpRelayServerIps is required to relay DHCP"),
    ("utm", _set("vlans.0.reservedIpRanges",
                 [{"start": "192.168.10.10", "end": "192.168.11.20"}]),
     "vlans[0].reservedIpRanges[0].end", "end 192.168.11.20 is not inside subnet 192.168.10.0/24"),
    ("utm", _set("vlans.0.reservedIpRanges", [{"start": "192.168.10.30", "end": "192.168.10.20"}]),
     "vlans[0].reservedIpRanges[0].end", "end 192.168.10.20 is before start 192.168.10.30"),
    ("utm", _set("vlans.0.fixedIpAssignments", {"00:11:22:33:44:55": {"ip": "192.168.20.5"}}),
     "vlans[0].fixedIpAssignments['00:11:22:33:44:55'].ip",
     "ip 192.168.20.5 is not inside subnet 192.168.10.0/24"),
    ("utm", _set("vlans.0.fixedIpAssignments", {"printer": {"ip": "192.168.10.5"}}),
     "vlans[0].fixedIpAssignments.printer",
     "MAC printer is not a MAC address like 00:11:22:aa:bb:cc"),
    ("utm", _set("vlans.0.dnsNameservers", ["google_dns", "8.8.8.8"]), "vlans[0].dnsNameservers",
     "dnsNameservers google_dns, 8.8.8.8 mixes a keyword with addresses"),
    # L3 / L7 firewall
    ("utm", _set("l3FirewallRules.0.srcCidr", "10.0.0.0/40"), "l3FirewallRules[0].srcCidr",
     "srcCidr 10.0.0.0/40 is not a valid IPv4 network"),
    ("utm", _set("l3FirewallRules.0.destCidr", "any,10.0.0.0/8"), "l3FirewallRules[0].destCidr",
     "destCidr any,10.0.0.0/8 mixes any with addresses"),
    ("utm", _set("l3FirewallRules.0.destPort", "70000"), "l3FirewallRules[0].destPort",
     f"destPort 70000 is not a port ({PORT_HELP})"),
    ("utm", _set("l3FirewallRules.0.destPort", "80,http"), "l3FirewallRules[0].destPort",
     f"destPort 80,http is not a port ({PORT_HELP})"),
    ("utm", _set("l3FirewallRules.0.destPort", "90-80"), "l3FirewallRules[0].destPort",
     "destPort 90-80 has a range that runs backwards"),
    ("utm", _set("l3FirewallRules.0.protocol", "gre"), "l3FirewallRules[0].protocol",
     "protocol: Input should be 'tcp', 'udp', 'icmp', 'icmp6' or 'any'"),
    ("utm", _set("l3FirewallRules.0.policy", "reject"), "l3FirewallRules[0].policy",
     "policy: Input should be 'allow' or 'deny'"),
    ("utm", _set("l3FirewallRules.0.protocol", "icmp"), "l3FirewallRules[0].destPort",
     "destPort 23 needs protocol tcp or udp, not icmp"),
    ("utm", _set("l7FirewallRules.0", {"type": "application", "value": "youtube"}),
     "l7FirewallRules[0].value",
     "value youtube is not an application id like meraki:layer7/application/67"),
    ("utm", _set("l7FirewallRules.0", {"policy": "allow", "type": "host", "value": "a.jp"}),
     "l7FirewallRules[0].policy", "policy: Input should be 'deny'"),
    # port forwarding and 1:1 NAT
    ("utm", _set("portForwardingRules.0.lanIp", "10.9.9.9"), "portForwardingRules[0].lanIp",
     "lanIp 10.9.9.9 is not inside any VLAN subnet"),
    ("utm", _set("portForwardingRules.0.publicPort", "8000-8010"),
     "portForwardingRules[0].localPort",
     "localPort 443 spans a different number of ports than publicPort 8000-8010"),
    ("utm", _set("portForwardingRules.0.publicPort", "80,443"), "portForwardingRules[0].publicPort",
     "publicPort 80,443 must be one port or one range like 8000-8080"),
    ("utm", _set("portForwardingRules.0.allowedIps", ["198.51.100.0/33"]),
     "portForwardingRules[0].allowedIps[0]",
     "allowedIps[0] 198.51.100.0/33 is not a valid IPv4 network"),
    ("utm", _set("oneToOneNatRules.1", {"name": "B", "publicIp": "203.0.113.11",
                                        "lanIp": "192.168.10.51"}),
     "oneToOneNatRules[1].publicIp", "publicIp 203.0.113.11 is already mapped by "
     "oneToOneNatRules[0]"),
    ("utm", _set("oneToOneNatRules.0.lanIp", "172.16.0.5"), "oneToOneNatRules[0].lanIp",
     "lanIp 172.16.0.5 is not inside any VLAN subnet"),
    # UTM security
    ("utm", _set("intrusion.mode", "block"), "intrusion.mode",
     "mode: Input should be 'disabled', 'detection' or 'prevention'"),
    ("utm", _set("contentFiltering.blockedUrlCategories", ["adult"]),
     "contentFiltering.blockedUrlCategories",
     "blockedUrlCategories adult is not a category id like meraki:contentFiltering/category/C7"),
    ("utm", _set("malware.allowedFiles", ["abc"]), "malware.allowedFiles[0]",
     "allowedFiles[0] abc is not a SHA-256 digest (64 hex digits)"),
    # plan-only sections
    ("router", _set("contentFiltering", {}), "contentFiltering",
     "contentFiltering is a UTM plan feature, not on a router plan sheet"),
    ("router", _set("intrusion", {"mode": "detection"}), "intrusion",
     "intrusion is a UTM plan feature, not on a router plan sheet"),
    ("router", _set("malware", {"mode": "enabled"}), "malware",
     "malware is a UTM plan feature, not on a router plan sheet"),
    ("wireless", _set("vlans", sheets.utm()["vlans"]), "vlans",
     "vlans is an appliance setting, not on a wireless plan sheet"),
    ("wireless", _set("intrusion", {"mode": "detection"}), "intrusion",
     "intrusion is an appliance setting, not on a wireless plan sheet"),
    ("utm", _set("ssids", sheets.wireless()["ssids"]), "ssids",
     "ssids is a wireless setting, not on a utm plan sheet"),
    ("router", _set("rfProfiles", [{"name": "x"}]), "rfProfiles",
     "rfProfiles is a wireless setting, not on a router plan sheet"),
    ("utm", _delete("devices"), "devices", "devices: a settings sheet lists at least one device"),
    ("wireless", _set("ssids", []), "ssids",
     "ssids: a wireless settings sheet needs at least one entry"),
    # wireless
    ("wireless", _set("ssids.0.psk", "short"), "ssids[0].psk", f"{PSK_RULE} (got 5 characters)"),
    ("wireless", _set("ssids.0.psk", "x" * 64), "ssids[0].psk", f"{PSK_RULE} (got 64 characters)"),
    ("wireless", _set("ssids.0.psk", "パスワード12345678"), "ssids[0].psk",
     f"{PSK_RULE} (got 13 characters)"),
    ("wireless", _set("ssids.1.number", 15), "ssids[1].number", "number 15 is out of range 0–14"),
    ("wireless", _set("ssids.1.number", 0), "ssids[1].number",
     "number 0 is already used by ssids[0]"),
    ("wireless", _delete("ssids.0.psk"), "ssids[0].psk", "psk is required when authMode is psk"),
    ("wireless", _set("ssids.1.psk", "correct-horse-9"), "ssids[1].psk",
     "psk is only for authMode psk, not open"),
    ("wireless", _set("ssids.1.authMode", "8021x-radius"), "ssids[1].radiusServers",
     "radiusServers is required when authMode is 8021x-radius"),
    ("wireless", _set("ssids.1.authMode", "wpa-eap"), "ssids[1].authMode",
     "authMode: Input should be 'open', 'psk' or '8021x-radius'"),
    ("wireless", _set("ssids.0.useVlanTagging", True), "ssids[0].defaultVlanId",
     "defaultVlanId is required with useVlanTagging"),
    ("wireless", _set("ssids.0.name", "x" * 33), "ssids[0].name",
     "name: String should have at most 32 characters"),
    ("wireless", _set("rfProfiles.0.fiveGhzSettings", {"maxPower": 31}),
     "rfProfiles[0].fiveGhzSettings.maxPower", "maxPower 31 is out of range 8–30 dBm"),
    ("wireless", _set("rfProfiles.0.twoFourGhzSettings", {"minBitrate": 7}),
     "rfProfiles[0].twoFourGhzSettings.minBitrate",
     "minBitrate 7 is not one of 1, 2, 5.5, 6, 9, 11, 12, 18, 24, 36, 48, 54"),
    ("wireless", _set("rfProfiles.0.fiveGhzSettings", {"minPower": 20, "maxPower": 10}),
     "rfProfiles[0].fiveGhzSettings.minPower", "minPower 20 is above maxPower 10"),
    # change requests
    ("change_request", _delete("request.requester"), "request.requester",
     "request.requester is required on a change_request sheet"),
    ("change_request", _delete("request.id"), "request.id",
     "request.id is required on a change_request sheet"),
    ("change_request", _delete("request"), "request",
     "request is required on a change_request sheet"),
    ("change_request", _set("request.date", "2025-13-01"), "request.date",
     "date: Input should be a valid date or datetime, month value is outside expected range of "
     "1-12"),
    ("utm", _set("request", {"id": "CR-1"}), "request",
     "request belongs only on a change_request sheet"),
]  # fmt: skip

BUILDERS = {
    "utm": sheets.utm,
    "router": sheets.router,
    "wireless": sheets.wireless,
    "change_request": sheets.change_request,
}


@pytest.mark.parametrize("builder", BUILDERS)
def test_base_sheets_are_valid(builder):
    sheet, problems = validate_sheet(BUILDERS[builder](), environ={})
    assert problems == []
    assert sheet is not None


@pytest.mark.parametrize(
    ("builder", "mutate", "location", "message"),
    CASES,
    ids=[f"{c[2]}:{c[3][:40]}" for c in CASES],
)
def test_rule_reports_its_place(builder, mutate, location, message):
    raw = BUILDERS[builder]()
    mutate(raw)
    sheet, problems = validate_sheet(raw, environ={})
    assert sheet is None
    assert Problem(message, location) in problems, problems


def test_five_different_errors_are_all_reported():
    raw = sheets.router()
    raw["devices"][0]["serial"] = "Q2KY-BBBB-01"
    raw["vlans"][1]["id"] = 10
    raw["vlans"][2]["applianceIp"] = "192.168.31.1"
    raw["l3FirewallRules"][0]["destPort"] = "70000"
    raw["contentFiltering"] = {"blockedUrlCategories": []}
    sheet, problems = validate_sheet(raw, environ={})
    assert sheet is None
    assert problems == [
        Problem(
            "serial Q2KY-BBBB-01 is not in the Meraki form XXXX-XXXX-XXXX", "devices[0].serial"
        ),
        Problem(f"destPort 70000 is not a port ({PORT_HELP})", "l3FirewallRules[0].destPort"),
        Problem(
            "contentFiltering is a UTM plan feature, not on a router plan sheet",
            "contentFiltering",
        ),
        Problem("id 10 is already used by vlans[0]", "vlans[1].id"),
        Problem(
            "applianceIp 192.168.31.1 is not inside subnet 192.168.30.0/24", "vlans[2].applianceIp"
        ),
    ]


def test_serial_and_mac_are_normalised():
    raw = sheets.utm()
    raw["devices"][0]["serial"] = " q2fy-aaaa-0002 "
    raw["vlans"][0]["fixedIpAssignments"] = {"00-18-0A-12-34-56": {"ip": "192.168.10.20"}}
    sheet, problems = validate_sheet(raw, environ={})
    assert problems == []
    assert sheet is not None and sheet.devices and sheet.vlans
    assert sheet.devices[0].serial == "Q2FY-AAAA-0002"
    assert list(sheet.vlans[0].fixed_ip_assignments) == ["00:18:0a:12:34:56"]


@pytest.mark.parametrize(
    ("spec", "normal"),
    [("any", "any"), ("ANY", "any"), (443, "443"), ("1-1024", "1-1024"), ("80, 443", "80,443")],
)
def test_port_specs_accepted(spec, normal):
    raw = sheets.utm()
    raw["l3FirewallRules"][0]["destPort"] = spec
    sheet, problems = validate_sheet(raw, environ={})
    assert problems == []
    assert sheet is not None and sheet.l3_firewall_rules
    assert sheet.l3_firewall_rules[0].dest_port == normal


def test_psk_of_64_hex_digits_is_accepted():
    raw = sheets.wireless()
    raw["ssids"][0]["psk"] = "0123456789abcdef" * 4
    assert validate_sheet(raw, environ={})[1] == []


def test_yaml_bare_off_means_dhcp_off():
    raw = sheets.utm()
    raw["vlans"][2]["dhcpHandling"] = False  # what YAML 1.1 makes of `off`
    sheet, problems = validate_sheet(raw, environ={})
    assert problems == []
    assert sheet is not None and sheet.vlans and sheet.vlans[2].dhcp_handling == "off"


def test_change_request_lan_ip_is_not_checked_against_partial_vlans():
    raw = sheets.change_request()
    raw["vlans"] = [sheets.utm()["vlans"][1]]
    raw["portForwardingRules"] = sheets.utm()["portForwardingRules"]
    assert validate_sheet(raw, environ={})[1] == []


def test_not_a_mapping():
    assert validate_sheet(["format"], environ={}) == (
        None,
        [Problem("a sheet is a mapping of sections (format, kind, site …)", "")],
    )


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        (("vlans", 2, "subnet"), "vlans[2].subnet"),
        (("site",), "site"),
        (
            ("vlans", 0, "fixedIpAssignments", "aa:bb", "ip"),
            "vlans[0].fixedIpAssignments['aa:bb'].ip",
        ),
    ],
)
def test_key_path(loc, text):
    assert key_path(loc) == text
