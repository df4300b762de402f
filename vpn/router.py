"""Thin HTTP layer over the VPN services: /api/v1/vpn/..."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.deps import (
    DashboardDep,
    Reader,
    RenderGateDep,
    SessionDep,
    SessionRoute,
    SettingsDep,
    guard,
)
from api.pages import ItemsOut, PageOut, items_out, list_page, page_out
from api.params import Id, Limit, Offset
from core.audit import Actor
from core.policy import Operation
from core.timeutil import utcnow
from dashboard.vpn import MerakiVpnDashboard
from provisioning.router import ProvisioningDep
from provisioning.service import ProvisioningOptions
from vpn import client_users, construction, eligibility, status
from vpn.client_users import UserRequest
from vpn.domain import NOTE_CGNAT, NOTE_RECONNECT, ClientUser, EventKind
from vpn.ports import VpnDashboard
from vpn.report_pdf import render_report_pdf, report_csv
from vpn.schemas import (
    BuildIn,
    BuildOut,
    CheckIn,
    CheckOut,
    ClientUserOut,
    EventOut,
    ReportOut,
    ReportSummaryOut,
    UserOutcomeOut,
    UsersIn,
)

router = APIRouter(prefix="/vpn", tags=["vpn"], route_class=SessionRoute)

Checker = Annotated[Actor, Depends(guard(Operation.VPN_CHECK))]
Noc = Annotated[Actor, Depends(guard(Operation.VPN_OPERATE))]


def get_vpn_dashboard(dashboard: DashboardDep, settings: SettingsDep) -> VpnDashboard:
    return MerakiVpnDashboard(dashboard, per_page=settings.vpn_status_per_page)


VpnDashboardDep = Annotated[VpnDashboard, Depends(get_vpn_dashboard)]


@router.post("/checks", response_model=ItemsOut[CheckOut], status_code=201)
def run_check(
    body: CheckIn,
    session: SessionDep,
    settings: SettingsDep,
    dashboard: VpnDashboardDep,
    actor: Checker,
) -> ItemsOut[CheckOut]:
    """Check sites before construction; one stored record per site."""
    rows = eligibility.check_sites(
        session=session,
        dashboard=dashboard,
        actor=actor,
        organization_id=settings.meraki_org_id,
        network_ids=body.network_ids,
        users=[ClientUser(u.network_id, u.email, u.name) for u in body.users],
        now=utcnow(),
        accept_documentation=settings.vpn_accept_documentation_ips,
    )
    return items_out(CheckOut.of(r) for r in rows)


@router.get("/checks", response_model=PageOut[CheckOut])
def list_checks(
    session: SessionDep,
    actor: Reader,
    network_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[CheckOut]:
    page = eligibility.page_checks(
        session=session, network_id=network_id, limit=limit, offset=offset
    )
    return page_out(page, CheckOut.of, limit=limit, offset=offset)


@router.get("/checks/{check_id}", response_model=CheckOut)
def get_check(check_id: Id, session: SessionDep, actor: Reader) -> CheckOut:
    return CheckOut.of(eligibility.get_check(session=session, check_id=check_id))


@router.post("/builds", response_model=BuildOut, status_code=201)
def build(
    body: BuildIn,
    session: SessionDep,
    settings: SettingsDep,
    dashboard: VpnDashboardDep,
    provisioning: ProvisioningDep,
    actor: Noc,
) -> BuildOut:
    """Construct the VPN as provisioning jobs; generated passwords appear in this answer only."""
    result = construction.build_vpn(
        session=session,
        dashboard=dashboard,
        provisioning=provisioning,
        options=ProvisioningOptions.from_settings(settings),
        clock=utcnow,
        actor=actor,
        organization_id=settings.meraki_org_id,
        request=construction.parse_request(body.model_dump()),
        now=utcnow(),
        accept_documentation=settings.vpn_accept_documentation_ips,
    )
    return BuildOut.of(result.build, result.users)


@router.get("/builds", response_model=PageOut[BuildOut])
def list_builds(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[BuildOut]:
    page = construction.page_builds(session=session, limit=limit, offset=offset)
    return page_out(page, BuildOut.of, limit=limit, offset=offset)


@router.get("/builds/{build_id}", response_model=BuildOut)
def get_build(build_id: Id, session: SessionDep, actor: Reader) -> BuildOut:
    return BuildOut.of(construction.get_build(session=session, build_id=build_id))


@router.post("/builds/{build_id}/revert", response_model=BuildOut)
def revert(
    build_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    dashboard: VpnDashboardDep,
    provisioning: ProvisioningDep,
    actor: Noc,
) -> BuildOut:
    """Roll the build's provisioning jobs back, newest first, and remove the users it created."""
    reverted = construction.revert_build(
        session=session,
        dashboard=dashboard,
        provisioning=provisioning,
        options=ProvisioningOptions.from_settings(settings),
        actor=actor,
        build_id=build_id,
        now=utcnow(),
        clock=utcnow,
    )
    return BuildOut.of(reverted)


