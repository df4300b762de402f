"""VPN outages from the dashboard's "VPN connectivity changed" alerts, sent by the sandbox itself
when its admin call takes an Auto VPN tunnel down and back up (real HTTP both ways).

Rules (issue 11): connectivity false opens a VPN outage for the device and that peer; true
closes it; the failure and the recovery are told to the customer's contacts in the window;
a VPN outage is not the device being down (the device's own outage is a separate record).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from core.audit import SYSTEM
from monitoring.alerts import vpn_change
from monitoring.models import FailureNotice, MonitorAlert, Outage
from monitoring.notices import MAIL, add_contact
from sandbox.server import SandboxServer
from sla.models import SlaOutage
from tests.service.rma_builders import FAILED, build_world
from tests.service.test_monitoring_webhook import (  # noqa: F401  (the receiver fixture)
    NET,
    Receiver,
    receiver,
    statuses,
)

PEER = "N_demo_osaka"
ORG = "537758"


def vpn_outages(session: Session) -> list[Outage]:
    return list(session.exec(select(Outage).where(Outage.kind == "vpn").order_by(col(Outage.id))))


def test_a_vpn_peer_down_and_up_opens_and_closes_a_vpn_outage(
    receiver: Receiver,  # noqa: F811
    sandbox: SandboxServer,
    session: Session,
    tmp_path: Path,
) -> None:
    build_world(session, tmp_path)
    add_contact(
        session=session,
        actor=SYSTEM,
        customer="株式会社さくら商事",
        channel=MAIL,
        address="it@sakura.example",
        now=datetime.now(UTC),
    )
    session.commit()
    api = sandbox.dashboard_api()
    for net in (NET, PEER):  # both in Auto VPN as hubs: each the other's peer
        api.appliance.updateNetworkApplianceVpnSiteToSiteVpn(net, mode="hub")
    down = sandbox.admin.set_vpn_peer(NET, PEER, reachable=False)
    assert statuses(down) == [202]
    again = sandbox.admin.set_vpn_peer(NET, PEER, reachable=False)
    assert (again["changed"], statuses(again)) == (False, [])  # already down: no alert
    [outage] = vpn_outages(session)
    assert (outage.serial, outage.vpn_peer, outage.ended_at) == (FAILED, PEER, None)
    assert outage.site == "本社" and outage.source == "webhook"
    assert session.exec(select(Outage).where(Outage.kind == "device")).all() == []
    assert session.exec(select(SlaOutage)).all() == []  # the device itself still answers
    statuses_seen = api.appliance.getOrganizationApplianceVpnStatuses(ORG, total_pages=-1)
    tokyo = next(s for s in statuses_seen if s["networkId"] == NET)
    assert {p["networkId"]: p["reachability"] for p in tokyo["merakiVpnPeers"]}[PEER] == (
        "unreachable"
    )
    up = sandbox.admin.set_vpn_peer(NET, PEER, reachable=True)
    assert statuses(up) == [202]
    session.refresh(outage)
    assert outage.ended_at is not None and outage.ended_at >= outage.started_at
    alerts = session.exec(select(MonitorAlert).order_by(col(MonitorAlert.id))).all()
    assert [(a.kind, a.outage_id) for a in alerts] == [("vpn", outage.id), ("vpn", outage.id)]
    kinds = session.exec(
        select(FailureNotice.kind).where(FailureNotice.outage_id == outage.id)
    ).all()
    assert sorted(kinds) == ["failure", "recovery"]


def test_what_a_vpn_alert_says() -> None:
    assert vpn_change({"connectivity": "false", "peerIdent": "N_1"}) == (False, "N_1")
    assert vpn_change({"connectivity": "true", "peerIp": "203.0.113.9"}) == (True, "203.0.113.9")
    assert vpn_change({"connectivity": False, "peerIdent": "N_1"}) == (False, "N_1")
    assert vpn_change({"connectivity": "false"}) is None  # which tunnel? not said: no outage
    assert vpn_change({"connectivity": "maybe", "peerIdent": "N_1"}) is None
    assert vpn_change(None) is None
