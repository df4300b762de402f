"""Pure VPN rules (Option (4)): eligibility and desired Auto VPN settings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import InvalidTransition, Problem

# The status-report rules live in vpn.status_rules; re-exported for existing importers.
from vpn.status_rules import EventKind as EventKind
from vpn.status_rules import PeerObservation as PeerObservation
from vpn.status_rules import SiteReport as SiteReport
from vpn.status_rules import VpnSiteStatus as VpnSiteStatus
from vpn.status_rules import compare_snapshot as compare_snapshot

VPN_PLANS = frozenset({"utm", "router"})
VPN_OPTION = "vpn"
CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
RFC1918 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
DOCUMENTATION = (
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
LIVE_UPLINK_STATES = frozenset({"active", "ready"})

DASHBOARD_LIMITS = (
    "クライアントVPNのサブネットと共有シークレットはダッシュボードAPIで設定できません。"
    "ダッシュボード画面（セキュリティ&SD-WAN > クライアントVPN）で設定してください。 "
    "Client VPN subnet and shared secret cannot be set through the dashboard API: "
    "configure them in the dashboard UI.",
)
NOTE_CGNAT = (
    "グローバルIPアドレスが割り当てられない回線（キャリアグレードNAT、一部のCATV・モバイル回線）"
    "ではVPNをご利用いただけません。"
)
NOTE_RECONNECT = (
    "機器のグローバルIPアドレスが変わった場合、"
    "クライアントVPNの再接続に30分以上かかることがあります。"
)


class BuildStatus(StrEnum):
    """A VPN build as stored: applied, or failed and undone (fully or not), or reverted."""

    APPLIED = "applied"
    FAILED = "failed"
    PARTIALLY_REVERTED = "partially_reverted"
    REVERTED = "reverted"


BUILD_STARTS = frozenset({BuildStatus.APPLIED, BuildStatus.FAILED, BuildStatus.PARTIALLY_REVERTED})
"""How a build is first stored: applied, or failed with its undo complete or not."""
BUILD_TRANSITIONS: Mapping[BuildStatus, frozenset[BuildStatus]] = {
    # a revert that undid everything, or that left something on the dashboard
    BuildStatus.APPLIED: frozenset({BuildStatus.REVERTED, BuildStatus.PARTIALLY_REVERTED}),
    # reverting again takes up only what is left, and may still leave some of it
    BuildStatus.PARTIALLY_REVERTED: frozenset(
        {BuildStatus.REVERTED, BuildStatus.PARTIALLY_REVERTED}
    ),
    BuildStatus.FAILED: frozenset(),  # its undo went through: nothing is left to revert
    BuildStatus.REVERTED: frozenset(),
}


def advance_build(
    current: BuildStatus | str, target: BuildStatus, *, entity: str = "VPN build"
) -> BuildStatus:
    """`target` if a VPN build may move there from `current`, else InvalidTransition."""
    now = BuildStatus(current)
    allowed = BUILD_TRANSITIONS[now]
    if target not in allowed:
        raise InvalidTransition(entity, now.value, target.value, (s.value for s in allowed))
    return target


def undo_outcome(*, left_on_dashboard: bool, build_failed: bool) -> BuildStatus:
    """A build's status after an undo: partly reverted while something stayed, else done.

    A failed build whose undo went through is stored as failed; a revert that went through
    leaves the build reverted.
    """
    if left_on_dashboard:
        return BuildStatus.PARTIALLY_REVERTED
    return BuildStatus.FAILED if build_failed else BuildStatus.REVERTED


class ReasonCode(StrEnum):
    NO_CONTRACT = "no_contract"
    PLAN_NOT_VPN = "plan_not_vpn"
    NO_VPN_OPTION = "no_vpn_option"
    PLAN_MISMATCH = "plan_mismatch"
    WAN_UNKNOWN = "wan_unknown"
    WAN_PRIVATE = "wan_private"
    WAN_CGNAT = "wan_cgnat"
    WAN_SPECIAL = "wan_special"
    USER_EMAIL_MISSING = "user_email_missing"
    USER_EMAIL_INVALID = "user_email_invalid"


class SiteRole(StrEnum):
    HUB = "hub"
    SPOKE = "spoke"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why VPN is not possible at a site (or for one of its users)."""

    code: ReasonCode
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class Uplink:
    """One WAN uplink as the dashboard reports it."""

    interface: str
    status: str
    ip: str | None
    public_ip: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "interface": self.interface,
            "status": self.status,
            "ip": self.ip,
            "publicIp": self.public_ip,
        }


