"""Factory-fresh record shapes, as the real dashboard returns them."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sandbox.state import Record


class ProductType(StrEnum):
    """Dashboard product types the sandbox knows."""

    APPLIANCE = "appliance"
    WIRELESS = "wireless"
    SWITCH = "switch"
    CAMERA = "camera"
    CELLULAR_GATEWAY = "cellularGateway"
    SENSOR = "sensor"
    SYSTEMS_MANAGER = "systemsManager"


NETWORK_PRODUCT_TYPES = frozenset(ProductType)

MODEL_PRODUCT: dict[str, ProductType] = {
    "MX": ProductType.APPLIANCE,
    "Z": ProductType.APPLIANCE,
    "MR": ProductType.WIRELESS,
    "CW": ProductType.WIRELESS,
    "MS": ProductType.SWITCH,
    "MV": ProductType.CAMERA,
    "MG": ProductType.CELLULAR_GATEWAY,
    "MT": ProductType.SENSOR,
}

SERIAL_PREFIX_MODEL: dict[str, str] = {
    "Q2FY": "MX67",
    "Q2KY": "MX68",
    "Q2TZ": "Z4",
    "Q3AJ": "MR36",
    "Q3AC": "MR46",
    "Q2HP": "MS120-8",
}

SERIAL_PATTERN = r"^Q[0-9A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$"

DEFAULT_RULE_COMMENT = "Default rule"


def product_type_of(model: str) -> ProductType:
    """Product type from a model name (MX67 → appliance)."""
    for prefix in sorted(MODEL_PRODUCT, key=len, reverse=True):
        if model.startswith(prefix):
            return MODEL_PRODUCT[prefix]
    return ProductType.WIRELESS


def mac_for(serial: str) -> str:
    """A deterministic locally plausible MAC in Meraki's e0:55:3d OUI, derived from the serial."""
    digest = hashlib.sha256(serial.encode()).digest()
    return "e0:55:3d:" + ":".join(f"{b:02x}" for b in digest[:3])


