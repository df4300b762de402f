"""Thin HTTP layer over the helpdesk services: /api/v1/incidents..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.deps import Reader, SessionDep, SessionRoute, SettingsDep, guard
from api.pages import ItemsOut, PageOut, items_out, list_page
from api.params import Limit, Offset, numbered
from core.audit import Actor
from core.policy import Operation
from core.settings import business_calendar
from core.timeutil import as_utc, utcnow
from helpdesk import service
from helpdesk.domain import IncidentStatus, tokyo_month
from helpdesk.models import Incident
from helpdesk.schemas import (
    AfterHoursIn,
    AnswerIn,
    CloseIn,
    IncidentOut,
    MonthlyCountOut,
    OpenIn,
    ReplyIn,
    SweepOut,
)

router = APIRouter(prefix="/incidents", tags=["helpdesk"], route_class=SessionRoute)

Desk = Annotated[Actor, Depends(guard(Operation.INCIDENT_HANDLE))]
IncidentRef = Annotated[int, Depends(numbered("INC", "incident_id", "incident"))]
Month = Annotated[
    str,
    Query(
        pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, a Tokyo month from 1900-01 to 2199-12",
    ),
]


def _out(session: Session, incident: Incident) -> IncidentOut:
    return IncidentOut.of(incident, service.contract_number_of(session=session, incident=incident))


@router.post("", response_model=ItemsOut[IncidentOut], status_code=201)
def open_contact(body: OpenIn, session: SessionDep, actor: Desk) -> ItemsOut[IncidentOut]:
    """A contact: one incident per question; a 4th fault response needs confirm_over_limit."""
    now = utcnow()
    incidents = service.open_contact(
        session=session,
        actor=actor,
        contract_number=body.contract,
        questions=[service.Question(q.text, q.kind) for q in body.questions],
        channel=body.channel,
        reporter=body.reporter,
        received_at=as_utc(body.received_at) if body.received_at else now,
        now=now,
        confirm_over_limit=body.confirm_over_limit,
        outage_id=body.outage_id,
    )
    return items_out(_out(session, i) for i in incidents)


@router.get("", response_model=PageOut[IncidentOut])
def list_incidents(
    session: SessionDep,
    actor: Reader,
    contract: str | None = None,
    status: IncidentStatus | None = None,
    month: Month | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[IncidentOut]:
    """Incidents, newest first."""
    found = service.list_incidents(
        session=session,
        contract_number=contract,
        status=status,
        month=month,
        limit=limit,
        offset=offset,
    )
    return PageOut[IncidentOut](
        total=found.total,
        limit=limit,
        offset=offset,
        items=[IncidentOut.of(i, n) for i, n in found.items],
    )


@router.get("/counts", response_model=PageOut[MonthlyCountOut])
def monthly_counts(
    session: SessionDep,
    actor: Reader,
    month: Month | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[MonthlyCountOut]:
    """Per contract in a Tokyo month (this one if omitted): incidents, fault responses, those
    past the limit, after-hours charges."""
    month = month or tokyo_month(utcnow())
    counts = (
        MonthlyCountOut(
            contract=c.contract,
            month=c.month,
            incidents=c.incidents,
            fault_responses=c.fault_responses,
            over_limit=c.over_limit,
            after_hours_total_yen=c.after_hours_total_yen,
        )
        for c in service.monthly_counts(session=session, month=month)
    )
    return list_page(counts, limit=limit, offset=offset)


@router.post("/sweep", response_model=SweepOut)
def sweep(session: SessionDep, actor: Desk) -> SweepOut:
    """Close every incident answered 5 days ago (Tokyo days) with no reply."""
    closed = service.sweep(session=session, actor=actor, now=utcnow())
    return SweepOut(closed=[i.number for i in closed])


@router.get("/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: IncidentRef, session: SessionDep, actor: Reader) -> IncidentOut:
    return _out(session, service.get_incident(session=session, incident_id=incident_id))


@router.post("/{incident_id}/answer", response_model=IncidentOut)
def answer(
    incident_id: IncidentRef, body: AnswerIn, session: SessionDep, actor: Desk
) -> IncidentOut:
    now = utcnow()
    incident = service.answer(
        session=session,
        actor=actor,
        incident_id=incident_id,
        text=body.answer,
        answered_at=as_utc(body.answered_at) if body.answered_at else now,
        now=now,
    )
    return _out(session, incident)


@router.post("/{incident_id}/reply", response_model=IncidentOut)
def reply(
    incident_id: IncidentRef, session: SessionDep, actor: Desk, body: ReplyIn = ReplyIn()
) -> IncidentOut:
    """The customer replied: the auto-close clock stops."""
    now = utcnow()
    incident = service.customer_reply(
        session=session,
        actor=actor,
        incident_id=incident_id,
        replied_at=as_utc(body.replied_at) if body.replied_at else now,
        now=now,
    )
    return _out(session, incident)


@router.post("/{incident_id}/close", response_model=IncidentOut)
def close(incident_id: IncidentRef, body: CloseIn, session: SessionDep, actor: Desk) -> IncidentOut:
    incident = service.close(
        session=session,
        actor=actor,
        incident_id=incident_id,
        reason=body.reason,
        cause=body.cause,
        now=utcnow(),
    )
    return _out(session, incident)


@router.post("/{incident_id}/after-hours", response_model=IncidentOut)
def after_hours(
    incident_id: IncidentRef,
    body: AfterHoursIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: Desk,
) -> IncidentOut:
    """Record after-hours work: ¥3,000 per started half hour when the cause is billable."""
    incident = service.bill_after_hours(
        session=session,
        actor=actor,
        incident_id=incident_id,
        work_started_at=as_utc(body.work_started_at),
        minutes=body.minutes,
        cause=body.cause,
        calendar=business_calendar(settings),
        now=utcnow(),
    )
    return _out(session, incident)
