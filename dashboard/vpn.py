"""The VPN adapter: VPN status, uplink and auth-user calls through the meraki SDK.

Site-to-site settings are written by the provisioning engine (`dashboard.provisioning`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.errors import translated_errors
from dashboard.meraki import MerakiDashboard
from vpn.domain import PeerObservation, Uplink, UplinkStatus, VpnSiteStatus
from vpn.ports import AuthUser

CLIENT_VPN = "Client VPN"


def _uplink_status(row: dict[str, Any]) -> UplinkStatus:
    return UplinkStatus(
        network_id=str(row.get("networkId")),
        serial=row.get("serial"),
        uplinks=tuple(
            Uplink(
                interface=str(u.get("interface") or ""),
                status=str(u.get("status") or "unknown"),
                ip=u.get("ip"),
                public_ip=u.get("publicIp"),
            )
            for u in row.get("uplinks") or []
        ),
    )


def _vpn_status(row: dict[str, Any]) -> VpnSiteStatus:
    uplinks = row.get("uplinks") or []
    return VpnSiteStatus(
        network_id=str(row.get("networkId")),
        name=str(row.get("networkName") or row.get("networkId")),
        serial=row.get("deviceSerial"),
        device_status=str(row.get("deviceStatus") or "unknown"),
        mode=str(row.get("vpnMode") or ""),
        public_ip=next((u.get("publicIp") for u in uplinks if u.get("publicIp")), None),
        peers=tuple(
            PeerObservation(
                network_id=str(p.get("networkId")),
                name=str(p.get("networkName") or p.get("networkId")),
                reachable=str(p.get("reachability") or "").lower() == "reachable",
            )
            for p in row.get("merakiVpnPeers") or []
        ),
    )


def _user(row: dict[str, Any]) -> AuthUser:
    return AuthUser(
        id=str(row["id"]), email=str(row.get("email") or ""), name=row.get("name") or ""
    )


class MerakiVpnDashboard:
    """Wraps a MerakiDashboard's SDK client; meraki.APIError becomes DashboardError."""

    def __init__(self, dashboard: MerakiDashboard, *, per_page: int = 300) -> None:
        self._sdk = dashboard.sdk
        self.per_page = per_page

    @translated_errors
    def uplink_statuses(
        self, organization_id: str, network_ids: Sequence[str] | None = None
    ) -> list[UplinkStatus]:
        extra: dict[str, Any] = {"networkIds": list(network_ids)} if network_ids else {}
        rows = self._sdk.organizations.getOrganizationUplinksStatuses(
            organization_id, total_pages="all", perPage=self.per_page, **extra
        )
        return [_uplink_status(r) for r in rows]

    @translated_errors
    def vpn_statuses(self, organization_id: str) -> list[VpnSiteStatus]:
        rows = self._sdk.appliance.getOrganizationApplianceVpnStatuses(
            organization_id, total_pages="all", perPage=self.per_page
        )
        return [_vpn_status(r) for r in rows]

    @translated_errors
    def client_vpn_users(self, network_id: str) -> list[AuthUser]:
        rows = self._sdk.networks.getNetworkMerakiAuthUsers(network_id)
        return [_user(r) for r in rows if r.get("accountType") == CLIENT_VPN]

    @translated_errors
    def create_client_vpn_user(
        self, network_id: str, *, email: str, name: str, password: str
    ) -> AuthUser:
        row = self._sdk.networks.createNetworkMerakiAuthUser(
            network_id,
            email,
            [{"expiresAt": "Never"}],
            name=name,
            password=password,
            accountType=CLIENT_VPN,
            emailPasswordToUser=False,
        )
        return _user(row)

    @translated_errors
    def update_client_vpn_user(
        self, network_id: str, user_id: str, *, name: str, password: str | None
    ) -> AuthUser:
        fields: dict[str, Any] = {"name": name}
        if password is not None:
            fields["password"] = password
        row = self._sdk.networks.updateNetworkMerakiAuthUser(network_id, user_id, **fields)
        return _user(row)

    @translated_errors
    def delete_client_vpn_user(self, network_id: str, user_id: str) -> None:
        self._sdk.networks.deleteNetworkMerakiAuthUser(network_id, user_id)
