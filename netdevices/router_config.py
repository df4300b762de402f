"""Router-plan sheet → IOS / Yamaha RTX config lines, running-config parsing and a safe diff.

The per-platform rendering lives in ``netdevices.render_ios`` and ``netdevices.render_rtx``;
``render``, ``parse_running_config`` and ``diff`` stay the public entry points here.

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
from dataclasses import dataclass

from core.errors import ValidationFailed
from netdevices.config_model import (
    ACL_NAME,
    DESCRIPTION_MARK,
    FILTER_BASE,
    FILTER_DEFAULT,
    NAT_DESCRIPTOR,
    POOL_PREFIX,
    Rendering,
)
from netdevices.config_model import WAN_INTERFACE as WAN_INTERFACE
from netdevices.config_model import RouterConfig as RouterConfig
from netdevices.config_model import Section as Section
from netdevices.ports import Platform
from netdevices.render_ios import render_ios
from netdevices.render_rtx import render_rtx
from provisioning.sheet_model import Sheet


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
    acc = Rendering()
    vlans = sheet.vlans or []
    if platform is Platform.CISCO_IOS:
        render_ios(sheet, vlans, wan_interface, acc)
    else:
        render_rtx(sheet, vlans, acc)
    if acc.problems:
        raise ValidationFailed(acc.problems, f"{len(acc.problems)} setting(s) cannot be rendered")
    subnets = tuple(ipaddress.IPv4Network(v.subnet) for v in vlans)
    return RouterConfig(platform, tuple(acc.sections), subnets, tuple(acc.warnings))


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
