"""An RMA's page and the acts a clerk does on it by hand: reserve or release a replacement,
record the swap, book the courier pickup. Each is a POST with the CSRF token and a form key (a
double tap does one thing); which forms show is `rma.domain.logistics_acts`; a refused form comes
back next to its fields (422)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api.deps import SessionDep, SessionRoute, get_dashboard
from core.calendar import tokyo_date
from core.errors import Problem, ValidationFailed
from core.timeutil import utcnow
from rma import board as rma_board
from rma import replacement, service
from rma.domain import LogisticsAct, RmaStatus, SwapParty, due_flag, logistics_acts
from rma.models import Rma
from rma.scan_rules import RECEIVABLE, SHIPPABLE
from web.forms import (
    CheckedForm,
    claim_submission,
    finish_submission,
    form_key_of,
    problems_by_field,
    release_submission,
)
from web.logistics_common import Clerk, settings_of, undo
from web.render import render
from web.session import WebUser, actor_of

router = APIRouter(prefix="/rmas/{rma_id}", route_class=SessionRoute)
DONE = frozenset({"shipped", "received", "exception", "reserve", "release", "swap", "pickup"})


def rma_view(
    request: Request,
    session: Session,
    user: WebUser,
    rma_id: int,
    *,
    done: str | None = None,
    act: str | None = None,
    by_field: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """One RMA: where it stands, its units, due date, charge, reminders, history and the acts."""
    rma = service.get_rma(session=session, rma_id=rma_id)
    status = RmaStatus(rma.status)
    allowed = logistics_acts(status, swapped=rma.swapped_at is not None)
    return render(
        request,
        "logistics/rma.html",
        {
            "rma": rma,
            "flag": due_flag(status, rma.due_date, tokyo_date(utcnow())),
            "charge": service.charge_of(session=session, rma=rma),
            "reminders": service.reminders_of(session=session, rma=rma),
            "mismatches": service.mismatches_of(session=session, rma=rma),
            "history": rma_board.rma_history(session=session, rma=rma),
            "can_ship": status in SHIPPABLE,
            "can_receive": status in RECEIVABLE,
            "acts": [a for a in LogisticsAct if a in allowed],  # in the order of the work
            "swap_parties": list(SwapParty),
            "today": tokyo_date(utcnow()).isoformat(),
            "done": done if done in DONE else None,
            "act": act,
            "by_field": by_field or {},
            "values": values or {},
        },
        user=user,
        status_code=status_code,
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _act(
    request: Request,
    session: Session,
    user: WebUser,
    form: Any,
    rma_id: int,
    act: LogisticsAct,
    fields: tuple[str, ...],
    do: Callable[[dict[str, str]], Rma],
) -> Response:
    """Claim the form key, do the act, redirect to the RMA; a refusal re-renders the form."""
    key = form_key_of(form)
    earlier = claim_submission(session=session, key=key, account=user.account, scope=act.value)
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    values = {name: _text(form, name) for name in fields}
    try:
        do(values)
    except ValidationFailed as exc:
        undo(session)
        return rma_view(
            request,
            session,
            user,
            rma_id,
            act=act.value,
            by_field=problems_by_field(exc),
            values=values,
            status_code=422,
        )
    except Exception:
        # the swap commits its claim (and the form key) before the dashboard call: a failed
        # call leaves the key free, so the same form may be sent again
        session.rollback()
        release_submission(session=session, key=key)
        session.commit()
        raise
    url = f"/ui/logistics/rmas/{rma_id}?done={act.value}"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)


@router.post("/reserve", response_model=None)
def reserve(
    request: Request, session: SessionDep, user: Clerk, form: CheckedForm, rma_id: int
) -> Response:
    """Set a replacement aside: the unit scanned or typed, else a checked one picked for it."""

    def do(values: dict[str, str]) -> Rma:
        return replacement.reserve_replacement(
            session=session,
            actor=actor_of(user, request),
            rma_id=rma_id,
            now=utcnow(),
            serial=values["serial"] or None,
        )

    return _act(request, session, user, form, rma_id, LogisticsAct.RESERVE, ("serial",), do)


@router.post("/release", response_model=None)
def release(
    request: Request, session: SessionDep, user: Clerk, form: CheckedForm, rma_id: int
) -> Response:
    """Give the reserved replacement back to stock, with the reason."""

    def do(values: dict[str, str]) -> Rma:
        return replacement.release_replacement(
            session=session,
            actor=actor_of(user, request),
            rma_id=rma_id,
            reason=values["reason"],
            now=utcnow(),
        )

    return _act(request, session, user, form, rma_id, LogisticsAct.RELEASE, ("reason",), do)


def _party(value: str) -> SwapParty | None:
    if not value:
        return None  # the service decides from the contract's plan
    try:
        return SwapParty(value)
    except ValueError as exc:
        raise ValidationFailed([Problem("provider or customer", "swapped_by")]) from exc


@router.post("/swap", response_model=None)
def swap(
    request: Request, session: SessionDep, user: Clerk, form: CheckedForm, rma_id: int
) -> Response:
    """Record the swap; with the box ticked, on the dashboard first (once, however many posts)."""

    def do(values: dict[str, str]) -> Rma:
        return replacement.swap_replacement(
            session=session,
            actor=actor_of(user, request),
            rma_id=rma_id,
            now=utcnow(),
            dashboard=get_dashboard(request) if values["update_dashboard"] else None,
            organization_id=settings_of(request).meraki_org_id,
            swapped_by=_party(values["swapped_by"]),
            swapped_by_name=values["swapped_by_name"] or None,
        )

    fields = ("swapped_by", "swapped_by_name", "update_dashboard")
    return _act(request, session, user, form, rma_id, LogisticsAct.SWAP, fields, do)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed([Problem("a date (YYYY-MM-DD) is required", "pickup_date")]) from exc


@router.post("/pickup", response_model=None)
def pickup(
    request: Request, session: SessionDep, user: Clerk, form: CheckedForm, rma_id: int
) -> Response:
    """Book the courier to collect the failed unit at the site."""

    def do(values: dict[str, str]) -> Rma:
        return service.request_pickup(
            session=session,
            actor=actor_of(user, request),
            rma_id=rma_id,
            pickup_date=_date(values["pickup_date"]),
            courier=values["courier"],
            tracking_number=values["tracking_number"],
            now=utcnow(),
        )

    fields = ("pickup_date", "courier", "tracking_number")
    return _act(request, session, user, form, rma_id, LogisticsAct.PICKUP, fields, do)
