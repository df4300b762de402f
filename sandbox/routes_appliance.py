"""Appliance (MX) endpoints: VLANs, firewall, NAT, security, site-to-site VPN and VPN status."""

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


def _appliance(st: SandboxState, call: Call) -> Record:
    return require_product(st, call.params["networkId"], APPLIANCE)


@router.add("GET", NET + "/vlans/settings")
def get_vlans_settings(st: SandboxState, call: Call) -> Reply:
    """Whether VLANs are enabled."""
    return Reply({"vlansEnabled": _appliance(st, call)["vlansEnabled"]})


@router.add("PUT", NET + "/vlans/settings")
def update_vlans_settings(st: SandboxState, call: Call) -> Reply:
    """Enable or disable VLANs; enabling the first time creates VLAN 1 "Default"."""
    cfg = _appliance(st, call)
    enabled = call.obj().get("vlansEnabled")
    if not isinstance(enabled, bool):
        raise bad_request("'vlansEnabled' must be a boolean")
    cfg["vlansEnabled"] = enabled
    if enabled and not cfg["vlans"]:
        cfg["vlans"] = {"1": defaults.default_vlan()}
    return Reply({"vlansEnabled": enabled})


def _vlan_cfg(st: SandboxState, call: Call) -> Record:
    cfg = _appliance(st, call)
    if not cfg["vlansEnabled"]:
        raise bad_request("VLANs are not enabled for this network")
    return cfg


