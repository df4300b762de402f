"""Alerts the sandbox POSTs to the webhook HTTP servers a network's alert settings name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from sandbox.routes_monitor import iso_micro, server_key
from sandbox.state import Record, SandboxState

# (productType, went down?) -> (alert settings type, the alertType text Meraki sends)
STATUS_ALERTS: dict[tuple[str, bool], tuple[str, str]] = {
    ("appliance", True): ("applianceDown", "Appliance went down"),
    ("appliance", False): ("applianceDown", "Appliance came up"),
    ("wireless", True): ("gatewayDown", "APs went down"),
    ("wireless", False): ("gatewayDown", "APs came up"),
    ("switch", True): ("switchDown", "Switch went down"),
    ("switch", False): ("switchDown", "Switch came up"),
}
OTHER_ALERTS: dict[str, str] = {
    "VPN connectivity changed": "vpnConnectivityChange",
    "Settings changed": "settingsChanged",
}


@dataclass(frozen=True)
class Delivery:
    """One POST the sandbox made: where, and what the receiver answered."""

    url: str
    status: int | None
    alert_id: str
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "alertId": self.alert_id,
            "error": self.error,
        }


def destinations(st: SandboxState, net_id: str, settings_type: str) -> list[Record]:
    """The HTTP servers an alert of this type goes to (alert-specific, else the defaults)."""
    settings = st.alert_settings.get(net_id)
    if settings is None:
        return []
    alert = next((a for a in settings["alerts"] if a.get("type") == settings_type), None)
    if alert is None or not alert.get("enabled"):
        return []
    ids = list((alert.get("alertDestinations") or {}).get("httpServerIds") or [])
    ids += settings["defaultDestinations"].get("httpServerIds") or []
    seen: dict[str, Record] = {}
    for server_id in ids:
        server = st.http_servers.get(server_key(net_id, str(server_id)))
        if server is not None:
            seen.setdefault(server["id"], server)
    return list(seen.values())


def payload(
    st: SandboxState,
    *,
    net_id: str,
    alert_type: str,
    alert_type_id: str,
    device: Record | None,
    shared_secret: str,
    now: datetime,
    alert_data: dict[str, Any] | None = None,
) -> Record:
    """The dashboard's webhook JSON (payload template 'Meraki (included)', version 0.1)."""
    net = st.networks[net_id]
    org = st.organizations.get(str(net["organizationId"]), {})
    return {
        "version": "0.1",
        "sharedSecret": shared_secret,
        "sentAt": iso_micro(now),
        "organizationId": net["organizationId"],
        "organizationName": org.get("name"),
        "organizationUrl": None,
        "networkId": net_id,
        "networkName": net.get("name"),
        "networkUrl": None,
        "networkTags": net.get("tags", []),
        "deviceSerial": device["serial"] if device else None,
        "deviceMac": device.get("mac") if device else None,
        "deviceName": device.get("name") if device else None,
        "deviceUrl": None,
        "deviceTags": device.get("tags", []) if device else [],
        "deviceModel": device.get("model") if device else None,
        "alertId": uuid.uuid4().hex[:16],
        "alertType": alert_type,
        "alertTypeId": alert_type_id,
        "alertLevel": "critical" if "down" in alert_type else "informational",
        "occurredAt": iso_micro(now),
        "alertData": alert_data or {},
    }


async def post_alerts(
    st: SandboxState,
    *,
    net_id: str,
    alert_type: str,
    settings_type: str,
    device: Record | None,
    now: datetime,
    alert_data: dict[str, Any] | None = None,
    override: dict[str, Any] | None = None,
    timeout: float = 5.0,
) -> list[Delivery]:
    """POST the alert to each destination once (the dashboard's delivery; no retry here)."""
    deliveries = []
    async with httpx.AsyncClient(timeout=timeout) as client:
        for server in destinations(st, net_id, settings_type):
            body = payload(
                st,
                net_id=net_id,
                alert_type=alert_type,
                alert_type_id=settings_type,
                device=device,
                shared_secret=server["sharedSecret"],
                now=now,
                alert_data=alert_data,
            ) | (override or {})
            try:
                answer = await client.post(server["url"], json=body)
            except httpx.HTTPError as exc:
                deliveries.append(Delivery(server["url"], None, body["alertId"], str(exc)))
                continue
            deliveries.append(Delivery(server["url"], answer.status_code, body["alertId"]))
    return deliveries
