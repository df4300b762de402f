"""The provisioning port over the real `meraki` SDK, paced by netkeep's own per-org limiter.

The SDK's smart-flow limiter is switched off: it paces per org too, but before it knows a
network's organization it makes hidden GETs (the network, then the org's networks and inventory),
which cost calls and rate budget; netkeep already knows the organization. Every HTTP request,
SDK retries included, passes the shared token bucket through an httpx request hook.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import meraki

from core.dashboard import translated_errors
from core.settings import Settings
from provisioning.ports import CallStats
from provisioning.ratelimit import OrgRateLimiter, shared_limiter

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


def build_sdk(*, api_key: str, base_url: str, maximum_retries: int = 10, **options: Any) -> Any:
    """A quiet `meraki.DashboardAPI` without smart flow, retrying 429s (Retry-After) and 5xx."""
    kwargs: dict[str, Any] = {
        "base_url": base_url,
        "suppress_logging": True,
        "output_log": False,
        "print_console": False,
        "maximum_retries": maximum_retries,
        "wait_on_rate_limit": True,
        "nginx_429_retry_wait_time": 1,
        "action_batch_retry_wait_time": 1,
        "smart_flow_enabled": False,
        "caller": "netkeep/0.1 netkeep",
    }
    kwargs.update(options)
    return meraki.DashboardAPI(api_key, **kwargs)


class MerakiProvisioning:
    """Provisioning reads and writes of one organization through the SDK."""

    def __init__(
        self, sdk: Any, *, organization_id: str, limiter: OrgRateLimiter | None = None
    ) -> None:
        self._api = sdk
        self.organization_id = organization_id
        self.limiter = limiter
        self.stats = CallStats()
        self._lock = threading.Lock()
        client: httpx.Client = sdk._session._client
        hooks = dict(client.event_hooks)
        hooks["request"] = [*hooks.get("request", []), self._before_request]
        hooks["response"] = [*hooks.get("response", []), self._after_response]
        client.event_hooks = hooks

    @classmethod
    def from_settings(
        cls, settings: Settings, *, organization_id: str | None = None
    ) -> MerakiProvisioning:
        """The adapter for the configured dashboard, paced by this process's shared limiter."""
        sdk = build_sdk(
            api_key=settings.meraki_api_key.get_secret_value(),
            base_url=settings.meraki_base_url,
            maximum_retries=settings.provisioning_max_retries,
        )
        return cls(
            sdk,
            organization_id=organization_id or settings.meraki_org_id,
            limiter=shared_limiter(settings.provisioning_rate_per_org),
        )

    def _before_request(self, request: httpx.Request) -> None:
        if self.limiter is not None:
            self.limiter.acquire(self.organization_id)
        with self._lock:
            self.stats.calls += 1

    def _after_response(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            with self._lock:
                self.stats.rate_limited += 1
            if self.limiter is not None:
                try:
                    wait = float(response.headers.get("Retry-After", "1"))
                except ValueError:
                    wait = 1.0
                self.limiter.pause(self.organization_id, wait)
        elif status >= 500:
            with self._lock:
                self.stats.server_errors += 1

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
