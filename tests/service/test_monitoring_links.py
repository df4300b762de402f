"""What a monitoring outage leads to: the SLA record credits are computed from, the incidents
about it and the RMA opened from it, VPN outages and recovery notices.

Rules from issue 11 and seed 004, stated here rather than read back from the code:
- an outage of 24 h or more counted from when the provider learned of it (the debounce passed)
  earns the monthly fee × full 24-h days ÷ the month's calendar days (December: 31); a
  shorter one earns nothing; the record is written once however often the device is polled;
- an incident can name the outage; the RMA opened from the outage is named on its incidents;
- "VPN connectivity changed" with connectivity false opens a VPN outage for that peer, true
  closes it; a closed outage sends each contact told of it a recovery notice, in the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from core.audit import SYSTEM
from core.calendar import TOKYO
from core.models import AuditEntry
from dashboard.monitoring import MerakiMonitoring
from helpdesk import service as helpdesk
from helpdesk.domain import Channel, IncidentKind
from monitoring import service
from monitoring.contacts import remove_contact
from monitoring.domain import Debounce
from monitoring.models import FailureNotice, Outage
from monitoring.notices import MAIL, add_contact
from sandbox.server import SandboxServer
from sla import service as sla
from sla.domain import CreditBasis
from sla.models import SlaOutage
from tests.service.rma_builders import FAILED, build_world

ORG = "537758"
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
T = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 10:00 JST, inside every window


def poll(session: Session, dash: MerakiMonitoring, now: datetime) -> service.PollReport:
    return service.poll(
        session=session,
        dashboard=dash,
        organization_id=ORG,
        actor=SYSTEM,
        now=now,
        debounce=Debounce(polls=2),
        prefer_change_history=False,
    )


def adapter(sandbox: SandboxServer) -> MerakiMonitoring:
    return MerakiMonitoring(api_key=sandbox.api_key, base_url=sandbox.base_url)


def sla_rows(session: Session) -> list[SlaOutage]:
    return list(
        session.exec(
            select(SlaOutage).where(SlaOutage.source == "monitoring").order_by(col(SlaOutage.id))
        )
    )


def test_a_lasting_outage_becomes_the_sla_record_and_its_credit(
    session: Session, sandbox: SandboxServer, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    sla.set_policy(
        session=session,
        actor=SYSTEM,
        contract_number="C-RMA-UTM",
        monthly_fee_yen=31_000,
        basis=CreditBasis.CALENDAR_DAYS,
        now=T,
    )
    dash = adapter(sandbox)
    poll(session, dash, T)
    sandbox.admin.set_device_status(FAILED, "offline")
    poll(session, dash, T + MIN)  # first seen down: started
    poll(session, dash, T + 2 * MIN)  # debounced: the provider learns of it
    poll(session, dash, T + 2 * MIN)  # the same tick again
    [outage] = session.exec(select(Outage).where(Outage.serial == FAILED)).all()
    [record] = sla_rows(session)
    assert (record.source_ref, record.started_at, record.learned_at, record.ended_at) == (
        str(outage.id),
        T + MIN,
        T + 2 * MIN,
        None,
    )
    assert record.cause == "provider"
    ongoing = sla.credit_report(session=session, month="2026-12")
    assert [(c, o) for c, o, _ in ongoing.ongoing] == [("C-RMA-UTM", record.id)]
    for hours in (1, 12, 24):  # still down: polled again and again
        poll(session, dash, T + 2 * MIN + hours * HOUR)
    sandbox.admin.set_device_status(FAILED, "online")
    back = T + 2 * MIN + 25 * HOUR
    assert poll(session, dash, back).closed == [outage.id]
    poll(session, dash, back + MIN)
    [record] = sla_rows(session)
    assert record.ended_at == back
    report = sla.credit_report(session=session, month="2026-12")
    [row] = report.rows
    # 25 h from when it was learned of: one full day of ¥31,000 in a 31-day month.
    assert (row.outage_id, row.full_days, row.credit_yen, row.tax_yen) == (record.id, 1, 1_000, 100)
    assert report.ongoing == []
    actions = session.exec(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "sla_outage", AuditEntry.entity_id == str(record.id)
        )
    ).all()
    assert sorted(actions) == ["sla.outage", "sla.outage_end"]


def test_24_hours_from_the_start_but_not_from_detection_earns_nothing(
    session: Session, sandbox: SandboxServer, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    sla.set_policy(
        session=session,
        actor=SYSTEM,
        contract_number="C-RMA-UTM",
        monthly_fee_yen=31_000,
        basis=CreditBasis.CALENDAR_DAYS,
        now=T,
    )
    dash = adapter(sandbox)
    poll(session, dash, T)
    sandbox.admin.set_device_status(FAILED, "offline")
    poll(session, dash, T + MIN)
    poll(session, dash, T + 31 * MIN)  # learned of 30 minutes after it started
    sandbox.admin.set_device_status(FAILED, "online")
    poll(session, dash, T + MIN + 24 * HOUR + MIN)  # 24 h 1 min from the start, 23 h 31 from 31'
    [record] = sla_rows(session)
    assert record.ended_at == T + MIN + 24 * HOUR + MIN
    assert sla.credit_report(session=session, month="2026-12").rows == []


def test_an_outage_without_a_contract_has_no_sla_record(session: Session) -> None:
    outage = service.open_outage(
        session=session,
        serial="Q2XX-NONE-0001",
        organization_id=ORG,
        network_id=None,
        product_type="appliance",
        status="offline",
        started_at=T,
        source="poll",
        actor=SYSTEM,
        now=T,
    )
    assert outage.contract_id is None
    assert sla_rows(session) == []


def test_incidents_about_an_outage_name_the_rma_opened_from_it(
    session: Session, sandbox: SandboxServer, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    dash = adapter(sandbox)
    now = datetime.now(UTC).replace(microsecond=0) - 10 * MIN
    poll(session, dash, now)
    sandbox.admin.set_device_status(FAILED, "offline")
    poll(session, dash, now + MIN)
    [opened] = poll(session, dash, now + 2 * MIN).opened
    unrelated, about = (
        helpdesk.open_contact(
            session=session,
            actor=SYSTEM,
            contract_number="C-RMA-UTM",
            questions=[helpdesk.Question(text, IncidentKind.FAULT)],
            channel=Channel.PHONE,
            reporter="総務 佐藤",
            received_at=now + 3 * MIN,
            now=now + 3 * MIN,
            outage_id=outage_id,
        )[0]
        for text, outage_id in (("プリンタが使えない", None), ("本社のネットが落ちた", opened))
    )
    assert (about.outage_id, about.rma_number) == (opened, None)
    outage = service.open_rma_for_outage(
        session=session, outage_id=opened, actor=SYSTEM, reporter="noc", now=now + 4 * MIN
    )
    assert outage.rma_number is not None and outage.rma_number.startswith("RMA-")
    session.refresh(about)
    session.refresh(unrelated)
    assert about.rma_number == outage.rma_number
    assert unrelated.rma_number is None and unrelated.outage_id is None
    later = helpdesk.open_contact(
        session=session,
        actor=SYSTEM,
        contract_number="C-RMA-UTM",
        questions=[helpdesk.Question("交換機はいつ届く？")],
        channel=Channel.MAIL,
        reporter="総務 佐藤",
        received_at=now + 5 * MIN,
        now=now + 5 * MIN,
        outage_id=opened,
    )[0]
    assert later.rma_number == outage.rma_number  # opened after the RMA: named at once
    audited = session.exec(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "incident", AuditEntry.entity_id == about.number
        )
    ).all()
    assert "incident.rma" in audited


def test_an_incident_naming_an_unknown_outage_is_refused(session: Session, tmp_path: Path) -> None:
    import pytest

    from core.errors import ValidationFailed

    build_world(session, tmp_path)
    with pytest.raises(ValidationFailed, match="outage"):
        helpdesk.open_contact(
            session=session,
            actor=SYSTEM,
            contract_number="C-RMA-UTM",
            questions=[helpdesk.Question("?")],
            channel=Channel.PHONE,
            reporter="x",
            received_at=T,
            now=T,
            outage_id=999_999,
        )


def test_a_closed_outage_queues_a_recovery_notice_in_the_window(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    told, leaving = (
        add_contact(
            session=session,
            actor=SYSTEM,
            customer="株式会社さくら商事",
            channel=MAIL,
            address=address,
            now=T,
        )
        for address in ("it@sakura.example", "leaving@sakura.example")
    )
    saturday_evening = datetime(2026, 12, 12, 18, 0, tzinfo=TOKYO)
    outage = service.open_outage(
        session=session,
        serial=FAILED,
        organization_id=ORG,
        network_id="N_demo_tokyo",
        product_type="appliance",
        status="offline",
        started_at=saturday_evening - 5 * MIN,
        source="poll",
        actor=SYSTEM,
        now=saturday_evening,
    )
    assert outage.id is not None and leaving.id is not None
    late = add_contact(  # added after the failure was told: no recovery notice for it
        session=session,
        actor=SYSTEM,
        customer="株式会社さくら商事",
        channel=MAIL,
        address="late@sakura.example",
        now=saturday_evening,
    )
    sunday = datetime(2026, 12, 13, 11, 0, tzinfo=TOKYO)
    remove_contact(session=session, actor=SYSTEM, contact_id=leaving.id, now=sunday)
    service.close_outage(
        session=session, outage_id=outage.id, ended_at=sunday, actor=SYSTEM, now=sunday
    )
    service.close_outage(  # closed again (a poll and a webhook): nothing more
        session=session, outage_id=outage.id, ended_at=sunday, actor=SYSTEM, now=sunday + MIN
    )
    notices = session.exec(select(FailureNotice).where(FailureNotice.outage_id == outage.id)).all()
    monday_9 = datetime(2026, 12, 14, 9, 0, tzinfo=TOKYO)  # UTM window: Mon–Sat 9–17
    assert sorted((n.contact_id, n.kind, n.detected_at, n.due_at) for n in notices) == sorted(
        [
            (told.id, "failure", saturday_evening, monday_9),
            (told.id, "recovery", sunday, monday_9),
            (leaving.id, "failure", saturday_evening, monday_9),  # removed since: no recovery
        ]
    )
    assert late.id not in {n.contact_id for n in notices}
