"""Sheet enums, shared field types and the camelCase base model every sheet section uses."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from inventory.domain import SERIAL_PATTERN

ANY: Final = "any"
DNS_KEYWORDS: Final = ("upstream_dns", "google_dns", "opendns")


class SheetKind(StrEnum):
    SETTINGS = "settings"
    CHANGE_REQUEST = "change_request"


class Plan(StrEnum):
    UTM = "utm"
    ROUTER = "router"
    WIRELESS = "wireless"


class DhcpHandling(StrEnum):
    RUN = "run"
    RELAY = "relay"
    OFF = "off"


class DhcpLeaseTime(StrEnum):
    MINUTES_30 = "30 minutes"
    HOUR_1 = "1 hour"
    HOURS_4 = "4 hours"
    HOURS_12 = "12 hours"
    DAY_1 = "1 day"
    WEEK_1 = "1 week"


class FirewallPolicy(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class FirewallProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    ICMP6 = "icmp6"
    ANY = "any"


class L7Policy(StrEnum):
    DENY = "deny"


class L7Type(StrEnum):
    APPLICATION = "application"
    APPLICATION_CATEGORY = "applicationCategory"
    HOST = "host"
    PORT = "port"
    IP_RANGE = "ipRange"


class ForwardingProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class ForwardingUplink(StrEnum):
    INTERNET1 = "internet1"
    INTERNET2 = "internet2"
    BOTH = "both"


class NatUplink(StrEnum):
    INTERNET1 = "internet1"
    INTERNET2 = "internet2"


class NatInboundProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP_PING = "icmp-ping"
    ANY = "any"


class UrlCategoryListSize(StrEnum):
    TOP_SITES = "topSites"
    FULL_LIST = "fullList"


class IntrusionMode(StrEnum):
    DISABLED = "disabled"
    DETECTION = "detection"
    PREVENTION = "prevention"


class IdsRuleset(StrEnum):
    CONNECTIVITY = "connectivity"
    BALANCED = "balanced"
    SECURITY = "security"


class MalwareMode(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


class VpnMode(StrEnum):
    HUB = "hub"
    SPOKE = "spoke"
    NONE = "none"


class AuthMode(StrEnum):
    OPEN = "open"
    PSK = "psk"
    RADIUS = "8021x-radius"


class WpaEncryptionMode(StrEnum):
    WPA1_WPA2 = "wpa1-wpa2"
    WPA2 = "wpa2"
    WPA3_TRANSITION = "wpa3-transition"
    WPA3 = "wpa3"


class IpAssignmentMode(StrEnum):
    BRIDGE = "bridge"
    NAT = "nat"


class BandSelection(StrEnum):
    DUAL = "dual"
    FIVE_GHZ = "5ghz"
    DUAL_STEERING = "dual-steering"


class BandSelectionType(StrEnum):
    AP = "ap"
    SSID = "ssid"


class BandOperationMode(StrEnum):
    DUAL = "dual"
    TWO_FOUR_GHZ = "2.4ghz"
    FIVE_GHZ = "5ghz"


class ChannelWidth(StrEnum):
    AUTO = "auto"
    MHZ_20 = "20"
    MHZ_40 = "40"
    MHZ_80 = "80"


_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PORT_HELP = "any, 1–65535, a range like 8000-8080 or a list like 80,443"


# --- single-value checks; messages read after the field name ("subnet 10.0.0.0/33 is …") ------


def as_text(value: object) -> object:
    """Numbers typed into a text cell (a port, a VLAN id in a list) become text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def as_list(value: object) -> object:
    """A comma- or newline-separated string is accepted wherever a list is."""
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]
    return value


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{value} is not a valid IPv4 address") from None


