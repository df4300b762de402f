"""Appliance (UTM and router) sheet sections: VLANs, firewall, NAT, UTM security, Auto VPN."""

# ruff: noqa: RUF012 -- pydantic copies mutable defaults; ruff cannot tell that an imported
# SheetModel is a pydantic model (astral-sh/ruff#13630).

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, field_validator

from provisioning.sheet_enums import (
    ANY,
    DNS_KEYWORDS,
    AllowedIpList,
    CidrList,
    DhcpHandling,
    DhcpLeaseTime,
    DnsList,
    FirewallPolicy,
    FirewallProtocol,
    ForwardingProtocol,
    ForwardingUplink,
    IdsRuleset,
    IntrusionMode,
    IPv4,
    IPv4List,
    IPv4Net,
    L7Policy,
    L7Type,
    Mac,
    MalwareMode,
    NatInboundProtocol,
    NatUplink,
    PortList,
    PortOrRange,
    PortSpec,
    Sha256List,
    SheetModel,
    Text,
    TextList,
    UrlCategoryListSize,
    VpnMode,
    as_list,
)


class ReservedIpRange(SheetModel):
    """A DHCP range the appliance will not hand out."""

    start: IPv4
    end: IPv4
    comment: str = ""


class FixedIpAssignment(SheetModel):
    """A DHCP reservation for one MAC address."""

    ip: IPv4
    name: str = ""


class Vlan(SheetModel):
    """An appliance VLAN with its DHCP settings, as /networks/{id}/appliance/vlans."""

    id: int
    name: Text
    subnet: IPv4Net
    appliance_ip: IPv4
    dhcp_handling: DhcpHandling = DhcpHandling.RUN
    dhcp_lease_time: DhcpLeaseTime = DhcpLeaseTime.DAY_1
    dhcp_relay_server_ips: IPv4List = []
    dns_nameservers: DnsList = ["upstream_dns"]
    reserved_ip_ranges: list[ReservedIpRange] = []
    fixed_ip_assignments: dict[Mac, FixedIpAssignment] = {}

    @field_validator("dhcp_handling", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        """YAML 1.1 reads a bare ``off`` as false."""
        return "off" if value is False else value

    @field_validator("id")
    @classmethod
    def _vlan_range(cls, value: int) -> int:
        if not 1 <= value <= 4094:
            raise ValueError(f"{value} is out of range 1–4094")
        return value

    @field_validator("dns_nameservers")
    @classmethod
    def _keyword_alone(cls, value: list[str]) -> list[str]:
        if any(v in DNS_KEYWORDS for v in value) and len(value) > 1:
            raise ValueError(f"{', '.join(value)} mixes a keyword with addresses")
        if not value:
            raise ValueError("is empty; write upstream_dns, google_dns, opendns or addresses")
        return value


class L3FirewallRule(SheetModel):
    """An outbound L3 rule, in dashboard order."""

    comment: str = ""
    policy: FirewallPolicy
    protocol: FirewallProtocol
    src_cidr: CidrList = ANY
    src_port: PortSpec = ANY
    dest_cidr: CidrList = ANY
    dest_port: PortSpec = ANY
    syslog_enabled: bool = False


class L7FirewallRule(SheetModel):
    """A layer-7 deny rule; applications are dashboard ids like meraki:layer7/application/67."""

    policy: L7Policy = L7Policy.DENY
    type: L7Type
    value: Text


class PortForwardingRule(SheetModel):
    """An inbound port forward to a LAN host."""

    name: Text
    lan_ip: IPv4
    protocol: ForwardingProtocol
    public_port: PortOrRange
    local_port: PortOrRange
    allowed_ips: AllowedIpList = [ANY]
    uplink: ForwardingUplink = ForwardingUplink.BOTH


class NatInbound(SheetModel):
    """Inbound traffic a 1:1 NAT rule lets through."""

    protocol: NatInboundProtocol
    destination_ports: PortList = [ANY]
    allowed_ips: AllowedIpList = [ANY]


class OneToOneNatRule(SheetModel):
    """A 1:1 NAT mapping of a public IP to a LAN host."""

    name: Text
    public_ip: IPv4
    lan_ip: IPv4
    uplink: NatUplink = NatUplink.INTERNET1
    allowed_inbound: list[NatInbound] = []


class ContentFiltering(SheetModel):
    """UTM content filtering; categories are ids like meraki:contentFiltering/category/C7."""

    blocked_url_categories: TextList = []
    allowed_url_patterns: TextList = []
    blocked_url_patterns: TextList = []
    url_category_list_size: UrlCategoryListSize = UrlCategoryListSize.TOP_SITES

    @field_validator("blocked_url_categories")
    @classmethod
    def _category_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.match(r"^meraki:contentFiltering/category/[A-Za-z0-9]+$", item):
                raise ValueError(
                    f"{item} is not a category id like meraki:contentFiltering/category/C7"
                )
        return value


class Intrusion(SheetModel):
    """UTM intrusion detection and prevention (IPS)."""

    mode: IntrusionMode
    ids_rulesets: IdsRuleset = IdsRuleset.BALANCED


class Malware(SheetModel):
    """UTM anti-malware (AMP) and its allow lists."""

    mode: MalwareMode
    allowed_urls: TextList = []
    allowed_files: Sha256List = []


def _hub_item(value: object) -> object:
    """A hub may be written as just its network id (or name)."""
    return {"hubId": value} if isinstance(value, str) else value


def _subnet_item(value: object) -> object:
    """A subnet may be written as just its CIDR (then it joins the VPN)."""
    return {"localSubnet": value} if isinstance(value, str) else value


class VpnHub(SheetModel):
    """A spoke's hub: its network id, or the hub network's name (resolved when planning)."""

    hub_id: Text
    use_default_route: bool = False


class VpnSubnet(SheetModel):
    """A local subnet and whether it joins the site-to-site VPN."""

    local_subnet: IPv4Net
    use_vpn: bool = True


VpnHubItem = Annotated[VpnHub, BeforeValidator(_hub_item)]
VpnSubnetItem = Annotated[VpnSubnet, BeforeValidator(_subnet_item)]


class SiteToSiteVpn(SheetModel):
    """Auto VPN of the appliance, as PUT /networks/{id}/appliance/vpn/siteToSiteVpn."""

    mode: VpnMode
    hubs: Annotated[list[VpnHubItem], BeforeValidator(as_list)] | None = None
    subnets: Annotated[list[VpnSubnetItem], BeforeValidator(as_list)] | None = None
