"""Router-plan sheet → Cisco IOS config sections: SVIs, DHCP pools, the NETKEEP-L3 ACL, static NAT.

Each sheet VLAN becomes an SVI ``interface Vlan<id>`` (an ISR with switch ports or an L3 switch),
not a ``GigabitEthernet0/1.<id>`` subinterface: it mirrors the MX's VLAN model.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Final

from core.errors import Problem
from netdevices.config_model import (
    ACL_NAME,
    DESCRIPTION_MARK,
    POOL_PREFIX,
    Rendering,
    Section,
    dns_servers,
)
from provisioning.sheet_model import ANY, L3FirewallRule, Sheet, Vlan

IF_OWNED: Final = (
    "description",
    "ip address",
    "ip nat inside",
    "ip access-group",
    "ip helper-address",
    "shutdown",
)
IOS_LEASE: Final = {
    "30 minutes": "lease 0 0 30",
    "1 hour": "lease 0 1",
    "4 hours": "lease 0 4",
    "12 hours": "lease 0 12",
    "1 day": "",  # the IOS default, which show running-config does not print
    "1 week": "lease 7",
}


def render_ios(sheet: Sheet, vlans: Sequence[Vlan], wan: str, acc: Rendering) -> None:
    """Add the IOS sections for the sheet to acc; what IOS cannot express goes to its problems."""
    rules = sheet.l3_firewall_rules or []
    acc.sections.append(
        Section(f"ip access-list extended {ACL_NAME}", _ios_acl(rules, acc), None, True)
    )
    if any("upstream_dns" in v.dns_nameservers for v in vlans):
        acc.sections.append(Section("ip dns server"))
    for vlan in vlans:
        net = ipaddress.IPv4Network(vlan.subnet)
        children = [
            f"description {DESCRIPTION_MARK} VLAN {vlan.id} {_ascii(vlan.name, '')}".rstrip(),
            f"ip address {vlan.appliance_ip} {net.netmask}",
            "ip nat inside",
            f"ip access-group {ACL_NAME} in",
        ]
        if vlan.dhcp_handling == "relay":
            children += [f"ip helper-address {ip}" for ip in vlan.dhcp_relay_server_ips]
        children.append("no shutdown")
        acc.sections.append(Section(f"interface Vlan{vlan.id}", tuple(children), IF_OWNED))
    for vlan in vlans:
        if vlan.dhcp_handling != "run":
            continue
        net = ipaddress.IPv4Network(vlan.subnet)
        acc.sections.append(Section(f"ip dhcp excluded-address {vlan.appliance_ip}"))
        for r in vlan.reserved_ip_ranges:
            tail = "" if r.start == r.end else f" {r.end}"
            acc.sections.append(Section(f"ip dhcp excluded-address {r.start}{tail}"))
        pool = [
            f"network {net.network_address} {net.netmask}",
            f"default-router {vlan.appliance_ip}",
            f"dns-server {' '.join(dns_servers(vlan))}",
        ]
        if IOS_LEASE[vlan.dhcp_lease_time]:
            pool.append(IOS_LEASE[vlan.dhcp_lease_time])
        acc.sections.append(Section(f"ip dhcp pool {POOL_PREFIX}{vlan.id}", tuple(pool)))
        for mac, fixed in vlan.fixed_ip_assignments.items():
            hexmac = mac.replace(":", "")
            dotted = ".".join(hexmac[i : i + 4] for i in (0, 4, 8))
            acc.sections.append(
                Section(
                    f"ip dhcp pool {POOL_PREFIX}{vlan.id}-{hexmac}",
                    (f"host {fixed.ip} {net.netmask}", f"hardware-address {dotted}"),
                )
            )
    for i, fwd in enumerate(sheet.port_forwarding_rules or []):
        where = f"portForwardingRules[{i}]"
        if "-" in fwd.public_port or "-" in fwd.local_port:
            acc.problems.append(Problem("port ranges cannot be forwarded by IOS static NAT", where))
            continue
        if fwd.allowed_ips != [ANY]:
            acc.warnings.append(f"{where}: allowedIps is not enforced by IOS static NAT")
        acc.sections.append(
            Section(
                f"ip nat inside source static {fwd.protocol} {fwd.lan_ip} {fwd.local_port} "
                f"interface {wan} {fwd.public_port}"
            )
        )
    for i, nat in enumerate(sheet.one_to_one_nat_rules or []):
        if nat.allowed_inbound:
            acc.warnings.append(f"oneToOneNatRules[{i}]: allowedInbound is not rendered on IOS")
        acc.sections.append(Section(f"ip nat inside source static {nat.lan_ip} {nat.public_ip}"))


def _wild(cidr: str) -> str:
    if cidr == ANY:
        return "any"
    net = ipaddress.IPv4Network(cidr)
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    return f"{net.network_address} {net.hostmask}"


def _ios_ports(spec: str) -> list[str]:
    """An ACL port clause per entry: one for a port or a list, one per range."""
    if spec == ANY:
        return [""]
    singles = [p for p in spec.split(",") if "-" not in p]
    ranges = [p.split("-") for p in spec.split(",") if "-" in p]
    out = [f" eq {' '.join(singles)}"] if singles else []
    return out + [f" range {low} {high}" for low, high in ranges]


def _ios_acl(rules: Sequence[L3FirewallRule], acc: Rendering) -> tuple[str, ...]:
    entries: list[str] = []
    for n, rule in enumerate(rules, start=1):
        where = f"l3FirewallRules[{n - 1}]"
        if rule.protocol == "icmp6":
            acc.problems.append(Problem("icmp6 rules cannot go in an IPv4 extended ACL", where))
            continue
        comment = _ascii(rule.comment, where) or where
        entries.append(f"remark rule {n}: {comment}"[:100])
        action = "permit" if rule.policy == "allow" else "deny"
        proto = "ip" if rule.protocol == "any" else str(rule.protocol)
        log = " log" if rule.syslog_enabled else ""
        for src in rule.src_cidr.split(","):
            for dst in rule.dest_cidr.split(","):
                for sport in _ios_ports(rule.src_port):
                    for dport in _ios_ports(rule.dest_port):
                        entries.append(
                            f"{action} {proto} {_wild(src)}{sport} {_wild(dst)}{dport}{log}"
                        )
    entries += ["remark default: allow any (as the Meraki default rule)", "permit ip any any"]
    return tuple(entries)


def _ascii(text: str, where: str) -> str:
    """Config text must be ASCII on the wire: a Japanese name keeps its ASCII words and its key."""
    words = re.sub(r"[^\x21-\x7e]+", " ", text).split()
    if text.isascii():
        return " ".join(words)
    return " ".join(w for w in (where, *words) if w)
