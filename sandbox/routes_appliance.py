"""Appliance (MX) endpoints: VLANs, site-to-site VPN and VPN status (firewall: routes_security)."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from sandbox import defaults
from sandbox.access import merge, network_or_404, org_or_404, require_fields, require_product
from sandbox.router import Call, Reply, Router, bad_request, not_found, paginate
from sandbox.state import Record, SandboxState

router = Router()

NET = "/networks/{networkId}/appliance"
APPLIANCE = defaults.ProductType.APPLIANCE

DHCP_HANDLING = (
    "Run a DHCP server",
    "Relay DHCP to another server",
    "Do not respond to DHCP requests",
)
LEASE_TIMES = ("30 minutes", "1 hour", "4 hours", "12 hours", "1 day", "1 week")
VLAN_KEYS = frozenset(
    {
        "name",
        "subnet",
        "applianceIp",
        "groupPolicyId",
        "vpnNatSubnet",
        "dhcpHandling",
        "dhcpRelayServerIps",
        "dhcpLeaseTime",
        "dhcpBootOptionsEnabled",
        "dhcpBootNextServer",
        "dhcpBootFilename",
        "fixedIpAssignments",
        "reservedIpRanges",
        "dnsNameservers",
        "dhcpOptions",
        "templateVlanType",
        "cidr",
        "mask",
        "ipv6",
        "mandatoryDhcp",
    }
)


def appliance_settings(st: SandboxState, call: Call) -> Record:
    """The network's appliance settings, refused unless the network has an appliance."""
    return require_product(st, call.params["networkId"], APPLIANCE)


@router.add("GET", NET + "/vlans/settings")
def get_vlans_settings(st: SandboxState, call: Call) -> Reply:
    """Whether VLANs are enabled."""
    return Reply({"vlansEnabled": appliance_settings(st, call)["vlansEnabled"]})


@router.add("PUT", NET + "/vlans/settings")
def update_vlans_settings(st: SandboxState, call: Call) -> Reply:
    """Enable or disable VLANs; enabling the first time creates VLAN 1 "Default"."""
    cfg = appliance_settings(st, call)
    enabled = call.obj().get("vlansEnabled")
    if not isinstance(enabled, bool):
        raise bad_request("'vlansEnabled' must be a boolean")
    cfg["vlansEnabled"] = enabled
    if enabled and not cfg["vlans"]:
        cfg["vlans"] = {"1": defaults.default_vlan()}
    return Reply({"vlansEnabled": enabled})


def _vlan_cfg(st: SandboxState, call: Call) -> Record:
    cfg = appliance_settings(st, call)
    if not cfg["vlansEnabled"]:
        raise bad_request("VLANs are not enabled for this network")
    return cfg


