"""The settings / change-request sheet as pydantic models, keyed by Meraki Dashboard API v1 names.

Keys in YAML and in the raw dict are the dashboard's camelCase field names (``applianceIp``,
``dhcpHandling``, ``wpaEncryptionMode`` …); where the dashboard wants a long phrase the sheet uses
a short token and ``DASHBOARD_VALUES`` gives the phrase. Rules that need more than one field
(overlaps, containment, plan fit) live in ``provisioning.validation``.

Enums and field types live in ``sheet_enums``, secrets in ``sheet_secrets`` and the section
models in ``sheet_appliance`` and ``sheet_wireless``; the names callers use are re-exported here.
"""

# ruff: noqa: RUF012 -- pydantic copies mutable defaults; ruff cannot tell that an imported
# SheetModel is a pydantic model (astral-sh/ruff#13630).

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, Field, field_validator

from provisioning.sheet_appliance import ContentFiltering as ContentFiltering
from provisioning.sheet_appliance import Intrusion as Intrusion
from provisioning.sheet_appliance import L3FirewallRule as L3FirewallRule
from provisioning.sheet_appliance import L7FirewallRule as L7FirewallRule
from provisioning.sheet_appliance import Malware as Malware
from provisioning.sheet_appliance import OneToOneNatRule as OneToOneNatRule
from provisioning.sheet_appliance import PortForwardingRule as PortForwardingRule
from provisioning.sheet_appliance import SiteToSiteVpn as SiteToSiteVpn
from provisioning.sheet_appliance import Vlan as Vlan
from provisioning.sheet_enums import ANY as ANY
from provisioning.sheet_enums import (
    BandSelection,
    DhcpHandling,
    IpAssignmentMode,
    IPv4,
    IPv4List,
    OrganizationId,
    Serial,
    SheetModel,
    TagList,
    Text,
    WpaEncryptionMode,
)
from provisioning.sheet_enums import Plan as Plan
from provisioning.sheet_enums import SheetKind as SheetKind
from provisioning.sheet_secrets import MASK as MASK
from provisioning.sheet_secrets import SheetSecret as SheetSecret
from provisioning.sheet_secrets import secret_fingerprint as secret_fingerprint
from provisioning.sheet_wireless import RfProfile as RfProfile
from provisioning.sheet_wireless import Ssid as Ssid

FORMAT: Final = "netkeep-sheet/1"

_PHRASES: Final[Mapping[type[StrEnum], Mapping[str, str]]] = {
    DhcpHandling: {
        "run": "Run a DHCP server",
        "relay": "Relay DHCP to another server",
        "off": "Do not respond to DHCP requests",
    },
    WpaEncryptionMode: {
        "wpa1-wpa2": "WPA1 and WPA2",
        "wpa2": "WPA2 only",
        "wpa3-transition": "WPA3 Transition Mode",
        "wpa3": "WPA3 only",
    },
    IpAssignmentMode: {"bridge": "Bridge mode", "nat": "NAT mode"},
    BandSelection: {
        "dual": "Dual band operation",
        "5ghz": "5 GHz band only",
        "dual-steering": "Dual band operation with Band Steering",
    },
}


def dashboard_value(member: StrEnum) -> str:
    """The value the Dashboard API expects: the phrase for a short sheet token, else the token."""
    return _PHRASES.get(type(member), {}).get(member.value, member.value)


APPLIANCE_SECTIONS: Final = (
    "vlans",
    "l3FirewallRules",
    "l7FirewallRules",
    "portForwardingRules",
    "oneToOneNatRules",
)
APPLIANCE_OBJECT_SECTIONS: Final = ("siteToSiteVpn",)
"""Appliance (UTM and router) sections that are one object, not a list."""
UTM_ONLY_SECTIONS: Final = ("contentFiltering", "intrusion", "malware")
WIRELESS_SECTIONS: Final = ("ssids", "rfProfiles")


# --- document header and site -----------------------------------------------------------------


class ChangeRequest(SheetModel):
    """The header of a 設定変更依頼書 (change-request sheet)."""

    id: Text | None = None
    customer: Text | None = None
    requester: Text | None = None
    date: dt.date | None = None
    summary: Text | None = None


