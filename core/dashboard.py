"""The Meraki dashboard adapter: the real `meraki` SDK, errors turned into DashboardError.

Each domain owns the Protocol it needs (e.g. `inventory.ports.InventoryDashboard`); this class
implements them all. It never logs or returns the API key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import httpx
import meraki

from core.errors import DashboardError
from core.settings import Settings
from rma.ports import DashboardSwap

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """A device in the organization's inventory, as the dashboard reports it."""

    serial: str
    model: str
    mac: str | None
    network_id: str | None
    name: str | None
    product_type: str | None


def translated_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn meraki and transport errors into DashboardError so callers never see SDK exceptions."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except meraki.APIError as exc:
            transport = _transport_failure(exc)
            if transport is not None:  # the SDK reports a refused connection as "503 None"
                raise DashboardError(
                    f"dashboard unreachable at {_base_url_of(args)}: {transport} ({exc.operation})",
                    operation=exc.operation,
                ) from None
            raise DashboardError(
                f"dashboard refused {exc.operation}: {exc.status} {exc.reason}",
                operation=exc.operation,
                status=exc.status,
                errors=exc.message,
            ) from None
        except (httpx.HTTPError, OSError) as exc:
            raise DashboardError(
                f"dashboard unreachable at {_base_url_of(args)}: {type(exc).__name__}",
                operation=func.__name__,
            ) from None

    return wrapper


def _transport_failure(exc: meraki.APIError) -> str | None:
    """The connection error the SDK wrapped as an API error, if that is what it is."""
    body = exc.message
    if exc.reason is None and isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


def _base_url_of(args: tuple[object, ...]) -> str:
    """The dashboard URL an adapter method talks to (its own, or its SDK session's)."""
    adapter = args[0] if args else None
    url = getattr(adapter, "base_url", None)
    for name in ("_api", "_sdk"):
        session = getattr(getattr(adapter, name, None), "_session", None)
        url = url or getattr(session, "_base_url", None)
    return str(url or "the configured NETKEEP_MERAKI_BASE_URL")


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
        smart_flow_cache_path: str | None = None,
    ) -> None:
        self.base_url = base_url
        self._api = meraki.DashboardAPI(
            api_key,
            base_url=base_url,
            suppress_logging=True,
            output_log=False,
            print_console=False,
            maximum_retries=maximum_retries,
            wait_on_rate_limit=wait_on_rate_limit,
            nginx_429_retry_wait_time=retry_wait,
            action_batch_retry_wait_time=retry_wait,
            caller="netkeep/0.1 netkeep",
            **({"smart_flow_cache_path": smart_flow_cache_path} if smart_flow_cache_path else {}),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> MerakiDashboard:
        return cls(
            api_key=settings.meraki_api_key.get_secret_value(),
            base_url=settings.meraki_base_url,
            maximum_retries=settings.meraki_max_retries,
            smart_flow_cache_path=str(settings.var_dir / "meraki-smart-flow-cache.json"),
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
        orgs = self._api.organizations
        request = orgs.createOrganizationInventoryDevicesSwapsBulk(
            organization_id,
            swaps=[
                {
                    "devices": {"old": old_serial, "new": new_serial},
                    "afterAction": "remove from network",
                }
            ],
        )
        swap_id = str(request["id"])
        for _ in range(self.swap_poll_attempts):
            if request.get("status") in ("complete", "failed"):
                break
            time.sleep(self.swap_poll_seconds)
            request = orgs.getOrganizationInventoryDevicesSwapsBulk(organization_id, swap_id)
        if request.get("status") != "complete":
            errors = [e for s in request.get("swaps") or [] for e in s.get("errors") or []]
            raise DashboardError(
                f"dashboard swap {swap_id} of {old_serial} → {new_serial} "
                f"ended {request.get('status')}: {'; '.join(errors) or 'no detail'}",
                operation="createOrganizationInventoryDevicesSwapsBulk",
                errors=errors,
            )
        return swap_id

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
        fields = {k: old[k] for k in self._SWAP_DEVICE_FIELDS if old.get(k) is not None}
        if fields:
            devices.updateDevice(new_serial, **fields)
        wans = {
            name: {k: v for k, v in wan.items() if k in self._SWAP_WAN_FIELDS}
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
