"""Router-plan sheet → Yamaha RTX config lines: tagged lan1/<n>, ip filters, DHCP scopes, NAT.

Each VLAN becomes a tagged ``lan1/<n>`` (n = its position in the sheet).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from core.errors import Problem
from netdevices.config_model import (
    FILTER_BASE,
    FILTER_DEFAULT,
    NAT_DESCRIPTOR,
    Rendering,
    Section,
    dns_servers,
)
from provisioning.sheet_model import ANY, L3FirewallRule, Sheet, Vlan

RTX_EXPIRE: Final = {
    "30 minutes": "0:30",
    "1 hour": "1:00",
    "4 hours": "4:00",
    "12 hours": "12:00",
    "1 day": "24:00",
    "1 week": "168:00",
}


def render_rtx(sheet: Sheet, vlans: Sequence[Vlan], acc: Rendering) -> None:
    """Add the RTX lines for the sheet to acc; what RTX cannot express goes to its problems."""
    filters = _rtx_filters(sheet.l3_firewall_rules or [], acc)
    numbers = " ".join(number for number, _ in filters)
    acc.sections.extend(Section(f"ip filter {number} {body}") for number, body in filters)
    if any(v.dhcp_handling == "run" for v in vlans):
        acc.sections.append(Section("dhcp service server"))
    for n, vlan in enumerate(vlans, start=1):
        net = ipaddress.IPv4Network(vlan.subnet)
        lan = f"lan1/{n}"
        acc.sections += [
            Section(f"vlan {lan} 802.1q vid={vlan.id}"),
            Section(f"ip {lan} address {vlan.appliance_ip}/{net.prefixlen}"),
            Section(f"ip {lan} secure filter in {numbers}"),
        ]
        if vlan.dhcp_handling == "relay":
            acc.problems.append(
                Problem("DHCP relay per VLAN is not rendered for RTX", f"vlans[{n - 1}]")
            )
        if vlan.dhcp_handling != "run":
            continue
        hosts = list(net.hosts())
        excepts = [str(vlan.appliance_ip)] + [
            str(r.start) if r.start == r.end else f"{r.start}-{r.end}"
            for r in vlan.reserved_ip_ranges
        ]
        acc.sections += [
            Section(
                f"dhcp scope {vlan.id} {hosts[0]}-{hosts[-1]}/{net.prefixlen} except "
                f"{' '.join(excepts)} gateway {vlan.appliance_ip} "
                f"expire {RTX_EXPIRE[vlan.dhcp_lease_time]}"
            ),
            Section(f"dhcp scope option {vlan.id} dns={','.join(dns_servers(vlan))}"),
        ]
        acc.sections += [
            Section(f"dhcp scope bind {vlan.id} {fixed.ip} ethernet {mac}")
            for mac, fixed in vlan.fixed_ip_assignments.items()
        ]
    for n, fwd in enumerate(sheet.port_forwarding_rules or [], start=1):
        ports = (
            fwd.public_port
            if fwd.public_port == fwd.local_port
            else f"{fwd.public_port}={fwd.local_port}"
        )
        if fwd.allowed_ips != [ANY]:
            acc.warnings.append(f"portForwardingRules[{n - 1}]: allowedIps is not enforced on RTX")
        entry = f"{NAT_DESCRIPTOR} {n} {fwd.lan_ip} {fwd.protocol} {ports}"
        acc.sections.append(Section(f"nat descriptor masquerade static {entry}"))
    for n, nat in enumerate(sheet.one_to_one_nat_rules or [], start=1):
        acc.sections.append(
            Section(f"nat descriptor static {NAT_DESCRIPTOR} {n} {nat.public_ip}={nat.lan_ip} 1")
        )


def _rtx_filters(rules: Sequence[L3FirewallRule], acc: Rendering) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def star(value: str) -> str:
        return "*" if value == ANY else value

    for i, rule in enumerate(rules):
        if rule.protocol == "icmp6":
            acc.problems.append(
                Problem("icmp6 rules are not rendered for RTX", f"l3FirewallRules[{i}]")
            )
            continue
        action = "pass" if rule.policy == "allow" else "reject"
        for src in rule.src_cidr.split(","):
            for dst in rule.dest_cidr.split(","):
                number = str(FILTER_BASE + 1 + len(out))
                body = (
                    f"{action} {star(src)} {star(dst)} {star(str(rule.protocol))} "
                    f"{star(rule.src_port)} {star(rule.dest_port)}"
                )
                out.append((number, body))
    out.append((str(FILTER_DEFAULT), "pass * * * * *"))
    return out
