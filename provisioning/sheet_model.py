"""The settings / change-request sheet as pydantic models, keyed by Meraki Dashboard API v1 names.

Keys in YAML and in the raw dict are the dashboard's camelCase field names (``applianceIp``,
``dhcpHandling``, ``wpaEncryptionMode`` …); where the dashboard wants a long phrase the sheet uses
a short token and ``DASHBOARD_VALUES`` gives the phrase. Rules that need more than one field
(overlaps, containment, plan fit) live in ``provisioning.validation``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import re
import zoneinfo
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

FORMAT: Final = "netkeep-sheet/1"
ENV_PREFIX: Final = "env:"
MASK: Final = "********"
ANY: Final = "any"


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


MIN_BITRATES_24: Final = (1.0, 2.0, 5.5, 6.0, 9.0, 11.0, 12.0, 18.0, 24.0, 36.0, 48.0, 54.0)
MIN_BITRATES_5: Final = (6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0, 54.0)
POWER_24: Final = (5, 30)
POWER_5: Final = (8, 30)
DNS_KEYWORDS: Final = ("upstream_dns", "google_dns", "opendns")

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

_SERIAL = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HEX64 = re.compile(r"^[0-9A-Fa-f]{64}$")
_PORT_HELP = "any, 1–65535, a range like 8000-8080 or a list like 80,443"


# --- single-value checks; messages read after the field name ("subnet 10.0.0.0/33 is …") ------


def _text(value: object) -> object:
    """Numbers typed into a text cell (a port, a VLAN id in a list) become text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _as_list(value: object) -> object:
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
    if not _SERIAL.match(upper):
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


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1)]
IPv4 = Annotated[str, BeforeValidator(_text), AfterValidator(_ipv4)]
IPv4Net = Annotated[str, BeforeValidator(_text), AfterValidator(_ipv4_network)]
CidrList = Annotated[str, BeforeValidator(_text), AfterValidator(_cidr_list)]
PortSpec = Annotated[str, BeforeValidator(_text), AfterValidator(_port_spec)]
PortOrRange = Annotated[str, BeforeValidator(_text), AfterValidator(_port_or_range)]
Serial = Annotated[str, AfterValidator(_serial)]
Mac = Annotated[str, AfterValidator(_mac)]
AllowedIp = Annotated[str, BeforeValidator(_text), AfterValidator(_allowed_ip)]
DnsServer = Annotated[str, AfterValidator(_dns_server)]
Tag = Annotated[str, AfterValidator(_tag)]
Sha256 = Annotated[str, AfterValidator(_sha256)]


# List fields also take one comma- or newline-separated string (an Excel cell, a short YAML line).
TextList = Annotated[list[str], BeforeValidator(_as_list)]
IPv4List = Annotated[list[IPv4], BeforeValidator(_as_list)]
DnsList = Annotated[list[DnsServer], BeforeValidator(_as_list)]
TagList = Annotated[list[Tag], BeforeValidator(_as_list)]
AllowedIpList = Annotated[list[AllowedIp], BeforeValidator(_as_list)]
PortList = Annotated[list[PortSpec], BeforeValidator(_as_list)]
Sha256List = Annotated[list[Sha256], BeforeValidator(_as_list)]


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


# --- secrets ----------------------------------------------------------------------------------


class SheetSecret(BaseModel):
    """A PSK or RADIUS secret: written in the sheet or read from the environment at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: SecretStr
    env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any, info: ValidationInfo) -> Any:
        """Turn ``env:NAME`` / ``{"env": NAME}`` into the variable's value, or fail at this key."""
        if isinstance(data, SheetSecret):
            return data
        if isinstance(data, SecretStr):
            data = data.get_secret_value()
        env_name: object = None
        if isinstance(data, str):
            if not data.startswith(ENV_PREFIX):
                if data == MASK:
                    raise ValueError(f"is masked ({MASK}); write the secret or an env: reference")
                return {"value": data}
            env_name = data.removeprefix(ENV_PREFIX).strip()
        elif isinstance(data, dict) and set(data) == {"env"}:
            env_name = data["env"]
        elif isinstance(data, dict) and "value" in data and set(data) <= {"value", "env"}:
            return data
        else:
            raise ValueError("must be a string or a mapping {env: VARIABLE_NAME}")
        if not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
            raise ValueError(f"names {env_name!r}, which is not an environment variable name")
        context = info.context if isinstance(info.context, dict) else {}
        environ: Mapping[str, str] = context.get("environ", os.environ)
        if env_name not in environ:
            raise ValueError(f"refers to environment variable {env_name}, which is not set")
        return {"value": environ[env_name], "env": env_name}

    @model_serializer(mode="plain")
    def _masked(self, info: SerializationInfo) -> str:
        """Dumps never carry the secret unless the caller asks for the sheet text back."""
        if self.env:
            return f"{ENV_PREFIX}{self.env}"
        context = info.context if isinstance(info.context, dict) else {}
        return self.reveal() if context.get("reveal_secrets") else MASK

    def reveal(self) -> str:
        """The secret itself, for the adapter that sends it to the dashboard."""
        return self.value.get_secret_value()