def _ipv4_network(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except ValueError as exc:
        detail = " (host bits set)" if "host bits" in str(exc) else ""
        raise ValueError(f"{value} is not a valid IPv4 network{detail}") from None


def _cidr_or_ip(value: str) -> str:
    if value.lower() == ANY:
        return ANY
    if "/" in value:
        return _ipv4_network(value)
    return _ipv4(value)


def _cidr_list(value: str) -> str:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("is empty; write any or a CIDR")
    normal = [_cidr_or_ip(p) for p in parts]
    if ANY in normal and len(normal) > 1:
        raise ValueError(f"{value} mixes any with addresses")
    return ",".join(normal)


def _port_number(text: str, whole: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{whole} is not a port ({_PORT_HELP})")
    return int(text)


def _port_item(item: str, whole: str) -> str:
    if "-" in item:
        low_text, _, high_text = item.partition("-")
        low, high = _port_number(low_text.strip(), whole), _port_number(high_text.strip(), whole)
        if low > high:
            raise ValueError(f"{whole} has a range that runs backwards")
        return f"{low}-{high}"
    return str(_port_number(item, whole))


def _port_spec(value: str) -> str:
    if value.strip().lower() == ANY:
        return ANY
    return ",".join(_port_item(p.strip(), value) for p in value.split(","))


def _port_or_range(value: str) -> str:
    if "," in value or value.strip().lower() == ANY:
        raise ValueError(f"{value} must be one port or one range like 8000-8080")
    return _port_item(value.strip(), value)


def _serial(value: str) -> str:
    upper = value.strip().upper()
    if not SERIAL_PATTERN.match(upper):
        raise ValueError(f"{value} is not in the Meraki form XXXX-XXXX-XXXX")
    return upper


def _mac(value: str) -> str:
    lower = value.strip().lower()
    if not _MAC.match(lower):
        raise ValueError(f"{value} is not a MAC address like 00:11:22:aa:bb:cc")
    return lower.replace("-", ":")


def _allowed_ip(value: str) -> str:
    return _cidr_or_ip(value)


def _dns_server(value: str) -> str:
    if value.lower() in DNS_KEYWORDS:
        return value.lower()
    return _ipv4(value)


def _sha256(value: str) -> str:
    if not _SHA256.match(value.lower()):
        raise ValueError(f"{value} is not a SHA-256 digest (64 hex digits)")
    return value.lower()


def _tag(value: str) -> str:
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{value!r} is not a tag (no spaces)")
    return value


Text = Annotated[str, BeforeValidator(as_text), Field(min_length=1)]
IPv4 = Annotated[str, BeforeValidator(as_text), AfterValidator(_ipv4)]
IPv4Net = Annotated[str, BeforeValidator(as_text), AfterValidator(_ipv4_network)]
CidrList = Annotated[str, BeforeValidator(as_text), AfterValidator(_cidr_list)]
PortSpec = Annotated[str, BeforeValidator(as_text), AfterValidator(_port_spec)]
PortOrRange = Annotated[str, BeforeValidator(as_text), AfterValidator(_port_or_range)]
Serial = Annotated[str, AfterValidator(_serial)]
OrganizationId = Annotated[
    str,
    BeforeValidator(as_text),
    Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$"),
]
"""A Meraki organization id as the dashboard gives it (digits; the sandbox's too)."""
Mac = Annotated[str, AfterValidator(_mac)]
AllowedIp = Annotated[str, BeforeValidator(as_text), AfterValidator(_allowed_ip)]
DnsServer = Annotated[str, AfterValidator(_dns_server)]
Tag = Annotated[str, AfterValidator(_tag)]
Sha256 = Annotated[str, AfterValidator(_sha256)]


# List fields also take one comma- or newline-separated string (an Excel cell, a short YAML line).
TextList = Annotated[list[str], BeforeValidator(as_list)]
IPv4List = Annotated[list[IPv4], BeforeValidator(as_list)]
DnsList = Annotated[list[DnsServer], BeforeValidator(as_list)]
TagList = Annotated[list[Tag], BeforeValidator(as_list)]
AllowedIpList = Annotated[list[AllowedIp], BeforeValidator(as_list)]
PortList = Annotated[list[PortSpec], BeforeValidator(as_list)]
Sha256List = Annotated[list[Sha256], BeforeValidator(as_list)]


class SheetModel(BaseModel):
    """Common config: camelCase dashboard names as keys, unknown keys refused, text trimmed."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        str_strip_whitespace=True,
    )
