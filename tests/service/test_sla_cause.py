"""The desk corrects whose fault a monitoring outage was; the credit follows the cause, audited.

Monitoring records each device outage under a contract as the provider's (seed 004: the
provider's responsibility). Rules restated here (seed 004, seed 000 Art. 中断 3):
- provider: the monthly fee for each full 24 h counted from when the provider learned of it,
  ÷ the month's calendar days — ¥31,000 a month, 25 h 30 min in December (31 days): ¥1,000;
- customer: no credit at all;
- the provider's intent (gross negligence): every second counts, no 24-h threshold —
  ¥31,000 × 91,800 s ÷ (31 × 86,400 s) = ¥1,062.5, truncated: ¥1,062.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.audit import SYSTEM, Actor
from core.errors import NotFound
from core.models import AuditEntry
from monitoring.models import Outage
from monitoring.service import close_outage, open_outage
from sla import causes
from sla import service as sla
from sla.domain import CreditBasis, OutageCause, parse_cause
from sla.models import SlaOutage
from tests.conftest import bearer
from tests.service.rma_builders import FAILED, build_world

T = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 10:00 JST
LEARNED = T + timedelta(minutes=2)
BACK = LEARNED + timedelta(hours=25, minutes=30)
DESK = Actor(name="desk-tanaka", role="noc")


def monitoring_outage(session: Session, tmp_path: Path, *, ended: bool = True) -> int:
    """A monitoring outage of the contract's router; the SLA outage monitoring made of it."""
    build_world(session, tmp_path)
    sla.set_policy(
        session=session,
        actor=SYSTEM,
        contract_number="C-RMA-UTM",
        monthly_fee_yen=31_000,
        basis=CreditBasis.CALENDAR_DAYS,
        now=T,
    )
    outage = open_outage(
        session=session,
        serial=FAILED,
        organization_id="537758",
        network_id="N_demo_tokyo",
        product_type="appliance",
        status="offline",
        started_at=T,
        source="poll",
        actor=SYSTEM,
        now=LEARNED,
    )
    assert outage.id is not None
    if ended:
        close_outage(session=session, outage_id=outage.id, ended_at=BACK, actor=SYSTEM, now=BACK)
    [row] = session.exec(select(SlaOutage).where(SlaOutage.source_ref == str(outage.id))).all()
    session.commit()
    assert row.id is not None and row.cause == "provider"
    return row.id


def credited(session: Session) -> list[tuple[int, int]]:
    return [
        (r.outage_id, r.credit_yen)
        for r in sla.credit_report(session=session, month="2026-12").rows
    ]


def test_the_cause_corrected_recomputes_the_credit_and_is_audited(
    session: Session, tmp_path: Path
) -> None:
    sla_id = monitoring_outage(session, tmp_path)
    assert credited(session) == [(sla_id, 1_000)]

    to_customer = causes.set_cause(
        session=session,
        actor=DESK,
        outage_id=sla_id,
        cause=OutageCause.CUSTOMER,
        now=BACK,
        note="お客様の電源工事",
    )
    assert (to_customer.before, to_customer.credit_before_yen, to_customer.credit_yen) == (
        OutageCause.PROVIDER,
        1_000,
        0,
    )
    assert to_customer.contract == "C-RMA-UTM"
    assert credited(session) == []

    to_intent = causes.set_cause(
        session=session, actor=DESK, outage_id=sla_id, cause=parse_cause("intent"), now=BACK
    )
    assert (to_intent.credit_before_yen, to_intent.credit_yen) == (0, 1_062)
    assert credited(session) == [(sla_id, 1_062)]
    same = causes.set_cause(
        session=session, actor=DESK, outage_id=sla_id, cause=OutageCause.NEGLIGENCE, now=BACK
    )  # the same cause again: nothing changes, nothing is recorded
    assert (same.credit_before_yen, same.credit_yen) == (1_062, 1_062)

    entries = session.exec(
        select(AuditEntry)
        .where(AuditEntry.action == "sla.outage_cause", AuditEntry.entity_id == str(sla_id))
        .order_by(col(AuditEntry.id))
    ).all()
    assert [(e.actor, e.before, e.after) for e in entries] == [
        (
            "desk-tanaka",
            {"cause": "provider", "credit_yen": 1_000},
            {"cause": "customer", "credit_yen": 0, "note": "お客様の電源工事"},
        ),
        (
            "desk-tanaka",
            {"cause": "customer", "credit_yen": 0},
            {"cause": "negligence", "credit_yen": 1_062, "note": ""},
        ),
    ]
    assert "お客様の電源工事" in session.get(SlaOutage, sla_id).note  # type: ignore[union-attr]


def test_an_ongoing_outage_has_no_credit_yet_and_an_unknown_one_is_not_found(
    session: Session, tmp_path: Path
) -> None:
    sla_id = monitoring_outage(session, tmp_path, ended=False)
    [monitored] = session.exec(select(Outage.id).where(Outage.serial == FAILED)).all()
    assert monitored is not None
    change = causes.set_cause(  # named by the monitoring outage's own id
        session=session,
        actor=DESK,
        outage_id=monitored,
        cause=OutageCause.CUSTOMER,
        now=BACK,
        source="monitoring",
    )
    assert (change.outage.id, change.outage.cause) == (sla_id, "customer")
    assert (change.credit_before_yen, change.credit_yen) == (None, None)
    with pytest.raises(NotFound):
        causes.set_cause(
            session=session,
            actor=DESK,
            outage_id=monitored + 1000,
            cause=OutageCause.CUSTOMER,
            now=BACK,
            source="monitoring",
        )
    with pytest.raises(NotFound):
        causes.set_cause(
            session=session, actor=DESK, outage_id=999_999, cause=OutageCause.CUSTOMER, now=BACK
        )
    with pytest.raises(ValueError):
        parse_cause("weather")


def test_the_api_lets_noc_and_admin_correct_the_cause_not_a_viewer(
    app_client: TestClient, session: Session, tokens: dict[str, str], tmp_path: Path
) -> None:
    sla_id = monitoring_outage(session, tmp_path)
    url = f"/api/v1/sla/outages/{sla_id}/cause"
    refused = app_client.post(url, json={"cause": "customer"}, headers=bearer(tokens["viewer"]))
    assert refused.status_code == 403
    assert session.get(SlaOutage, sla_id).cause == "provider"  # type: ignore[union-attr]
    answer = app_client.post(
        url, json={"cause": "customer", "note": "宅内工事"}, headers=bearer(tokens["noc"])
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "id": sla_id,
        "contract": "C-RMA-UTM",
        "cause": "customer",
        "cause_before": "provider",
        "credit_before_yen": 1_000,
        "credit_yen": 0,
    }
    [monitored] = session.exec(select(Outage.id).where(Outage.serial == FAILED)).all()
    intent = app_client.post(  # by the monitoring outage's id, as /api/v1/outages shows it
        f"/api/v1/sla/outages/{monitored}/cause?monitoring=true",
        json={"cause": "intent"},
        headers=bearer(tokens["admin"]),
    )
    assert intent.status_code == 200, intent.text
    assert (intent.json()["cause"], intent.json()["credit_yen"]) == ("negligence", 1_062)
    bad = app_client.post(url, json={"cause": "weather"}, headers=bearer(tokens["noc"]))
    assert bad.status_code == 422
    missing = app_client.post(
        "/api/v1/sla/outages/999999/cause",
        json={"cause": "customer"},
        headers=bearer(tokens["noc"]),
    )
    assert missing.status_code == 404
