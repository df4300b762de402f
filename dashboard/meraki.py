"""The organization-level adapter over the real `meraki` SDK: inventory and RMA swaps.

Implements `inventory.ports.InventoryDashboard` and `rma.ports.RmaDashboard`; errors become
DashboardError. It never logs or returns the API key.
"""

from __future__ import annotations

import time
from typing import Any

import meraki

from core.errors import DashboardError
from core.settings import Settings
from dashboard.errors import translated_errors
from dashboard.pacing import shared_limiter
from dashboard.session import build_sdk
from dashboard.transport import ANY_ORGANIZATION, Budget, RequestMeter
from inventory.ports import InventoryItem
from rma.ports import DashboardSwap


class MerakiDashboard:
    """Talks to the Meraki dashboard (or the local sandbox) through the official SDK."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        maximum_retries: int = 4,
        wait_on_rate_limit: bool = True,
        retry_wait: int = 1,
        limiter: Budget | None = None,
        patience_seconds: float | None = None,
    ) -> None:
        self.base_url = base_url
        self._api = build_sdk(
            api_key=api_key,
            base_url=base_url,
            maximum_retries=maximum_retries,
            patience_seconds=patience_seconds,
            wait_on_rate_limit=wait_on_rate_limit,
            nginx_429_retry_wait_time=retry_wait,
            action_batch_retry_wait_time=retry_wait,
        )
        # Smart flow stays off (build_sdk): its hidden look-ups use a route the specification
        # lacks; the meter paces every request under one budget for all organizations.
        self.meter = RequestMeter(ANY_ORGANIZATION, limiter)
        self.meter.attach(self._api)

    @classmethod
    def from_settings(cls, settings: Settings) -> MerakiDashboard:
        return cls(
            api_key=settings.meraki_api_key.get_secret_value(),
            base_url=settings.meraki_base_url,
            maximum_retries=settings.meraki_max_retries,
            patience_seconds=settings.dashboard_patience_seconds,
            limiter=shared_limiter(settings.provisioning_rate_per_org),
        )

    @property
    def sdk(self) -> Any:
        """The underlying SDK client, for adapters of later domains."""
        return self._api

    @translated_errors
    def list_inventory(self, organization_id: str) -> list[InventoryItem]:
        """Every device of the organization's inventory, all pages."""
        rows = self._api.organizations.getOrganizationInventoryDevices(
            organization_id, total_pages="all", perPage=1000
        )
        return [
            InventoryItem(
                serial=str(r["serial"]).upper(),
                model=str(r.get("model") or ""),
                mac=r.get("mac"),
                network_id=r.get("networkId"),
                name=r.get("name"),
                product_type=r.get("productType"),
            )
            for r in rows
        ]

    # --- RMA (rma.ports.RmaDashboard) -----------------------------------------------------------

    _SWAP_DEVICE_FIELDS = ("name", "tags", "address", "notes", "lat", "lng")
    _SWAP_WAN_FIELDS = frozenset(
        {
            "wanEnabled",
            "usingStaticIp",
            "staticIp",
            "staticSubnetMask",
            "staticGatewayIp",
            "staticDns",
            "vlan",
        }
    )
    use_bulk_swap: bool = True  # off where the organization lacks the bulk swap operation
    swap_poll_seconds: float = 0.5
    swap_poll_attempts: int = 40
    claim_settle_seconds: float = 300.0

    @translated_errors
    def swap_device(
        self, *, organization_id: str, network_id: str, old_serial: str, new_serial: str
    ) -> DashboardSwap:
        """Bulk swap where available, else claim + copy settings + remove; a retry is harmless."""
        old = self._inventory_device(organization_id, old_serial)
        new = self._inventory_device(organization_id, new_serial)
        new_in_network = new is not None and new.get("networkId") == network_id
        old_in_network = old is not None and old.get("networkId") == network_id
        if new_in_network and not old_in_network:
            return DashboardSwap(
                "already_done", None, self._verified_status(organization_id, network_id, new_serial)
            )
        if not old_in_network:
            raise DashboardError(
                f"{old_serial} is not in network {network_id} on the dashboard",
                operation="swap_device",
                serial=old_serial,
            )
        if new is None:
            self._api.organizations.claimIntoOrganizationInventory(
                organization_id, serials=[new_serial]
            )
        method, reference = "claim_copy_remove", None
        if self.use_bulk_swap and not new_in_network:
            try:
                reference = self._bulk_swap(organization_id, old_serial, new_serial)
                method = "bulk_swap"
            except meraki.APIError as exc:
                if exc.status not in (404, 405, 501):
                    raise
        if method == "claim_copy_remove":
            self.swap_by_claim(
                network_id=network_id,
                old_serial=old_serial,
                new_serial=new_serial,
                claim=not new_in_network,
            )
        status = self._verified_status(organization_id, network_id, new_serial)
        return DashboardSwap(method, reference, status)

    def _inventory_device(self, organization_id: str, serial: str) -> dict[str, Any] | None:
        try:
            item: dict[str, Any] = self._api.organizations.getOrganizationInventoryDevice(
                organization_id, serial
            )
        except meraki.APIError as exc:
            if exc.status == 404:
                return None
            raise
        return item

    def _bulk_swap(self, organization_id: str, old_serial: str, new_serial: str) -> str:
        """Submit the swap, then follow its status through the job's GET until it ends.

        The dashboard answers 207 ``{jobId, swaps: [{id, status, devices: {old, new},
        afterAction, createdAt, completedAt, errors}]}``; an answer in another shape is a
        DashboardError naming what was missing (the swap may have been submitted).
        """
        orgs = self._api.organizations
        answer = orgs.createOrganizationInventoryDevicesSwapsBulk(
            organization_id,
            swaps=[
                {
                    "devices": {"old": old_serial, "new": new_serial},
                    "afterAction": "remove from network",
                }
            ],
        )
        job_id, swap = swap_of(answer, old_serial)
        for _ in range(self.swap_poll_attempts):
            if swap["status"] in SWAP_DONE | SWAP_FAILED:
                break
            time.sleep(self.swap_poll_seconds)
            _, swap = swap_of(
                orgs.getOrganizationInventoryDevicesSwapsBulk(organization_id, job_id),
                old_serial,
                job_id,
            )
        if swap["status"] not in SWAP_DONE:
            errors = [str(e) for e in swap.get("errors") or []]
            raise DashboardError(
                f"dashboard swap {job_id} of {old_serial} → {new_serial} "
                f"ended {swap['status']}: {'; '.join(errors) or 'no detail'}",
                operation="createOrganizationInventoryDevicesSwapsBulk",
                errors=errors,
            )
        return job_id

    @translated_errors
    def swap_by_claim(
        self, *, network_id: str, old_serial: str, new_serial: str, claim: bool = True
    ) -> None:
        """The swap without the bulk operation: claim the new unit, copy settings, drop the old."""
        devices, wireless = self._api.devices, self._api.wireless
        old = devices.getDevice(old_serial)
        management = devices.getDeviceManagementInterface(old_serial)
        radio = None
        if str(old.get("productType") or "") == "wireless" or str(old.get("model", "")).startswith(
            "MR"
        ):
            radio = wireless.getDeviceWirelessRadioSettings(old_serial)
        if claim:
            self._api.networks.claimNetworkDevices(network_id, serials=[new_serial])
            self._until_answered(new_serial)
        fields = {k: old[k] for k in self._SWAP_DEVICE_FIELDS if old.get(k) is not None}
        if fields:
            devices.updateDevice(new_serial, **fields)
        wans = {
            name: wan_body(wan)
            for name, wan in (management or {}).items()
            if name in ("wan1", "wan2") and isinstance(wan, dict)
        }
        if wans:
            devices.updateDeviceManagementInterface(new_serial, **wans)
        if radio:
            body: dict[str, Any] = {}
            if radio.get("rfProfileId") is not None:
                body["rfProfileId"] = radio["rfProfileId"]
            for band in ("twoFourGhzSettings", "fiveGhzSettings"):
                values = {k: v for k, v in (radio.get(band) or {}).items() if v is not None}
                if values:
                    body[band] = values
            if body:
                wireless.updateDeviceWirelessRadioSettings(new_serial, **body)
        self._api.networks.removeNetworkDevices(network_id, serial=old_serial)

    def _until_answered(self, serial: str) -> None:
        """Wait while a device claimed moments ago still answers 404 (the specification: "it
        may take a few minutes for API requests against that device to succeed")."""
        deadline = time.monotonic() + self.claim_settle_seconds
        delay = self.swap_poll_seconds
        while True:
            try:
                self._api.devices.getDevice(serial)
                return
            except meraki.APIError as exc:
                if exc.status != 404 or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def _verified_status(self, organization_id: str, network_id: str, serial: str) -> str:
        """The replacement's status, after checking the dashboard lists it in the network."""
        rows = self._api.organizations.getOrganizationDevicesStatuses(
            organization_id, serials=[serial], total_pages=1
        )
        for row in rows:
            if row.get("serial") == serial and row.get("networkId") == network_id:
                return str(row.get("status") or "unknown")
        raise DashboardError(
            f"{serial} does not appear in network {network_id} after the swap",
            operation="getOrganizationDevicesStatuses",
            serial=serial,
        )


