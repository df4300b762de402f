"""Device endpoints: attributes, management interface, radio settings, and bulk swaps."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from sandbox import defaults
from sandbox.access import (
    attach_device,
    detach_device,
    device_in_network_or_404,
    merge,
    org_or_404,
)
from sandbox.router import ApiError, Call, Reply, Router, bad_request, not_found
from sandbox.state import Record, SandboxState

router = Router()

DEVICE_KEYS = (
    "name",
    "lat",
    "lng",
    "serial",
    "mac",
    "model",
    "address",
    "notes",
    "lanIp",
    "tags",
    "networkId",
    "firmware",
    "productType",
)


def device_view(dev: Record) -> Record:
    """A device as GET /devices/{serial} shows it."""
    view = {k: dev[k] for k in DEVICE_KEYS}
    view["floorPlanId"] = None
    view["details"] = []
    view["url"] = f"https://n1.meraki.com/{dev['networkId']}/manage/nodes/new_list/{dev['mac']}"
    return view


@router.add("GET", "/devices/{serial}")
def get_device(st: SandboxState, call: Call) -> Reply:
    """One device in a network."""
    return Reply(device_view(device_in_network_or_404(st, call.params["serial"])))


@router.add("PUT", "/devices/{serial}")
def update_device(st: SandboxState, call: Call) -> Reply:
    """Update name, tags, address, notes, lat/lng."""
    dev = device_in_network_or_404(st, call.params["serial"])
    body = call.obj()
    if "tags" in body and not (
        isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])
    ):
        raise bad_request("'tags' must be an array of strings")
    if "notes" in body and len(str(body["notes"] or "")) > 255:
        raise bad_request("'notes' must be at most 255 characters")
    for coord, limit in (("lat", 90), ("lng", 180)):
        if coord in body:
            value = body[coord]
            if not isinstance(value, int | float) or not -limit <= value <= limit:
                raise bad_request(f"'{coord}' must be a number between -{limit} and {limit}")
    merge(dev, body, frozenset({"name", "tags", "address", "notes", "lat", "lng"}))
    return Reply(device_view(dev))


# --- management interface -----------------------------------------------------------------------

STATIC_FIELDS = ("staticIp", "staticSubnetMask", "staticGatewayIp")
WAN_KEYS = frozenset(
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


def _validate_wan(name: str, wan: Record) -> None:
    if wan.get("wanEnabled", "enabled") not in ("enabled", "disabled", "not configured"):
        raise bad_request(f"'{name}.wanEnabled' must be enabled, disabled or not configured")
    if not wan.get("usingStaticIp"):
        return
    missing = [f for f in STATIC_FIELDS if not wan.get(f)]
    if missing:
        raise bad_request(
            *(f"'{name}.{f}' is required when usingStaticIp is true" for f in missing)
        )
    try:
        for f in STATIC_FIELDS:
            ipaddress.IPv4Address(wan[f])
        for dns in wan.get("staticDns") or []:
            ipaddress.IPv4Address(dns)
    except ValueError as exc:
        raise bad_request(f"'{name}' has an invalid IPv4 address: {exc}") from exc
    net = ipaddress.IPv4Network(f"{wan['staticIp']}/{wan['staticSubnetMask']}", strict=False)
    if ipaddress.IPv4Address(wan["staticGatewayIp"]) not in net:
        raise bad_request(f"'{name}.staticGatewayIp' is not in the subnet of staticIp")


@router.add("GET", "/devices/{serial}/managementInterface")
def get_management_interface(st: SandboxState, call: Call) -> Reply:
    """WAN / management addressing."""
    return Reply(device_in_network_or_404(st, call.params["serial"])["managementInterface"])


@router.add("PUT", "/devices/{serial}/managementInterface")
def update_management_interface(st: SandboxState, call: Call) -> Reply:
    """Set DHCP or static WAN settings (wan2 only on appliances)."""
    dev = device_in_network_or_404(st, call.params["serial"])
    body = call.obj()
    current = copy.deepcopy(dev["managementInterface"])
    for name in ("wan1", "wan2"):
        if name not in body:
            continue
        if name not in current:
            raise bad_request(f"'{name}' is not supported on {dev['model']}")
        changes = body[name]
        if not isinstance(changes, dict):
            raise bad_request(f"'{name}' must be an object")
        wan = current[name]
        merge(wan, changes, WAN_KEYS)
        if not wan.get("usingStaticIp"):
            for f in (*STATIC_FIELDS, "staticDns"):
                wan.pop(f, None)
        _validate_wan(name, wan)
    dev["managementInterface"] = current
    return Reply(current)


# --- wireless radio -----------------------------------------------------------------------------


def _radio_device(st: SandboxState, serial: str) -> Record:
    dev = device_in_network_or_404(st, serial)
    if dev["productType"] != defaults.ProductType.WIRELESS:
        raise bad_request(f"Device {serial} ({dev['model']}) is not a wireless device")
    return dev


@router.add("GET", "/devices/{serial}/wireless/radio/settings")
def get_radio_settings(st: SandboxState, call: Call) -> Reply:
    """Radio overrides of an AP."""
    return Reply(_radio_device(st, call.params["serial"])["radioSettings"])


@router.add("PUT", "/devices/{serial}/wireless/radio/settings")
def update_radio_settings(st: SandboxState, call: Call) -> Reply:
    """Set an RF profile or manual channel/power overrides."""
    dev = _radio_device(st, call.params["serial"])
    body = call.obj()
    radio = copy.deepcopy(dev["radioSettings"])
    if "rfProfileId" in body:
        profile_id = body["rfProfileId"]
        profiles = st.network_settings[dev["networkId"]]["rfProfiles"]
        if profile_id is not None and str(profile_id) not in profiles:
            raise bad_request(
                f"RF profile {profile_id} does not exist in network {dev['networkId']}"
            )
        radio["rfProfileId"] = None if profile_id is None else str(profile_id)
        radio["twoFourGhzSettings"] = {"channel": None, "targetPower": None}
        radio["fiveGhzSettings"] = {"channel": None, "channelWidth": None, "targetPower": None}
    for band, channels in (
        ("twoFourGhzSettings", range(1, 15)),
        ("fiveGhzSettings", range(36, 178)),
    ):
        changes = body.get(band)
        if changes is None:
            continue
        if not isinstance(changes, dict):
            raise bad_request(f"'{band}' must be an object")
        channel = changes.get("channel")
        if channel is not None and channel not in channels:
            raise bad_request(f"'{band}.channel' {channel} is not a valid channel")
        merge(radio[band], changes, frozenset({"channel", "channelWidth", "targetPower"}))
    dev["radioSettings"] = radio
    return Reply(radio)


# --- bulk swaps ---------------------------------------------------------------------------------

SWAPPED_SETTINGS = ("name", "tags", "address", "notes", "lat", "lng")
AFTER_ACTIONS = ("release from organization inventory", "remove from network")


def _swap_one(st: SandboxState, org_id: str, swap: dict[str, Any]) -> list[str]:
    devices = swap.get("devices") or {}
    old_serial, new_serial = devices.get("old"), devices.get("new")
    old, new = st.devices.get(str(old_serial)), st.devices.get(str(new_serial))
    if old is None or old["organizationId"] != org_id:
        return [f"Device {old_serial} is not in this organization's inventory"]
    if new is None or new["organizationId"] != org_id:
        return [f"Device {new_serial} is not in this organization's inventory"]
    if old["networkId"] is None:
        return [f"Device {old_serial} is not in a network"]
    if new["networkId"] is not None:
        return [f"Device {new_serial} is already in network {new['networkId']}"]
    if old["productType"] != new["productType"]:
        return [
            f"Device {new_serial} ({new['model']}) cannot replace {old_serial} "
            f"({old['model']}): different product types"
        ]
    net_id = old["networkId"]
    for key in SWAPPED_SETTINGS:
        new[key] = copy.deepcopy(old[key])
    if set(old["managementInterface"]) == set(new["managementInterface"]):
        new["managementInterface"] = copy.deepcopy(old["managementInterface"])
    if old["radioSettings"] is not None:
        new["radioSettings"] = {**copy.deepcopy(old["radioSettings"]), "serial": new["serial"]}
    detach_device(st, old)
    attach_device(st, new, net_id)
    if swap.get("afterAction") == "release from organization inventory":
        st.warehouse[old["serial"]] = {"model": old["model"], "mac": old["mac"]}
        del st.devices[old["serial"]]
    return []


def _swap_device(st: SandboxState, serial: Any) -> Record:
    dev = st.devices.get(str(serial)) or st.warehouse.get(str(serial)) or {}
    return {
        "serial": str(serial),
        "mac": dev.get("mac"),
        "name": dev.get("name"),
        "model": dev.get("model"),
    }


@router.add("POST", "/organizations/{organizationId}/inventory/devices/swaps/bulk")
def create_swaps(st: SandboxState, call: Call) -> Reply:
    """Swap old → new serials: 207 with the job's swaps still pending, as the dashboard answers;
    their outcome (complete or failed, with errors) is read back with the GET of the job."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    swaps = call.obj().get("swaps")
    if not isinstance(swaps, list) or not swaps:
        raise bad_request("'swaps' must be a non-empty array")
    for swap in swaps:
        if not isinstance(swap, dict) or not isinstance(swap.get("devices"), dict):
            raise bad_request("each swap needs 'devices': {'old': ..., 'new': ...}")
        if swap.get("afterAction") not in AFTER_ACTIONS:
            raise bad_request(f"'afterAction' must be one of: {', '.join(AFTER_ACTIONS)}")
    now = defaults.iso(call.now)
    results = []
    for swap in swaps:
        devices = {k: _swap_device(st, swap["devices"].get(k)) for k in ("old", "new")}
        errors = _swap_one(st, org_id, swap)
        results.append(
            {
                "id": str(st.new_id()),
                "status": "failed" if errors else "complete",
                "devices": devices,
                "afterAction": swap["afterAction"],
                "createdAt": now,
                "completedAt": now,
                "errors": errors,
            }
        )
    job_id = str(st.new_id())
    st.swaps[job_id] = {"jobId": job_id, "organizationId": org_id, "swaps": results}
    pending = [{**r, "status": "pending", "completedAt": None, "errors": []} for r in results]
    return Reply({"jobId": job_id, "swaps": pending}, 207)


def _swap_view(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "organizationId"}


@router.add("GET", "/organizations/{organizationId}/inventory/devices/swaps/bulk/{id}")
def get_swaps(st: SandboxState, call: Call) -> Reply:
    """The swaps of a bulk swap job with their status."""
    record = st.swaps.get(call.params["id"])
    if record is None or record["organizationId"] != call.params["organizationId"]:
        raise not_found(f"Swap request {call.params['id']}")
    return Reply(_swap_view(record))


__all__ = ["ApiError", "router"]
