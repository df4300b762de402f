"""Router-plan sheet → IOS / Yamaha RTX config lines, running-config parsing and a safe diff.

IOS choice: each sheet VLAN becomes an SVI ``interface Vlan<id>`` (an ISR with switch ports or an
L3 switch), not a ``GigabitEthernet0/1.<id>`` subinterface: it mirrors the MX's VLAN model.
RTX choice: each VLAN becomes a tagged ``lan1/<n>`` (n = its position in the sheet).

netkeep owns only (everything else in the running config is never touched):
IOS  ``interface Vlan<id>`` of the sheet or described ``netkeep …`` (only the children it renders),
     ``ip dhcp pool NETKEEP-…``, ``ip access-list extended NETKEEP-…``, and the single lines
     ``ip dhcp excluded-address`` / ``ip nat inside source static`` whose LAN address lies in a
     netkeep VLAN subnet;
RTX  ``lan1/<n>`` VLAN/address/secure-filter lines, ``ip filter 9000``–``9999``, DHCP scopes of
     netkeep subnets, and static NAT entries of NAT_DESCRIPTOR for hosts in netkeep subnets.
Desired lines outside that scope (``ip dns server``, ``dhcp service server``) are add-only.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from core.errors import Problem, ValidationFailed
from netdevices.ports import Platform
from provisioning.sheet_model import ANY, L3FirewallRule, Sheet, Vlan

ACL_NAME: Final = "NETKEEP-L3"
POOL_PREFIX: Final = "NETKEEP-VLAN"
DESCRIPTION_MARK: Final = "netkeep"
WAN_INTERFACE: Final = "GigabitEthernet0/0/0"
NAT_DESCRIPTOR: Final = 1000
FILTER_BASE: Final = 9000
FILTER_DEFAULT: Final = 9999
IF_OWNED: Final = (
    "description",
    "ip address",
    "ip nat inside",
    "ip access-group",
    "ip helper-address",
    "shutdown",
)
DNS: Final = {"google_dns": ("8.8.8.8", "8.8.4.4"), "opendns": ("208.67.222.222", "208.67.220.220")}
IOS_LEASE: Final = {
    "30 minutes": "lease 0 0 30",
    "1 hour": "lease 0 1",
    "4 hours": "lease 0 4",
    "12 hours": "lease 0 12",
    "1 day": "",  # the IOS default, which show running-config does not print
    "1 week": "lease 7",
}
RTX_EXPIRE: Final = {
    "30 minutes": "0:30",
    "1 hour": "1:00",
    "4 hours": "4:00",
    "12 hours": "12:00",
    "1 day": "24:00",
    "1 week": "168:00",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A top-level line and its indented children (none for a single line)."""

    header: str
    children: tuple[str, ...] = ()
    owned: tuple[str, ...] | None = None  # child prefixes netkeep manages; None = all
    ordered: bool = False  # children are an ACL: order matters


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """What the sheet asks of one device, plus what netkeep may claim in its running config."""

    platform: Platform
    sections: tuple[Section, ...]
    subnets: tuple[ipaddress.IPv4Network, ...]
    warnings: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The config as a device would be fed it from scratch."""
        out: list[str] = []
        for s in self.sections:
            out.append(s.header)
            out.extend(f" {c}" for c in s.children)
            if s.children and self.platform is Platform.CISCO_IOS:
                out.append(" exit")
        return out


@dataclass(frozen=True, slots=True)
class Change:
    """One line added or removed, with the section it sits in ("" for a top-level line)."""

    section: str
    line: str

    def __str__(self) -> str:
        return f"{self.section} | {self.line}" if self.section else self.line


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """Net lines added and removed, and the exact commands that do it in a safe order."""

    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    commands: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.commands


@dataclass
class _Acc:
    sections: list[Section] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- parsing ---------------------------------------------------------------------------------

_IOS_NOISE = re.compile(r"^(Building configuration|Current configuration|version |end$|!)")


def parse_running_config(text: str) -> list[Section]:
    """IOS ``show running-config`` or RTX ``show config`` as top-level lines with children."""
    sections: list[Section] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.startswith("#") or _IOS_NOISE.match(line):
            continue
        if line[0] in " \t" and sections:
            last = sections[-1]
            sections[-1] = Section(last.header, (*last.children, line.strip()))
        else:
            sections.append(Section(line.strip()))
    return sections


# --- rendering -------------------------------------------------------------------------------


def render(sheet: Sheet, platform: Platform, *, wan_interface: str = WAN_INTERFACE) -> RouterConfig:
    """Render the sheet's VLANs, DHCP, L3 rules, port forwards and 1:1 NAT, or fail listing why."""
    acc = _Acc()
    vlans = sheet.vlans or []
    if platform is Platform.CISCO_IOS:
        _ios(sheet, vlans, wan_interface, acc)
    else:
        _rtx(sheet, vlans, acc)
    if acc.problems:
        raise ValidationFailed(acc.problems, f"{len(acc.problems)} setting(s) cannot be rendered")
    subnets = tuple(ipaddress.IPv4Network(v.subnet) for v in vlans)
    return RouterConfig(platform, tuple(acc.sections), subnets, tuple(acc.warnings))


