"""Pure VPN status-report rules: snapshot comparison, since-when, WAN IP changes and events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vpn.domain import UplinkStatus


class EventKind(StrEnum):
    PEER_DOWN = "peer_down"
    PEER_UP = "peer_up"
    WAN_IP_CHANGED = "wan_ip_changed"


@dataclass(frozen=True, slots=True)
class PeerObservation:
    network_id: str
    name: str
    reachable: bool


@dataclass(frozen=True, slots=True)
class VpnSiteStatus:
    """One network's Auto VPN status row from the organization's VPN statuses."""

    network_id: str
    name: str
    serial: str | None
    device_status: str
    mode: str
    public_ip: str | None
    peers: tuple[PeerObservation, ...]


@dataclass(frozen=True, slots=True)
class PeerReport:
    network_id: str
    name: str
    reachable: bool
    since: datetime
    first_seen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "name": self.name,
            "reachable": self.reachable,
            "since": self.since.isoformat(),
            "first_seen": self.first_seen,
        }


@dataclass(frozen=True, slots=True)
class SiteReport:
    """A site in a report snapshot: its WAN IP (and whether it changed) and its peers."""

    network_id: str
    name: str
    customer: str | None
    serial: str | None
    device_status: str
    mode: str
    public_ip: str | None
    known_public_ip: str | None
    previous_public_ip: str | None
    wan_ip_changed: bool
    peers: tuple[PeerReport, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "name": self.name,
            "customer": self.customer,
            "serial": self.serial,
            "device_status": self.device_status,
            "mode": self.mode,
            "public_ip": self.public_ip,
            "known_public_ip": self.known_public_ip,
            "previous_public_ip": self.previous_public_ip,
            "wan_ip_changed": self.wan_ip_changed,
            "peers": [p.to_dict() for p in self.peers],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteReport:
        return cls(
            network_id=str(data["network_id"]),
            name=str(data.get("name") or ""),
            customer=data.get("customer"),
            serial=data.get("serial"),
            device_status=str(data.get("device_status") or ""),
            mode=str(data.get("mode") or ""),
            public_ip=data.get("public_ip"),
            known_public_ip=data.get("known_public_ip"),
            previous_public_ip=data.get("previous_public_ip"),
            wan_ip_changed=bool(data.get("wan_ip_changed")),
            peers=tuple(
                PeerReport(
                    network_id=str(p["network_id"]),
                    name=str(p.get("name") or ""),
                    reachable=bool(p["reachable"]),
                    since=datetime.fromisoformat(str(p["since"])),
                    first_seen=bool(p.get("first_seen")),
                )
                for p in data.get("peers") or []
            ),
        )


@dataclass(frozen=True, slots=True)
class VpnChange:
    """Something that changed since the previous snapshot, for monitoring to pick up."""

    kind: EventKind
    network_id: str
    site_name: str
    at: datetime
    peer_network_id: str | None = None
    peer_name: str | None = None
    detail: str = ""


def compare_snapshot(
    statuses: Iterable[VpnSiteStatus],
    uplinks: Mapping[str, UplinkStatus],
    previous: Mapping[str, SiteReport],
    customers: Mapping[str, str],
    now: datetime,
) -> tuple[list[SiteReport], list[VpnChange]]:
    """Sites with each peer's state and since when, WAN IP changes flagged, and the changes."""
    sites: list[SiteReport] = []
    changes: list[VpnChange] = []
    for status in sorted(statuses, key=lambda s: s.network_id):
        before = previous.get(status.network_id)
        up = uplinks.get(status.network_id)
        observed = (up.public_ip() if up else None) or status.public_ip
        last_known = before.known_public_ip if before else None
        changed = bool(observed and last_known and observed != last_known)
        if changed:
            changes.append(
                VpnChange(
                    EventKind.WAN_IP_CHANGED,
                    status.network_id,
                    status.name,
                    now,
                    detail=f"{last_known} -> {observed}",
                )
            )
        old_peers = {p.network_id: p for p in before.peers} if before else {}
        peers = []
        for peer in sorted(status.peers, key=lambda p: p.network_id):
            old = old_peers.get(peer.network_id)
            if old is not None and old.reachable == peer.reachable:
                peers.append(PeerReport(peer.network_id, peer.name, peer.reachable, old.since))
                continue
            peers.append(
                PeerReport(peer.network_id, peer.name, peer.reachable, now, first_seen=old is None)
            )
            if old is None and peer.reachable:
                continue
            changes.append(
                VpnChange(
                    EventKind.PEER_UP if peer.reachable else EventKind.PEER_DOWN,
                    status.network_id,
                    status.name,
                    now,
                    peer_network_id=peer.network_id,
                    peer_name=peer.name,
                    detail="first seen unreachable" if old is None else "",
                )
            )
        sites.append(
            SiteReport(
                network_id=status.network_id,
                name=status.name,
                customer=customers.get(status.network_id),
                serial=status.serial,
                device_status=status.device_status,
                mode=status.mode,
                public_ip=observed,
                known_public_ip=observed or last_known,
                previous_public_ip=last_known if changed else None,
                wan_ip_changed=changed,
                peers=tuple(peers),
            )
        )
    return sites, changes