def _ip(value: Any, field: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError as exc:
        raise bad_request(f"'{field}' must be an IPv4 address, got {value!r}") from exc


def _subnet(value: Any) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise bad_request(f"'subnet' {value!r} is not a valid IPv4 subnet") from exc


def _validate_vlan(vlan: Record, others: list[Record]) -> None:
    subnet = _subnet(vlan["subnet"])
    if _ip(vlan["applianceIp"], "applianceIp") not in subnet:
        raise bad_request(f"'applianceIp' {vlan['applianceIp']} is not in subnet {subnet}")
    for other in others:
        if subnet.overlaps(ipaddress.IPv4Network(other["subnet"])):
            raise bad_request(f"Subnet {subnet} overlaps VLAN {other['id']} ({other['subnet']})")
    if vlan["dhcpHandling"] not in DHCP_HANDLING:
        raise bad_request(f"'dhcpHandling' must be one of: {', '.join(DHCP_HANDLING)}")
    if vlan["dhcpLeaseTime"] not in LEASE_TIMES:
        raise bad_request(f"'dhcpLeaseTime' must be one of: {', '.join(LEASE_TIMES)}")
    if vlan["dhcpHandling"] == DHCP_HANDLING[1] and not vlan.get("dhcpRelayServerIps"):
        raise bad_request("'dhcpRelayServerIps' is required when relaying DHCP")
    dns = vlan["dnsNameservers"]
    if dns not in ("upstream_dns", "google_dns", "opendns"):
        for server in str(dns).split("\n"):
            _ip(server.strip(), "dnsNameservers")
    if not isinstance(vlan["fixedIpAssignments"], dict):
        raise bad_request("'fixedIpAssignments' must be an object keyed by MAC")
    for mac, assignment in vlan["fixedIpAssignments"].items():
        if not isinstance(assignment, dict) or "ip" not in assignment:
            raise bad_request(f"fixed IP assignment for {mac} needs an 'ip'")
        if _ip(assignment["ip"], f"fixedIpAssignments.{mac}.ip") not in subnet:
            raise bad_request(f"fixed IP {assignment['ip']} for {mac} is not in subnet {subnet}")
    if not isinstance(vlan["reservedIpRanges"], list):
        raise bad_request("'reservedIpRanges' must be an array")
    for rng in vlan["reservedIpRanges"]:
        if not isinstance(rng, dict) or "start" not in rng or "end" not in rng:
            raise bad_request("each reserved IP range needs 'start' and 'end'")
        start = _ip(rng["start"], "reservedIpRanges.start")
        end = _ip(rng["end"], "reservedIpRanges.end")
        if start not in subnet or end not in subnet or start > end:
            raise bad_request(f"reserved range {start}-{end} is not an ordered range in {subnet}")
        rng.setdefault("comment", "")


@router.add("GET", NET + "/vlans")
def list_vlans(st: SandboxState, call: Call) -> Reply:
    """VLANs ordered by id (400 when VLANs are disabled, as the dashboard does)."""
    vlans = _vlan_cfg(st, call)["vlans"]
    return Reply([vlans[k] for k in sorted(vlans, key=int)])


@router.add("POST", NET + "/vlans")
def create_vlan(st: SandboxState, call: Call) -> Reply:
    """Add a VLAN."""
    cfg = _vlan_cfg(st, call)
    body = call.obj()
    require_fields(body, "id", "name", "subnet", "applianceIp")
    try:
        vlan_id = int(body["id"])
    except (TypeError, ValueError) as exc:
        raise bad_request("'id' must be an integer between 1 and 4094") from exc
    if not 1 <= vlan_id <= 4094:
        raise bad_request("'id' must be an integer between 1 and 4094")
    if str(vlan_id) in cfg["vlans"]:
        raise bad_request(f"VLAN {vlan_id} already exists")
    _subnet(body["subnet"])  # before the defaults derive the mask from it
    vlan = defaults.vlan({**body, "id": vlan_id})
    merge(vlan, body, VLAN_KEYS)
    vlan["cidr"] = vlan["subnet"]
    _validate_vlan(vlan, list(cfg["vlans"].values()))
    cfg["vlans"][str(vlan_id)] = vlan
    return Reply(vlan, 201)


def _vlan_or_404(cfg: Record, vlan_id: str) -> Record:
    vlan = cfg["vlans"].get(vlan_id)
    if vlan is None:
        raise not_found(f"VLAN {vlan_id}")
    return vlan  # type: ignore[no-any-return]


@router.add("GET", NET + "/vlans/{vlanId}")
def get_vlan(st: SandboxState, call: Call) -> Reply:
    """One VLAN."""
    return Reply(_vlan_or_404(_vlan_cfg(st, call), call.params["vlanId"]))


@router.add("PUT", NET + "/vlans/{vlanId}")
def update_vlan(st: SandboxState, call: Call) -> Reply:
    """Change a VLAN's addressing or DHCP settings."""
    cfg = _vlan_cfg(st, call)
    vlan = copy.deepcopy(_vlan_or_404(cfg, call.params["vlanId"]))
    merge(vlan, call.obj(), VLAN_KEYS)
    vlan["cidr"] = vlan["subnet"]
    vlan["mask"] = int(str(vlan["subnet"]).split("/")[-1]) if "/" in str(vlan["subnet"]) else 0
    others = [v for k, v in cfg["vlans"].items() if k != vlan["id"]]
    _validate_vlan(vlan, others)
    cfg["vlans"][vlan["id"]] = vlan
    return Reply(vlan)


@router.add("DELETE", NET + "/vlans/{vlanId}")
def delete_vlan(st: SandboxState, call: Call) -> Reply:
    """Remove a VLAN (the last one cannot go)."""
    cfg = _vlan_cfg(st, call)
    _vlan_or_404(cfg, call.params["vlanId"])
    if len(cfg["vlans"]) == 1:
        raise bad_request("Cannot delete the last VLAN")
    del cfg["vlans"][call.params["vlanId"]]
    return Reply(None, 204)


# --- site-to-site VPN ---------------------------------------------------------------------------


@router.add("GET", NET + "/vpn/siteToSiteVpn")
def get_site_to_site_vpn(st: SandboxState, call: Call) -> Reply:
    """Auto VPN mode, hubs and subnets."""
    return Reply(appliance_settings(st, call)["siteToSiteVpn"])


@router.add("PUT", NET + "/vpn/siteToSiteVpn")
def update_site_to_site_vpn(st: SandboxState, call: Call) -> Reply:
    """Set hub/spoke/none; a spoke's hubs must be hub networks of the same organization."""
    cfg = appliance_settings(st, call)
    net = network_or_404(st, call.params["networkId"])
    body = call.obj()
    mode = body.get("mode")
    if mode not in ("hub", "spoke", "none"):
        raise bad_request("'mode' must be one of: hub, spoke, none")
    hubs = body.get("hubs") or []
    for hub in hubs:
        hub_id = hub.get("hubId") if isinstance(hub, dict) else None
        hub_net = st.networks.get(str(hub_id))
        if hub_net is None or hub_net["organizationId"] != net["organizationId"]:
            raise bad_request(f"Hub {hub_id} is not a network of this organization")
        if st.network_settings[hub_net["id"]]["siteToSiteVpn"]["mode"] != "hub":
            raise bad_request(f"Network {hub_id} is not configured as a hub")
        hub.setdefault("useDefaultRoute", False)
    if mode == "spoke" and not hubs:
        raise bad_request("A spoke needs at least one hub")
    cfg["siteToSiteVpn"] = {
        "mode": mode,
        "hubs": hubs if mode == "spoke" else [],
        "subnets": body.get("subnets", cfg["siteToSiteVpn"]["subnets"]),
    }
    return Reply(cfg["siteToSiteVpn"])


def _appliance_in(st: SandboxState, network_id: str) -> Record | None:
    """The appliance (MX/Z) claimed into a network, if any."""
    return next(
        (
            d
            for d in st.devices.values()
            if d["networkId"] == network_id and d["productType"] == APPLIANCE
        ),
        None,
    )


def _online(dev: Record | None) -> bool:
    return dev is not None and dev["status"] == "online"


@router.add("GET", "/organizations/{organizationId}/appliance/vpn/statuses")
def list_vpn_statuses(st: SandboxState, call: Call) -> Reply:
    """Auto VPN status of every appliance network taking part in site-to-site VPN."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    members = [
        n
        for n in st.networks.values()
        if n["organizationId"] == org_id
        and APPLIANCE in n["productTypes"]
        and st.network_settings[n["id"]]["siteToSiteVpn"]["mode"] != "none"
    ]
    if wanted := call.q_list("networkIds"):
        members = [n for n in members if n["id"] in wanted]
    items = []
    for net in members:
        vpn = st.network_settings[net["id"]]["siteToSiteVpn"]
        mx = _appliance_in(st, net["id"])
        peers = (
            [h["hubId"] for h in vpn["hubs"]]
            if vpn["mode"] == "spoke"
            else [
                n["id"]
                for n in st.networks.values()
                if n["organizationId"] == org_id
                and n["id"] != net["id"]
                and APPLIANCE in n["productTypes"]
                and st.network_settings[n["id"]]["siteToSiteVpn"]["mode"] != "none"
            ]
        )
        online = mx is not None and mx["status"] == "online"
        items.append(
            {
                "networkId": net["id"],
                "networkName": net["name"],
                "deviceSerial": mx["serial"] if mx else None,
                "deviceStatus": mx["status"] if mx else "offline",
                "uplinks": [{"interface": "wan1", "publicIp": defaults.public_ip(mx)}]
                if mx is not None and online
                else [],
                "vpnMode": vpn["mode"],
                "exportedSubnets": [
                    {"subnet": s["localSubnet"], "name": s.get("name", "")}
                    for s in vpn["subnets"]
                    if s.get("useVpn")
                ],
                "merakiVpnPeers": [
                    {
                        "networkId": p,
                        "networkName": st.networks[p]["name"],
                        "reachability": "reachable"
                        if online
                        and _online(_appliance_in(st, p))
                        and f"{net['id']} {p}" not in st.vpn_peers_down
                        else "unreachable",
                    }
                    for p in peers
                    if p in st.networks
                ],
                "thirdPartyVpnPeers": [],
            }
        )
    return paginate(call, items, lambda i: str(i["networkId"]), 300, 300)