def _ascii(text: str, where: str) -> str:
    """Config text must be ASCII on the wire: a Japanese name keeps its ASCII words and its key."""
    words = re.sub(r"[^\x21-\x7e]+", " ", text).split()
    if text.isascii():
        return " ".join(words)
    return " ".join(w for w in (where, *words) if w)


def _dns(vlan: Vlan) -> list[str]:
    out: list[str] = []
    for name in vlan.dns_nameservers:
        out.extend(DNS.get(name, (vlan.appliance_ip if name == "upstream_dns" else name,)))
    return out


def _ios(sheet: Sheet, vlans: Sequence[Vlan], wan: str, acc: _Acc) -> None:
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
            f"dns-server {' '.join(_dns(vlan))}",
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


def _ios_acl(rules: Sequence[L3FirewallRule], acc: _Acc) -> tuple[str, ...]:
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


def _rtx(sheet: Sheet, vlans: Sequence[Vlan], acc: _Acc) -> None:
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
            Section(f"dhcp scope option {vlan.id} dns={','.join(_dns(vlan))}"),
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


def _rtx_filters(rules: Sequence[L3FirewallRule], acc: _Acc) -> list[tuple[str, str]]:
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


# --- ownership and diff ----------------------------------------------------------------------


def _in(subnets: Iterable[ipaddress.IPv4Network], address: str) -> bool:
    try:
        ip = ipaddress.IPv4Address(address.split("/")[0].split("-")[0].split("=")[-1])
    except ValueError:
        return False
    return any(ip in net for net in subnets)


def _owned_subnets(
    desired: RouterConfig, running: Sequence[Section]
) -> list[ipaddress.IPv4Network]:
    """The sheet's VLAN subnets plus those of netkeep's interfaces already on the device."""
    nets = list(desired.subnets)
    for s in running:
        if s.header.startswith("interface Vlan") and _marked(s):
            for child in s.children:
                words = child.split()
                if child.startswith("ip address ") and len(words) == 4:
                    nets.append(ipaddress.IPv4Network(f"{words[2]}/{words[3]}", strict=False))
        match = re.match(r"^ip lan1/\d+ address (\S+)$", s.header)
        if match:
            nets.append(ipaddress.IPv4Network(match.group(1), strict=False))
    return nets


def _marked(section: Section) -> bool:
    return any(c.startswith(f"description {DESCRIPTION_MARK}") for c in section.children)


def _ios_owner(desired: RouterConfig, running: Sequence[Section]) -> Callable[[Section], bool]:
    nets = _owned_subnets(desired, running)
    headers = {s.header for s in desired.sections}

    def owns(s: Section) -> bool:
        h = s.header
        if h.startswith("interface Vlan"):
            return h in headers or _marked(s)
        if h.startswith((f"ip dhcp pool {POOL_PREFIX}", f"ip access-list extended {ACL_NAME}")):
            return True
        if h.startswith("ip dhcp excluded-address "):
            return _in(nets, h.split()[3])
        match = re.match(r"^ip nat inside source static (?:tcp |udp )?(\S+)", h)
        return bool(match) and _in(nets, match.group(1)) if match else False

    return owns


def _rtx_key(line: str) -> str:
    """The part of an RTX line that names the setting; a new value replaces the old line."""
    for pattern in (
        r"^ip filter \d+",
        r"^ip lan1/\d+ (?:address|secure filter in)",
        r"^vlan lan1/\d+ 802\.1q",
        r"^dhcp scope (?:option|bind \d+) ?\S*",
        r"^dhcp scope \d+",
        r"^nat descriptor (?:masquerade )?static \d+ \d+",
    ):
        match = re.match(pattern, line)
        if match:
            return match.group(0)
    return line


