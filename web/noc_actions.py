"""The NOC's forms on a change's page and on the liveness page: each posts once (CSRF token and
an idempotency key per form), calls the service the API calls, and shows a refusal (four-eyes,
the window, a state that moved on) on the page it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from api.deps import SessionDep
from changes import acceptance, scheduling, service
from changes.mailer import MailNotSent
from changes.router import get_mailer
from core.audit import Actor
from core.calendar import TOKYO
from core.errors import DomainError, Problem, ValidationFailed
from core.policy import Operation
from core.settings import business_calendar
from core.timeutil import utcnow
from monitoring import service as monitoring
from provisioning.router import get_provisioning_dashboard
from provisioning.service import ProvisioningOptions, rollback_job
from web.forms import (
    CheckedForm,
    claim_submission,
    finish_submission,
    form_key_of,
    problems_by_field,
    release_submission,
)
from web.session import WebUser, actor_of, staff_user

router = APIRouter()
Approver = Annotated[WebUser, staff_user(Operation.CHANGE_APPROVE)]
Operator = Annotated[WebUser, staff_user(Operation.CHANGE_OPERATE)]
Acceptor = Annotated[WebUser, staff_user(Operation.CHANGE_ACCEPT)]
Submitter = Annotated[WebUser, staff_user(Operation.CHANGE_SUBMIT)]
Applier = Annotated[WebUser, staff_user(Operation.PROVISIONING_APPLY)]
Monitor = Annotated[WebUser, staff_user(Operation.MONITOR)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def once(
    request: Request,
    user: WebUser,
    session: Session,
    form: FormData,
    *,
    request_id: int,
    act: str,
    work: Callable[[Actor], Any],
) -> Response:
    """Do `work` once for this form: a repeated post (double tap, reload) only redirects.

    A refusal re-renders the change's page with the service's message and the API's status.
    """
    from web.noc import change_page, change_url

    url = change_url(request_id)
    key = form_key_of(form)
    earlier = claim_submission(
        session=session, key=key, account=user.account, scope=f"noc.{act}.{request_id}"
    )
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    finish_submission(session=session, key=key, result_url=url)
    try:
        work(actor_of(user, request))
    except DomainError as exc:
        session.rollback()
        release_submission(session=session, key=key)  # nothing done: it may be sent again
        fields = problems_by_field(exc) if isinstance(exc, ValidationFailed) else None
        return change_page(
            request, user, session, request_id, refusal=exc, problems=fields,
            form={k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"},
            status_code=exc.http_status,
        )  # fmt: skip
    return RedirectResponse(f"{url}?done={act}", status_code=303)


@router.post("/changes/{request_id}/approve")
def approve(
    request_id: int, request: Request, user: Approver, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        service.approve_request(
            session=session, actor=actor, request_id=request_id, now=utcnow(),
            note=text(form, "note")[:2000],
        )  # fmt: skip

    return once(request, user, session, form, request_id=request_id, act="approved", work=work)


@router.post("/changes/{request_id}/reject")
def reject(
    request_id: int, request: Request, user: Approver, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        reason = _required(form, "reason")
        service.reject_request(
            session=session, actor=actor, request_id=request_id, now=utcnow(), reason=reason
        )

    return once(request, user, session, form, request_id=request_id, act="rejected", work=work)


@router.post("/changes/{request_id}/cancel")
def cancel(
    request_id: int, request: Request, user: Submitter, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        reason = _required(form, "cancel_reason")
        service.cancel_request(
            session=session, actor=actor, request_id=request_id, now=utcnow(), reason=reason
        )

    return once(request, user, session, form, request_id=request_id, act="cancelled", work=work)


def _required(form: FormData, name: str, limit: int = 2000) -> str:
    value = text(form, name)
    if not value:
        raise ValidationFailed([Problem("is required", name)])
    if len(value) > limit:
        raise ValidationFailed([Problem(f"at most {limit} characters", name)])
    return value


def tokyo_time(value: str, name: str = "at") -> datetime | None:
    """A `datetime-local` field read as Japan time; empty means none."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([Problem(f"{value!r} is not a date and time", name)]) from None
    return local.replace(tzinfo=TOKYO) if local.tzinfo is None else local


