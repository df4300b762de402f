"""The customer portal's VPN status reports: the reports holding the customer's sites, each cut
to them, with the PDF and CSV downloads (mounted under /ui/portal by `web.portal`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RenderGateDep, SessionDep
from api.params import Id
from vpn import customer_reports
from web.portal_support import Limit, Offset, attachment, customer_of
from web.render import render
from web.session import CustomerWebUser

router = APIRouter(include_in_schema=False)


@router.get("/vpn-reports")
def vpn_reports(
    request: Request,
    session: SessionDep,
    user: CustomerWebUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HTMLResponse:
    page = customer_reports.customer_reports(
        session=session, customer=customer_of(user), limit=limit, offset=offset
    )
    return render(request, "portal/vpn_reports.html", {"page": page}, user=user)


@router.get("/vpn-reports/{report_id}")
def vpn_report(
    request: Request, report_id: Id, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    seen = customer_reports.customer_report(
        session=session, customer=customer_of(user), report_id=report_id
    )
    return render(request, "portal/vpn_report.html", {"seen": seen}, user=user)


@router.get("/vpn-reports/{report_id}/report.pdf")
def vpn_report_pdf(
    report_id: Id, session: SessionDep, gate: RenderGateDep, user: CustomerWebUser
) -> Response:
    pdf = customer_reports.customer_report_pdf(
        session=session, customer=customer_of(user), report_id=report_id, gate=gate
    )
    return attachment(pdf, "application/pdf", f"vpn-report-{report_id}.pdf")


@router.get("/vpn-reports/{report_id}/report.csv")
def vpn_report_csv(report_id: Id, session: SessionDep, user: CustomerWebUser) -> Response:
    text = customer_reports.customer_report_csv(
        session=session, customer=customer_of(user), report_id=report_id
    )
    return attachment(
        text.encode("utf-8"), "text/csv; charset=utf-8", f"vpn-report-{report_id}.csv"
    )