def iso(moment: datetime) -> str:
    """Dashboard timestamp format (UTC, Z suffix)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def organization(org_id: str, name: str) -> Record:
    """An organization record."""
    return {
        "id": org_id,
        "name": name,
        "url": f"https://n1.meraki.com/o/{org_id}/manage/organization/overview",
        "api": {"enabled": True},
        "licensing": {"model": "per-device"},
        "cloud": {"region": {"name": "Asia", "host": {"name": "Japan"}}},
        "management": {"details": []},
    }


def network(
    net_id: str,
    org_id: str,
    name: str,
    product_types: list[str],
    time_zone: str,
    tags: list[str],
    notes: str = "",
) -> Record:
    """A network record."""
    return {
        "id": net_id,
        "organizationId": org_id,
        "name": name,
        "productTypes": sorted(product_types),
        "timeZone": time_zone,
        "tags": tags,
        "enrollmentString": None,
        "url": f"https://n1.meraki.com/{net_id}/manage/usage/list",
        "notes": notes,
        "isBoundToConfigTemplate": False,
    }


def ssid(number: int) -> Record:
    """An unconfigured SSID slot."""
    return {
        "number": number,
        "name": f"Unconfigured SSID {number + 1}",
        "enabled": False,
        "splashPage": "None",
        "ssidAdminAccessible": False,
        "authMode": "open",
        "ipAssignmentMode": "NAT mode",
        "adultContentFilteringEnabled": False,
        "dnsRewrite": {"enabled": False, "dnsCustomNameservers": []},
        "minBitrate": 11,
        "bandSelection": "Dual band operation",
        "perClientBandwidthLimitUp": 0,
        "perClientBandwidthLimitDown": 0,
        "perSsidBandwidthLimitUp": 0,
        "perSsidBandwidthLimitDown": 0,
        "mandatoryDhcpEnabled": False,
        "lanIsolationEnabled": False,
        "visible": True,
        "availableOnAllAps": True,
        "availabilityTags": [],
        "speedBurst": {"enabled": False},
    }


def network_settings() -> Record:
    """Configuration a new network starts with."""
    return {
        "vlansEnabled": False,
        "vlans": {},
        "l3Rules": [],
        "syslogDefaultRule": False,
        "l7Rules": [],
        "portForwardingRules": [],
        "oneToOneNatRules": [],
        "contentFiltering": {
            "allowedUrlPatterns": [],
            "blockedUrlPatterns": [],
            "blockedUrlCategories": [],
            "urlCategoryListSize": "topSites",
        },
        "intrusion": {
            "mode": "disabled",
            "idsRulesets": "balanced",
            "protectedNetworks": {"useDefault": True, "includedCidr": [], "excludedCidr": []},
        },
        "malware": {"mode": "disabled", "allowedUrls": [], "allowedFiles": []},
        "siteToSiteVpn": {"mode": "none", "hubs": [], "subnets": []},
        "ssids": [ssid(n) for n in range(15)],
        "rfProfiles": {},
        "merakiAuthUsers": {},
    }


def default_vlan() -> Record:
    """VLAN 1 that appears when VLANs are first enabled."""
    return vlan(
        {"id": "1", "name": "Default", "subnet": "192.168.128.0/24", "applianceIp": "192.168.128.1"}
    )


def vlan(body: dict[str, Any]) -> Record:
    """A VLAN with dashboard defaults for every field the body leaves out."""
    record: Record = {
        "id": str(body["id"]),
        "interfaceId": str(body["id"]),
        "name": body["name"],
        "subnet": body["subnet"],
        "applianceIp": body["applianceIp"],
        "groupPolicyId": body.get("groupPolicyId"),
        "templateVlanType": "same",
        "cidr": body["subnet"],
        "mask": int(str(body["subnet"]).split("/")[1]),
        "fixedIpAssignments": {},
        "reservedIpRanges": [],
        "dnsNameservers": "upstream_dns",
        "dhcpHandling": "Run a DHCP server",
        "dhcpLeaseTime": "1 day",
        "dhcpBootOptionsEnabled": False,
        "dhcpOptions": [],
        "vpnNatSubnet": None,
        "mandatoryDhcp": {"enabled": False},
        "ipv6": {"enabled": False},
    }
    return record


def default_l3_rule(syslog: bool) -> Record:
    """The allow-any rule the dashboard always appends last."""
    return {
        "comment": DEFAULT_RULE_COMMENT,
        "policy": "allow",
        "protocol": "Any",
        "srcPort": "Any",
        "srcCidr": "Any",
        "destPort": "Any",
        "destCidr": "Any",
        "syslogEnabled": syslog,
    }


def management_interface(product: str) -> Record:
    """DHCP-addressed WAN settings of a new device."""
    wan: Record = {"wanEnabled": "not configured", "usingStaticIp": False, "vlan": None}
    if product == ProductType.APPLIANCE:
        return {
            "ddnsHostnames": {
                "activeDdnsHostname": "",
                "ddnsHostnameWan1": "",
                "ddnsHostnameWan2": "",
            },
            "wan1": {**wan, "wanEnabled": "enabled"},
            "wan2": dict(wan),
        }
    return {"wan1": wan}


def radio_settings(serial: str) -> Record:
    """Radio settings of an AP with no overrides."""
    return {
        "serial": serial,
        "rfProfileId": None,
        "twoFourGhzSettings": {"channel": None, "targetPower": None},
        "fiveGhzSettings": {"channel": None, "channelWidth": None, "targetPower": None},
    }


def device(
    serial: str,
    model: str,
    org_id: str,
    claimed_at: datetime,
    mac: str | None = None,
    order_number: str | None = None,
) -> Record:
    """A device claimed into an organization's inventory."""
    product = product_type_of(model)
    return {
        "serial": serial,
        "mac": mac or mac_for(serial),
        "model": model,
        "productType": str(product),
        "organizationId": org_id,
        "networkId": None,
        "name": None,
        "tags": [],
        "address": "",
        "notes": "",
        "lat": 35.68,
        "lng": 139.76,
        "orderNumber": order_number,
        "claimedAt": iso(claimed_at),
        "licenseExpirationDate": iso(claimed_at + timedelta(days=365 * 3)),
        "countryCode": "JP",
        "status": "offline",
        "firmware": "Not running configured version",
        "lanIp": None,
        "publicIp": None,
        "managementInterface": management_interface(product),
        "radioSettings": radio_settings(serial) if product == ProductType.WIRELESS else None,
    }


def license_for(license_id: str, dev: Record, start: datetime) -> Record:
    """A per-device license bound to a device."""
    return {
        "id": license_id,
        "licenseType": f"ENT-{dev['model']}",
        "licenseKey": f"Z2{license_id[-10:].rjust(10, '0')}",
        "orderNumber": dev.get("orderNumber") or "4CXXXXXXX",
        "deviceSerial": dev["serial"],
        "networkId": dev["networkId"],
        "state": "active" if dev["networkId"] else "unused",
        "seatCount": None,
        "totalDurationInDays": 365 * 3,
        "durationInDays": 365 * 3,
        "permanentlyQueuedLicenses": [],
        "startDate": iso(start),
        "claimDate": iso(start),
        "expirationDate": dev["licenseExpirationDate"],
        "headLicenseId": None,
    }


_BEHIND_NAT = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("100.64.0.0/10"),
)


def public_ip(dev: Record) -> str:
    """The device's WAN public address, as the cloud sees it.

    Set by the admin API, else the static WAN1 address given through `managementInterface`
    (unless it is private or CGNAT, i.e. behind someone's NAT), else a global address derived
    from the serial (153.120.0.0/13, a Japanese ISP's range), so that VPN checks can pass.
    """
    if dev.get("publicIp"):
        return str(dev["publicIp"])
    wan1 = (dev.get("managementInterface") or {}).get("wan1") or {}
    if wan1.get("usingStaticIp") and wan1.get("staticIp"):
        try:
            address = ipaddress.ip_address(str(wan1["staticIp"]))
        except ValueError:
            address = None
        if address is not None and not any(address in net for net in _BEHIND_NAT):
            return str(address)
    h = int.from_bytes(hashlib.sha256(str(dev["serial"]).encode()).digest()[:4], "big")
    return f"153.{120 + h % 8}.{(h >> 8) % 256}.{(h >> 16) % 253 + 2}"
