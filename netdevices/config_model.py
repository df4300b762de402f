"""What a rendered router config is made of, shared by the IOS and RTX renderers and the diff."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Final

from core.errors import Problem
from netdevices.ports import Platform
from provisioning.sheet_model import Vlan

ACL_NAME: Final = "NETKEEP-L3"
POOL_PREFIX: Final = "NETKEEP-VLAN"
DESCRIPTION_MARK: Final = "netkeep"
WAN_INTERFACE: Final = "GigabitEthernet0/0/0"
NAT_DESCRIPTOR: Final = 1000
FILTER_BASE: Final = 9000
FILTER_DEFAULT: Final = 9999
DNS: Final = {"google_dns": ("8.8.8.8", "8.8.4.4"), "opendns": ("208.67.222.222", "208.67.220.220")}


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


@dataclass
class Rendering:
    """Sections, problems and warnings gathered while one sheet is rendered."""

    sections: list[Section] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def dns_servers(vlan: Vlan) -> list[str]:
    """A VLAN's DNS choices as addresses; upstream_dns means the router itself."""
    out: list[str] = []
    for name in vlan.dns_nameservers:
        out.extend(DNS.get(name, (vlan.appliance_ip if name == "upstream_dns" else name,)))
    return out
