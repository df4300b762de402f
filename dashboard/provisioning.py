"""The provisioning port (`provisioning.ports.ProvisioningDashboard`) over the real SDK.

Every HTTP request, SDK retries included, passes the organization's `RequestMeter` (pacing
under the process's shared limiter, request accounting).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import meraki

from core.errors import Problem, ValidationFailed
from core.settings import Settings, managed_organizations
from dashboard.budgets import budget_from_settings
from dashboard.errors import translated_errors
from dashboard.session import build_sdk
from dashboard.transport import Budget, CallStats, RequestMeter

_GETTERS = {
    "device": ("networks", "getNetworkDevices"),
    "vlan": ("appliance", "getNetworkApplianceVlans"),
    "l3FirewallRules": ("appliance", "getNetworkApplianceFirewallL3FirewallRules"),
    "l7FirewallRules": ("appliance", "getNetworkApplianceFirewallL7FirewallRules"),
    "portForwardingRules": ("appliance", "getNetworkApplianceFirewallPortForwardingRules"),
    "oneToOneNatRules": ("appliance", "getNetworkApplianceFirewallOneToOneNatRules"),
    "contentFiltering": ("appliance", "getNetworkApplianceContentFiltering"),
    "security/intrusion": ("appliance", "getNetworkApplianceSecurityIntrusion"),
    "security/malware": ("appliance", "getNetworkApplianceSecurityMalware"),
    "vpn/siteToSiteVpn": ("appliance", "getNetworkApplianceVpnSiteToSiteVpn"),
    "ssid": ("wireless", "getNetworkWirelessSsids"),
    "rfProfile": ("wireless", "getNetworkWirelessRfProfiles"),
}
NETWORK_IDS_PER_QUERY = 100
"""Network ids per organization device query (keeps the query string short)."""
_SETTERS = {
    "l3FirewallRules": "updateNetworkApplianceFirewallL3FirewallRules",
    "portForwardingRules": "updateNetworkApplianceFirewallPortForwardingRules",
    "oneToOneNatRules": "updateNetworkApplianceFirewallOneToOneNatRules",
    "contentFiltering": "updateNetworkApplianceContentFiltering",
    "security/intrusion": "updateNetworkApplianceSecurityIntrusion",
    "security/malware": "updateNetworkApplianceSecurityMalware",
}


class MerakiProvisioning:
    """Provisioning reads and writes of one organization through the SDK."""

    def __init__(self, sdk: Any, *, organization_id: str, limiter: Budget | None = None) -> None:
        self._api = sdk
        self.organization_id = organization_id
        self.meter = RequestMeter(organization_id, limiter)
        self.meter.attach(sdk)

    @property
    def stats(self) -> CallStats:
        return self.meter.stats

    @property
    def limiter(self) -> Budget | None:
        return self.meter.limiter

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        organization_id: str | None = None,
        limiter: Budget | None = None,
    ) -> MerakiProvisioning:
        """The adapter for the configured dashboard, paced by the organization's shared budget."""
        sdk = build_sdk(
            api_key=settings.meraki_api_key.get_secret_value(),
            base_url=settings.meraki_base_url,
            maximum_retries=settings.provisioning_max_retries,
            patience_seconds=settings.dashboard_patience_seconds,
        )
        return cls(
            sdk,
            organization_id=organization_id or settings.meraki_org_id,
            limiter=limiter or budget_from_settings(settings),
        )

    @translated_errors
    def list_networks(self) -> list[dict[str, Any]]:
        rows = self._api.organizations.getOrganizationNetworks(
            self.organization_id, total_pages="all", perPage=1000
        )
        return [dict(row) for row in rows]

    def find_network(self, name: str) -> dict[str, Any] | None:
        return next((row for row in self.list_networks() if row.get("name") == name), None)

    @translated_errors
    def get_network(self, network_id: str) -> dict[str, Any]:
        return dict(self._api.networks.getNetwork(network_id))

    def _org_rows(self, list_call: Any, network_ids: list[str]) -> list[dict[str, Any]]:
        """An organization-wide paged list filtered by network, NETWORK_IDS_PER_QUERY at a time."""
        ids = sorted(set(network_ids))
        found: list[dict[str, Any]] = []
        for i in range(0, len(ids), NETWORK_IDS_PER_QUERY):
            rows = list_call(
                self.organization_id,
                total_pages="all",
                perPage=1000,
                networkIds=ids[i : i + NETWORK_IDS_PER_QUERY],
            )
            found.extend(dict(row) for row in rows)
        return found

    @translated_errors
    def list_devices(self, network_ids: list[str]) -> list[dict[str, Any]]:
        return self._org_rows(self._api.organizations.getOrganizationDevices, network_ids)

    @translated_errors
    def read_rf_assignments(self, network_ids: list[str]) -> list[dict[str, Any]]:
        return self._org_rows(
            self._api.wireless.getOrganizationWirelessRfProfilesAssignmentsByDevice, network_ids
        )

    @translated_errors
    def read_collection(self, network_id: str, kind: str) -> Any:
        area, name = _GETTERS[kind]
        try:
            return getattr(getattr(self._api, area), name)(network_id)
        except meraki.APIError as exc:
            if kind == "vlan" and exc.status == 400:
                return None  # VLANs are not enabled on this network
            raise

    @translated_errors
    def read_management_interface(self, serial: str) -> dict[str, Any]:
        return dict(self._api.devices.getDeviceManagementInterface(serial))

    @translated_errors
    def create_network(self, body: dict[str, Any]) -> dict[str, Any]:
        fields = dict(body)
        created = self._api.organizations.createOrganizationNetwork(
            self.organization_id, fields.pop("name"), fields.pop("productTypes"), **fields
        )
        return dict(created)

    @translated_errors
    def send_direct(self, kind: str, network_id: str, body: dict[str, Any]) -> Any:
        return getattr(self._api.appliance, _SETTERS[kind])(network_id, **body)

    @translated_errors
    def submit_batch(self, actions: list[dict[str, Any]], *, synchronous: bool) -> dict[str, Any]:
        return dict(
            self._api.organizations.createOrganizationActionBatch(
                self.organization_id, actions, confirmed=True, synchronous=synchronous
            )
        )

    @translated_errors
    def get_batch(self, batch_id: str) -> dict[str, Any]:
        return dict(
            self._api.organizations.getOrganizationActionBatch(self.organization_id, batch_id)
        )

    @translated_errors
    def list_batches(self) -> list[dict[str, Any]]:
        return list(self._api.organizations.getOrganizationActionBatches(self.organization_id))


def dashboards_for(
    settings: Settings, organization_ids: Iterable[str], *, limiter: Budget | None = None
) -> dict[str, MerakiProvisioning]:
    """One adapter per organization (its own SDK session and meter), all paced by one budget.

    An organization netkeep does not manage (`managed_organizations`) is refused before any
    adapter is built: sheets are checked at validation, this guards every other way in.
    """
    wanted = list(dict.fromkeys(organization_ids))
    managed = managed_organizations(settings)
    if strangers := [org for org in wanted if org not in managed]:
        raise ValidationFailed(
            [
                Problem(f"organization {org} is not one netkeep manages", "site.organizationId")
                for org in strangers
            ],
            f"organization(s) {', '.join(strangers)} are not managed by netkeep "
            f"({', '.join(managed)}); nothing was sent",
        )
    shared = limiter or budget_from_settings(settings)
    return {
        org: MerakiProvisioning.from_settings(settings, organization_id=org, limiter=shared)
        for org in wanted
    }