class Site(SheetModel):
    """The Meraki network for the site."""

    name: Text
    plan: Plan
    time_zone: str = "Asia/Tokyo"
    address: Text | None = None
    customer: Text | None = None
    contract: Text | None = None
    """The contract number the site's newly deployed units go on (docs/sheets.md)."""
    organization_id: OrganizationId | None = None
    """The Meraki organization the network is in; absent: the configured one (meraki_org_id).
    It must be one netkeep manages (`core.settings.managed_organizations`)."""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value} is not an IANA time zone like Asia/Tokyo") from None
        return value


class Wan(SheetModel):
    """One uplink of the device's managementInterface (static addressing on site)."""

    using_static_ip: bool
    static_ip: IPv4 | None = None
    static_subnet_mask: IPv4 | None = None
    static_gateway_ip: IPv4 | None = None
    static_dns: IPv4List = []
    vlan: Annotated[int, Field(ge=1, le=4094)] | None = None


class ManagementInterface(SheetModel):
    """Device management interface, as PUT /devices/{serial}/managementInterface."""

    wan1: Wan


class Device(SheetModel):
    """A claimed device: name, tags and address as PUT /devices/{serial}."""

    serial: Serial
    model: Text
    name: Text | None = None
    address: Text | None = None
    tags: TagList | None = None
    """Left as they are on the dashboard when not given; ``[]`` clears them."""
    management_interface: ManagementInterface | None = None
    rf_profile: Text | None = None
    """An access point's RF profile, by name (one of the sheet's rfProfiles or the network's)."""

    @field_validator("model")
    @classmethod
    def _upper_model(cls, value: str) -> str:
        return value.upper()


# --- the document -----------------------------------------------------------------------------


class Sheet(SheetModel):
    """A whole settings sheet or change-request sheet; absent sections are left untouched."""

    format: str
    kind: SheetKind
    request: ChangeRequest | None = None
    site: Site
    devices: list[Device] | None = None
    vlans: list[Vlan] | None = None
    l3_firewall_rules: list[L3FirewallRule] | None = None
    l7_firewall_rules: list[L7FirewallRule] | None = None
    port_forwarding_rules: list[PortForwardingRule] | None = None
    one_to_one_nat_rules: list[OneToOneNatRule] | None = None
    content_filtering: ContentFiltering | None = None
    intrusion: Intrusion | None = None
    malware: Malware | None = None
    site_to_site_vpn: SiteToSiteVpn | None = None
    ssids: list[Ssid] | None = None
    rf_profiles: list[RfProfile] | None = None

    @field_validator("format")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value != FORMAT:
            raise ValueError(f"{value} is not supported; this version reads {FORMAT}")
        return value


def sheet_organization(sheet: Sheet, configured: str) -> str:
    """The organization a sheet's network is in: `site.organizationId`, else the configured one."""
    return sheet.site.organization_id or configured


SECTION_MODELS: Final[Mapping[str, type[BaseModel]]] = {
    "request": ChangeRequest,
    "site": Site,
    "devices": Device,
    "vlans": Vlan,
    "l3FirewallRules": L3FirewallRule,
    "l7FirewallRules": L7FirewallRule,
    "portForwardingRules": PortForwardingRule,
    "oneToOneNatRules": OneToOneNatRule,
    "contentFiltering": ContentFiltering,
    "intrusion": Intrusion,
    "malware": Malware,
    "siteToSiteVpn": SiteToSiteVpn,
    "ssids": Ssid,
    "rfProfiles": RfProfile,
}
"""Top-level key → model of the section (of each item, for list sections)."""

LIST_SECTIONS: Final = frozenset({"devices", "ssids", "rfProfiles", *APPLIANCE_SECTIONS})


def sheet_to_raw(sheet: Sheet, *, reveal_secrets: bool = False) -> dict[str, Any]:
    """The sheet as plain YAML/JSON data; secrets stay ``env:NAME`` or masked unless revealed."""
    return sheet.model_dump(
        mode="json",
        by_alias=True,
        exclude_none=True,
        context={"reveal_secrets": reveal_secrets},
    )
