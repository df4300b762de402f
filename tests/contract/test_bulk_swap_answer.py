"""The RMA swap reads the answers the specification documents and sends the bodies it types.

`createOrganizationInventoryDevicesSwapsBulk` answers 207 with ``{jobId, swaps: [{id, status,
devices: {old: {serial, ...}, new: {...}}, afterAction, createdAt, completedAt, errors}]}`` and
`getOrganizationInventoryDevicesSwapsBulk` reads the job back. A loopback HTTP server plays the
dashboard with literal answers in that shape (and in wrong shapes), so the adapter meets exactly
what a real organization would send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from core.errors import DashboardError
from dashboard.meraki import MerakiDashboard, wan_body

ORG = "777"
NET = "N_1"
OLD, NEW = "Q2FY-OLD1-0001", "Q2FY-NEW1-0001"


def _swap(status: str, errors: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": "1284392014819",
        "status": status,
        "devices": {
            "old": {"serial": OLD, "mac": "00:11:22:33:44:55", "name": "UTM", "model": "MX67"},
            "new": {"serial": NEW, "mac": "00:11:22:33:44:66", "name": None, "model": "MX67"},
        },
        "afterAction": "remove from network",
        "createdAt": "2026-12-06T00:00:00Z",
        "completedAt": None if status == "pending" else "2026-12-06T00:00:05Z",
        "errors": errors or [],
    }


class Dashboard(BaseHTTPRequestHandler):
    answers: ClassVar[dict[tuple[str, str], list[tuple[int, Any]]]] = {}
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0].removeprefix("/api/v1")
        self.seen.append(f"{self.command} {path}")
        queue = self.answers.get((self.command, path)) or [(404, {"errors": ["Not found"]})]
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        raw = json.dumps(body).encode()
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def dashboard() -> Iterator[tuple[MerakiDashboard, type[Dashboard]]]:
    handler = type("Handler", (Dashboard,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    inv = f"/organizations/{ORG}/inventory/devices"
    handler.answers[("GET", f"{inv}/{OLD}")] = [(200, {"serial": OLD, "networkId": NET})]
    handler.answers[("GET", f"{inv}/{NEW}")] = [(200, {"serial": NEW, "networkId": None})]
    handler.answers[("GET", f"/organizations/{ORG}/devices/statuses")] = [
        (200, [{"serial": NEW, "networkId": NET, "status": "online"}])
    ]
    adapter = MerakiDashboard(
        api_key="k", base_url=f"http://127.0.0.1:{server.server_port}/api/v1", maximum_retries=1
    )
    adapter.swap_poll_seconds = 0.01
    try:
        yield adapter, handler
    finally:
        server.shutdown()
        server.server_close()


BULK = f"/organizations/{ORG}/inventory/devices/swaps/bulk"


def _swap_device(adapter: MerakiDashboard) -> Any:
    return adapter.swap_device(organization_id=ORG, network_id=NET, old_serial=OLD, new_serial=NEW)


def test_a_pending_swap_is_followed_through_the_job_until_complete(dashboard):
    adapter, handler = dashboard
    handler.answers[("POST", BULK)] = [(207, {"jobId": "J-42", "swaps": [_swap("pending")]})]
    handler.answers[("GET", f"{BULK}/J-42")] = [
        (200, {"jobId": "J-42", "swaps": [_swap("pending")]}),
        (200, {"jobId": "J-42", "swaps": [_swap("complete")]}),
    ]
    done = _swap_device(adapter)
    assert (done.method, done.reference, done.replacement_status) == ("bulk_swap", "J-42", "online")
    assert handler.seen.count(f"GET {BULK}/J-42") == 2


def test_a_failed_swap_reports_the_dashboards_errors(dashboard):
    adapter, handler = dashboard
    handler.answers[("POST", BULK)] = [(207, {"jobId": "J-43", "swaps": [_swap("pending")]})]
    handler.answers[("GET", f"{BULK}/J-43")] = [
        (200, {"jobId": "J-43", "swaps": [_swap("failed", ["Device is not licensed"])]})
    ]
    with pytest.raises(DashboardError, match="Device is not licensed"):
        _swap_device(adapter)


@pytest.mark.parametrize(
    "answer",
    [
        {"id": "9", "status": "complete"},  # the shape netkeep used to expect
        {"jobId": "J-44"},
        {"jobId": "J-44", "swaps": [{"devices": {"old": {"serial": "Q2FY-XXXX-9999"}}}]},
        {"jobId": "J-44", "swaps": [{"status": "complete"}]},
        ["not", "an", "object"],
    ],
)
def test_an_answer_in_another_shape_is_a_dashboard_error_not_a_key_error(dashboard, answer):
    adapter, handler = dashboard
    handler.answers[("POST", BULK)] = [(207, answer)]
    with pytest.raises(DashboardError) as refused:
        _swap_device(adapter)
    assert OLD in str(refused.value) or "J-44" in str(refused.value)


def test_a_copied_dhcp_uplink_carries_no_static_fields_and_no_nulls() -> None:
    answered = {
        "wanEnabled": "enabled",
        "usingStaticIp": False,
        "staticIp": "203.0.113.5",
        "staticSubnetMask": None,
        "staticGatewayIp": None,
        "staticDns": [],
        "vlan": None,
        "ipv6": {"usingStaticIp": False},
    }
    assert wan_body(answered) == {"wanEnabled": "enabled", "usingStaticIp": False}
    static = {**answered, "usingStaticIp": True, "staticSubnetMask": "255.255.255.0", "vlan": 7}
    assert wan_body(static) == {
        "wanEnabled": "enabled",
        "usingStaticIp": True,
        "staticIp": "203.0.113.5",
        "staticSubnetMask": "255.255.255.0",
        "staticDns": [],
        "vlan": 7,
    }
