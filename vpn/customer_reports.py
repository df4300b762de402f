"""A customer's VPN status reports (the portal): the reports holding its sites, found in SQL
through `vpn_report_customer`, and only its own sites and events inside each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.errors import NotFound
from core.paging import Page, page_of_query
from vpn.domain import SiteReport
from vpn.models import VpnEvent, VpnReport, VpnReportCustomer
from vpn.report_pdf import report_sites


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
