"""What the VPN service needs from the Meraki dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from vpn.domain import UplinkStatus, VpnSiteStatus


@dataclass(frozen=True, slots=True)
class AuthUser:
    """A client-VPN user as the dashboard lists it (passwords are never read back)."""

    id: str
    email: str
    name: str


class VpnDashboard(Protocol):
    """Implemented by dashboard.vpn.MerakiVpnDashboard."""

    def uplink_statuses(
        self, organization_id: str, network_ids: Sequence[str] | None = None
    ) -> list[UplinkStatus]:
        """Appliance uplinks per network, all pages."""
        ...

    def vpn_statuses(self, organization_id: str) -> list[VpnSiteStatus]:
        """Auto VPN status of every network in site-to-site VPN, all pages."""
        ...

    def client_vpn_users(self, network_id: str) -> list[AuthUser]:
        """Meraki auth users of account type Client VPN."""
        ...

    def create_client_vpn_user(
        self, network_id: str, *, email: str, name: str, password: str
    ) -> AuthUser:
        """Authorize a client-VPN user."""
        ...

    def update_client_vpn_user(
        self, network_id: str, user_id: str, *, name: str, password: str | None
    ) -> AuthUser:
        """Change a client-VPN user's name (and password when given)."""
        ...

    def delete_client_vpn_user(self, network_id: str, user_id: str) -> None:
        """Deauthorize a client-VPN user."""
        ...
