"""Monitoring: the availabilities change history, webhook HTTP servers and alert settings."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.access import network_or_404, org_or_404
from sandbox.router import ApiError, Call, Reply, Router, bad_request, not_found, paginate
from sandbox.state import Record, SandboxState

router = Router()

ORG = "/organizations/{organizationId}"
NET = "/networks/{networkId}"
MAX_LOOKBACK = timedelta(days=31)


def iso_micro(moment: datetime) -> str:
    """A change-history timestamp (UTC, microseconds, Z), which also orders the entries."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"'{name}' must be an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_status_change(st: SandboxState, dev: Record, new_status: str, now: datetime) -> bool:
    """Set a device's status and log the transition; False when the status did not change."""
    old_status = str(dev.get("status") or "online")
    if old_status == new_status:
        return False
    dev["status"] = new_status
    net = st.networks.get(str(dev.get("networkId") or ""))
    st.availability_changes.append(
        {
            "ts": iso_micro(now),
            "device": {
                "serial": dev["serial"],
                "name": dev.get("name"),
                "productType": dev.get("productType"),
                "model": dev.get("model"),
                "tags": dev.get("tags") or [],
            },
            "details": {
                "old": [{"name": "status", "value": old_status}],
                "new": [{"name": "status", "value": new_status}],
            },
            "network": {
                "id": dev.get("networkId"),
                "name": net.get("name") if net else None,
                "url": None,
                "tags": net.get("tags", []) if net else [],
            },
            "organizationId": dev.get("organizationId"),
        }
    )
    return True


@router.add("GET", ORG + "/devices/availabilities/changeHistory")
def list_availability_changes(st: SandboxState, call: Call) -> Reply:
    """Status transitions of the organization's devices in [t0, t1] (default: the last day)."""
    org_id = org_or_404(st, call.params["organizationId"])["id"]
    t1 = _parse_time(call.q("t1") or iso_micro(call.now), "t1")
    if (t0_text := call.q("t0")) is not None:
        t0 = _parse_time(t0_text, "t0")
    else:
        timespan = float(call.q("timespan") or 86400)
        if not 0 < timespan <= MAX_LOOKBACK.total_seconds():
            raise bad_request("'timespan' must be at most 31 days")
        t0 = t1 - timedelta(seconds=timespan)
    if t0 < call.now - MAX_LOOKBACK:
        raise bad_request("'t0' must be within the last 31 days")
    serials, networks = call.q_list("serials"), call.q_list("networkIds")
    products, statuses = call.q_list("productTypes"), call.q_list("statuses")
    items = []
    for change in st.availability_changes:
        at = _parse_time(change["ts"], "ts")
        if change.get("organizationId") != org_id or not t0 <= at <= t1:
            continue
        device, new = change["device"], change["details"]["new"][0]["value"]
        if serials and device["serial"] not in serials:
            continue
        if networks and change["network"]["id"] not in networks:
            continue
        if products and device["productType"] not in products:
            continue
        if statuses and new not in statuses:
            continue
        items.append({k: v for k, v in change.items() if k != "organizationId"})
    return paginate(call, items, lambda i: f"{i['ts']}|{i['device']['serial']}")


# --- webhook HTTP servers and alert settings ----------------------------------------------------


def _server_view(server: Record) -> Record:
    """An HTTP server as the dashboard lists it: the shared secret is never returned."""
    return {k: v for k, v in server.items() if k != "sharedSecret"}


def server_key(net_id: str, server_id: str) -> str:
    """Servers are per network (the id, the URL's base64, repeats across networks)."""
    return f"{net_id}/{server_id}"


def _server_or_404(st: SandboxState, net_id: str, server_id: str) -> Record:
    server = st.http_servers.get(server_key(net_id, server_id))
    if server is None:
        raise not_found(f"HTTP server {server_id}")
    return server


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad_request("'url' must be an http(s) URL")
    return url


