"""The Meraki webhook receiver, fed by the sandbox itself over real HTTP.

netkeep configures its receiver on the sandbox through the real endpoints (httpServers, alert
settings); the sandbox's admin call takes a device down and the sandbox POSTs the alert to
netkeep (uvicorn on loopback). Refusals (issue 11 "Bad input"): a wrong secret 401, a stale
sentAt 422, a replayed alertId 409, malformed JSON 422, a 10 MB body 413 -- nothing stored,
the refusal logged without the secret.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from core.settings import Settings
from dashboard.monitoring import MerakiMonitoring
from monitoring.models import MonitorAlert, Outage
from sandbox.server import SandboxServer, bind_socket, uvicorn_config
from tests.conftest import SessionReadPath

SECRET = "kWz-9c1f-webhook-secret"
MX = "Q2FY-AAAA-0001"
AP = "Q3AJ-DDDD-0001"
NET = "N_demo_tokyo"
ALERT_TYPES = ["applianceDown", "gatewayDown", "vpnConnectivityChange", "settingsChanged"]


@dataclass
class Receiver:
    url: str


@pytest.fixture
def receiver(
    settings: Settings, engine: Engine, session: Session, sandbox: SandboxServer
) -> Iterator[Receiver]:
    """netkeep's API on a loopback port, its webhook configured on the sandbox's network."""
    cfg = settings.model_copy(update={"monitor_webhook_secret": SecretStr(SECRET)})
    app = create_app(cfg, engine)
    inner = app.app if hasattr(app, "app") else app
    inner.state.session_factory = lambda: nullcontext(session)
    inner.state.read_path = SessionReadPath(session)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "netkeep did not start"
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}/webhooks/meraki"
    dash = MerakiMonitoring(api_key=sandbox.api_key, base_url=sandbox.base_url)
    dash.configure_webhook(
        network_id=NET, name="netkeep", url=url, shared_secret=SECRET, alert_types=ALERT_TYPES
    )
    try:
        yield Receiver(url)
    finally:
        server.should_exit = True
        thread.join(10)


def statuses(answer: dict[str, object]) -> list[object]:
    deliveries = answer["deliveries"]
    assert isinstance(deliveries, list)
    return [d["status"] for d in deliveries]


def stored(session: Session) -> list[MonitorAlert]:
    return list(session.exec(select(MonitorAlert).order_by(col(MonitorAlert.id))))


def test_the_dashboard_alert_opens_and_closes_an_outage(
    receiver: Receiver, sandbox: SandboxServer, session: Session
) -> None:
    down = sandbox.admin.set_device_status(MX, "offline")
    assert statuses(down) == [202]
    [alert] = stored(session)
    assert (alert.alert_type, alert.kind, alert.serial) == ("Appliance went down", "down", MX)
    assert "sharedSecret" not in alert.payload
    [outage] = session.exec(select(Outage).where(Outage.serial == MX)).all()
    assert (outage.source, outage.ended_at, alert.outage_id) == ("webhook", None, outage.id)
    up = sandbox.admin.set_device_status(MX, "online")
    assert statuses(up) == [202]
    session.refresh(outage)
    assert outage.ended_at is not None and outage.ended_at >= outage.started_at
    assert [a.kind for a in stored(session)] == ["down", "up"]


def test_aps_vpn_and_settings_alerts_are_stored(
    receiver: Receiver, sandbox: SandboxServer, session: Session
) -> None:
    assert statuses(sandbox.admin.set_device_status(AP, "offline")) == [202]
    vpn = sandbox.admin.send_alert(
        NET, "VPN connectivity changed", deviceSerial=MX, alertData={"connectivity": "false"}
    )
    settings = sandbox.admin.send_alert(NET, "Settings changed")
    assert statuses(vpn) == statuses(settings) == [202]
    kinds = [(a.alert_type, a.kind) for a in stored(session)]
    assert kinds == [
        ("APs went down", "down"),
        ("VPN connectivity changed", "vpn"),
        ("Settings changed", "settings"),
    ]
    assert session.exec(select(Outage.serial)).all() == [AP]  # only the AP went down


def test_forged_stale_and_replayed_alerts_are_refused_and_nothing_stored(
    receiver: Receiver, sandbox: SandboxServer, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    good = sandbox.admin.send_alert(NET, "Settings changed")
    assert statuses(good) == [202]
    first_id = good["deliveries"][0]["alertId"]
    forged = sandbox.admin.send_alert(NET, "Settings changed", override={"sharedSecret": "guess"})
    stale = sandbox.admin.send_alert(
        NET, "Settings changed", override={"sentAt": "2026-01-01T00:00:00.000000Z"}
    )
    replayed = sandbox.admin.send_alert(NET, "Settings changed", override={"alertId": first_id})
    down_forged = sandbox.admin.set_device_status(MX, "offline", override={"sharedSecret": ""})
    assert statuses(forged) == [401]
    assert statuses(stale) == [422]
    assert statuses(replayed) == [409]
    assert statuses(down_forged) == [401]
    assert [a.alert_id for a in stored(session)] == [first_id]
    assert session.exec(select(Outage)).all() == []
    assert "meraki webhook refused" in caplog.text
    assert SECRET not in caplog.text and "guess" not in caplog.text


def test_malformed_and_huge_bodies(receiver: Receiver, session: Session) -> None:
    with httpx.Client(timeout=30) as client:
        broken = client.post(
            receiver.url, content=b'{"alertId": ', headers={"content-type": "application/json"}
        )
        huge = client.post(receiver.url, content=b"x" * 10_000_000)
        listed = client.post(receiver.url, json=["not", "an", "object"])
    assert (broken.status_code, broken.json()["error"]) == (422, "validation_failed")
    assert huge.status_code == 413 and huge.json()["error"]
    assert listed.status_code == 422
    assert stored(session) == []
