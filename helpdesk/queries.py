"""Helpdesk reads: an incident, the month's fault responses, a page of incidents, monthly counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.errors import NotFound, Problem, ValidationFailed
from core.paging import Page
from core.timeutil import as_utc
from helpdesk.domain import IncidentKind, IncidentStatus, month_bounds
from helpdesk.models import Incident
from inventory.models import Contract


def get_incident(*, session: Session, incident_id: int, for_update: bool = False) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id)
    incident = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", incident=incident_id)
    return incident


def month_range(month: str) -> tuple[datetime, datetime]:
    try:
        return month_bounds(month)
    except ValueError as exc:
        raise ValidationFailed([Problem(str(exc), "month")]) from None


def fault_responses_in_month(*, session: Session, contract_id: int, month: str) -> int:
    """How many fault responses the desk accepted for the contract in the Tokyo month."""
    start, end = month_range(month)
    stmt = select(func.count()).where(
        Incident.contract_id == contract_id,
        Incident.kind == IncidentKind.FAULT.value,
        col(Incident.received_at) >= as_utc(start),
        col(Incident.received_at) < as_utc(end),
    )
    return int(session.exec(stmt).one())


def list_incidents(
    *,
    session: Session,
    contract_number: str | None = None,
    status: IncidentStatus | None = None,
    month: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[tuple[Incident, str]]:
    """A page of incidents with their contract numbers, newest first, and how many match."""
    stmt = select(Incident, Contract.number).join(
        Contract, col(Contract.id) == Incident.contract_id
    )
    if contract_number is not None:
        stmt = stmt.where(Contract.number == contract_number)
    if status is not None:
        stmt = stmt.where(Incident.status == status.value)
    if month is not None:
        start, end = month_range(month)
        stmt = stmt.where(
            col(Incident.received_at) >= as_utc(start), col(Incident.received_at) < as_utc(end)
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    stmt = stmt.order_by(col(Incident.received_at).desc(), col(Incident.id).desc())
    rows = [(i, n) for i, n in session.exec(stmt.offset(offset).limit(limit))]
    return Page(items=rows, total=int(total))


@dataclass(frozen=True, slots=True)
class MonthlyCount:
    """One contract's incidents accepted in a Tokyo month."""

    contract: str
    month: str
    incidents: int
    fault_responses: int
    over_limit: int
    after_hours_total_yen: int


def monthly_counts(*, session: Session, month: str) -> list[MonthlyCount]:
    """Per contract: incidents, fault responses, those past the limit, after-hours charges."""
    start, end = month_range(month)
    is_fault = func.sum(case((col(Incident.kind) == IncidentKind.FAULT.value, 1), else_=0))
    over = func.sum(case((col(Incident.over_limit).is_(True), 1), else_=0))
    stmt = (
        sa.select(
            col(Contract.number),
            func.count(col(Incident.id)),
            is_fault,
            over,
            func.sum(col(Incident.after_hours_total_yen)),
        )
        .join(Contract, col(Contract.id) == Incident.contract_id)
        .where(col(Incident.received_at) >= as_utc(start), col(Incident.received_at) < as_utc(end))
        .group_by(Contract.number)
        .order_by(Contract.number)
    )
    return [
        MonthlyCount(
            contract=number,
            month=month,
            incidents=int(total),
            fault_responses=int(faults or 0),
            over_limit=int(overs or 0),
            after_hours_total_yen=int(yen or 0),
        )
        for number, total, faults, overs, yen in session.execute(stmt).all()
    ]


def contract_number_of(*, session: Session, incident: Incident) -> str:
    contract = session.get(Contract, incident.contract_id)
    return contract.number if contract is not None else ""
