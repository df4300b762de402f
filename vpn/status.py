"""VPN status reports: dated snapshots with history, since-when per peer, WAN IP changes, events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core import audit
from core.audit import Actor
from core.errors import NotFound
from core.paging import Page, page_of_query
from vpn.domain import EventKind, SiteReport, UplinkStatus, VpnSiteStatus, compare_snapshot
from vpn.eligibility import customers_by_network
from vpn.models import VpnEvent, VpnReport, VpnReportCustomer
from vpn.ports import VpnDashboard


@dataclass(frozen=True, slots=True)
class Observed:
    """What the dashboard reported: VPN statuses and uplinks, every page."""

    statuses: list[VpnSiteStatus]
    uplinks: list[UplinkStatus]


def fetch_statuses(*, dashboard: VpnDashboard, organization_id: str) -> Observed:
    """The organization's VPN and uplink statuses (all pages of each)."""
    return Observed(
        statuses=dashboard.vpn_statuses(organization_id),
        uplinks=dashboard.uplink_statuses(organization_id),
    )


def latest_report(*, session: Session, organization_id: str) -> VpnReport | None:
    stmt = (
        select(VpnReport)
        .where(VpnReport.organization_id == organization_id)
        .order_by(col(VpnReport.taken_at).desc(), col(VpnReport.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def store_snapshot(
    *,
    session: Session,
    actor: Actor,
    organization_id: str,
    observed: Observed,
    now: datetime,
) -> VpnReport:
    """Compare with the previous snapshot, store the new one and an event per change."""
    previous = latest_report(session=session, organization_id=organization_id)
    before = {s["network_id"]: SiteReport.from_dict(s) for s in previous.sites} if previous else {}
    sites, changes = compare_snapshot(
        observed.statuses,
        {u.network_id: u for u in observed.uplinks},
        before,
        customers_by_network(session=session),
        now,
    )
    report = VpnReport(
        organization_id=organization_id,
        taken_at=now,
        previous_id=previous.id if previous else None,
        previous_taken_at=previous.taken_at if previous else None,
        site_count=len(sites),
        peer_count=sum(len(s.peers) for s in sites),
        peers_down=sum(1 for s in sites for p in s.peers if not p.reachable),
        wan_ip_changes=sum(1 for s in sites if s.wan_ip_changed),
        sites=[s.to_dict() for s in sites],
        actor=actor.name,
    )
    session.add(report)
    session.flush()
    assert report.id is not None
    session.add_all(
        VpnEvent(
            report_id=report.id,
            kind=c.kind.value,
            network_id=c.network_id,
            site_name=c.site_name[:120],
            peer_network_id=c.peer_network_id,
            peer_name=c.peer_name,
            at=c.at,
            detail=c.detail[:500],
        )
        for c in changes
    )
    session.add_all(
        VpnReportCustomer(report_id=report.id, customer=customer)
        for customer in sorted({s.customer for s in sites if s.customer})
    )
    audit.record(
        session,
        actor=actor,
        action="vpn.report",
        entity_type="vpn_report",
        entity_id=str(report.id),
        after={
            "sites": report.site_count,
            "peers_down": report.peers_down,
            "wan_ip_changes": report.wan_ip_changes,
            "events": len(changes),
        },
        at=now,
    )
    session.flush()
    return report


def take_snapshot(
    *,
    session: Session,
    dashboard: VpnDashboard,
    actor: Actor,
    organization_id: str,
    now: datetime,
) -> VpnReport:
    """Fetch the statuses and store them as a dated snapshot."""
    observed = fetch_statuses(dashboard=dashboard, organization_id=organization_id)
    return store_snapshot(
        session=session, actor=actor, organization_id=organization_id, observed=observed, now=now
    )


def get_report(*, session: Session, report_id: int) -> VpnReport:
    report = session.get(VpnReport, report_id)
    if report is None:
        raise NotFound(f"no VPN report {report_id}", report=report_id)
    return report


def list_reports(
    *,
    session: Session,
    organization_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[VpnReport]:
    return page_reports(
        session=session, organization_id=organization_id, limit=limit, offset=offset
    ).items


def page_reports(
    *, session: Session, organization_id: str | None = None, limit: int, offset: int
) -> Page[VpnReport]:
    """Reports newest first, a page at a time."""
    stmt = select(VpnReport)
    if organization_id is not None:
        stmt = stmt.where(VpnReport.organization_id == organization_id)
    stmt = stmt.order_by(col(VpnReport.taken_at).desc(), col(VpnReport.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)


def list_events(
    *,
    session: Session,
    kinds: Sequence[EventKind] = (),
    network_id: str | None = None,
    report_id: int | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[VpnEvent]:
    """Events oldest first; monitoring will read these."""
    stmt = _events_query(kinds=kinds, network_id=network_id, report_id=report_id, since=since)
    return list(session.exec(stmt.limit(limit)))


def page_events(
    *,
    session: Session,
    kinds: Sequence[EventKind] = (),
    network_id: str | None = None,
    limit: int,
    offset: int,
) -> Page[VpnEvent]:
    """Events oldest first, a page at a time."""
    stmt = _events_query(kinds=kinds, network_id=network_id, report_id=None, since=None)
    return page_of_query(session, stmt, limit=limit, offset=offset)


def _events_query(
    *,
    kinds: Sequence[EventKind],
    network_id: str | None,
    report_id: int | None,
    since: datetime | None,
) -> SelectOfScalar[VpnEvent]:
    stmt = select(VpnEvent)
    if kinds:
        stmt = stmt.where(col(VpnEvent.kind).in_([k.value for k in kinds]))
    if network_id is not None:
        stmt = stmt.where(VpnEvent.network_id == network_id)
    if report_id is not None:
        stmt = stmt.where(VpnEvent.report_id == report_id)
    if since is not None:
        stmt = stmt.where(col(VpnEvent.at) >= since)
    return stmt.order_by(col(VpnEvent.at), col(VpnEvent.id))