def _ip(value: Any, field: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError as exc:
        raise bad_request(f"'{field}' must be an IPv4 address, got {value!r}") from exc


def _validate_vlan(vlan: Record, others: list[Record]) -> None:
    try:
        subnet = ipaddress.IPv4Network(str(vlan["subnet"]), strict=True)
    except ValueError as exc:
        raise bad_request(f"'subnet' {vlan['subnet']!r} is not a valid IPv4 subnet") from exc
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


# --- firewall -----------------------------------------------------------------------------------

PROTOCOLS = ("tcp", "udp", "icmp", "icmp6", "any")


def _l3_rule(rule: Any) -> Record:
    if not isinstance(rule, dict):
        raise bad_request("each rule must be an object")
    require_fields(rule, "policy", "protocol", "destCidr")
    if rule["policy"] not in ("allow", "deny"):
        raise bad_request(f"'policy' must be allow or deny, got {rule['policy']!r}")
    if str(rule["protocol"]).lower() not in PROTOCOLS:
        raise bad_request(f"'protocol' must be one of {', '.join(PROTOCOLS)}")
    return {
        "comment": rule.get("comment") or "",
        "policy": rule["policy"],
        "protocol": rule["protocol"],
        "srcPort": str(rule.get("srcPort") or "Any"),
        "srcCidr": rule.get("srcCidr") or "Any",
        "destPort": str(rule.get("destPort") or "Any"),
        "destCidr": rule["destCidr"],
        "syslogEnabled": bool(rule.get("syslogEnabled", False)),
    }


def _is_default_rule(rule: Any) -> bool:
    return isinstance(rule, dict) and rule.get("comment") == defaults.DEFAULT_RULE_COMMENT


def _l3_view(cfg: Record) -> Record:
    return {"rules": [*cfg["l3Rules"], defaults.default_l3_rule(cfg["syslogDefaultRule"])]}


@router.add("GET", NET + "/firewall/l3FirewallRules")
def get_l3_rules(st: SandboxState, call: Call) -> Reply:
    """L3 rules with the dashboard's trailing "Default rule" allow-any."""
    return Reply(_l3_view(_appliance(st, call)))


@router.add("PUT", NET + "/firewall/l3FirewallRules")
def update_l3_rules(st: SandboxState, call: Call) -> Reply:
    """Replace L3 rules; a trailing "Default rule" sent back by a client is dropped."""
    cfg = _appliance(st, call)
    body = call.obj()
    rules = body.get("rules", [])
    if not isinstance(rules, list):
        raise bad_request("'rules' must be an array")
    if rules and _is_default_rule(rules[-1]):
        rules = rules[:-1]
    cfg["l3Rules"] = [_l3_rule(r) for r in rules]
    if "syslogDefaultRule" in body:
        cfg["syslogDefaultRule"] = bool(body["syslogDefaultRule"])
    return Reply(_l3_view(cfg))


L7_TYPES = (
    "application",
    "applicationCategory",
    "host",
    "port",
    "ipRange",
    "allowedCountries",
    "blockedCountries",
    "whitelistedCountries",
    "blacklistedCountries",
)


@router.add("GET", NET + "/firewall/l7FirewallRules")
def get_l7_rules(st: SandboxState, call: Call) -> Reply:
    """L7 rules."""
    return Reply({"rules": _appliance(st, call)["l7Rules"]})


@router.add("PUT", NET + "/firewall/l7FirewallRules")
def update_l7_rules(st: SandboxState, call: Call) -> Reply:
    """Replace L7 rules (policy is always deny)."""
    cfg = _appliance(st, call)
    rules = call.obj().get("rules", [])
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("type") not in L7_TYPES or "value" not in rule:
            raise bad_request(
                f"each L7 rule needs 'type' (one of {', '.join(L7_TYPES)}) and 'value'"
            )
        rule["policy"] = rule.get("policy", "deny")
    cfg["l7Rules"] = rules
    return Reply({"rules": rules})


def _rules_endpoint(path: str, key: str, required: tuple[str, ...], filler: dict[str, Any]) -> None:
    def get_rules(st: SandboxState, call: Call) -> Reply:
        return Reply({"rules": _appliance(st, call)[key]})

    def put_rules(st: SandboxState, call: Call) -> Reply:
        cfg = _appliance(st, call)
        rules = call.obj().get("rules")
        if not isinstance(rules, list):
            raise bad_request("'rules' must be an array")
        clean = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise bad_request("each rule must be an object")
            require_fields(rule, *required)
            clean.append({**copy.deepcopy(filler), **rule})
        cfg[key] = clean
        return Reply({"rules": clean})

    get_rules.__doc__ = f"GET {path}."
    put_rules.__doc__ = f"PUT {path}."
    router.add("GET", NET + path)(get_rules)
    router.add("PUT", NET + path)(put_rules)


_rules_endpoint(
    "/firewall/portForwardingRules",
    "portForwardingRules",
    ("lanIp", "protocol", "publicPort", "localPort"),
    {"name": "", "uplink": "both", "allowedIps": ["any"]},
)
_rules_endpoint(
    "/firewall/oneToOneNatRules",
    "oneToOneNatRules",
    ("lanIp", "publicIp"),
    {"name": "", "uplink": "internet1", "allowedInbound": []},
)


def _settings_endpoint(
    path: str, key: str, allowed: frozenset[str], choices: dict[str, tuple[str, ...]]
) -> None:
    def get_settings(st: SandboxState, call: Call) -> Reply:
        return Reply(_appliance(st, call)[key])

    def put_settings(st: SandboxState, call: Call) -> Reply:
        cfg = _appliance(st, call)
        body = call.obj()
        for name, options in choices.items():
            if name in body and body[name] not in options:
                raise bad_request(f"'{name}' must be one of: {', '.join(options)}")
        updated = copy.deepcopy(cfg[key])
        merge(updated, body, allowed)
        cfg[key] = updated
        return Reply(updated)

    get_settings.__doc__ = f"GET {path}."
    put_settings.__doc__ = f"PUT {path}."
    router.add("GET", NET + path)(get_settings)
    router.add("PUT", NET + path)(put_settings)


_settings_endpoint(
    "/contentFiltering",
    "contentFiltering",
    frozenset(
        {"allowedUrlPatterns", "blockedUrlPatterns", "blockedUrlCategories", "urlCategoryListSize"}
    ),
    {"urlCategoryListSize": ("topSites", "fullList")},
)
_settings_endpoint(
    "/security/intrusion",
    "intrusion",
    frozenset({"mode", "idsRulesets", "protectedNetworks", "policy"}),
    {
        "mode": ("disabled", "detection", "prevention"),
        "idsRulesets": ("connectivity", "balanced", "security"),
    },
)
_settings_endpoint(
    "/security/malware",
    "malware",
    frozenset({"mode", "allowedUrls", "allowedFiles"}),
    {"mode": ("enabled", "disabled")},
)


# --- site-to-site VPN ---------------------------------------------------------------------------


@router.add("GET", NET + "/vpn/siteToSiteVpn")
def get_site_to_site_vpn(st: SandboxState, call: Call) -> Reply:
    """Auto VPN mode, hubs and subnets."""
    return Reply(_appliance(st, call)["siteToSiteVpn"])


@router.add("PUT", NET + "/vpn/siteToSiteVpn")
def update_site_to_site_vpn(st: SandboxState, call: Call) -> Reply:
    """Set hub/spoke/none; a spoke's hubs must be hub networks of the same organization."""
    cfg = _appliance(st, call)
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
                        if online and _online(_appliance_in(st, p))
                        else "unreachable",
                    }
                    for p in peers
                    if p in st.networks
                ],
                "thirdPartyVpnPeers": [],
            }
        )
    return paginate(call, items, lambda i: str(i["networkId"]), 300, 300)
