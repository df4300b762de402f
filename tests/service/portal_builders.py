"""Two customers' worlds side by side, for the portal's service, API and page tests (no tests).

Each customer has a contract, a device, an RMA (A's with a damage charge), a survey with an
issued preparation-sheet version, a change request whose completion notice went out, and VPN
sites; one VPN report holds both customers' sites, another only B's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from changes import customer as changes_customer
from changes.domain import acceptance_due
from changes.models import ChangeRequest, ChangeRequestEvent
from core.audit import Actor
from core.calendar import TOKYO
from inventory.models import Contract, Device
from rma.models import DamageChargeRecord, Rma
from survey import customer as survey_customer
from survey.models import Survey, SurveyVersion
from vpn import status
from vpn.status_rules import PeerObservation, VpnSiteStatus

A = "株式会社あさひ物産"
B = "有限会社ひかり工務店"
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 11:00 JST
NOTIFIED = NOW - timedelta(days=2)
DUE = datetime(2026, 12, 9, 0, 0, tzinfo=TOKYO)  # the end of the 7th day after the notice
ENGINEER = "field-sato"
NOC = "noc-desk"
STAFF = Actor(name="noc-report", role="noc")
ASAHI = Actor(name="customer:asahi-taro", role="customer")  # A's portal user, signing as asahi-taro


@dataclass(frozen=True)
class Tenant:
    """One customer's records, by the ids and numbers the portal's routes take."""

    customer: str
    contract: str
    serial: str
    rma_id: int
    survey_id: int
    version: int
    change_id: int
    report_id: int


@dataclass(frozen=True)
class TwoTenants:
    a: Tenant
    b: Tenant
    shared_report: int
    """A report holding both customers' sites (each sees only its own)."""


def _tenant(session: Session, customer: str, tag: str, *, charged: bool, now: datetime) -> Tenant:
    notified = now - timedelta(days=2)
    contract = Contract(number=f"C-{tag}-001", customer=customer, plan="utm", status="active")
    session.add(contract)
    session.flush()
    serial = f"Q2{tag}-{tag}{tag}-0001"
    device = Device(
        serial=serial,
        model="MX67",
        status="deployed",
        customer=customer,
        site=f"{tag}本社",
        contract_id=contract.id,
        network_id=f"N_{tag}",
    )
    session.add(device)
    session.flush()
    assert device.id is not None
    rma = Rma(
        status="charged" if charged else "shipped",
        failed_device_id=device.id,
        failed_serial=serial,
        failed_model="MX67",
        contract_id=contract.id,
        customer=customer,
        symptom="電源が入らない",
        reporter="総務",
        reported_at=now - timedelta(days=40),
        due_date=(now - timedelta(days=2)).date() if charged else (now + timedelta(days=17)).date(),
    )
    session.add(rma)
    session.flush()
    assert rma.id is not None
    if charged:
        session.add(
            DamageChargeRecord(
                rma_id=rma.id,
                model="MX67",
                net_yen=60_000,
                tax_yen=6_000,
                total_yen=66_000,
                issued_at=now - timedelta(days=1),
            )
        )
    survey = Survey(
        customer=customer,
        contract_id=contract.id,
        site=f"{tag}本社",
        surveyor="佐藤",
        survey_date=(now - timedelta(days=13)).date(),
    )
    session.add(survey)
    session.flush()
    assert survey.id is not None
    session.add(
        SurveyVersion(
            survey_id=survey.id,
            number=1,
            status="issued",
            issued_at=now - timedelta(days=3),
            issued_by=ENGINEER,
        )
    )
    change = ChangeRequest(
        number=f"CR-{tag}-1",
        customer=customer,
        summary="ゲストSSIDの追加",
        site_name=f"{tag}本社",
        status="notified",
        target="dashboard",
        notice_email=f"it@{tag.lower()}.example.jp",
        sheet_filename="change.xlsx",
        sheet_original=b"",
        submitted_by=NOC,
        applied_at=notified - timedelta(hours=1),
        notified_at=notified,
        acceptance_due_at=acceptance_due(notified, 7),
    )
    session.add(change)
    session.flush()
    assert change.id is not None
    session.add(
        ChangeRequestEvent(
            request_id=change.id,
            action="applied",
            from_status="scheduled",
            to_status="applied",
            actor="noc-apply",
            role="noc",
            at=notified - timedelta(hours=1),
        )
    )
    session.flush()
    return Tenant(customer, contract.number, serial, rma.id, survey.id, 1, change.id, 0)


def _site(network_id: str, name: str) -> VpnSiteStatus:
    return VpnSiteStatus(
        network_id=network_id,
        name=name,
        serial=None,
        device_status="online",
        mode="spoke",
        public_ip="203.0.113.5",
        peers=(PeerObservation("N_HUB", "hub", True),),
    )


def _report(session: Session, org: str, sites: list[VpnSiteStatus], at: datetime) -> int:
    report = status.store_snapshot(
        session=session,
        actor=STAFF,
        organization_id=org,
        observed=status.Observed(statuses=sites, uplinks=[]),
        now=at,
    )
    assert report.id is not None
    return report.id


def two_tenants(session: Session, now: datetime = NOW) -> TwoTenants:
    """Build both customers' records and three VPN reports through the report service, as
    they stand at `now` (the notice went out two days before it)."""
    a = _tenant(session, A, "AA", charged=True, now=now)
    b = _tenant(session, B, "BB", charged=False, now=now)
    site_a, site_b = _site("N_AA", "あさひ本社"), _site("N_BB", "ひかり本社")
    shared = _report(session, "org-shared", [site_a, site_b], now - timedelta(days=1))
    a_only = _report(session, "org-a", [site_a], now - timedelta(hours=2))
    b_only = _report(session, "org-b", [site_b], now - timedelta(hours=1))
    session.flush()
    return TwoTenants(
        a=Tenant(**{**a.__dict__, "report_id": a_only}),
        b=Tenant(**{**b.__dict__, "report_id": b_only}),
        shared_report=shared,
    )


def approve_as_asahi(
    session: Session, survey_id: int, *, number: int = 1, actor: Actor = ASAHI, now: datetime = NOW
) -> SurveyVersion:
    """Customer A's portal user approves a sheet version."""
    return survey_customer.approve_as_customer(
        session=session,
        actor=actor,
        customer=A,
        signer="asahi-taro",
        survey_id=survey_id,
        number=number,
        now=now,
    )


def accept_as_asahi(session: Session, request_id: int, *, now: datetime = NOW) -> ChangeRequest:
    """Customer A's portal user accepts a notified change."""
    return changes_customer.accept_as_customer(
        session=session,
        actor=ASAHI,
        customer=A,
        signer="asahi-taro",
        request_id=request_id,
        now=now,
    )


def report_defect_as_asahi(
    session: Session, request_id: int, description: str, *, now: datetime = NOW
) -> ChangeRequest:
    """Customer A's portal user reports a defect on a notified change."""
    return changes_customer.report_defect_as_customer(
        session=session,
        actor=ASAHI,
        customer=A,
        signer="asahi-taro",
        request_id=request_id,
        description=description,
        now=now,
    )
