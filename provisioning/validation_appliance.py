"""Cross-field rules of the appliance sections: VLANs, firewall, NAT and site-to-site VPN."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from provisioning.sheet_appliance import (
    L3FirewallRule,
    L7FirewallRule,
    OneToOneNatRule,
    PortForwardingRule,
    Vlan,
)
from provisioning.sheet_enums import DhcpHandling, FirewallProtocol, L7Type, SheetKind, VpnMode
from provisioning.validation_parts import Found, Loc, SheetParts


def _host_problem(ip: str, net: ipaddress.IPv4Network) -> str | None:
    address = ipaddress.IPv4Address(ip)
    if address not in net:
        return f"is not inside subnet {net}"
    if net.prefixlen < 31 and address in (net.network_address, net.broadcast_address):
        which = "network" if address == net.network_address else "broadcast"
        return f"is the {which} address of subnet {net}"
    return None


def check_vlans(parts: SheetParts) -> Iterator[Found]:
    """VLAN ids unique, subnets disjoint, appliance IP and DHCP ranges/reservations inside."""
    ids: dict[int, int] = {}
    nets: list[tuple[int, Vlan, ipaddress.IPv4Network]] = []
    for index, vlan in parts.each("vlans", Vlan):
        loc: Loc = ("vlans", index)
        if vlan.id in ids:
            yield (*loc, "id"), f"id {vlan.id} is already used by vlans[{ids[vlan.id]}]"
        ids.setdefault(vlan.id, index)
        net = ipaddress.IPv4Network(vlan.subnet)
        for other_index, other, other_net in nets:
            if net.overlaps(other_net):
                yield (
                    (*loc, "subnet"),
                    (
                        f"subnet {net} overlaps VLAN {other.id} ({other_net}) "
                        f"at vlans[{other_index}]"
                    ),
                )
        nets.append((index, vlan, net))
        wrong = _host_problem(vlan.appliance_ip, net)
        if wrong:
            yield (*loc, "applianceIp"), f"applianceIp {vlan.appliance_ip} {wrong}"
        if vlan.dhcp_handling is DhcpHandling.RELAY and not vlan.dhcp_relay_server_ips:
            yield (*loc, "dhcpRelayServerIps"), "dhcpRelayServerIps is required to relay DHCP"
        for r_index, reserved in enumerate(vlan.reserved_ip_ranges):
            r_loc = (*loc, "reservedIpRanges", r_index)
            for key, ip in (("start", reserved.start), ("end", reserved.end)):
                if ipaddress.IPv4Address(ip) not in net:
                    yield (*r_loc, key), f"{key} {ip} is not inside subnet {net}"
            if ipaddress.IPv4Address(reserved.start) > ipaddress.IPv4Address(reserved.end):
                yield (*r_loc, "end"), f"end {reserved.end} is before start {reserved.start}"
        for mac, fixed in vlan.fixed_ip_assignments.items():
            wrong = _host_problem(fixed.ip, net)
            if wrong:
                yield (*loc, "fixedIpAssignments", mac, "ip"), f"ip {fixed.ip} {wrong}"


def _subnets(parts: SheetParts) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(v.subnet) for _, v in parts.each("vlans", Vlan)]


def check_firewall(parts: SheetParts) -> Iterator[Found]:
    """Ports only with tcp/udp; L7 values fit their type."""
    for index, rule in parts.each("l3FirewallRules", L3FirewallRule):
        if rule.protocol not in (FirewallProtocol.TCP, FirewallProtocol.UDP):
            for key, value in (("srcPort", rule.src_port), ("destPort", rule.dest_port)):
                if value != "any":
                    yield (
                        ("l3FirewallRules", index, key),
                        (f"{key} {value} needs protocol tcp or udp, not {rule.protocol}"),
                    )
    for index, l7 in parts.each("l7FirewallRules", L7FirewallRule):
        wrong = _l7_value_problem(l7.type, l7.value)
        if wrong:
            yield ("l7FirewallRules", index, "value"), f"value {l7.value} {wrong}"


def _l7_value_problem(kind: L7Type, value: str) -> str | None:
    if kind is L7Type.APPLICATION and not value.startswith("meraki:layer7/application/"):
        return "is not an application id like meraki:layer7/application/67"
    if kind is L7Type.APPLICATION_CATEGORY and not value.startswith("meraki:layer7/category/"):
        return "is not a category id like meraki:layer7/category/24"
    if kind is L7Type.PORT and not (value.isdigit() and 1 <= int(value) <= 65535):
        return "is not a port 1–65535"
    if kind is L7Type.IP_RANGE:
        cidr, _, port = value.partition(":")
        try:
            ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            return "is not an IP range like 10.0.0.0/8 or 10.0.0.0/8:443"
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            return "has a port that is not 1–65535"
    if kind is L7Type.HOST and (" " in value or "/" in value):
        return "is not a host name like example.com"
    return None


def check_nat(parts: SheetParts) -> Iterator[Found]:
    """Forwarded and 1:1 NAT LAN IPs sit in a VLAN; port ranges match; public IPs unique.

    LAN IPs are checked only on a settings sheet whose VLANs all validated: a change request
    names only the VLANs it changes.
    """
    subnets = _subnets(parts)
    has_vlans = (
        parts.kind is SheetKind.SETTINGS
        and "vlans" in parts.present
        and "vlans" not in parts.incomplete
    )

    def outside(ip: str) -> bool:
        return has_vlans and not any(ipaddress.IPv4Address(ip) in net for net in subnets)

    for index, rule in parts.each("portForwardingRules", PortForwardingRule):
        if outside(rule.lan_ip):
            yield (
                ("portForwardingRules", index, "lanIp"),
                (f"lanIp {rule.lan_ip} is not inside any VLAN subnet"),
            )
        if _span(rule.public_port) != _span(rule.local_port):
            yield (
                ("portForwardingRules", index, "localPort"),
                (
                    f"localPort {rule.local_port} spans a different number of ports than "
                    f"publicPort {rule.public_port}"
                ),
            )
    public: dict[str, int] = {}
    for index, nat in parts.each("oneToOneNatRules", OneToOneNatRule):
        if outside(nat.lan_ip):
            yield (
                ("oneToOneNatRules", index, "lanIp"),
                (f"lanIp {nat.lan_ip} is not inside any VLAN subnet"),
            )
        if nat.public_ip in public:
            yield (
                ("oneToOneNatRules", index, "publicIp"),
                (
                    f"publicIp {nat.public_ip} is already mapped by oneToOneNatRules"
                    f"[{public[nat.public_ip]}]"
                ),
            )
        public.setdefault(nat.public_ip, index)


def _span(ports: str) -> int:
    low, _, high = ports.partition("-")
    return int(high or low) - int(low)


def check_site_to_site_vpn(parts: SheetParts) -> Iterator[Found]:
    """A spoke names at least one hub; a hub or none names none; no hub or subnet twice."""
    vpn = parts.site_to_site_vpn
    if vpn is None:
        return
    loc: Loc = ("siteToSiteVpn",)
    hubs = vpn.hubs or []
    if vpn.mode is VpnMode.SPOKE and not hubs:
        yield (*loc, "hubs"), "hubs: a spoke needs at least one hub"
    if vpn.mode is not VpnMode.SPOKE and hubs:
        yield (*loc, "hubs"), f"hubs are named only in spoke mode, not in {vpn.mode} mode"
    seen: dict[str, int] = {}
    for index, hub in enumerate(hubs):
        if hub.hub_id in seen:
            yield (
                (*loc, "hubs", index, "hubId"),
                f"hubId {hub.hub_id} is already listed at siteToSiteVpn.hubs[{seen[hub.hub_id]}]",
            )
        seen.setdefault(hub.hub_id, index)
    subnets: dict[str, int] = {}
    for index, subnet in enumerate(vpn.subnets or []):
        if subnet.local_subnet in subnets:
            first = subnets[subnet.local_subnet]
            yield (
                (*loc, "subnets", index, "localSubnet"),
                f"localSubnet {subnet.local_subnet} is already listed at "
                f"siteToSiteVpn.subnets[{first}]",
            )
        subnets.setdefault(subnet.local_subnet, index)
