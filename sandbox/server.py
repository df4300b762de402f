"""Run the sandbox with uvicorn in a background thread on a free loopback port."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from sandbox.app import SandboxConfig, create_app


class _HideDroppedConnections(logging.Filter):
    """Keep injected connection drops out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "ConnectionDropped"


def install_log_filter() -> None:
    """Idempotently attach the drop filter to uvicorn's error logger."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free one)."""
    # proto must be IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets
    # whose proto is IPPROTO_TCP, and proto 0 here would leave Nagle on (a 40 ms stall per
    # keep-alive response, headers and body being separate writes).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(
    app: FastAPI, host: str, port: int, log_level: str = "warning"
) -> uvicorn.Config:
    """Uvicorn settings tuned for loopback keep-alive clients."""
    install_log_filter()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_keep_alive=30,
        backlog=2048,
    )


@dataclass
class SandboxAdmin:
    """Client for the admin API; also callable for raw admin requests."""

    root_url: str
    token: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=f"{self.root_url}/_sandbox",
            timeout=30,
            headers={"X-Sandbox-Admin-Token": self.token},
        )

    def __call__(self, method: str, path: str, json: Any = None) -> Any:
        """Raw admin request; raises on an HTTP error."""
        response = self.client.request(method, path, json=json)
        response.raise_for_status()
        return response.json()

    def reset(self, seed: str = "demo") -> None:
        """Back to a named seed."""
        self("POST", "/reset", {"seed": seed})

    def counters(self) -> dict[str, Any]:
        """Counters per "METHOD /template" plus totals."""
        result: dict[str, Any] = self("GET", "/counters")
        return result

    def count(self, method: str, template: str, status: int | None = None) -> int:
        """Requests seen for one operation (optionally only those answered with `status`)."""
        entry = self.counters()["operations"].get(f"{method} {template}", {})
        return int(entry.get("count" if status is None else str(status), 0))

    def per_second(self, organization_id: str) -> dict[int, int]:
        """Requests of the organization that arrived in each wall-clock second (429s too)."""
        seconds: dict[str, int] = self.counters()["per_second"].get(organization_id, {})
        return {int(second): n for second, n in seconds.items()}

    def reset_counters(self) -> None:
        """Zero the counters."""
        self("DELETE", "/counters")

    def set_faults(self, spec: str | None = None, **fields: Any) -> dict[str, Any]:
        """Set faults by spec string ("5xx=0.5,seed=1") or FaultConfig fields."""
        result: dict[str, Any] = self("PUT", "/faults", {"spec": spec} if spec else fields)
        return result

    def clear_faults(self) -> None:
        """No more faults."""
        self("DELETE", "/faults")

    def set_rate_limit(self, organization: float | None, ip: float | None = None) -> None:
        """Change the limits (None lifts one)."""
        self("PUT", "/rate-limit", {"organization": organization, "ip": ip})

    def snapshot(self) -> dict[str, Any]:
        """Full state JSON."""
        result: dict[str, Any] = self("GET", "/state")
        return result

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace the state."""
        self("PUT", "/state", state)

    def generate_inventory(
        self, org_id: str, count: int, model: str = "MR36", prefix: str = "Q3GN"
    ) -> None:
        """Bulk-claim unassigned devices into an organization."""
        self(
            "POST",
            f"/organizations/{org_id}/inventory/generate",
            {"count": count, "model": model, "prefix": prefix},
        )

    def generate_organizations(self, count: int, devices_each: int = 0) -> list[str]:
        """Add organizations; returns their ids."""
        ids: list[str] = self(
            "POST", "/organizations/generate", {"count": count, "devicesEach": devices_each}
        )["organizationIds"]
        return ids

    def set_batch_delay(self, seconds: float) -> None:
        """How long asynchronous action batches stay pending."""
        self("PUT", "/batch-delay", {"seconds": seconds})

    def set_claims(
        self,
        settle: float,
        limit: int | None = None,
        window: float = 300.0,
        network_settle: float = 0.0,
    ) -> None:
        """Seconds newly claimed devices answer 404, claims allowed per `window` seconds, and
        seconds newly created networks answer 404."""
        body = {"settle": settle, "limit": limit, "window": window}
        self("PUT", "/claims", {**body, "network_settle": network_settle})

    def claims(self) -> dict[str, Any]:
        """Claim requests admitted per organization (times in seconds) and how many refused."""
        answer: dict[str, Any] = self("GET", "/claims")
        return answer

    def set_device_status(
        self, serial: str, status: str, override: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Set a device status (history and alerts follow); the answer lists the deliveries."""
        body: dict[str, Any] = {"status": status}
        if override:
            body["override"] = override
        answer: dict[str, Any] = self("PUT", f"/devices/{serial}/status", body)
        return answer

    def send_alert(self, network_id: str, alert_type: str, **fields: Any) -> dict[str, Any]:
        """Raise an alert on a network; the answer lists the deliveries."""
        answer: dict[str, Any] = self(
            "POST", f"/networks/{network_id}/alerts", {"alertType": alert_type, **fields}
        )
        return answer

    def set_vpn_peer(
        self, network_id: str, peer_network_id: str, reachable: bool
    ) -> dict[str, Any]:
        """Take a network's Auto VPN tunnel to a peer down (or back up): the VPN statuses follow
        and a "VPN connectivity changed" alert is POSTed; the answer lists the deliveries."""
        answer: dict[str, Any] = self(
            "PUT",
            f"/networks/{network_id}/vpn-peers/{peer_network_id}",
            {"reachable": reachable},
        )
        return answer

    def set_public_ip(self, serial: str, address: str) -> None:
        """Set a device's WAN public address."""
        self("PUT", f"/devices/{serial}/public-ip", {"publicIp": address})


