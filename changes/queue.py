"""The NOC's queue of change requests: how many wait at each stage, and a stage's rows.

A stage groups the statuses that wait for the same next act (`domain.STAGE_STATUSES`). Rows of
the scheduled stage say whether their time has come and whether the operations window is open
now; rows awaiting acceptance carry the countdown of the customer's defect week (seed 001).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from changes.domain import (
    STAGE_STATUSES,
    ChangeStatus,
    Countdown,
    QueueStage,
    acceptance_countdown,
    stage_of,
)
from changes.models import ChangeRequest
from core.calendar import BusinessCalendar, Service
from core.paging import Page, page_of_query


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One request as the queue lists it."""

    request: ChangeRequest
    stage: QueueStage
    countdown: Countdown | None
    """Awaiting acceptance: what is left of the customer's week (None at other stages)."""
    due_now: bool
    """Scheduled: its time has come (it may be applied once the window is open)."""
    window_open: bool
    """Scheduled: the operations window is open now, or the schedule is an emergency override."""


def stage_counts(*, session: Session) -> dict[QueueStage, int]:
    """How many requests wait at each stage (every stage present, zero when none)."""
    stmt: Any = select(ChangeRequest.status, func.count()).group_by(col(ChangeRequest.status))
    counts = dict.fromkeys(QueueStage, 0)
    for status, n in session.exec(stmt):
        counts[stage_of(status)] += int(n)
    return counts


def _ordered(stage: QueueStage | None, stmt: Any) -> Any:
    newest = col(ChangeRequest.id).desc()
    if stage is QueueStage.SCHEDULED:
        return stmt.order_by(col(ChangeRequest.scheduled_for), col(ChangeRequest.id))
    if stage is QueueStage.AWAITING_ACCEPTANCE:
        return stmt.order_by(col(ChangeRequest.acceptance_due_at), col(ChangeRequest.id))
    return stmt.order_by(newest)


def queue_page(
    *,
    session: Session,
    calendar: BusinessCalendar,
    now: datetime,
    stage: QueueStage | None = None,
    customer: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[QueueRow]:
    """A stage's requests (all stages when None), filtered by customer and a search text.

    The search matches the request number, the customer, the site or the summary (a part of
    any of them, case-insensitive). Scheduled work comes soonest first, work awaiting
    acceptance by its deadline, the rest newest first.
    """
    stmt = select(ChangeRequest)
    if stage is not None:
        stmt = stmt.where(col(ChangeRequest.status).in_(sorted(STAGE_STATUSES[stage])))
    if customer:
        stmt = stmt.where(ChangeRequest.customer == customer.strip())
    text = (search or "").strip().lower()
    if text:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(col(ChangeRequest.number)).like(pattern),
                func.lower(col(ChangeRequest.customer)).like(pattern),
                func.lower(col(ChangeRequest.site_name)).like(pattern),
                func.lower(col(ChangeRequest.summary)).like(pattern),
            )
        )
    page = page_of_query(session, _ordered(stage, stmt), limit=limit, offset=offset)
    window = calendar.is_service_time(Service.OPERATIONS, now)
    return Page(items=[queue_row(r, now=now, window=window) for r in page.items], total=page.total)


def queue_row(req: ChangeRequest, *, now: datetime, window: bool) -> QueueRow:
    """The row of one request (`window`: whether the operations window is open at `now`)."""
    stage = stage_of(req.status)
    countdown = None
    if req.status == ChangeStatus.NOTIFIED and req.acceptance_due_at is not None:
        countdown = acceptance_countdown(req.acceptance_due_at, now)
    scheduled = req.status == ChangeStatus.SCHEDULED and req.scheduled_for is not None
    return QueueRow(
        request=req,
        stage=stage,
        countdown=countdown,
        due_now=scheduled and req.scheduled_for is not None and req.scheduled_for <= now,
        window_open=scheduled and (window or bool(req.emergency_reason)),
    )


def customers_with_requests(*, session: Session) -> list[str]:
    """The customers named on change requests, for the queue's filter."""
    stmt = select(ChangeRequest.customer).distinct().order_by(col(ChangeRequest.customer))
    return [c for c in session.exec(stmt) if c]
