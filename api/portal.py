"""The customer portal over HTTP: /api/v1/portal/... for customer tokens only.

Every route reads through a customer-scoped service (the customer filters in SQL), so another
customer's id answers 404 exactly as an unknown one does; no staff operation of the role policy
is open to a customer token, and no staff token passes here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import Customer, RenderGateDep, SessionDep, SessionRoute, SettingsDep
from api.pages import CustomerLister, PageOut, page_out
from api.params import Id, Limit, Offset, RmaRef, SurveyRef, VersionNumber
from api.portal_schemas import (
    DefectIn,
    PortalChange,
    PortalContract,
    PortalDevice,
    PortalReport,
    PortalReportSummary,
    PortalRma,
    PortalSurvey,
    PortalVersion,
)
from api.responses import csv_attachment, pdf_attachment
from changes import customer as changes_customer
from core.timeutil import utcnow
from inventory import customer_views as inventory_customer
from rma import customer_views as rma_customer
from survey import customer as survey_customer
from vpn import customer_reports

router = APIRouter(prefix="/portal", tags=["portal"], route_class=SessionRoute)
Row = TypeVar("Row")
Out = TypeVar("Out", bound=BaseModel)


def _customer_list(
    path: str,
    name: str,
    lister: CustomerLister[Row],
    convert: Callable[[Row], Out],
    model: type[PageOut[Out]],
) -> None:
    """`GET path`: a page of one of the caller's lists, each row converted."""

    def listing(
        session: SessionDep, caller: Customer, limit: Limit = 100, offset: Offset = 0
    ) -> PageOut[Out]:
        page = lister(session=session, customer=caller.customer, limit=limit, offset=offset)
        items = [convert(row) for row in page.items]
        return model(total=page.total, limit=limit, offset=offset, items=items)

    router.add_api_route(path, listing, methods=["GET"], name=name, response_model=model)


_customer_list(
    "/contracts",
    "contracts",
    inventory_customer.customer_contracts,
    PortalContract.of,
    PageOut[PortalContract],
)


@router.get("/contracts/{number}", response_model=PortalContract)
def contract(number: str, session: SessionDep, caller: Customer) -> PortalContract:
    found = inventory_customer.customer_contract(
        session=session, customer=caller.customer, number=number
    )
    return PortalContract.of(found)


_customer_list(
    "/devices",
    "devices",
    inventory_customer.customer_devices,
    PortalDevice.of,
    PageOut[PortalDevice],
)


@router.get("/devices/{serial}", response_model=PortalDevice)
def device(serial: str, session: SessionDep, caller: Customer) -> PortalDevice:
    found = inventory_customer.customer_device(
        session=session, customer=caller.customer, serial=serial
    )
    return PortalDevice.of(found)


_customer_list("/rmas", "rmas", rma_customer.customer_rmas, PortalRma.of, PageOut[PortalRma])


@router.get("/rmas/{rma_id}", response_model=PortalRma)
def rma(rma_id: RmaRef, session: SessionDep, caller: Customer) -> PortalRma:
    seen = rma_customer.customer_rma(session=session, customer=caller.customer, rma_id=rma_id)
    return PortalRma.of(seen)


_customer_list(
    "/surveys", "surveys", survey_customer.customer_surveys, PortalSurvey.of, PageOut[PortalSurvey]
)


@router.get("/surveys/{survey_id}", response_model=PortalSurvey)
def survey(survey_id: SurveyRef, session: SessionDep, caller: Customer) -> PortalSurvey:
    found = survey_customer.customer_survey(
        session=session, customer=caller.customer, survey_id=survey_id
    )
    kept = survey_customer.customer_versions(
        session=session, customer=caller.customer, survey_id=survey_id
    )
    return PortalSurvey.of(found, kept)