def secret_fingerprint(value: SheetSecret | SecretStr | str, key: bytes) -> str:
    """A keyed short hash, so a diff tells changed from unchanged without holding the secret."""
    if isinstance(value, SheetSecret):
        text = value.reveal()
    elif isinstance(value, SecretStr):
        text = value.get_secret_value()
    else:
        text = value
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"


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
    tags: TagList = []
    management_interface: ManagementInterface | None = None

    @field_validator("model")
    @classmethod
    def _upper_model(cls, value: str) -> str:
        return value.upper()


# --- appliance (UTM / router) -----------------------------------------------------------------


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
    hubs: Annotated[list[VpnHubItem], BeforeValidator(_as_list)] | None = None
    subnets: Annotated[list[VpnSubnetItem], BeforeValidator(_as_list)] | None = None


# --- wireless ---------------------------------------------------------------------------------


class RadiusServer(SheetModel):
    """An 802.1X RADIUS server for an SSID."""

    host: Text
    port: Annotated[int, Field(ge=1, le=65535)] = 1812
    secret: SheetSecret


class Ssid(SheetModel):
    """A wireless SSID slot (0–14), as PUT /networks/{id}/wireless/ssids/{number}."""

    number: int
    name: Annotated[str, Field(min_length=1, max_length=32)]
    enabled: bool = True
    auth_mode: AuthMode
    wpa_encryption_mode: WpaEncryptionMode | None = None
    psk: SheetSecret | None = None
    radius_servers: list[RadiusServer] = []
    ip_assignment_mode: IpAssignmentMode = IpAssignmentMode.BRIDGE
    use_vlan_tagging: bool = False
    default_vlan_id: int | None = None
    band_selection: BandSelection = BandSelection.DUAL
    visible: bool = True

    @field_validator("number")
    @classmethod
    def _slot(cls, value: int) -> int:
        if not 0 <= value <= 14:
            raise ValueError(f"{value} is out of range 0–14")
        return value

    @field_validator("default_vlan_id")
    @classmethod
    def _vlan_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 4094:
            raise ValueError(f"{value} is out of range 1–4094")
        return value

    @field_validator("psk")
    @classmethod
    def _psk_form(cls, value: SheetSecret | None) -> SheetSecret | None:
        if value is None:
            return None
        text = value.reveal()
        printable = 8 <= len(text) <= 63 and all(32 <= ord(ch) <= 126 for ch in text)
        if not (printable or _HEX64.match(text)):
            raise ValueError(
                f"must be 8–63 printable ASCII characters or 64 hex digits (got {len(text)} "
                "characters)"
            )
        return value


class TwoFourGhzSettings(SheetModel):
    """2.4 GHz radio settings of an RF profile."""

    min_bitrate: float = 11.0
    min_power: int = POWER_24[0]
    max_power: int = POWER_24[1]


class FiveGhzSettings(SheetModel):
    """5 GHz radio settings of an RF profile."""

    min_bitrate: float = 12.0
    min_power: int = POWER_5[0]
    max_power: int = POWER_5[1]
    channel_width: ChannelWidth = ChannelWidth.AUTO

    @field_validator("channel_width", mode="before")
    @classmethod
    def _width_text(cls, value: object) -> object:
        return _text(value)


class ApBandSettings(SheetModel):
    """Which bands the APs serve when band selection is per AP."""

    band_operation_mode: BandOperationMode = BandOperationMode.DUAL


class RfProfile(SheetModel):
    """A wireless RF profile."""

    name: Text
    band_selection_type: BandSelectionType = BandSelectionType.AP
    ap_band_settings: ApBandSettings = Field(default_factory=ApBandSettings)
    two_four_ghz_settings: TwoFourGhzSettings = Field(default_factory=TwoFourGhzSettings)
    five_ghz_settings: FiveGhzSettings = Field(default_factory=FiveGhzSettings)


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
