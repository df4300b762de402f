"""The customer portal's VPN status reports: the reports holding the customer's sites, each cut
to them, with the PDF and CSV downloads (mounted under /ui/portal by `web.portal`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import RenderGateDep, SessionDep, SessionRoute
from api.params import Id
from api.responses import csv_attachment, pdf_attachment
from vpn import customer_reports
from web.portal_support import customer_list_page, customer_of
from web.render import render
from web.session import CustomerWebUser

router = APIRouter(include_in_schema=False, route_class=SessionRoute)


customer_list_page(
    router, "/vpn-reports", "portal/vpn_reports.html", customer_reports.customer_reports
)


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
    return pdf_attachment(pdf, f"vpn-report-{report_id}.pdf")


@router.get("/vpn-reports/{report_id}/report.csv")
def vpn_report_csv(report_id: Id, session: SessionDep, user: CustomerWebUser) -> Response:
    text = customer_reports.customer_report_csv(
        session=session, customer=customer_of(user), report_id=report_id
    )
    return csv_attachment(text, f"vpn-report-{report_id}.csv")
