"""Validate a raw sheet (from YAML or Excel) and report every problem at once, each at its place.

Single-field rules are pydantic validators in ``sheet_model``; the rules here span fields, items or
the plan. Locations are key paths (``vlans[2].subnet``) for YAML and cells (``tab VLAN, cell C7``)
for Excel, chosen by the ``SheetSource`` the loader hands over.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from core.errors import Problem
from provisioning.sheet_model import (
    APPLIANCE_OBJECT_SECTIONS,
    APPLIANCE_SECTIONS,
    LIST_SECTIONS,
    MIN_BITRATES_5,
    MIN_BITRATES_24,
    POWER_5,
    POWER_24,
    SECTION_MODELS,
    UTM_ONLY_SECTIONS,
    WIRELESS_SECTIONS,
    AuthMode,
    ChangeRequest,
    Device,
    DhcpHandling,
    FirewallProtocol,
    IpAssignmentMode,
    L3FirewallRule,
    L7FirewallRule,
    L7Type,
    OneToOneNatRule,
    Plan,
    PortForwardingRule,
    RfProfile,
    Sheet,
    SheetKind,
    Site,
    SiteToSiteVpn,
    Ssid,
    Vlan,
    VpnMode,
)

Loc = tuple[str | int, ...]
T = TypeVar("T")

MODEL_PREFIXES: Final[Mapping[Plan, tuple[str, ...]]] = {
    Plan.UTM: ("MX", "Z"),
    Plan.ROUTER: ("MX", "Z"),
    Plan.WIRELESS: ("MR", "CW"),
}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SheetSource:
    """Where a raw sheet came from, so a pydantic location can be told as a key path or a cell."""

    name: str = "sheet"
    cells: dict[Loc, str] = field(default_factory=dict)
    tabs: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_workbook(self) -> bool:
        """Excel sources know their tabs; YAML sources only know key paths."""
        return bool(self.tabs)

    def locate(self, loc: Loc) -> str:
        """The Excel cell (longest known prefix) or the YAML key path of a location."""
        if not self.is_workbook:
            return key_path(loc)
        for end in range(len(loc), 0, -1):
            found = self.cells.get(loc[:end])
            if found:
                return found
        if loc and isinstance(loc[0], str) and loc[0] in self.tabs:
            return f"tab {self.tabs[loc[0]]}"
        return "workbook"


def key_path(loc: Loc) -> str:
    """``("vlans", 2, "subnet")`` → ``vlans[2].subnet``."""
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _label(loc: Loc) -> str:
    """The name a message starts with: the last key, or ``vlans[2]`` for a whole item."""
    for index in range(len(loc) - 1, -1, -1):
        part = loc[index]
        if part == "[key]":
            return "MAC"
        if isinstance(part, str):
            return key_path(loc[index:])
    return "sheet"


def problems_from_pydantic(error: ValidationError, source: SheetSource) -> list[Problem]:
    """Turn pydantic errors into problems, never echoing the input (it may be a secret)."""
    problems: list[Problem] = []
    for item in error.errors(include_input=False, include_url=False):
        loc: Loc = tuple(item["loc"])
        label = _label(loc)
        kind = item["type"]
        if kind == "value_error":
            message = f"{label} {item['ctx']['error']}"
        elif kind == "missing":
            message = f"{label} is required"
        elif kind == "extra_forbidden":
            message = f"{label} is not a known field"
        else:
            message = f"{label}: {item['msg']}"
        problems.append(Problem(message, source.locate(loc)))
    return problems


# --- the parts of a sheet that validated, with their original positions -----------------------


@dataclass
class SheetParts:
    """The valid pieces of a sheet; cross-field rules run on these even when others failed."""

    kind: SheetKind | None = None
    plan: Plan | None = None
    request: ChangeRequest | None = None
    site: Site | None = None
    present: frozenset[str] = frozenset()
    items: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    site_to_site_vpn: SiteToSiteVpn | None = None

    def each(self, section: str, model: type[T]) -> Iterator[tuple[int, T]]:
        """The valid items of a list section, with their index in the sheet."""
        for index, item in self.items.get(section, []):
            if isinstance(item, model):
                yield index, item


def _present(raw: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(key for key, value in raw.items() if value is not None and value != [])


def parts_of_sheet(sheet: Sheet, raw: Mapping[str, Any]) -> SheetParts:
    """Parts of a sheet that validated as a whole."""
    items: dict[str, list[tuple[int, Any]]] = {}
    for section in LIST_SECTIONS:
        name = _attribute(section)
        values = getattr(sheet, name) or []
        items[section] = list(enumerate(values))
    parts = SheetParts(sheet.kind, sheet.site.plan, sheet.request, sheet.site, _present(raw), items)
    parts.site_to_site_vpn = sheet.site_to_site_vpn
    return parts


def parts_of_raw(raw: Mapping[str, Any], context: Mapping[str, Any]) -> SheetParts:
    """Validate each section and item on its own, keeping what passes."""
    parts = SheetParts(present=_present(raw))
    try:
        parts.kind = SheetKind(str(raw.get("kind")))
    except ValueError:
        parts.kind = None
    for key in ("site", "request", *APPLIANCE_OBJECT_SECTIONS):
        try:
            value = SECTION_MODELS[key].model_validate(raw.get(key), context=context)
        except ValidationError:
            continue
        if isinstance(value, Site):
            parts.site, parts.plan = value, value.plan
        elif isinstance(value, ChangeRequest):
            parts.request = value
        elif isinstance(value, SiteToSiteVpn):
            parts.site_to_site_vpn = value
    if parts.plan is None and isinstance(raw.get("site"), Mapping):
        try:
            parts.plan = Plan(str(raw["site"].get("plan")))
        except ValueError:
            parts.plan = None
    for section in LIST_SECTIONS:
        values = raw.get(section)
        if not isinstance(values, list):
            continue
        kept: list[tuple[int, Any]] = []
        for index, value in enumerate(values):
            try:
                kept.append((index, SECTION_MODELS[section].model_validate(value, context=context)))
            except ValidationError:
                parts.incomplete.add(section)
        parts.items[section] = kept
    return parts


def _attribute(section: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", section).lower()


# --- cross-field rules ------------------------------------------------------------------------

Found = tuple[Loc, str]


def check_document(parts: SheetParts) -> Iterator[Found]:
    """Change-request headers, plan-only sections and what a settings sheet must hold."""
    if parts.kind is SheetKind.CHANGE_REQUEST:
        if "request" not in parts.present:
            yield ("request",), "request is required on a change_request sheet"
        elif parts.request is not None:
            for name in ("id", "customer", "requester", "date"):
                if getattr(parts.request, name) is None:
                    yield (
                        ("request", name),
                        f"request.{name} is required on a change_request sheet",
                    )
    elif parts.kind is SheetKind.SETTINGS and "request" in parts.present:
        yield ("request",), "request belongs only on a change_request sheet"
    plan = parts.plan
    if plan is None:
        return
    if plan is Plan.ROUTER:
        for section in UTM_ONLY_SECTIONS:
            if section in parts.present:
                yield (section,), f"{section} is a UTM plan feature, not on a router plan sheet"
    if plan is Plan.WIRELESS:
        for section in (*APPLIANCE_SECTIONS, *APPLIANCE_OBJECT_SECTIONS, *UTM_ONLY_SECTIONS):
            if section in parts.present:
                yield (section,), f"{section} is an appliance setting, not on a wireless plan sheet"
    else:
        for section in WIRELESS_SECTIONS:
            if section in parts.present:
                yield (section,), f"{section} is a wireless setting, not on a {plan} plan sheet"
    if parts.kind is SheetKind.SETTINGS:
        if "devices" not in parts.present:
            yield ("devices",), "devices: a settings sheet lists at least one device"
        needed = "ssids" if plan is Plan.WIRELESS else "vlans"
        if needed not in parts.present:
            yield (needed,), f"{needed}: a {plan} settings sheet needs at least one entry"


def check_devices(parts: SheetParts) -> Iterator[Found]:
    """Serials unique; the model fits the plan; static WAN addressing complete and consistent."""
    seen: dict[str, int] = {}
    for index, device in parts.each("devices", Device):
        loc: Loc = ("devices", index)
        if device.serial in seen:
            yield (
                (*loc, "serial"),
                (f"serial {device.serial} is already listed at devices[{seen[device.serial]}]"),
            )
        seen.setdefault(device.serial, index)
        prefixes = MODEL_PREFIXES.get(parts.plan) if parts.plan else None
        if prefixes and not device.model.startswith(prefixes):
            expected = " or ".join(f"{p}*" for p in prefixes)
            yield (
                (*loc, "model"),
                (f"model {device.model} does not fit the {parts.plan} plan (expected {expected})"),
            )
        wan = device.management_interface.wan1 if device.management_interface else None
        if wan is None or not wan.using_static_ip:
            continue
        wan_loc = (*loc, "managementInterface", "wan1")
        for key, value in (
            ("staticIp", wan.static_ip),
            ("staticSubnetMask", wan.static_subnet_mask),
            ("staticGatewayIp", wan.static_gateway_ip),
        ):
            if value is None:
                yield (*wan_loc, key), f"{key} is required when usingStaticIp is true"
        if wan.static_ip and wan.static_subnet_mask and wan.static_gateway_ip:
            try:
                net = ipaddress.IPv4Network(f"{wan.static_ip}/{wan.static_subnet_mask}", False)
            except ValueError:
                yield (
                    (*wan_loc, "staticSubnetMask"),
                    (f"staticSubnetMask {wan.static_subnet_mask} is not a subnet mask"),
                )
                continue
            if ipaddress.IPv4Address(wan.static_gateway_ip) not in net:
                yield (
                    (*wan_loc, "staticGatewayIp"),
                    (f"staticGatewayIp {wan.static_gateway_ip} is not inside {net}"),
                )


def _host_problem(ip: str, net: ipaddress.IPv4Network) -> str | None:
    address = ipaddress.IPv4Address(ip)
    if address not in net:
        return f"is not inside subnet {net}"
    if net.prefixlen < 31 and address in (net.network_address, net.broadcast_address):
        which = "network" if address == net.network_address else "broadcast"
        return f"is the {which} address of subnet {net}"
    return None


def check_vlans(parts: SheetParts) -> Iterator[Found]:
    """VLAN ids unique, subnets disjoint, appliance IP and DHCP ranges/reservations inside."""
    ids: dict[int, int] = {}
    nets: list[tuple[int, Vlan, ipaddress.IPv4Network]] = []
    for index, vlan in parts.each("vlans", Vlan):
        loc: Loc = ("vlans", index)
        if vlan.id in ids:
            yield (*loc, "id"), f"id {vlan.id} is already used by vlans[{ids[vlan.id]}]"
        ids.setdefault(vlan.id, index)
        net = ipaddress.IPv4Network(vlan.subnet)
        for other_index, other, other_net in nets:
            if net.overlaps(other_net):
                yield (
                    (*loc, "subnet"),
                    (
                        f"subnet {net} overlaps VLAN {other.id} ({other_net}) "
                        f"at vlans[{other_index}]"
                    ),
                )
        nets.append((index, vlan, net))
        wrong = _host_problem(vlan.appliance_ip, net)
        if wrong:
            yield (*loc, "applianceIp"), f"applianceIp {vlan.appliance_ip} {wrong}"
        if vlan.dhcp_handling is DhcpHandling.RELAY and not vlan.dhcp_relay_server_ips:
            yield (*loc, "dhcpRelayServerIps"), "dhcpRelayServerIps is required to relay DHCP"
        for r_index, reserved in enumerate(vlan.reserved_ip_ranges):
            r_loc = (*loc, "reservedIpRanges", r_index)
            for key, ip in (("start", reserved.start), ("end", reserved.end)):
                if ipaddress.IPv4Address(ip) not in net:
                    yield (*r_loc, key), f"{key} {ip} is not inside subnet {net}"
            if ipaddress.IPv4Address(reserved.start) > ipaddress.IPv4Address(reserved.end):
                yield (*r_loc, "end"), f"end {reserved.end} is before start {reserved.start}"
        for mac, fixed in vlan.fixed_ip_assignments.items():
            wrong = _host_problem(fixed.ip, net)
            if wrong:
                yield (*loc, "fixedIpAssignments", mac, "ip"), f"ip {fixed.ip} {wrong}"


def _subnets(parts: SheetParts) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(v.subnet) for _, v in parts.each("vlans", Vlan)]


def check_firewall(parts: SheetParts) -> Iterator[Found]:
    """Ports only with tcp/udp; L7 values fit their type."""
    for index, rule in parts.each("l3FirewallRules", L3FirewallRule):
        if rule.protocol not in (FirewallProtocol.TCP, FirewallProtocol.UDP):
            for key, value in (("srcPort", rule.src_port), ("destPort", rule.dest_port)):
                if value != "any":
                    yield (
                        ("l3FirewallRules", index, key),
                        (f"{key} {value} needs protocol tcp or udp, not {rule.protocol}"),
                    )
    for index, l7 in parts.each("l7FirewallRules", L7FirewallRule):
        wrong = _l7_value_problem(l7.type, l7.value)
        if wrong:
            yield ("l7FirewallRules", index, "value"), f"value {l7.value} {wrong}"


def _l7_value_problem(kind: L7Type, value: str) -> str | None:
    if kind is L7Type.APPLICATION and not value.startswith("meraki:layer7/application/"):
        return "is not an application id like meraki:layer7/application/67"
    if kind is L7Type.APPLICATION_CATEGORY and not value.startswith("meraki:layer7/category/"):
        return "is not a category id like meraki:layer7/category/24"
    if kind is L7Type.PORT and not (value.isdigit() and 1 <= int(value) <= 65535):
        return "is not a port 1–65535"
    if kind is L7Type.IP_RANGE:
        cidr, _, port = value.partition(":")
        try:
            ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            return "is not an IP range like 10.0.0.0/8 or 10.0.0.0/8:443"
        if port and not (port.isdigit() and 1 <= int(port) <= 65535):
            return "has a port that is not 1–65535"
    if kind is L7Type.HOST and (" " in value or "/" in value):
        return "is not a host name like example.com"
    return None


def check_nat(parts: SheetParts) -> Iterator[Found]:
    """Forwarded and 1:1 NAT LAN IPs sit in a VLAN; port ranges match; public IPs unique.

    LAN IPs are checked only on a settings sheet whose VLANs all validated: a change request
    names only the VLANs it changes.
    """
    subnets = _subnets(parts)
    has_vlans = (
        parts.kind is SheetKind.SETTINGS
        and "vlans" in parts.present
        and "vlans" not in parts.incomplete
    )

    def outside(ip: str) -> bool:
        return has_vlans and not any(ipaddress.IPv4Address(ip) in net for net in subnets)

    for index, rule in parts.each("portForwardingRules", PortForwardingRule):
        if outside(rule.lan_ip):
            yield (
                ("portForwardingRules", index, "lanIp"),
                (f"lanIp {rule.lan_ip} is not inside any VLAN subnet"),
            )
        if _span(rule.public_port) != _span(rule.local_port):
            yield (
                ("portForwardingRules", index, "localPort"),
                (
                    f"localPort {rule.local_port} spans a different number of ports than "
                    f"publicPort {rule.public_port}"
                ),
            )
    public: dict[str, int] = {}
    for index, nat in parts.each("oneToOneNatRules", OneToOneNatRule):
        if outside(nat.lan_ip):
            yield (
                ("oneToOneNatRules", index, "lanIp"),
                (f"lanIp {nat.lan_ip} is not inside any VLAN subnet"),
            )
        if nat.public_ip in public:
            yield (
                ("oneToOneNatRules", index, "publicIp"),
                (
                    f"publicIp {nat.public_ip} is already mapped by oneToOneNatRules"
                    f"[{public[nat.public_ip]}]"
                ),
            )
        public.setdefault(nat.public_ip, index)


def _span(ports: str) -> int:
    low, _, high = ports.partition("-")
    return int(high or low) - int(low)


def check_wireless(parts: SheetParts) -> Iterator[Found]:
    """SSID slots unique; auth mode has what it needs; RF profile bitrates and powers allowed."""
    numbers: dict[int, int] = {}
    for index, ssid in parts.each("ssids", Ssid):
        loc: Loc = ("ssids", index)
        if ssid.number in numbers:
            yield (
                (*loc, "number"),
                (f"number {ssid.number} is already used by ssids[{numbers[ssid.number]}]"),
            )
        numbers.setdefault(ssid.number, index)
        yield from _ssid_auth(ssid, loc)
        if ssid.use_vlan_tagging:
            if ssid.default_vlan_id is None:
                yield (*loc, "defaultVlanId"), "defaultVlanId is required with useVlanTagging"
            if ssid.ip_assignment_mode is not IpAssignmentMode.BRIDGE:
                yield (*loc, "useVlanTagging"), "useVlanTagging needs ipAssignmentMode bridge"
    names: dict[str, int] = {}
    for index, profile in parts.each("rfProfiles", RfProfile):
        loc = ("rfProfiles", index)
        if profile.name in names:
            yield (
                (*loc, "name"),
                f"name {profile.name} is already used by rfProfiles[{names[profile.name]}]",
            )
        names.setdefault(profile.name, index)
        yield from _rf_bands(profile, loc)


def _ssid_auth(ssid: Ssid, loc: Loc) -> Iterator[Found]:
    if ssid.auth_mode is AuthMode.PSK and ssid.psk is None:
        yield (*loc, "psk"), "psk is required when authMode is psk"
    if ssid.auth_mode is not AuthMode.PSK and ssid.psk is not None:
        yield (*loc, "psk"), f"psk is only for authMode psk, not {ssid.auth_mode}"
    if ssid.auth_mode is AuthMode.RADIUS and not ssid.radius_servers:
        yield (*loc, "radiusServers"), "radiusServers is required when authMode is 8021x-radius"
    if ssid.auth_mode is not AuthMode.RADIUS and ssid.radius_servers:
        yield (
            (*loc, "radiusServers"),
            f"radiusServers is only for 8021x-radius, not {ssid.auth_mode}",
        )
    if ssid.auth_mode is AuthMode.OPEN and ssid.wpa_encryption_mode is not None:
        yield (*loc, "wpaEncryptionMode"), "wpaEncryptionMode does not apply to an open SSID"


def _rf_bands(profile: RfProfile, loc: Loc) -> Iterator[Found]:
    bands = (
        ("twoFourGhzSettings", profile.two_four_ghz_settings, MIN_BITRATES_24, POWER_24),
        ("fiveGhzSettings", profile.five_ghz_settings, MIN_BITRATES_5, POWER_5),
    )
    for key, band, bitrates, (low, high) in bands:
        band_loc = (*loc, key)
        if band.min_bitrate not in bitrates:
            allowed = ", ".join(f"{b:g}" for b in bitrates)
            yield (
                (*band_loc, "minBitrate"),
                (f"minBitrate {band.min_bitrate:g} is not one of {allowed}"),
            )
        for name, power in (("minPower", band.min_power), ("maxPower", band.max_power)):
            if not low <= power <= high:
                yield (*band_loc, name), f"{name} {power} is out of range {low}–{high} dBm"
        if band.min_power > band.max_power:
            yield (
                (*band_loc, "minPower"),
                (f"minPower {band.min_power} is above maxPower {band.max_power}"),
            )


def check_site_to_site_vpn(parts: SheetParts) -> Iterator[Found]:
    """A spoke names at least one hub; a hub or none names none; no hub or subnet twice."""
    vpn = parts.site_to_site_vpn
    if vpn is None:
        return
    loc: Loc = ("siteToSiteVpn",)
    hubs = vpn.hubs or []
    if vpn.mode is VpnMode.SPOKE and not hubs:
        yield (*loc, "hubs"), "hubs: a spoke needs at least one hub"
    if vpn.mode is not VpnMode.SPOKE and hubs:
        yield (*loc, "hubs"), f"hubs are named only in spoke mode, not in {vpn.mode} mode"
    seen: dict[str, int] = {}
    for index, hub in enumerate(hubs):
        if hub.hub_id in seen:
            yield (
                (*loc, "hubs", index, "hubId"),
                f"hubId {hub.hub_id} is already listed at siteToSiteVpn.hubs[{seen[hub.hub_id]}]",
            )
        seen.setdefault(hub.hub_id, index)
    subnets: dict[str, int] = {}
    for index, subnet in enumerate(vpn.subnets or []):
        if subnet.local_subnet in subnets:
            first = subnets[subnet.local_subnet]
            yield (
                (*loc, "subnets", index, "localSubnet"),
                f"localSubnet {subnet.local_subnet} is already listed at "
                f"siteToSiteVpn.subnets[{first}]",
            )
        subnets.setdefault(subnet.local_subnet, index)


RULES: Final = (
    check_document,
    check_devices,
    check_vlans,
    check_firewall,
    check_nat,
    check_site_to_site_vpn,
    check_wireless,
)


def validate_sheet(
    raw: object,
    source: SheetSource | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[Sheet | None, list[Problem]]:
    """Every problem of a raw sheet at once; the sheet only when there are none."""
    source = source or SheetSource()
    problems = list(source.problems)
    if not isinstance(raw, Mapping):
        problems.append(Problem("a sheet is a mapping of sections (format, kind, site …)", ""))
        return None, problems
    context = {"environ": os.environ if environ is None else environ}
    sheet: Sheet | None = None
    try:
        sheet = Sheet.model_validate(raw, context=context)
    except ValidationError as error:
        problems.extend(problems_from_pydantic(error, source))
    parts = parts_of_sheet(sheet, raw) if sheet else parts_of_raw(raw, context)
    for rule in RULES:
        problems.extend(Problem(message, source.locate(loc)) for loc, message in rule(parts))
    return (sheet if not problems else None), problems


def format_problems(problems: Sequence[Problem]) -> str:
    """One problem per line, for a CLI or a log."""
    return "\n".join(str(p) for p in problems)
