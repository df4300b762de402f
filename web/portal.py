"""The customer portal's pages: a customer account sees and answers only its own customer's
records. Every read goes through a customer-scoped service (the customer filters in SQL), so
another customer's id answers the same 404 page as an unknown one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.deps import SessionDep, SessionRoute, SettingsDep
from api.params import Id, RmaRef, SurveyRef, VersionNumber
from api.responses import pdf_attachment
from changes import customer as changes_customer
from core.errors import ValidationFailed
from core.timeutil import utcnow
from inventory import customer_views as inventory_customer
from rma import customer_views as rma_customer
from survey import customer as survey_customer
from web.forms import CheckedForm, problems_by_field
from web.portal_reports import router as reports_router
from web.portal_support import Limit, Offset, customer_list_page, customer_of, once
from web.render import render
from web.session import CustomerWebUser, WebUser, actor_of

router = APIRouter(prefix="/ui/portal", include_in_schema=False, route_class=SessionRoute)


@router.get("/")
def index(request: Request, session: SessionDep, user: CustomerWebUser) -> HTMLResponse:
    """What waits for the customer: sheets to approve, changes to answer within their week."""
    customer, now = customer_of(user), utcnow()
    to_approve = survey_customer.sheets_to_approve(session=session, customer=customer)
    changes = changes_customer.customer_changes(session=session, customer=customer, limit=50)
    to_answer = [c for c in changes.items if changes_customer.answerable(c, now)]
    return render(
        request,
        "portal/index.html",
        {"customer": customer, "to_approve": to_approve, "to_answer": to_answer},
        user=user,
    )


customer_list_page(
    router, "/contracts", "portal/contracts.html", inventory_customer.customer_contracts
)


@router.get("/contracts/{number}")
def contract(
    request: Request, number: str, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    customer = customer_of(user)
    found = inventory_customer.customer_contract(session=session, customer=customer, number=number)
    devices = inventory_customer.customer_devices(
        session=session, customer=customer, contract=found.number, limit=200
    )
    return render(
        request, "portal/contract.html", {"contract": found, "devices": devices}, user=user
    )


customer_list_page(router, "/devices", "portal/devices.html", inventory_customer.customer_devices)


@router.get("/devices/{serial}")
def device(
    request: Request, serial: str, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    found = inventory_customer.customer_device(
        session=session, customer=customer_of(user), serial=serial
    )
    return render(request, "portal/device.html", {"device": found}, user=user)


customer_list_page(router, "/rmas", "portal/rmas.html", rma_customer.customer_rmas)


@router.get("/rmas/{rma_id}")
def rma(
    request: Request, rma_id: RmaRef, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    seen = rma_customer.customer_rma(session=session, customer=customer_of(user), rma_id=rma_id)
    return render(request, "portal/rma.html", {"seen": seen}, user=user)


customer_list_page(router, "/surveys", "portal/surveys.html", survey_customer.customer_surveys)


@router.get("/surveys/{survey_id}")
def survey(
    request: Request, survey_id: SurveyRef, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    customer = customer_of(user)
    found = survey_customer.customer_survey(session=session, customer=customer, survey_id=survey_id)
    kept = survey_customer.customer_versions(
        session=session, customer=customer, survey_id=survey_id
    )
    latest = kept[-1] if kept else None
    return render(
        request,
        "portal/survey.html",
        {"survey": found, "versions": kept, "latest": latest},
        user=user,
    )


@router.get("/surveys/{survey_id}/versions/{number}/pdf")
def survey_pdf(
    survey_id: SurveyRef,
    number: VersionNumber,
    session: SessionDep,
    settings: SettingsDep,
    user: CustomerWebUser,
) -> Response:
    version, pdf = survey_customer.customer_version_pdf(
        session=session,
        customer=customer_of(user),
        survey_id=survey_id,
        number=number,
        storage_dir=settings.survey_dir,
    )
    return pdf_attachment(pdf, f"survey-{survey_id}-v{version.number}.pdf")


@router.post("/surveys/{survey_id}/versions/{number}/approve")
def approve_survey(
    request: Request,
    survey_id: SurveyRef,
    number: VersionNumber,
    session: SessionDep,
    user: CustomerWebUser,
    form: CheckedForm,
) -> Response:
    """The customer signs the sheet's completion-confirmation field (recorded who and when)."""
    customer = customer_of(user)
    return once(
        session=session,
        user=user,
        form=form,
        scope=f"portal.approve:{survey_id}:{number}",
        result_url=f"/ui/portal/surveys/{survey_id}?approved={number}",
        act=lambda: survey_customer.approve_as_customer(
            session=session,
            actor=actor_of(user, request),
            customer=customer,
            signer=user.account,
            survey_id=survey_id,
            number=number,
            now=utcnow(),
        ),
    )


@router.get("/changes")
def changes(
    request: Request,
    session: SessionDep,
    user: CustomerWebUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> HTMLResponse:
    page = changes_customer.customer_changes(
        session=session, customer=customer_of(user), limit=limit, offset=offset
    )
    now = utcnow()
    answerable = {c.id for c in page.items if changes_customer.answerable(c, now)}
    return render(
        request, "portal/changes.html", {"page": page, "answerable": answerable}, user=user
    )


def _change_page(
    request: Request,
    session: Session,
    user: WebUser,
    request_id: int,
    *,
    by_field: dict[str, list[str]] | None = None,
    description: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    found = changes_customer.customer_change(
        session=session, customer=customer_of(user), request_id=request_id
    )
    return render(
        request,
        "portal/change.html",
        {
            "change": found,
            "answerable": changes_customer.answerable(found, utcnow()),
            "by_field": by_field or {},
            "description": description,
        },
        user=user,
        status_code=status_code,
    )


@router.get("/changes/{request_id}")
def change(
    request: Request, request_id: Id, session: SessionDep, user: CustomerWebUser
) -> HTMLResponse:
    return _change_page(request, session, user, request_id)


@router.post("/changes/{request_id}/accept")
def accept_change(
    request: Request, request_id: Id, session: SessionDep, user: CustomerWebUser, form: CheckedForm
) -> Response:
    """Accept the notified work inside its week."""
    customer = customer_of(user)
    return once(
        session=session,
        user=user,
        form=form,
        scope=f"portal.accept:{request_id}",
        result_url=f"/ui/portal/changes/{request_id}?answered=accepted",
        act=lambda: changes_customer.accept_as_customer(
            session=session,
            actor=actor_of(user, request),
            customer=customer,
            signer=user.account,
            request_id=request_id,
            now=utcnow(),
        ),
    )


@router.post("/changes/{request_id}/defect")
def report_defect(
    request: Request, request_id: Id, session: SessionDep, user: CustomerWebUser, form: CheckedForm
) -> Response:
    """Report a defect inside the week; an empty description re-renders the form (422)."""
    customer = customer_of(user)
    sent = form.get("description")
    description = sent if isinstance(sent, str) else ""
    try:
        return once(
            session=session,
            user=user,
            form=form,
            scope=f"portal.defect:{request_id}",
            result_url=f"/ui/portal/changes/{request_id}?answered=defect",
            act=lambda: changes_customer.report_defect_as_customer(
                session=session,
                actor=actor_of(user, request),
                customer=customer,
                signer=user.account,
                request_id=request_id,
                description=description[:1800],
                now=utcnow(),
            ),
        )
    except ValidationFailed as exc:
        return _change_page(
            request,
            session,
            user,
            request_id,
            by_field=problems_by_field(exc),
            description=description,
            status_code=422,
        )


router.include_router(reports_router)  # the VPN reports' pages (web/portal_reports.py)