@router.get("/surveys/{survey_id}/versions/{number}/pdf", response_class=Response)
def survey_pdf(
    survey_id: SurveyRef,
    number: VersionNumber,
    session: SessionDep,
    settings: SettingsDep,
    caller: Customer,
) -> Response:
    """The preparation sheet as issued to the customer."""
    version, pdf = survey_customer.customer_version_pdf(
        session=session,
        customer=caller.customer,
        survey_id=survey_id,
        number=number,
        storage_dir=settings.survey_dir,
    )
    return pdf_attachment(pdf, f"survey-{survey_id}-v{version.number}.pdf")


@router.post("/surveys/{survey_id}/versions/{number}/approve", response_model=PortalVersion)
def approve_survey(
    survey_id: SurveyRef, number: VersionNumber, session: SessionDep, caller: Customer
) -> PortalVersion:
    """Sign the completion-confirmation field of the latest issued version (again: no change)."""
    version = survey_customer.approve_as_customer(
        session=session,
        actor=caller.actor,
        customer=caller.customer,
        signer=caller.signer,
        survey_id=survey_id,
        number=number,
        now=utcnow(),
    )
    return PortalVersion.of(version)


@router.get("/changes", response_model=PageOut[PortalChange])
def changes(
    session: SessionDep, caller: Customer, limit: Limit = 100, offset: Offset = 0
) -> PageOut[PortalChange]:
    page = changes_customer.customer_changes(
        session=session, customer=caller.customer, limit=limit, offset=offset
    )
    now = utcnow()
    return page_out(
        page,
        lambda c: PortalChange.of(c, changes_customer.answerable(c, now)),
        limit=limit,
        offset=offset,
    )


@router.get("/changes/{request_id}", response_model=PortalChange)
def change(request_id: Id, session: SessionDep, caller: Customer) -> PortalChange:
    found = changes_customer.customer_change(
        session=session, customer=caller.customer, request_id=request_id
    )
    return PortalChange.of(found, changes_customer.answerable(found, utcnow()))


@router.post("/changes/{request_id}/accept", response_model=PortalChange)
def accept_change(request_id: Id, session: SessionDep, caller: Customer) -> PortalChange:
    """Accept the notified work inside its week (again: no change)."""
    now = utcnow()
    req = changes_customer.accept_as_customer(
        session=session,
        actor=caller.actor,
        customer=caller.customer,
        signer=caller.signer,
        request_id=request_id,
        now=now,
    )
    return PortalChange.of(req, changes_customer.answerable(req, now))


@router.post("/changes/{request_id}/defect", response_model=PortalChange)
def report_defect(
    request_id: Id, body: DefectIn, session: SessionDep, caller: Customer
) -> PortalChange:
    """Report a defect inside the week: the request reopens for a corrected round."""
    now = utcnow()
    req = changes_customer.report_defect_as_customer(
        session=session,
        actor=caller.actor,
        customer=caller.customer,
        signer=caller.signer,
        request_id=request_id,
        description=body.description,
        now=now,
    )
    return PortalChange.of(req, changes_customer.answerable(req, now))


_customer_list(
    "/vpn-reports",
    "vpn_reports",
    customer_reports.customer_reports,
    PortalReportSummary.of,
    PageOut[PortalReportSummary],
)


@router.get("/vpn-reports/{report_id}", response_model=PortalReport)
def vpn_report(report_id: Id, session: SessionDep, caller: Customer) -> PortalReport:
    seen = customer_reports.customer_report(
        session=session, customer=caller.customer, report_id=report_id
    )
    return PortalReport.seen(seen)


@router.get("/vpn-reports/{report_id}/report.pdf", response_class=Response)
def vpn_report_pdf(
    report_id: Id, session: SessionDep, gate: RenderGateDep, caller: Customer
) -> Response:
    pdf = customer_reports.customer_report_pdf(
        session=session, customer=caller.customer, report_id=report_id, gate=gate
    )
    return pdf_attachment(pdf, f"vpn-report-{report_id}.pdf")


@router.get("/vpn-reports/{report_id}/report.csv", response_class=Response)
def vpn_report_csv(report_id: Id, session: SessionDep, caller: Customer) -> Response:
    text = customer_reports.customer_report_csv(
        session=session, customer=caller.customer, report_id=report_id
    )
    return csv_attachment(text, f"vpn-report-{report_id}.csv")