def _rtx_owner(desired: RouterConfig, running: Sequence[Section]) -> Callable[[Section], bool]:
    nets = _owned_subnets(desired, running)
    scopes = {
        m.group(1) for s in desired.sections if (m := re.match(r"^dhcp scope (\d+) ", s.header))
    }

    def owns(s: Section) -> bool:
        h = s.header
        if re.match(r"^(?:vlan lan1/\d+ 802\.1q|ip lan1/\d+ (?:address|secure filter in)) ", h):
            return True
        match = re.match(r"^ip filter (\d+) ", h)
        if match:
            return FILTER_BASE <= int(match.group(1)) <= FILTER_DEFAULT
        match = re.match(r"^dhcp scope (\d+) (\S+)", h)
        if match:
            return match.group(1) in scopes or _in(nets, match.group(2))
        match = re.match(r"^dhcp scope (?:option|bind) (\d+) ", h)
        if match:
            return match.group(1) in scopes
        match = re.match(rf"^nat descriptor (?:masquerade )?static {NAT_DESCRIPTOR} \d+ (\S+)", h)
        return bool(match) and _in(nets, match.group(1)) if match else False

    return owns


def diff(desired: RouterConfig, running_text: str) -> ConfigDiff:
    """What to send so netkeep's part of the running config equals the sheet; nothing else."""
    running = parse_running_config(running_text)
    if desired.platform is Platform.YAMAHA:
        return _diff_rtx(desired, running)
    return _diff_ios(desired, running)


def _diff_rtx(desired: RouterConfig, running: Sequence[Section]) -> ConfigDiff:
    owns = _rtx_owner(desired, running)
    have = {s.header for s in running}
    want = [s.header for s in desired.sections]
    want_keys = {_rtx_key(line) for line in want}
    added = [Change("", line) for line in want if line not in have]
    gone = [s.header for s in running if owns(s) and s.header not in want]
    removed = [Change("", line) for line in gone]
    drops = [f"no {_rtx_key(line)}" for line in reversed(gone) if _rtx_key(line) not in want_keys]
    commands = [c.line for c in added] + drops
    return ConfigDiff(tuple(added), tuple(removed), tuple(commands))


def _child_ops(want: Section, have: Section) -> tuple[list[str], list[str]]:
    """(children to remove, children to add) within one section netkeep owns."""
    prefixes = want.owned
    mine = [
        c for c in have.children if prefixes is None or c.startswith(prefixes)
    ]  # children netkeep manages
    desired = [c for c in want.children if not c.startswith("no ")]
    negated = [c[3:] for c in want.children if c.startswith("no ")]
    if want.ordered:
        extra = [c for c in mine if c not in desired]
        kept = [c for c in mine if c in desired]
        i = 0
        while i < len(kept) and i < len(desired) and kept[i] == desired[i]:
            i += 1
        return extra + kept[i:], desired[i:]
    remove = [c for c in mine if c not in desired]
    add = [c for c in desired if c not in have.children]
    remove += [c for c in have.children if c in negated and c not in remove]
    return remove, add


def _diff_ios(desired: RouterConfig, running: Sequence[Section]) -> ConfigDiff:
    owns = _ios_owner(desired, running)
    have = {s.header: s for s in running}
    want = {s.header for s in desired.sections}
    added: list[Change] = []
    removed: list[Change] = []
    first: list[str] = []
    middle: list[str] = []
    last: list[str] = []
    for s in running:
        if owns(s) and s.header not in want:
            removed.append(Change("", s.header))
            (last if s.children or not s.header.startswith("ip ") else first).append(
                f"no {s.header}"
            )
    last.sort(key=lambda c: 0 if "dhcp pool" in c else 1 if "interface" in c else 2)
    for w in desired.sections:
        current = have.get(w.header)
        if current is None:
            added.append(Change("", w.header))
            added += [Change(w.header, c) for c in w.children if not c.startswith("no ")]
            middle.append(w.header)
            middle += [f" {c}" for c in w.children]
            if w.children:
                middle.append(" exit")
            continue
        drop, put = _child_ops(w, current)
        if drop or put:
            removed += [Change(w.header, c) for c in drop]
            added += [Change(w.header, c) for c in put]
            middle += [w.header, *(f" no {c}" for c in drop), *(f" {c}" for c in put), " exit"]
    net_added = tuple(c for c in added if c not in removed)
    net_removed = tuple(c for c in removed if c not in added)
    return ConfigDiff(net_added, net_removed, tuple(first + middle + last))
