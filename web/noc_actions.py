"""The NOC's forms on a change's page and on the liveness page: each posts once (CSRF token and
an idempotency key per form), calls the service the API calls, and shows a refusal (four-eyes,
the window, a state that moved on) on the page it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from api.deps import SessionDep, SessionRoute
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

router = APIRouter(route_class=SessionRoute)
Operator = Annotated[WebUser, staff_user(Operation.CHANGE_OPERATE)]
Monitor = Annotated[WebUser, staff_user(Operation.MONITOR)]
ActFn = Callable[["ChangeAct"], None]


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


@dataclass(frozen=True, slots=True)
class ChangeAct:
    """One posted form on a change's page: what its act needs."""

    request: Request
    session: Session
    form: FormData
    request_id: int
    actor: Actor


def change_form(path: str, act: str, operation: Operation) -> Callable[[ActFn], ActFn]:
    """Register `POST /changes/{request_id}/<path>` for staff allowed `operation`: the decorated
    act runs once per form (`once`), `act` naming it in the redirect (`?done=<act>`)."""
    guard = staff_user(operation)

    def register(work: ActFn) -> ActFn:
        def endpoint(
            request_id: int,
            request: Request,
            session: SessionDep,
            form: CheckedForm,
            user: WebUser = guard,
        ) -> Response:
            return once(
                request, user, session, form, request_id=request_id, act=act,
                work=lambda actor: work(ChangeAct(request, session, form, request_id, actor)),
            )  # fmt: skip

        endpoint.__doc__ = work.__doc__
        router.add_api_route(
            f"/changes/{{request_id}}/{path}", endpoint, methods=["POST"], name=work.__name__
        )
        return work

    return register


@change_form("approve", "approved", Operation.CHANGE_APPROVE)
def approve(a: ChangeAct) -> None:
    service.approve_request(
        session=a.session, actor=a.actor, request_id=a.request_id, now=utcnow(),
        note=text(a.form, "note")[:2000],
    )  # fmt: skip


@change_form("reject", "rejected", Operation.CHANGE_APPROVE)
def reject(a: ChangeAct) -> None:
    reason = _required(a.form, "reason")
    service.reject_request(
        session=a.session, actor=a.actor, request_id=a.request_id, now=utcnow(), reason=reason
    )


@change_form("cancel", "cancelled", Operation.CHANGE_SUBMIT)
def cancel(a: ChangeAct) -> None:
    reason = _required(a.form, "cancel_reason")
    service.cancel_request(
        session=a.session, actor=a.actor, request_id=a.request_id, now=utcnow(), reason=reason
    )


@change_form("schedule", "scheduled", Operation.CHANGE_OPERATE)
def schedule(a: ChangeAct) -> None:
    scheduling.schedule_request(
        session=a.session,
        actor=a.actor,
        calendar=business_calendar(a.request.app.state.settings),
        request_id=a.request_id,
        now=utcnow(),
        at=tokyo_time(text(a.form, "at")),
        emergency_reason=text(a.form, "emergency_reason")[:500] or None,
    )


@change_form("notify", "notified", Operation.CHANGE_OPERATE)
def notify(a: ChangeAct) -> None:
    cfg = a.request.app.state.settings
    try:
        acceptance.send_completion_notice(
            session=a.session, actor=a.actor, mailer=get_mailer(a.request),
            request_id=a.request_id, now=utcnow(), acceptance_days=cfg.change_acceptance_days,
            sender_name=cfg.smtp_from_name,
        )  # fmt: skip
    except MailNotSent:
        a.session.commit()  # the failure is on the request (notice_error); the page shows it


@change_form("accept", "accepted", Operation.CHANGE_ACCEPT)
def accept(a: ChangeAct) -> None:
    acceptance.accept_request(
        session=a.session, actor=a.actor, request_id=a.request_id, now=utcnow(),
        accepted_by=text(a.form, "accepted_by")[:200], evidence=text(a.form, "evidence")[:500],
    )  # fmt: skip


@change_form("defect", "defect_reported", Operation.CHANGE_SUBMIT)
def defect(a: ChangeAct) -> None:
    acceptance.report_defect(
        session=a.session, actor=a.actor, request_id=a.request_id, now=utcnow(),
        description=text(a.form, "description")[:2000],
        reported_by=text(a.form, "reported_by")[:200],
    )  # fmt: skip


@change_form("rollback", "rolled_back", Operation.PROVISIONING_APPLY)
def rollback(a: ChangeAct) -> None:
    """Restore what the change's job found before it wrote (a new, journalled rollback job)."""
    req = service.get_request(session=a.session, request_id=a.request_id)
    if req.job_id is None:
        raise ValidationFailed([Problem("this change wrote nothing to roll back", "job")])
    rollback_job(
        session=a.session, dashboard=get_provisioning_dashboard(a.request), job_id=req.job_id,
        actor=a.actor, clock=utcnow, options=ProvisioningOptions.from_settings(
            a.request.app.state.settings
        ),
    )  # fmt: skip


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
