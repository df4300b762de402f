"""The portal's service layer: a customer reads only its own records, approves its own
preparation sheet and answers its own change requests within the week (both databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from changes import customer as changes_customer
from changes.models import ChangeRequest, ChangeRequestEvent
from core.audit import Actor
from core.errors import Conflict, NotFound, PermissionDenied
from core.models import AuditEntry
from inventory import customer_views as inventory_customer
from rma import customer_views as rma_customer
from survey import customer as survey_customer
from survey.models import SurveyVersion
from tests.service.portal_builders import (
    ASAHI,
    DUE,
    NOW,
    A,
    B,
    TwoTenants,
    accept_as_asahi,
    approve_as_asahi,
    report_defect_as_asahi,
    two_tenants,
)
from vpn import customer_reports


@pytest.fixture
def world(session: Session) -> TwoTenants:
    return two_tenants(session)


def test_each_list_holds_only_the_customers_own_records(
    session: Session, world: TwoTenants
) -> None:
    s = session
    assert [
        c.number for c in inventory_customer.customer_contracts(session=s, customer=A).items
    ] == ["C-AA-001"]
    assert [d.serial for d in inventory_customer.customer_devices(session=s, customer=A).items] == [
        "Q2AA-AAAA-0001"
    ]
    assert [r.rma.id for r in rma_customer.customer_rmas(session=s, customer=A).items] == [
        world.a.rma_id
    ]
    assert [v.id for v in survey_customer.customer_surveys(session=s, customer=B).items] == [
        world.b.survey_id
    ]
    assert [c.id for c in changes_customer.customer_changes(session=s, customer=B).items] == [
        world.b.change_id
    ]
    reports = customer_reports.customer_reports(session=s, customer=A).items
    assert sorted(r.id or 0 for r in reports) == sorted([world.a.report_id, world.shared_report])
    assert customer_views_total(session, "株式会社どこにもない") == 0


def customer_views_total(session: Session, customer: str) -> int:
    return (
        sum(
            page.total
            for page in (
                inventory_customer.customer_contracts(session=session, customer=customer),
                inventory_customer.customer_devices(session=session, customer=customer),
                survey_customer.customer_surveys(session=session, customer=customer),
                changes_customer.customer_changes(session=session, customer=customer),
                customer_reports.customer_reports(session=session, customer=customer),
            )
        )
        + rma_customer.customer_rmas(session=session, customer=customer).total
    )


def test_another_customers_record_is_not_found_and_names_no_customer(
    session: Session, world: TwoTenants
) -> None:
    b, s = world.b, session
    reads: list[Callable[[], object]] = [
        lambda: inventory_customer.customer_contract(session=s, customer=A, number=b.contract),
        lambda: inventory_customer.customer_device(session=s, customer=A, serial=b.serial),
        lambda: rma_customer.customer_rma(session=s, customer=A, rma_id=b.rma_id),
        lambda: survey_customer.customer_survey(session=s, customer=A, survey_id=b.survey_id),
        lambda: survey_customer.customer_version(
            session=s, customer=A, survey_id=b.survey_id, number=1
        ),
        lambda: changes_customer.customer_change(session=s, customer=A, request_id=b.change_id),
        lambda: customer_reports.customer_report(session=s, customer=A, report_id=b.report_id),
    ]
    for read in reads:
        with pytest.raises(NotFound) as caught:
            read()
        assert B not in caught.value.message and B not in str(caught.value.details)


def test_the_rma_shows_its_due_date_and_charge(session: Session, world: TwoTenants) -> None:
    seen = rma_customer.customer_rma(session=session, customer=A, rma_id=world.a.rma_id)
    assert seen.rma.due_date == date(2026, 12, 1)
    assert seen.charge is not None and seen.charge.total_yen == 66_000
    other = rma_customer.customer_rma(session=session, customer=B, rma_id=world.b.rma_id)
    assert other.charge is None


def test_a_shared_vpn_report_shows_each_customer_only_its_own_sites(
    session: Session, world: TwoTenants
) -> None:
    for customer, network in ((A, "N_AA"), (B, "N_BB")):
        seen = customer_reports.customer_report(
            session=session, customer=customer, report_id=world.shared_report
        )
        assert [site.network_id for site in seen.sites] == [network]
        assert all(e.network_id == network for e in seen.events)


def test_a_draft_version_is_not_shown_to_the_customer(session: Session, world: TwoTenants) -> None:
    session.add(SurveyVersion(survey_id=world.a.survey_id, number=2, status="draft"))
    session.flush()
    shown = survey_customer.customer_versions(
        session=session, customer=A, survey_id=world.a.survey_id
    )
    assert [v.number for v in shown] == [1]
    with pytest.raises(NotFound):
        survey_customer.customer_version(
            session=session, customer=A, survey_id=world.a.survey_id, number=2
        )


def test_sheets_to_approve_are_the_customers_issued_versions_only(
    session: Session, world: TwoTenants
) -> None:
    # each tenant has version 1 issued: A sees its own only
    waiting = survey_customer.sheets_to_approve(session=session, customer=A)
    assert [(s.id, v.number) for s, v in waiting] == [(world.a.survey_id, 1)]
    _approve(session, world)  # approved: nothing waits any more
    assert survey_customer.sheets_to_approve(session=session, customer=A) == []
    session.add(SurveyVersion(survey_id=world.a.survey_id, number=2, status="draft"))
    session.flush()  # a draft is not the customer's to approve
    assert survey_customer.sheets_to_approve(session=session, customer=A) == []


def _approve(session: Session, world: TwoTenants, actor: Actor = ASAHI) -> SurveyVersion:
    return approve_as_asahi(session, world.a.survey_id, actor=actor)


def _audits(session: Session, action: str) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_customer_approves_its_sheet_recorded_with_who_and_when(
    session: Session, world: TwoTenants
) -> None:
    version = _approve(session, world)
    assert version.status == "approved"
    assert version.approver_name == "asahi-taro"
    assert version.approved_on == date(2026, 12, 3)  # 11:00 JST on Thursday 3 December
    assert version.approval_recorded_by == "customer:asahi-taro"
    assert version.approval_recorded_at == NOW
    assert version.signature_ref and "customer:asahi-taro" in version.signature_ref
    [entry] = _audits(session, "survey.approve")
    assert (entry.actor, entry.role) == ("customer:asahi-taro", "customer")
    again = _approve(session, world)  # a double submit
    assert again.id == version.id and len(_audits(session, "survey.approve")) == 1


def test_a_customer_cannot_approve_another_customers_sheet(
    session: Session, world: TwoTenants
) -> None:
    with pytest.raises(NotFound):
        approve_as_asahi(session, world.b.survey_id)
    version = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == world.b.survey_id)
    ).one()
    assert version.status == "issued" and _audits(session, "survey.approve") == []


def test_staff_do_not_use_the_customers_approval_path(session: Session, world: TwoTenants) -> None:
    with pytest.raises(PermissionDenied):
        _approve(session, world, Actor(name="noc-desk", role="noc"))


def _events(session: Session, request_id: int, action: str) -> int:
    stmt = select(ChangeRequestEvent).where(
        ChangeRequestEvent.request_id == request_id, col(ChangeRequestEvent.action) == action
    )
    return len(session.exec(stmt).all())


def test_the_customer_accepts_a_change_within_its_week_once(
    session: Session, world: TwoTenants
) -> None:
    def accept() -> ChangeRequest:
        return accept_as_asahi(session, world.a.change_id)

    req = accept()
    assert (req.status, req.accepted_by, req.accepted_at) == ("accepted", "asahi-taro", NOW)
    accept()  # a double submit
    assert _events(session, world.a.change_id, "accepted") == 1


def test_the_week_has_an_end(session: Session, world: TwoTenants) -> None:
    for late in (DUE, DUE + timedelta(days=3)):
        with pytest.raises(Conflict):
            accept_as_asahi(session, world.a.change_id, now=late)
        with pytest.raises(Conflict):
            report_defect_as_asahi(session, world.a.change_id, "ゲストSSIDに繋がらない", now=late)
    last_minute = DUE - timedelta(minutes=1)
    req = accept_as_asahi(session, world.a.change_id, now=last_minute)
    assert req.status == "accepted"


def test_a_defect_reported_within_the_week_reopens_the_request(
    session: Session, world: TwoTenants
) -> None:
    req = report_defect_as_asahi(session, world.a.change_id, "ゲストSSIDに繋がらない")
    assert (req.status, req.round) == ("reopened", 2)
    assert req.defect and "ゲストSSIDに繋がらない" in req.defect and "asahi-taro" in req.defect


def test_a_customer_cannot_answer_another_customers_change(
    session: Session, world: TwoTenants
) -> None:
    with pytest.raises(NotFound):
        accept_as_asahi(session, world.b.change_id)
    assert session.get(ChangeRequest, world.b.change_id).status == "notified"  # type: ignore[union-attr]