@dataclass(frozen=True, slots=True)
class UplinkStatus:
    """A network's appliance uplinks."""

    network_id: str
    serial: str | None
    uplinks: tuple[Uplink, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "networkId": self.network_id,
            "serial": self.serial,
            "uplinks": [u.to_dict() for u in self.uplinks],
        }

    def public_ip(self) -> str | None:
        """The public IP of the first live uplink that has one (wan1 before wan2)."""
        for uplink in sorted(self.uplinks, key=lambda u: u.interface):
            if uplink.public_ip and uplink.status in LIVE_UPLINK_STATES:
                return uplink.public_ip
        return None


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the contracts say about a site (a network with devices on a contract)."""

    network_id: str
    name: str
    customer: str | None = None
    contract_number: str | None = None
    plan: str | None = None
    options: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ClientUser:
    """A client-VPN user requested at a site; the password is never kept here."""

    network_id: str
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class SiteVerdict:
    """The eligibility of one site, with every reason it fails."""

    site: SiteFacts
    reasons: tuple[Reason, ...]
    uplinks: UplinkStatus | None

    @property
    def eligible(self) -> bool:
        return not self.reasons


def wan_ip_reason(address: str | None, *, accept_documentation: bool = False) -> Reason | None:
    """Why a WAN address is not a global IP the terms accept, or None when it is."""
    if not address:
        return Reason(ReasonCode.WAN_UNKNOWN, "no public IP reported")
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return Reason(ReasonCode.WAN_UNKNOWN, f"{address!r} is not an IP address")
    if ip.version == 4 and ip in CGNAT:
        return Reason(ReasonCode.WAN_CGNAT, f"{ip} is in the shared CGNAT range 100.64.0.0/10")
    if accept_documentation and ip.version == 4 and any(ip in net for net in DOCUMENTATION):
        return None
    if ip.version == 4 and any(ip in net for net in RFC1918):
        return Reason(ReasonCode.WAN_PRIVATE, f"{ip} is a private address (RFC 1918)")
    documentation = next((net for net in DOCUMENTATION if ip.version == 4 and ip in net), None)
    if documentation is not None:
        return Reason(
            ReasonCode.WAN_SPECIAL,
            f"{ip} is a documentation address (RFC 5737, {documentation}), not a global IP",
        )
    special = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private-use", ip.is_private),
    )
    for label, hit in special:
        if hit:
            return Reason(ReasonCode.WAN_SPECIAL, f"{ip} is a {label} address, not a global IP")
    if not ip.is_global:
        return Reason(ReasonCode.WAN_SPECIAL, f"{ip} is a special-purpose address, not global")
    return None


def wan_reasons(
    status: UplinkStatus | None, *, accept_documentation: bool = False
) -> tuple[Reason, ...]:
    """No reason when some live uplink has a global public IP and no CGNAT interface address."""
    if status is None or not status.uplinks:
        return (Reason(ReasonCode.WAN_UNKNOWN, "no uplink status reported by the dashboard"),)
    live = [u for u in status.uplinks if u.status in LIVE_UPLINK_STATES]
    if not live:
        states = ", ".join(f"{u.interface} {u.status}" for u in status.uplinks)
        return (Reason(ReasonCode.WAN_UNKNOWN, f"no live uplink ({states})"),)
    found: list[Reason] = []
    for uplink in live:
        problems = []
        public = wan_ip_reason(uplink.public_ip, accept_documentation=accept_documentation)
        if public is not None:
            problems.append(public)
        interface = wan_ip_reason(uplink.ip, accept_documentation=accept_documentation)
        if interface is not None and interface.code is ReasonCode.WAN_CGNAT:
            problems.append(interface)
        if not problems:
            return ()
        found.extend(Reason(p.code, f"{uplink.interface}: {p.message}") for p in problems)
    return tuple(dict.fromkeys(found))


def contract_reasons(site: SiteFacts) -> tuple[Reason, ...]:
    """The contract must be UTM or router with the VPN option."""
    if site.plan is None:
        return (Reason(ReasonCode.NO_CONTRACT, f"no device of {site.network_id} is on a contract"),)
    reasons = []
    if site.plan not in VPN_PLANS:
        reasons.append(
            Reason(
                ReasonCode.PLAN_NOT_VPN,
                f"contract {site.contract_number} is on the {site.plan} plan; VPN needs utm or "
                "router",
            )
        )
    if VPN_OPTION not in site.options:
        reasons.append(
            Reason(
                ReasonCode.NO_VPN_OPTION,
                f"contract {site.contract_number} does not include the VPN option",
            )
        )
    return tuple(reasons)


def plan_mismatch_reasons(sites: Sequence[SiteFacts]) -> dict[str, Reason]:
    """Sites to connect must share one plan; each site on another plan than the first is named."""
    planned = [s for s in sites if s.plan is not None]
    plans = {s.plan for s in planned}
    if len(plans) <= 1:
        return {}
    by_plan: dict[str, list[str]] = {}
    for site in planned:
        by_plan.setdefault(str(site.plan), []).append(site.name)
    result = {}
    for site in planned:
        others = "; ".join(f"{plan}: {', '.join(names)}" for plan, names in sorted(by_plan.items()))
        result[site.network_id] = Reason(
            ReasonCode.PLAN_MISMATCH,
            f"site {site.name} is on the {site.plan} plan but the sites to connect are on "
            f"different plans ({others}); VPN connects only devices on the same plan",
        )
    return result


def email_reason(user: ClientUser) -> Reason | None:
    """Client-VPN users authenticate by e-mail, so each needs a valid address."""
    label = user.name or "(unnamed)"
    if not user.email.strip():
        return Reason(ReasonCode.USER_EMAIL_MISSING, f"client VPN user {label} has no e-mail")
    if not EMAIL_PATTERN.match(user.email.strip()):
        return Reason(
            ReasonCode.USER_EMAIL_INVALID,
            f"client VPN user {label}: {user.email!r} is not a valid e-mail address",
        )
    return None


def evaluate_sites(
    sites: Sequence[SiteFacts],
    uplinks: Mapping[str, UplinkStatus],
    users: Sequence[ClientUser] = (),
    *,
    accept_documentation: bool = False,
) -> list[SiteVerdict]:
    """Every site's verdict: contract, same plan across the request, global WAN IP, user e-mail."""
    mismatch = plan_mismatch_reasons(sites)
    verdicts = []
    for site in sites:
        reasons = list(contract_reasons(site))
        if site.network_id in mismatch:
            reasons.append(mismatch[site.network_id])
        status = uplinks.get(site.network_id)
        reasons.extend(wan_reasons(status, accept_documentation=accept_documentation))
        for user in users:
            if user.network_id == site.network_id and (reason := email_reason(user)):
                reasons.append(reason)
        verdicts.append(SiteVerdict(site, tuple(reasons), status))
    return verdicts