@router.add("GET", NET + "/webhooks/httpServers")
def list_http_servers(st: SandboxState, call: Call) -> Reply:
    """The network's webhook receivers."""
    net_id = network_or_404(st, call.params["networkId"])["id"]
    return Reply([_server_view(s) for s in st.http_servers.values() if s["networkId"] == net_id])


@router.add("POST", NET + "/webhooks/httpServers")
def create_http_server(st: SandboxState, call: Call) -> Reply:
    """Add a webhook receiver; its id is the base64 of its URL, as the dashboard makes it."""
    net_id = network_or_404(st, call.params["networkId"])["id"]
    body = call.obj()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("'name' is required")
    url = _check_url(body.get("url"))
    server_id = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    if server_key(net_id, server_id) in st.http_servers:
        raise ApiError(400, f"An HTTP server with url {url} already exists in this network")
    server = {
        "id": server_id,
        "name": name,
        "url": url,
        "networkId": net_id,
        "sharedSecret": str(body.get("sharedSecret") or ""),
        "payloadTemplate": body.get("payloadTemplate")
        or {"payloadTemplateId": "wpt_00001", "name": "Meraki (included)"},
    }
    st.http_servers[server_key(net_id, server_id)] = server
    return Reply(_server_view(server), status=201)


@router.add("GET", NET + "/webhooks/httpServers/{httpServerId}")
def get_http_server(st: SandboxState, call: Call) -> Reply:
    net_id = network_or_404(st, call.params["networkId"])["id"]
    return Reply(_server_view(_server_or_404(st, net_id, call.params["httpServerId"])))


@router.add("PUT", NET + "/webhooks/httpServers/{httpServerId}")
def update_http_server(st: SandboxState, call: Call) -> Reply:
    net_id = network_or_404(st, call.params["networkId"])["id"]
    server = _server_or_404(st, net_id, call.params["httpServerId"])
    body = call.obj()
    if "name" in body:
        server["name"] = str(body["name"])
    if "sharedSecret" in body:
        server["sharedSecret"] = str(body["sharedSecret"] or "")
    if "payloadTemplate" in body:
        server["payloadTemplate"] = body["payloadTemplate"]
    return Reply(_server_view(server))


@router.add("DELETE", NET + "/webhooks/httpServers/{httpServerId}")
def delete_http_server(st: SandboxState, call: Call) -> Reply:
    net_id = network_or_404(st, call.params["networkId"])["id"]
    server = _server_or_404(st, net_id, call.params["httpServerId"])
    del st.http_servers[server_key(net_id, server["id"])]
    return Reply(None, status=204)


def _alert_settings(st: SandboxState, net_id: str) -> Record:
    return st.alert_settings.setdefault(
        net_id,
        {
            "defaultDestinations": {
                "emails": [],
                "allAdmins": False,
                "snmp": False,
                "httpServerIds": [],
            },
            "alerts": [],
            "muting": {"byPortSchedules": {"enabled": False}},
        },
    )


@router.add("GET", NET + "/alerts/settings")
def get_alert_settings(st: SandboxState, call: Call) -> Reply:
    return Reply(_alert_settings(st, network_or_404(st, call.params["networkId"])["id"]))


@router.add("PUT", NET + "/alerts/settings")
def update_alert_settings(st: SandboxState, call: Call) -> Reply:
    """Replace the default destinations and merge the alerts by type."""
    net_id = network_or_404(st, call.params["networkId"])["id"]
    settings = _alert_settings(st, net_id)
    body = call.obj()
    if "defaultDestinations" in body:
        dest = body["defaultDestinations"] or {}
        for server_id in dest.get("httpServerIds") or []:
            _server_or_404(st, net_id, str(server_id))
        settings["defaultDestinations"].update(dest)
    by_type = {a["type"]: a for a in settings["alerts"]}
    for alert in body.get("alerts") or []:
        if not isinstance(alert, dict) or not isinstance(alert.get("type"), str):
            raise bad_request("each alert needs a 'type'")
        by_type[alert["type"]] = {**by_type.get(alert["type"], {}), **alert}
    settings["alerts"] = list(by_type.values())
    if "muting" in body:
        settings["muting"] = body["muting"]
    return Reply(settings)
