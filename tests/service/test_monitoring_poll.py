"""The liveness poll through the real SDK against the sandbox: debounce, outages, idempotence.

Rules stated from issue 11: an online → offline change counts only after the debounce (here 2
polls); the outage starts when the device was first seen down (or, from the change history,
when it went down) and ends when it returns; a poll run twice records nothing twice; a poll
that cannot read the dashboard records nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from core.audit import SYSTEM
from core.errors import DashboardError
from core.models import AuditEntry
from dashboard.monitoring import MerakiMonitoring
from monitoring import service
from monitoring.domain import Debounce
from monitoring.models import MonitorPoll, Outage
from sandbox.server import SandboxServer
from tests.service.rma_builders import build_world

ORG = "537758"
MX = "Q2FY-AAAA-0001"  # deployed at 本社 under contract C-RMA-UTM (rma_builders)
NETWORKED = {"Q2FY-AAAA-0001", "Q2FY-AAAA-0004", "Q2KY-BBBB-0003", "Q3AJ-DDDD-0001"}
MIN = timedelta(minutes=1)


def adapter(sandbox: SandboxServer, retries: int = 2) -> MerakiMonitoring:
    return MerakiMonitoring(
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=retries
    )


def outages(session: Session, serial: str) -> list[Outage]:
    return list(
        session.exec(select(Outage).where(Outage.serial == serial).order_by(col(Outage.id)))
    )


def poll(
    session: Session, dash: MerakiMonitoring, now: datetime, history: bool = False
) -> service.PollReport:
    return service.poll(
        session=session,
        dashboard=dash,
        organization_id=ORG,
        actor=SYSTEM,
        now=now,
        debounce=Debounce(polls=2),
        prefer_change_history=history,
    )


def test_full_list_poll_debounces_opens_and_closes(
    session: Session, sandbox: SandboxServer, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    dash = adapter(sandbox)
    t = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    first = poll(session, dash, t)
    assert (first.method, first.devices, first.opened) == ("availabilities", 4, [])
    sandbox.admin.set_device_status(MX, "offline")
    assert poll(session, dash, t + MIN).opened == []  # seen down once: not yet
    again = poll(session, dash, t + MIN)  # the same tick again
    assert again.repeated and again.opened == []
    opened = poll(session, dash, t + 2 * MIN)
    [outage] = outages(session, MX)
    assert opened.opened == [outage.id]
    assert outage.started_at == t + MIN  # first seen down
    assert outage.detected_at == t + 2 * MIN
    assert (outage.site, outage.ended_at, outage.status_seen) == ("本社", None, "offline")
    assert outage.contract_id is not None and outage.customer == "株式会社さくら商事"
    assert poll(session, dash, t + 3 * MIN).opened == []  # still down: the same outage
    sandbox.admin.set_device_status(MX, "online")
    closed = poll(session, dash, t + 4 * MIN)
    assert closed.closed == [outage.id]
    session.refresh(outage)
    assert outage.ended_at == t + 4 * MIN
    assert len(outages(session, MX)) == 1
    actions = session.exec(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "outage", AuditEntry.entity_id == str(outage.id)
        )
    ).all()
    assert sorted(actions) == ["outage.close", "outage.open"]


def test_a_blip_shorter_than_the_debounce_is_no_outage(
    session: Session, sandbox: SandboxServer
) -> None:
    dash = adapter(sandbox)
    t = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    poll(session, dash, t)
    sandbox.admin.set_device_status(MX, "alerting")
    poll(session, dash, t + MIN)
    sandbox.admin.set_device_status(MX, "online")
    report = poll(session, dash, t + 2 * MIN)
    assert (report.opened, report.closed) == ([], [])
    assert outages(session, MX) == []


def test_change_history_gives_when_it_went_down(session: Session, sandbox: SandboxServer) -> None:
    dash = adapter(sandbox)
    start = datetime.now(UTC).replace(microsecond=0) - 10 * MIN
    assert poll(session, dash, start, history=True).method == "availabilities"  # no baseline
    before = datetime.now(UTC)
    sandbox.admin.set_device_status(MX, "offline")
    after = datetime.now(UTC)
    sandbox.admin.reset_counters()
    suspect = poll(session, dash, datetime.now(UTC), history=True)
    assert suspect.method == "change_history" and suspect.devices == len(NETWORKED)
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/devices/availabilities") == 0
    opened = poll(session, dash, datetime.now(UTC), history=True)
    [outage] = outages(session, MX)
    assert opened.opened == [outage.id]
    assert before <= outage.started_at <= after  # the transition's own time
    assert outage.source == "change_history"
    back_before = datetime.now(UTC)
    sandbox.admin.set_device_status(MX, "online")
    back_after = datetime.now(UTC)
    poll(session, dash, datetime.now(UTC), history=True)
    session.refresh(outage)
    assert outage.ended_at is not None and back_before <= outage.ended_at <= back_after


def test_a_5xx_storm_records_nothing(session: Session, sandbox: SandboxServer) -> None:
    dash = adapter(sandbox, retries=1)
    t = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    sandbox.admin.set_device_status(MX, "offline")
    sandbox.admin.set_faults("5xx=1.0")
    for minute in range(3):
        with pytest.raises(DashboardError):
            poll(session, dash, t + minute * MIN)
    sandbox.admin.clear_faults()
    assert outages(session, MX) == []
    assert session.exec(select(MonitorPoll).where(MonitorPoll.polled_at >= t)).all() == []


def test_one_open_outage_per_device_whoever_opens_it(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    t = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)

    def open_one(at: datetime) -> Outage:
        return service.open_outage(
            session=session,
            serial=MX,
            organization_id=ORG,
            network_id=None,
            product_type="appliance",
            status="offline",
            started_at=at,
            source="webhook",
            actor=SYSTEM,
            now=at,
        )

    first = open_one(t)
    with pytest.raises(IntegrityError), session.begin_nested():
        open_one(t + MIN)  # a poll racing the webhook
    assert first.id is not None
    service.close_outage(
        session=session, outage_id=first.id, ended_at=t + 2 * MIN, actor=SYSTEM, now=t + 2 * MIN
    )
    session.flush()
    again = open_one(t + 3 * MIN)  # the next failure is a new outage
    assert [o.id for o in outages(session, MX)] == [first.id, again.id]