@router.post("/changes/{request_id}/schedule")
def schedule(
    request_id: int, request: Request, user: Operator, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        scheduling.schedule_request(
            session=session,
            actor=actor,
            calendar=business_calendar(request.app.state.settings),
            request_id=request_id,
            now=utcnow(),
            at=tokyo_time(text(form, "at")),
            emergency_reason=text(form, "emergency_reason")[:500] or None,
        )

    return once(request, user, session, form, request_id=request_id, act="scheduled", work=work)


@router.post("/changes/{request_id}/notify")
def notify(
    request_id: int, request: Request, user: Operator, session: SessionDep, form: CheckedForm
) -> Response:
    cfg = request.app.state.settings

    def work(actor: Actor) -> None:
        try:
            acceptance.send_completion_notice(
                session=session, actor=actor, mailer=get_mailer(request), request_id=request_id,
                now=utcnow(), acceptance_days=cfg.change_acceptance_days,
                sender_name=cfg.smtp_from_name,
            )  # fmt: skip
        except MailNotSent:
            session.commit()  # the failure is on the request (notice_error); the page shows it

    return once(request, user, session, form, request_id=request_id, act="notified", work=work)


@router.post("/changes/{request_id}/accept")
def accept(
    request_id: int, request: Request, user: Acceptor, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        acceptance.accept_request(
            session=session, actor=actor, request_id=request_id, now=utcnow(),
            accepted_by=text(form, "accepted_by")[:200], evidence=text(form, "evidence")[:500],
        )  # fmt: skip

    return once(request, user, session, form, request_id=request_id, act="accepted", work=work)


@router.post("/changes/{request_id}/defect")
def defect(
    request_id: int, request: Request, user: Submitter, session: SessionDep, form: CheckedForm
) -> Response:
    def work(actor: Actor) -> None:
        acceptance.report_defect(
            session=session, actor=actor, request_id=request_id, now=utcnow(),
            description=text(form, "description")[:2000],
            reported_by=text(form, "reported_by")[:200],
        )  # fmt: skip

    return once(
        request, user, session, form, request_id=request_id, act="defect_reported", work=work
    )


@router.post("/changes/{request_id}/rollback")
def rollback(
    request_id: int, request: Request, user: Applier, session: SessionDep, form: CheckedForm
) -> Response:
    """Restore what the change's job found before it wrote (a new, journalled rollback job)."""
    cfg = request.app.state.settings

    def work(actor: Actor) -> None:
        req = service.get_request(session=session, request_id=request_id)
        if req.job_id is None:
            raise ValidationFailed([Problem("this change wrote nothing to roll back", "job")])
        rollback_job(
            session=session, dashboard=get_provisioning_dashboard(request), job_id=req.job_id,
            actor=actor, clock=utcnow, options=ProvisioningOptions.from_settings(cfg),
        )  # fmt: skip

    return once(request, user, session, form, request_id=request_id, act="rolled_back", work=work)


@router.post("/outages/{outage_id}/rma")
def rma_from_outage(
    outage_id: int, request: Request, user: Monitor, session: SessionDep, form: CheckedForm
) -> Response:
    """Open the RMA of an outage's device (the existing service links the two)."""
    key = form_key_of(form)
    back = "/ui/noc/liveness"
    earlier = claim_submission(
        session=session, key=key, account=user.account, scope=f"noc.rma.{outage_id}"
    )
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    outage = monitoring.open_rma_for_outage(
        session=session, outage_id=outage_id, actor=actor_of(user, request),
        reporter=text(form, "reporter")[:120] or "monitoring", now=utcnow(),
    )  # fmt: skip
    url = f"{back}?done=rma_opened&rma={outage.rma_number}"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)
