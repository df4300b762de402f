"""Admin API under /_sandbox: seed/reset, snapshot/load, faults, counters, generators."""

import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from sandbox import seeds
from sandbox.alerts import OTHER_ALERTS, STATUS_ALERTS, Delivery, post_alerts
from sandbox.faults import FaultConfig, parse_faults
from sandbox.routes_monitor import record_status_change
from sandbox.state import SandboxState

if TYPE_CHECKING:
    from sandbox.app import SandboxRuntime

ADMIN_HEADER = "x-sandbox-admin-token"
JsonBody = Annotated[dict[str, Any] | None, Body()]


def admin_router(runtime: "SandboxRuntime") -> APIRouter:
    """Routes guarded by the admin token (header X-Sandbox-Admin-Token or Bearer)."""
    from sandbox.app import errors, json_response

    class AdminDenied(Exception):
        """Wrong or missing admin token."""

    def require_admin(request: Request) -> None:
        token = request.headers.get(ADMIN_HEADER)
        bearer = request.headers.get("authorization", "")
        if token != runtime.config.admin_token and bearer != f"Bearer {runtime.config.admin_token}":
            raise AdminDenied

    router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    async def guarded(request: Request) -> Response | None:
        try:
            require_admin(request)
        except AdminDenied:
            return errors(401, "Invalid sandbox admin token")
        return None

    Guard = Annotated[Response | None, Depends(guarded)]

    @router.post("/reset")
    async def reset(denied: Guard, body: JsonBody = None) -> Response:
        """Reset to a named seed (default: the configured one)."""
        if denied:
            return denied
        seed = (body or {}).get("seed", runtime.config.seed)
        try:
            runtime.reset(str(seed))
        except KeyError as exc:
            return errors(400, str(exc.args[0]))
        return json_response({"seed": seed})

    @router.get("/state")
    async def snapshot(denied: Guard) -> Response:
        """Full state as JSON (also written to the state file when one is configured)."""
        if denied:
            return denied
        runtime.save()
        return json_response(runtime.dashboard.state.to_dict())

    @router.put("/state")
    async def load_state(denied: Guard, body: JsonBody = None) -> Response:
        """Replace the state with a snapshot."""
        if denied:
            return denied
        try:
            runtime.dashboard.state.replace_with(body or {})
        except (TypeError, ValueError) as exc:
            return errors(400, f"Not a sandbox state: {exc}")
        return json_response({"loaded": True})

    @router.get("/faults")
    async def get_faults(denied: Guard) -> Response:
        """Current run-wide faults."""
        return denied or json_response(runtime.faults.config.to_dict())

    @router.put("/faults")
    async def set_faults(denied: Guard, body: JsonBody = None) -> Response:
        """Set faults from {"spec": "5xx=0.1,..."} or from FaultConfig fields."""
        if denied:
            return denied
        data = body or {}
        try:
            config = parse_faults(data["spec"]) if "spec" in data else FaultConfig.from_dict(data)
        except (ValueError, TypeError) as exc:
            return errors(400, str(exc))
        runtime.faults.configure(config)
        return json_response(config.to_dict())

    @router.delete("/faults")
    async def clear_faults(denied: Guard) -> Response:
        """Back to a well-behaved dashboard."""
        if denied:
            return denied
        runtime.faults.configure(FaultConfig())
        return json_response(FaultConfig().to_dict())

    @router.get("/counters")
    async def counters(denied: Guard) -> Response:
        """Requests per method and path template, with a tally per status."""
        return denied or json_response(runtime.counters.snapshot())

    @router.delete("/counters")
    async def reset_counters(denied: Guard) -> Response:
        """Zero the counters."""
        if denied:
            return denied
        runtime.counters.reset()
        return json_response(runtime.counters.snapshot())

    @router.get("/rate-limit")
    async def get_rate_limit(denied: Guard) -> Response:
        """Current limits (null = unlimited)."""
        return denied or json_response(
            {"organization": runtime.limiter.org_rate, "ip": runtime.limiter.ip_rate}
        )

    @router.put("/rate-limit")
    async def set_rate_limit(denied: Guard, body: JsonBody = None) -> Response:
        """Change limits: {"organization": 10, "ip": 100}; null or 0 lifts one."""
        if denied:
            return denied
        data = body or {}
        runtime.limiter.configure(data.get("organization"), data.get("ip"))
        return json_response(
            {"organization": runtime.limiter.org_rate, "ip": runtime.limiter.ip_rate}
        )

    @router.put("/batch-delay")
    async def set_batch_delay(denied: Guard, body: JsonBody = None) -> Response:
        """Seconds an asynchronous batch stays pending: {"seconds": 0.2}."""
        if denied:
            return denied
        runtime.dashboard.batch_delay = float((body or {}).get("seconds", 0.2))
        return json_response({"seconds": runtime.dashboard.batch_delay})

    @router.put("/claims")
    async def set_claims(denied: Guard, body: JsonBody = None) -> Response:
        """Claim timing: {"settle": 0.2, "limit": 10, "window": 300, "network_settle": 0.2}
        (limit null: no limit; network_settle: seconds a new network answers 404)."""
        if denied:
            return denied
        claims = runtime.dashboard.claims
        data = body or {}
        claims.settle = float(data.get("settle", claims.settle))
        if "limit" in data:
            claims.limit = None if data["limit"] is None else int(data["limit"])
        claims.window = float(data.get("window", claims.window))
        claims.network_settle = float(data.get("network_settle", claims.network_settle))
        claims.reset()
        return json_response(
            {
                "settle": claims.settle,
                "limit": claims.limit,
                "window": claims.window,
                "network_settle": claims.network_settle,
            }
        )

    @router.get("/claims")
    async def get_claims(denied: Guard) -> Response:
        """Claim requests admitted per organization (sandbox clock, seconds) and those refused."""
        if denied:
            return denied
        claims = runtime.dashboard.claims
        return json_response(
            {
                "limit": claims.limit,
                "window": claims.window,
                "admitted": claims.admitted,
                "refused": claims.refused,
            }
        )

    @router.post("/organizations/{org_id}/inventory/generate")
    async def generate_inventory(org_id: str, denied: Guard, body: JsonBody = None) -> Response:
        """Bulk-claim N unassigned devices: {"count": 1200, "model": "MR36", "prefix": "Q3GN"}."""
        if denied:
            return denied
        state = runtime.dashboard.state
        if org_id not in state.organizations:
            return errors(404, f"Organization {org_id} not found")
        data = body or {}
        serials = seeds.generate_inventory(
            state,
            org_id,
            int(data.get("count", 100)),
            str(data.get("model", "MR36")),
            str(data.get("prefix", "Q3GN")),
        )
        return json_response({"count": len(serials), "first": serials[:1], "last": serials[-1:]})

    @router.post("/organizations/generate")
    async def generate_organizations(denied: Guard, body: JsonBody = None) -> Response:
        """Add N organizations with a network each: {"count": 50, "devicesEach": 10}."""
        if denied:
            return denied
        data = body or {}
        ids = seeds.generate_organizations(
            runtime.dashboard.state, int(data.get("count", 1)), int(data.get("devicesEach", 0))
        )
        return json_response({"organizationIds": ids})

    @router.put("/devices/{serial}/status")
    async def set_device_status(serial: str, denied: Guard, body: JsonBody = None) -> Response:
        """Set a device online/alerting/offline/dormant: its availabilities and change history
        follow, and a went-down/came-up alert is POSTed to the network's webhook servers."""
        if denied:
            return denied
        state = runtime.dashboard.state
        dev = state.devices.get(serial)
        status = (body or {}).get("status")
        if dev is None:
            return errors(404, f"Device {serial} not found")
        if status not in ("online", "alerting", "offline", "dormant"):
            return errors(400, "'status' must be online, alerting, offline or dormant")
        now = datetime.now(UTC)
        was_down = dev.get("status") in ("offline", "dormant")
        changed = record_status_change(state, dev, status, now)
        is_down = status in ("offline", "dormant")
        deliveries: list[Delivery] = []
        kind = STATUS_ALERTS.get((str(dev.get("productType")), is_down))
        if changed and was_down != is_down and kind and dev.get("networkId"):
            deliveries = await post_alerts(
                state,
                net_id=str(dev["networkId"]),
                alert_type=kind[1],
                settings_type=kind[0],
                device=dev,
                now=now,
                override=(body or {}).get("override"),
            )
        return json_response(
            {
                "serial": serial,
                "status": status,
                "changed": changed,
                "deliveries": [d.to_dict() for d in deliveries],
            }
        )

    @router.post("/networks/{net_id}/alerts")
    async def send_alert(net_id: str, denied: Guard, body: JsonBody = None) -> Response:
        """Raise an alert on a network ("VPN connectivity changed", "Settings changed", or any
        status alert): {"alertType": ..., "deviceSerial": ..., "alertData": {...},
        "override": {...}} -- `override` replaces payload fields (a forged secret, a stale
        sentAt, a replayed alertId) so a receiver's refusals can be tested."""
        if denied:
            return denied
        state = runtime.dashboard.state
        if net_id not in state.networks:
            return errors(404, f"Network {net_id} not found")
        data = body or {}
        alert_type = str(data.get("alertType") or "")
        settings_type = OTHER_ALERTS.get(alert_type) or next(
            (t for t, text in STATUS_ALERTS.values() if text == alert_type), None
        )
        if settings_type is None:
            known = sorted([*OTHER_ALERTS, *(text for _, text in STATUS_ALERTS.values())])
            return errors(400, f"'alertType' must be one of {known}")
        serial = data.get("deviceSerial")
        dev = state.devices.get(str(serial)) if serial else None
        if serial and dev is None:
            return errors(404, f"Device {serial} not found")
        deliveries = await post_alerts(
            state,
            net_id=net_id,
            alert_type=alert_type,
            settings_type=settings_type,
            device=dev,
            now=datetime.now(UTC),
            alert_data=data.get("alertData"),
            override=data.get("override"),
        )
        return json_response({"deliveries": [d.to_dict() for d in deliveries]})

    @router.put("/networks/{net_id}/vpn-peers/{peer_id}")
    async def set_vpn_peer(
        net_id: str, peer_id: str, denied: Guard, body: JsonBody = None
    ) -> Response:
        """Take the network's Auto VPN tunnel to a peer network down ({"reachable": false}) or
        back up: the VPN statuses report it, and the network's appliance sends a "VPN
        connectivity changed" alert (alertData: vpnType, peerIdent, peerIp, connectivity)."""
        if denied:
            return denied
        state = runtime.dashboard.state
        for wanted in (net_id, peer_id):
            if wanted not in state.networks:
                return errors(404, f"Network {wanted} not found")
        reachable = (body or {}).get("reachable")
        if not isinstance(reachable, bool):
            return errors(400, "'reachable' must be true or false")
        key = f"{net_id} {peer_id}"
        was_down = key in state.vpn_peers_down
        if reachable and was_down:
            state.vpn_peers_down.remove(key)
        elif not reachable and not was_down:
            state.vpn_peers_down.append(key)
        deliveries: list[Delivery] = []
        if was_down == reachable:  # a change
            mx = next(
                (
                    d
                    for d in state.devices.values()
                    if d.get("networkId") == net_id and d.get("productType") == "appliance"
                ),
                None,
            )
            peer_mx = next(
                (
                    d
                    for d in state.devices.values()
                    if d.get("networkId") == peer_id and d.get("productType") == "appliance"
                ),
                None,
            )
            deliveries = await post_alerts(
                state,
                net_id=net_id,
                alert_type="VPN connectivity changed",
                settings_type=OTHER_ALERTS["VPN connectivity changed"],
                device=mx,
                now=datetime.now(UTC),
                alert_data={
                    "vpnType": "site-to-site",
                    "peerIdent": peer_id,
                    "peerIp": str(peer_mx.get("publicIp") or "") if peer_mx else "",
                    "connectivity": "true" if reachable else "false",
                },
            )
        return json_response(
            {
                "networkId": net_id,
                "peerNetworkId": peer_id,
                "reachable": reachable,
                "changed": was_down == reachable,
                "deliveries": [d.to_dict() for d in deliveries],
            }
        )

    @router.put("/devices/{serial}/public-ip")
    async def set_public_ip(serial: str, denied: Guard, body: JsonBody = None) -> Response:
        """Set a device's WAN public address (statuses report it), e.g. to simulate a change."""
        if denied:
            return denied
        dev = runtime.dashboard.state.devices.get(serial)
        address = (body or {}).get("publicIp")
        if dev is None:
            return errors(404, f"Device {serial} not found")
        try:
            ipaddress.ip_address(str(address))
        except ValueError:
            return errors(400, "'publicIp' must be an IP address")
        dev["publicIp"] = str(address)
        return json_response({"serial": serial, "publicIp": dev["publicIp"]})

    return router


__all__ = ["SandboxState", "admin_router"]
