"""SLA policies, outages and the monthly credit report, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdf
import pytest
from sqlmodel import Session, select

from core.audit import history
from core.csv_export import csv_text
from core.errors import NotFound, ValidationFailed
from inventory.contracts import create_contract
from inventory.domain import Plan
from sla import service
from sla.domain import CreditBasis, OutageCause
from sla.models import SlaOutage
from sla.report_pdf import render_credit_report
from tests.service.helpers import ACTOR

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=JST)


@pytest.fixture
def contracts(session: Session) -> None:
    for number, customer in (
        ("SLA-1", "株式会社A"),
        ("SLA-2", "株式会社B"),
        ("SLA-3", "株式会社C"),
    ):
        create_contract(
            session=session, actor=ACTOR, number=number, customer=customer, plan=Plan.UTM
        )
    session.flush()
    service.set_policy(
        session=session,
        actor=ACTOR,
        contract_number="SLA-1",
        monthly_fee_yen=62_000,
        basis=CreditBasis.CALENDAR_DAYS,
        now=NOW,
    )
    service.set_policy(
        session=session,
        actor=ACTOR,
        contract_number="SLA-2",
        monthly_fee_yen=31_000,
        basis=CreditBasis.YEAR_365,
        now=NOW,
    )


def outage(
    session: Session,
    contract: str,
    start: datetime,
    end: datetime | None,
    cause: OutageCause = OutageCause.PROVIDER,
    learned: datetime | None = None,
) -> SlaOutage:
    return service.record_outage(
        session=session,
        actor=ACTOR,
        contract_number=contract,
        started_at=start,
        learned_at=learned or start,
        ended_at=end,
        cause=cause,
        now=NOW,
    )


def test_monthly_report_per_contract(session: Session, contracts: None) -> None:
    # SLA-1: Oct 30 12:00 → Nov 2 13:00 JST: days start Oct 30, Oct 31 (October) and Nov 1.
    outage(
        session,
        "SLA-1",
        datetime(2026, 10, 30, 12, tzinfo=JST),
        datetime(2026, 11, 2, 13, tzinfo=JST),
    )
    # SLA-1: learned 2 h late, back 25 h after the start: 23 h counted, nothing.
    outage(
        session,
        "SLA-1",
        datetime(2026, 11, 5, 9, tzinfo=JST),
        datetime(2026, 11, 6, 10, tzinfo=JST),
        learned=datetime(2026, 11, 5, 11, tzinfo=JST),
    )
    # SLA-2 (365-day basis): 24 h 30 m → one day, 12 × 31,000 ÷ 365 = 1,019.
    outage(
        session,
        "SLA-2",
        datetime(2026, 11, 10, 9, tzinfo=JST),
        datetime(2026, 11, 11, 9, 30, tzinfo=JST),
    )
    # SLA-2 negligence, 2 h: 12 × 31,000 × 7,200 ÷ (365 × 86,400) = 84.9 → 84.
    outage(
        session,
        "SLA-2",
        datetime(2026, 11, 20, 9, tzinfo=JST),
        datetime(2026, 11, 20, 11, tzinfo=JST),
        OutageCause.NEGLIGENCE,
    )
    # SLA-2 customer's side: nothing.
    outage(
        session,
        "SLA-2",
        datetime(2026, 11, 21, 9, tzinfo=JST),
        datetime(2026, 11, 25, 9, tzinfo=JST),
        OutageCause.CUSTOMER,
    )
    # SLA-1 still down; SLA-3 has no policy.
    ongoing = outage(session, "SLA-1", datetime(2026, 11, 28, 9, tzinfo=JST), None)
    outage(
        session, "SLA-3", datetime(2026, 11, 1, 9, tzinfo=JST), datetime(2026, 11, 3, 9, tzinfo=JST)
    )

    november = service.credit_report(session=session, month="2026-11")
    assert [(r.contract, r.full_days, r.seconds, r.credit_yen) for r in november.rows] == [
        ("SLA-1", 1, 0, 2_066),  # 62,000 ÷ 30 = 2,066.6…
        ("SLA-2", 1, 0, 1_019),
        ("SLA-2", 0, 7_200, 84),
    ]
    assert [(t.contract, t.credit_yen, t.tax_yen) for t in november.totals] == [
        ("SLA-1", 2_066, 206),
        ("SLA-2", 1_103, 110),
    ]
    assert november.credit_yen == 3_169
    assert [(c, i) for c, i, _ in november.ongoing] == [("SLA-1", ongoing.id)]
    assert november.without_policy == ["SLA-3"]

    october = service.credit_report(session=session, month="2026-10")
    assert [(r.contract, r.full_days, r.credit_yen) for r in october.rows] == [("SLA-1", 2, 4_000)]
    assert service.credit_report(session=session, month="2026-09").rows == []

    text = csv_text(service.report_csv_rows(november))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("契約番号 contract,")
    assert lines[1].endswith(",provider,calendar_days,62000,1,0,2066,206")
    assert len(lines) == 4

    pdf = render_credit_report(november)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "SLA減額明細（2026年11月分）" in page
    assert "¥2,066" in page and "¥1,103" in page and "故意・重過失" in page


def test_ending_an_outage_brings_its_credit(session: Session, contracts: None) -> None:
    o = outage(session, "SLA-1", datetime(2026, 11, 28, 9, tzinfo=JST), None)
    assert o.id is not None
    service.end_outage(
        session=session,
        actor=ACTOR,
        outage_id=o.id,
        ended_at=datetime(2026, 11, 30, 9, tzinfo=JST),
        now=NOW,
    )
    report = service.credit_report(session=session, month="2026-11")
    assert [(r.full_days, r.credit_yen) for r in report.rows] == [(2, 4_133)]  # 124,000 ÷ 30
    assert [
        e.action for e in history(session=session, entity_type="sla_outage", entity_id=str(o.id))
    ] == ["sla.outage", "sla.outage_end"]
    with pytest.raises(ValidationFailed):
        service.end_outage(
            session=session,
            actor=ACTOR,
            outage_id=o.id,
            ended_at=datetime(2026, 11, 30, 10, tzinfo=JST),
            now=NOW,
        )
    with pytest.raises(NotFound):
        service.end_outage(session=session, actor=ACTOR, outage_id=999_999, ended_at=NOW, now=NOW)


def test_policy_change_is_audited_with_before_and_after(session: Session, contracts: None) -> None:
    service.set_policy(
        session=session,
        actor=ACTOR,
        contract_number="SLA-1",
        monthly_fee_yen=70_000,
        basis=CreditBasis.YEAR_365,
        now=NOW,
    )
    entries = history(session=session, entity_type="contract", entity_id="SLA-1")
    last = [e for e in entries if e.action == "sla.policy"][-1]
    assert last.before == {"monthly_fee_yen": 62_000, "basis": "calendar_days"}
    assert last.after == {"monthly_fee_yen": 70_000, "basis": "year_365"}


def test_bad_outages_and_months_are_refused_with_their_location(
    session: Session, contracts: None
) -> None:
    with pytest.raises(ValidationFailed) as info:
        outage(
            session, "SLA-1", datetime(2026, 12, 5, tzinfo=JST), datetime(2026, 12, 4, tzinfo=JST)
        )
    assert {p.location for p in info.value.problems} == {"ended_at", "started_at"}
    with pytest.raises(NotFound):
        outage(session, "NOPE", datetime(2026, 11, 1, tzinfo=JST), None)
    with pytest.raises(ValidationFailed) as bad_month:
        service.credit_report(session=session, month="2026-13")
    assert [p.location for p in bad_month.value.problems] == ["month"]
    with pytest.raises(ValidationFailed) as bad_fee:
        service.set_policy(
            session=session,
            actor=ACTOR,
            contract_number="SLA-1",
            monthly_fee_yen=-1,
            basis=CreditBasis.CALENDAR_DAYS,
            now=NOW,
        )
    assert [p.location for p in bad_fee.value.problems] == ["monthly_fee_yen"]
    assert session.exec(select(SlaOutage)).all() == []
