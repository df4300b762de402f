"""Ship and receive by scanning: scan (a GET: nothing changes), see the match and its warnings,
then confirm (a POST with the CSRF token and a form key: a double tap does one thing)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, SessionRoute
from core.errors import NotFound, Problem, ValidationFailed
from core.timeutil import utcnow
from rma import scanning, service
from rma.domain import Disposition
from rma.scan_rules import BLOCKING, ScanAction
from rma.scanning import ScanPreview
from web.forms import (
    CheckedForm,
    claim_submission,
    finish_submission,
    form_key_of,
    problems_by_field,
)
from web.logistics_common import Clerk, settings_of, undo
from web.render import render
from web.session import actor_of

router = APIRouter(prefix="/scan", route_class=SessionRoute)
Mode = Literal["ship", "receive"]


def _preview(session: Any, mode: Mode, serial: str, rma: str) -> ScanPreview:
    if mode == "ship":
        return scanning.preview_ship(session=session, serial=serial, rma_ref=rma or None)
    return scanning.preview_receive(
        session=session, serial=serial, rma_ref=rma or None, now=utcnow()
    )


def _page(
    request: Request,
    user: Any,
    *,
    mode: Mode,
    serial: str = "",
    rma: str = "",
    preview: ScanPreview | None = None,
    by_field: dict[str, list[str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "logistics/scan.html",
        {
            "mode": mode,
            "serial": serial,
            "rma_ref": rma,
            "preview": preview,
            "blocking": BLOCKING,
            "by_field": by_field or {},
            "values": values or {},
            "dispositions": list(Disposition),
        },
        user=user,
        status_code=status_code,
    )


@router.get("")
def scan_page(
    request: Request,
    session: SessionDep,
    user: Clerk,
    mode: Mode = "ship",
    serial: Annotated[str, Query(max_length=60)] = "",
    rma: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The scan bench; with a scanned serial, what it matches and every warning (no change)."""
    preview = None
    by_field: dict[str, list[str]] = {}
    if serial.strip():
        try:
            preview = _preview(session, mode, serial, rma.strip())
        except ValidationFailed as exc:
            by_field = problems_by_field(exc)
        except NotFound as exc:  # the RMA typed or scanned does not exist
            by_field = {"rma": [exc.message]}
    return _page(
        request,
        user,
        mode=mode,
        serial=serial.strip(),
        rma=rma.strip(),
        preview=preview,
        by_field=by_field,
        status_code=422 if by_field else 200,
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _confirmed(form: Any) -> tuple[str, int, ScanAction]:
    try:
        return _text(form, "serial"), int(_text(form, "rma_id")), ScanAction(_text(form, "action"))
    except ValueError as exc:
        raise ValidationFailed([Problem("the form is incomplete; scan again", "serial")]) from exc


@router.post("/ship", response_model=None)
def ship(request: Request, session: SessionDep, user: Clerk, form: CheckedForm) -> Response:
    """Ship the scanned unit for its RMA: one effect however many times the form is sent."""
    serial, rma_id, action = _confirmed(form)
    key = form_key_of(form)
    earlier = claim_submission(session=session, key=key, account=user.account, scope="ship")
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    values = {"courier": _text(form, "courier"), "tracking_number": _text(form, "tracking_number")}
    try:
        rma = scanning.confirm_ship(
            session=session,
            actor=actor_of(user, request),
            serial=serial,
            rma_id=rma_id,
            action=action,
            courier=values["courier"],
            tracking_number=values["tracking_number"],
            policy=service.policy_from_settings(settings_of(request)),
            now=utcnow(),
        )
    except ValidationFailed as exc:
        undo(session)
        preview = scanning.preview_ship(session=session, serial=serial, rma_ref=str(rma_id))
        return _page(
            request,
            user,
            mode="ship",
            serial=serial,
            rma=str(rma_id),
            preview=preview,
            by_field=problems_by_field(exc),
            values=values,
            status_code=422,
        )
    url = f"/ui/logistics/rmas/{rma.id}?done=shipped"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)


@router.post("/receive", response_model=None)
def receive(request: Request, session: SessionDep, user: Clerk, form: CheckedForm) -> Response:
    """Receive the scanned unit for its RMA: the right one closes it, another is an exception."""
    serial, rma_id, action = _confirmed(form)
    try:
        disposition = Disposition(_text(form, "disposition") or Disposition.REFURBISH.value)
    except ValueError as exc:
        raise ValidationFailed([Problem("refurbish or dispose", "disposition")]) from exc
    key = form_key_of(form)
    earlier = claim_submission(session=session, key=key, account=user.account, scope="receive")
    if earlier is not None:
        return RedirectResponse(earlier, status_code=303)
    rma = scanning.confirm_receive(
        session=session,
        actor=actor_of(user, request),
        serial=serial,
        rma_id=rma_id,
        action=action,
        disposition=disposition,
        policy=service.policy_from_settings(settings_of(request)),
        now=utcnow(),
    )
    done = "received" if action is ScanAction.RECEIVE else "exception"
    url = f"/ui/logistics/rmas/{rma.id}?done={done}"
    finish_submission(session=session, key=key, result_url=url)
    return RedirectResponse(url, status_code=303)
