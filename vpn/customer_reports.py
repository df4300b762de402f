"""A customer's VPN status reports (the portal): the reports holding its sites, found in SQL
through `vpn_report_customer`, and only its own sites and events inside each."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

from sqlmodel import Session, col, select

from core.errors import NotFound
from core.paging import Page, page_of_query
from core.render_gate import RenderGate, unbounded
from vpn.domain import SiteReport
from vpn.models import VpnEvent, VpnReport, VpnReportCustomer
from vpn.report_pdf import render_report_pdf, report_csv, report_sites


@dataclass(frozen=True, slots=True)
class CustomerReport:
    """A report as the customer sees it: its own sites and the events about them."""

    report: VpnReport
    sites: list[SiteReport]
    events: list[VpnEvent]


def customer_reports(
    *, session: Session, customer: str, limit: int = 100, offset: int = 0
) -> Page[VpnReport]:
    """The reports with at least one of the customer's sites, newest first."""
    mine = select(VpnReportCustomer.report_id).where(VpnReportCustomer.customer == customer)
    stmt = (
        select(VpnReport)
        .where(col(VpnReport.id).in_(mine))
        .order_by(col(VpnReport.taken_at).desc(), col(VpnReport.id).desc())
    )
    return page_of_query(session, stmt, limit=limit, offset=offset)


def customer_report(*, session: Session, customer: str, report_id: int) -> CustomerReport:
    """One report cut to the customer's sites; one without them is NotFound, as a missing one."""
    stmt = (
        select(VpnReport)
        .join(VpnReportCustomer, col(VpnReportCustomer.report_id) == col(VpnReport.id))
        .where(VpnReport.id == report_id, VpnReportCustomer.customer == customer)
    )
    report = session.exec(stmt).first()
    if report is None:
        raise NotFound(f"no VPN report {report_id}", report=report_id)
    sites = report_sites(report, customer)
    networks = [s.network_id for s in sites]
    events = session.exec(
        select(VpnEvent)
        .where(VpnEvent.report_id == report_id, col(VpnEvent.network_id).in_(networks))
        .order_by(col(VpnEvent.at), col(VpnEvent.id))
    ).all()
    return CustomerReport(report=report, sites=sites, events=list(events))


def customer_report_pdf(
    *, session: Session, customer: str, report_id: int, gate: RenderGate | None = None
) -> bytes:
    """The customer's VPN接続状況報告書: only its sites and their events."""
    seen = customer_report(session=session, customer=customer, report_id=report_id)
    content = repr((seen.report.model_dump(), [e.model_dump() for e in seen.events], customer))
    key = "vpn-report:" + hashlib.sha256(content.encode()).hexdigest()
    draw = partial(render_report_pdf, seen.report, seen.events, customer=customer)
    return (gate or unbounded()).render(key, draw)


def customer_report_csv(*, session: Session, customer: str, report_id: int) -> str:
    """The customer's sites of the report as CSV (UTF-8 with a BOM)."""
    seen = customer_report(session=session, customer=customer, report_id=report_id)
    return report_csv(seen.report, customer=customer)