@router.post("/users", response_model=ItemsOut[UserOutcomeOut])
def put_users(
    body: UsersIn, session: SessionDep, dashboard: VpnDashboardDep, actor: Noc
) -> ItemsOut[UserOutcomeOut]:
    """Create or update client-VPN users by e-mail; a password shows here once."""
    outcomes = client_users.ensure_client_users(
        session=session,
        dashboard=dashboard,
        actor=actor,
        users=[UserRequest(u.network_id, u.email, u.name, u.password) for u in body.users],
        now=utcnow(),
    )
    return items_out(UserOutcomeOut.of(o) for o in outcomes)


@router.get("/users", response_model=PageOut[ClientUserOut])
def list_users(
    session: SessionDep,
    actor: Reader,
    network_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ClientUserOut]:
    rows = client_users.list_users(session=session, network_id=network_id)
    return list_page((ClientUserOut.of(u) for u in rows), limit=limit, offset=offset)


@router.post("/reports", response_model=ReportSummaryOut, status_code=201)
def take_report(
    session: SessionDep, settings: SettingsDep, dashboard: VpnDashboardDep, actor: Noc
) -> ReportSummaryOut:
    """Take a status snapshot of every VPN site now."""
    report = status.take_snapshot(
        session=session,
        dashboard=dashboard,
        actor=actor,
        organization_id=settings.meraki_org_id,
        now=utcnow(),
    )
    return ReportSummaryOut.of(report)


@router.get("/reports", response_model=PageOut[ReportSummaryOut])
def list_reports(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[ReportSummaryOut]:
    page = status.page_reports(session=session, limit=limit, offset=offset)
    return page_out(page, ReportSummaryOut.of, limit=limit, offset=offset)


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: Id, session: SessionDep, actor: Reader) -> ReportOut:
    report = status.get_report(session=session, report_id=report_id)
    events = status.list_events(session=session, report_id=report_id)
    return ReportOut(
        **ReportSummaryOut.of(report).model_dump(),
        sites=report.sites,
        events=[EventOut.of(e) for e in events],
        notes=[NOTE_CGNAT, NOTE_RECONNECT],
    )


@router.get("/reports/{report_id}/report.pdf", response_class=Response)
def report_pdf(
    report_id: Id,
    session: SessionDep,
    gate: RenderGateDep,
    actor: Reader,
    customer: str | None = None,
) -> Response:
    """The customer's VPN接続状況報告書 as PDF (rendered in a bounded slot, cached by content)."""
    report = status.get_report(session=session, report_id=report_id)
    events = status.list_events(session=session, report_id=report_id)
    content = repr((report.model_dump(), [e.model_dump() for e in events], customer))
    key = "vpn-report:" + hashlib.sha256(content.encode()).hexdigest()
    return Response(
        gate.render(key, partial(render_report_pdf, report, events, customer=customer)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="vpn-report-{report_id}.pdf"'},
    )


@router.get("/reports/{report_id}/report.csv", response_class=Response)
def report_csv_download(
    report_id: Id, session: SessionDep, actor: Reader, customer: str | None = None
) -> Response:
    """The snapshot as CSV (UTF-8 with BOM)."""
    report = status.get_report(session=session, report_id=report_id)
    return Response(
        report_csv(report, customer=customer).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vpn-report-{report_id}.csv"'},
    )


@router.get("/events", response_model=PageOut[EventOut])
def list_events(
    session: SessionDep,
    actor: Reader,
    kind: Annotated[list[EventKind] | None, Query()] = None,
    network_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[EventOut]:
    page = status.page_events(
        session=session, kinds=kind or [], network_id=network_id, limit=limit, offset=offset
    )
    return page_out(page, EventOut.of, limit=limit, offset=offset)