@dataclass
class SandboxServer:
    """A running sandbox: URLs, credentials, admin client and an SDK factory."""

    root_url: str
    config: SandboxConfig
    app: FastAPI
    admin: SandboxAdmin

    @property
    def base_url(self) -> str:
        """Dashboard API base URL to give the meraki SDK."""
        return f"{self.root_url}/api/v1"

    @property
    def api_key(self) -> str:
        """The API key the sandbox accepts."""
        return self.config.api_key

    def dashboard_api(self, **kwargs: Any) -> Any:
        """A meraki.DashboardAPI pointed here; kwargs override the quiet defaults."""
        import meraki

        options: dict[str, Any] = {
            "base_url": self.base_url,
            "suppress_logging": True,
            "output_log": False,
            "smart_flow_cache_path": "",
            "smart_flow_enabled": False,
        }
        options.update(kwargs)
        return meraki.DashboardAPI(options.pop("api_key", self.api_key), **options)


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SandboxServer]:
    """Serve a sandbox in a daemon thread for the duration of the block."""
    config = config or SandboxConfig()
    app = create_app(config)
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, host, bound_port))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{bound_port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox failed to start on {host}:{bound_port}")
        time.sleep(0.01)
    shown_host = f"[{host}]" if ":" in host else host
    root = f"http://{shown_host}:{bound_port}"
    admin = SandboxAdmin(root, config.admin_token)
    try:
        yield SandboxServer(root, config, app, admin)
    finally:
        dump_request_log(app)
        admin.client.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


REQUEST_LOG_ENV = "SANDBOX_REQUEST_LOG"


def dump_request_log(app: FastAPI) -> None:
    """Append the sandbox's request log as JSON lines to $SANDBOX_REQUEST_LOG, if set.

    ``python -m tools.spec_report FILE`` checks every logged request against the published
    operations (what ``tests/contract/spec`` does for its own scenarios).
    """
    target = os.environ.get(REQUEST_LOG_ENV)
    if not target:
        return
    with Path(target).open("a", encoding="utf-8") as out:
        for entry in app.state.runtime.dashboard.request_log:
            out.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
