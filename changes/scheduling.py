"""Scheduling inside the operations window, with an audited emergency override."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from changes.domain import ChangeStatus, schedule_time, why_closed, window_text
from changes.models import ChangeRequest
from changes.service import get_request, move, refuse
from core.audit import Actor
from core.calendar import BusinessCalendar, Service
from core.errors import Conflict, Problem, ValidationFailed
from core.timeutil import as_utc, show

PAST_TOLERANCE = timedelta(minutes=1)


def schedule_request(
    *,
    session: Session,
    actor: Actor,
    calendar: BusinessCalendar,
    request_id: int,
    now: datetime,
    at: datetime | None = None,
    emergency_reason: str | None = None,
) -> ChangeRequest:
    """Fix when the work runs: the next window start by default; outside it only by override."""
    req = get_request(session=session, request_id=request_id)
    reason = (emergency_reason or "").strip()
    decision = schedule_time(
        calendar, now=now, requested=as_utc(at) if at else None, emergency=bool(reason)
    )
    error: Exception | None = None
    if decision.at < now - PAST_TOLERANCE:
        error = ValidationFailed(
            [Problem(f"{show(decision.at)} is in the past (now {show(now)})", "at")],
            message="cannot schedule work in the past",
        )
    elif not decision.inside_window and not reason:
        opens = calendar.next_service_start(Service.OPERATIONS, decision.at)
        error = ValidationFailed(
            [
                Problem(
                    f"{show(decision.at)} is outside the operations window: "
                    f"{why_closed(calendar, decision.at)}; {window_text()}; the next window "
                    f"opens {show(opens)}. Give an emergency reason to override.",
                    "at",
                )
            ],
            message="requested time is outside operations hours",
        )
    if error is not None:
        refuse(session, req, error, action="schedule_refused", actor=actor, now=now)
        raise error
    override = reason if not decision.inside_window or (at is None and reason) else ""
    data = {"scheduled_for": decision.at, "inside_window": decision.inside_window}
    if override:
        data["emergency_reason"] = override
    return move(
        session,
        req,
        ChangeStatus.SCHEDULED,
        action="scheduled_emergency" if override else "scheduled",
        actor=actor,
        now=now,
        note=override,
        data=data,
        apply_changes={
            "scheduled_for": decision.at,
            "emergency_reason": override or None,
            "emergency_by": actor.name if override else None,
        },
    )


def check_may_run(req: ChangeRequest, *, calendar: BusinessCalendar, now: datetime) -> None:
    """Apply only when scheduled, not before the time, and inside the window unless overridden."""
    if req.status != ChangeStatus.SCHEDULED or req.scheduled_for is None:
        raise Conflict(
            f"change request {req.id} is {req.status}; schedule it before applying",
            status=req.status,
        )
    if now < req.scheduled_for:
        raise Conflict(
            f"change request {req.id} is scheduled for {show(req.scheduled_for)}; "
            f"it is {show(now)}",
            scheduled_for=req.scheduled_for.isoformat(),
        )
    if not req.emergency_reason and not calendar.is_service_time(Service.OPERATIONS, now):
        raise Conflict(
            f"{show(now)} is outside the operations window ({why_closed(calendar, now)}); "
            "schedule again, or with an emergency reason",
        )
