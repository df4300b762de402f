"""Look-ups that raise the dashboard's 404s, and device attach/detach shared by routes and seeds."""

from __future__ import annotations

from typing import Any

from sandbox import defaults
from sandbox.router import ApiError, bad_request, not_found
from sandbox.state import Record, SandboxState


def org_or_404(st: SandboxState, org_id: str) -> Record:
    """The organization, or 404."""
    org = st.organizations.get(org_id)
    if org is None:
        raise not_found(f"Organization {org_id}")
    return org


def network_or_404(st: SandboxState, net_id: str) -> Record:
    """The network, or 404."""
    net = st.networks.get(net_id)
    if net is None:
        raise not_found(f"Network {net_id}")
    return net


def settings_of(st: SandboxState, net_id: str) -> Record:
    """Per-network configuration of an existing network, or 404."""
    network_or_404(st, net_id)
    return st.network_settings[net_id]


def require_product(st: SandboxState, net_id: str, product: str) -> Record:
    """Settings of a network that includes the product type, else 400 as the dashboard does."""
    net = network_or_404(st, net_id)
    if product not in net["productTypes"]:
        raise bad_request(f"Network {net_id} has no {product} product type")
    return st.network_settings[net_id]


def device_in_network_or_404(st: SandboxState, serial: str) -> Record:
    """A device that is in a network (device endpoints need one), or 404."""
    dev = st.devices.get(serial)
    if dev is None or dev["networkId"] is None:
        raise not_found(f"Device {serial}")
    return dev


def attach_device(st: SandboxState, dev: Record, net_id: str) -> None:
    """Put a device into a network; it comes online and its license becomes active."""
    dev["networkId"] = net_id
    dev["status"] = "online"
    dev["lanIp"] = _lan_ip(dev["serial"])
    for lic in st.licenses_of(dev["serial"]):
        lic["networkId"] = net_id
        lic["state"] = "active"


def detach_device(st: SandboxState, dev: Record) -> None:
    """Take a device out of its network; an AP loses the network's RF profile with it."""
    dev["networkId"] = None
    if dev.get("radioSettings") is not None:
        dev["radioSettings"] = defaults.radio_settings(dev["serial"])
    dev["status"] = "offline"
    dev["lanIp"] = None
    for lic in st.licenses_of(dev["serial"]):
        lic["networkId"] = None
        lic["state"] = "unused"


def _lan_ip(serial: str) -> str:
    tail = sum(serial.encode()) % 200 + 20
    return f"192.168.128.{tail}"


def merge(target: Record, changes: dict[str, Any], allowed: frozenset[str]) -> None:
    """Copy allowed keys of a PUT body onto a record; unknown keys are ignored like the API."""
    for key, value in changes.items():
        if key in allowed:
            target[key] = value


def require_fields(body: dict[str, Any], *names: str) -> None:
    """400 listing every missing required field."""
    missing = [n for n in names if body.get(n) in (None, "")]
    if missing:
        raise ApiError(400, *(f"'{n}' must be specified" for n in missing))