STATIC_WAN_FIELDS = ("staticIp", "staticSubnetMask", "staticGatewayIp", "staticDns")


def wan_body(wan: dict[str, Any]) -> dict[str, Any]:
    """A WAN as updateDeviceManagementInterface takes it: no nulls, the static fields only when
    the uplink is static (the specification types them strings and an array, never null)."""
    body = {k: v for k, v in wan.items() if k in MerakiDashboard._SWAP_WAN_FIELDS}
    if not body.get("usingStaticIp"):
        body = {k: v for k, v in body.items() if k not in STATIC_WAN_FIELDS}
    return {k: v for k, v in body.items() if v is not None}


SWAP_DONE = frozenset({"complete", "completed", "success", "succeeded"})
SWAP_FAILED = frozenset({"failed", "error", "canceled", "cancelled"})


def swap_of(answer: Any, old_serial: str, job_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """The job id and the swap of `old_serial` in a bulk swap answer, or DashboardError."""
    operation = "createOrganizationInventoryDevicesSwapsBulk"
    swaps = answer.get("swaps") if isinstance(answer, dict) else None
    job = answer.get("jobId", job_id) if isinstance(answer, dict) else None
    if not isinstance(job, str | int) or not isinstance(swaps, list):
        raise DashboardError(
            f"dashboard answered the swap of {old_serial} without 'jobId' and 'swaps' "
            f"(got {type(answer).__name__} {sorted(answer) if isinstance(answer, dict) else ''})",
            operation=operation,
            serial=old_serial,
        )
    for swap in swaps:
        old = (swap.get("devices") or {}).get("old") if isinstance(swap, dict) else None
        serial = old.get("serial") if isinstance(old, dict) else old
        if serial == old_serial and isinstance(swap.get("status"), str):
            return str(job), swap
    raise DashboardError(
        f"dashboard swap job {job} does not list a swap of {old_serial} with a status",
        operation=operation,
        serial=old_serial,
    )