# --- construction -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HubChoice:
    network_id: str
    use_default_route: bool = False


@dataclass(frozen=True, slots=True)
class SubnetChoice:
    local_subnet: str
    use_vpn: bool = True


@dataclass(frozen=True, slots=True)
class SiteRequest:
    """One site of a construction request: its role, a spoke's hubs, the subnets to join."""

    network_id: str
    role: SiteRole
    hubs: tuple[HubChoice, ...] = ()
    subnets: tuple[SubnetChoice, ...] = ()


def request_problems(requests: Sequence[SiteRequest]) -> list[Problem]:
    """Structural problems of a construction request, each naming the site at fault."""
    problems: list[Problem] = []
    seen: set[str] = set()
    hubs = {r.network_id for r in requests if r.role is SiteRole.HUB}
    for r in requests:
        where = f"site {r.network_id}"
        if r.network_id in seen:
            problems.append(Problem("the site is listed twice", where))
        seen.add(r.network_id)
        if r.role is SiteRole.SPOKE and not r.hubs:
            problems.append(Problem("a spoke needs at least one hub", where))
        if r.role is not SiteRole.SPOKE and r.hubs:
            problems.append(Problem(f"a {r.role.value} site cannot name hubs", where))
        for hub in r.hubs:
            if hub.network_id == r.network_id:
                problems.append(Problem("a spoke cannot use itself as its hub", where))
            elif hub.network_id not in hubs:
                problems.append(
                    Problem(f"hub {hub.network_id} is not a hub site of this request", where)
                )
        for subnet in r.subnets:
            try:
                ipaddress.ip_network(subnet.local_subnet, strict=True)
            except ValueError:
                problems.append(Problem(f"{subnet.local_subnet!r} is not a subnet", where))
    return problems


def desired_site_to_site(requests: Sequence[SiteRequest]) -> dict[str, dict[str, Any]]:
    """The PUT /networks/{id}/appliance/vpn/siteToSiteVpn body for every requested network."""
    desired: dict[str, dict[str, Any]] = {}
    for r in requests:
        body: dict[str, Any] = {
            "mode": r.role.value,
            "hubs": [
                {"hubId": h.network_id, "useDefaultRoute": h.use_default_route} for h in r.hubs
            ]
            if r.role is SiteRole.SPOKE
            else [],
        }
        if r.subnets:
            body["subnets"] = [
                {"localSubnet": s.local_subnet, "useVpn": s.use_vpn} for s in r.subnets
            ]
        desired[r.network_id] = body
    return desired


def apply_order(desired: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Hubs first, so a spoke's hubs already exist when it is set; stable otherwise."""
    rank = {"hub": 0, "none": 1, "spoke": 2}
    return sorted(desired, key=lambda nid: rank.get(str(desired[nid].get("mode")), 3))


def comparable(settings: Mapping[str, Any], *, with_subnets: bool = True) -> dict[str, Any]:
    """The part of a siteToSiteVpn body that netkeep sets, in a comparable form."""
    result: dict[str, Any] = {
        "mode": settings.get("mode", "none"),
        "hubs": [
            (str(h.get("hubId")), bool(h.get("useDefaultRoute", False)))
            for h in settings.get("hubs") or []
        ],
    }
    if with_subnets:
        result["subnets"] = sorted(
            (str(s.get("localSubnet")), bool(s.get("useVpn", False)))
            for s in settings.get("subnets") or []
        )
    return result


def needs_change(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether the dashboard's settings differ from the desired body in what it sets."""
    subnets = "subnets" in desired
    return comparable(current, with_subnets=subnets) != comparable(desired, with_subnets=subnets)
