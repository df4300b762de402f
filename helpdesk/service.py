"""Helpdesk use cases: open a contact's incidents, answer, reply, close, sweep, bill.

The reads (an incident, a page of them, the monthly counts) are `helpdesk.queries`, named here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar, Service
from core.errors import NotFound, Problem, ValidationFailed
from core.timeutil import as_utc, show
from helpdesk.domain import (
    FAULT_RESPONSES_PER_MONTH,
    Cause,
    Channel,
    CloseReason,
    IncidentKind,
    IncidentStatus,
    advance,
    after_hours_charge,
    auto_close_at,
    fault_limit_reached,
    is_due_for_auto_close,
    tokyo_month,
)
from helpdesk.models import Incident
from helpdesk.queries import MonthlyCount as MonthlyCount
from helpdesk.queries import contract_number_of as contract_number_of
from helpdesk.queries import fault_responses_in_month as fault_responses_in_month
from helpdesk.queries import get_incident as get_incident
from helpdesk.queries import list_incidents as list_incidents
from helpdesk.queries import monthly_counts as monthly_counts
from inventory.models import Contract
from monitoring.models import Outage

S = IncidentStatus

AUDIT_FIELDS = (
    "status",
    "kind",
    "contact_ref",
    "answered_at",
    "answered_by",
    "replied_at",
    "closed_at",
    "close_reason",
    "cause",
    "over_limit",
    "after_hours_minutes",
    "after_hours_net_yen",
    "after_hours_tax_yen",
    "after_hours_total_yen",
    "outage_id",
    "rma_number",
)


def snapshot(incident: Incident) -> dict[str, Any]:
    """The audited view of an incident."""
    return {name: getattr(incident, name) for name in AUDIT_FIELDS}


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a contact: what is asked and whether it is a fault response."""

    text: str
    kind: IncidentKind = IncidentKind.QUESTION


def _contract_for_update(session: Session, number: str) -> Contract:
    """The contract row locked, so two desks cannot both accept the 3rd fault response."""
    stmt = select(Contract).where(Contract.number == number).with_for_update()
    contract = session.exec(stmt).first()
    if contract is None:
        raise NotFound(f"no contract {number!r}", contract=number)
    return contract


def open_contact(
    *,
    session: Session,
    actor: Actor,
    contract_number: str,
    questions: Sequence[Question],
    channel: Channel,
    reporter: str,
    received_at: datetime,
    now: datetime,
    confirm_over_limit: bool = False,
    fault_limit: int = FAULT_RESPONSES_PER_MONTH,
    outage_id: int | None = None,
) -> list[Incident]:
    """Accept a contact: one incident per question (each consumed now), all or none.

    A fault response past the contract's monthly limit is refused with a located problem
    unless the desk confirms it; a confirmed one is accepted and flagged `over_limit`.
    """
    problems: list[Problem] = []
    if not questions:
        problems.append(Problem("a contact needs at least one question", "questions"))
    for i, q in enumerate(questions):
        if not q.text.strip():
            problems.append(Problem("question text is required", f"questions[{i}]"))
    if not reporter.strip():
        problems.append(Problem("reporter is required", "reporter"))
    if as_utc(received_at) > as_utc(now):
        problems.append(Problem(f"{show(received_at)} is in the future", "received_at"))
    outage = session.get(Outage, outage_id) if outage_id is not None else None
    if outage_id is not None and outage is None:
        problems.append(Problem(f"no outage {outage_id}", "outage_id"))
    if problems:
        raise ValidationFailed(problems)
    contract = _contract_for_update(session, contract_number)
    assert contract.id is not None
    month = tokyo_month(received_at)
    already = fault_responses_in_month(session=session, contract_id=contract.id, month=month)
    flags: list[bool] = []
    for i, q in enumerate(questions):
        if q.kind is not IncidentKind.FAULT:
            flags.append(False)
            continue
        over = fault_limit_reached(already, fault_limit)
        if over and not confirm_over_limit:
            problems.append(
                Problem(
                    f"fault response {already + 1} in {month} goes past the contract's "
                    f"{fault_limit} a month (seed 004); confirm to accept it anyway",
                    f"contract {contract.number} / {month} / questions[{i}]",
                )
            )
        flags.append(over)
        already += 1
    if problems:
        raise ValidationFailed(problems, "fault-response limit reached; nothing was accepted")
    contact_ref = f"CT-{uuid.uuid4().hex[:12]}"
    incidents: list[Incident] = []
    for q, over in zip(questions, flags, strict=True):
        incident = Incident(
            contract_id=contract.id,
            contact_ref=contact_ref,
            kind=q.kind.value,
            channel=channel.value,
            reporter=reporter.strip(),
            question=q.text.strip(),
            status=S.OPEN.value,
            received_at=received_at,
            over_limit=over,
            outage_id=outage.id if outage else None,
            rma_number=outage.rma_number if outage else None,
            created_at=now,
            updated_at=now,
        )
        session.add(incident)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="incident.open",
            entity_type="incident",
            entity_id=incident.number,
            after=snapshot(incident) | {"contract": contract.number, "received_at": received_at},
            at=now,
        )
        incidents.append(incident)
    return incidents


def _move(
    session: Session,
    actor: Actor,
    incident: Incident,
    target: IncidentStatus,
    action: str,
    now: datetime,
    change: dict[str, Any],
) -> Incident:
    before = snapshot(incident)
    incident.status = advance(IncidentStatus(incident.status), target).value
    for name, value in change.items():
        setattr(incident, name, value)
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="incident",
        entity_id=incident.number,
        before=before,
        after=snapshot(incident),
        at=now,
    )
    return incident


def answer(
    *,
    session: Session,
    actor: Actor,
    incident_id: int,
    text: str,
    answered_at: datetime,
    now: datetime,
) -> Incident:
    """The desk's answer; the 5-day auto-close clock starts (again) from it."""
    if not text.strip():
        raise ValidationFailed([Problem("answer text is required", "answer")])
    if as_utc(answered_at) > as_utc(now):
        raise ValidationFailed([Problem(f"{show(answered_at)} is in the future", "answered_at")])
    incident = get_incident(session=session, incident_id=incident_id, for_update=True)
    if as_utc(answered_at) < as_utc(incident.received_at):
        raise ValidationFailed(
            [
                Problem(
                    f"answered before it was received ({show(incident.received_at)})", "answered_at"
                )
            ]
        )
    return _move(
        session,
        actor,
        incident,
        S.ANSWERED,
        "incident.answer",
        now,
        {"answered_at": answered_at, "answered_by": actor.name, "answer": text.strip()},
    )


def customer_reply(
    *, session: Session, actor: Actor, incident_id: int, replied_at: datetime, now: datetime
) -> Incident:
    """The customer came back: the clock stops and the incident is the desk's again."""
    incident = get_incident(session=session, incident_id=incident_id, for_update=True)
    return _move(
        session, actor, incident, S.OPEN, "incident.reply", now, {"replied_at": replied_at}
    )


def close(
    *,
    session: Session,
    actor: Actor,
    incident_id: int,
    reason: CloseReason,
    now: datetime,
    cause: Cause | None = None,
) -> Incident:
    """Close on the customer's consent or because it is solved (the sweep closes on silence)."""
    if reason is CloseReason.NO_REPLY:
        raise ValidationFailed(
            [Problem("closing for no reply is the sweep's, 5 days after the answer", "reason")]
        )
    incident = get_incident(session=session, incident_id=incident_id, for_update=True)
    change: dict[str, Any] = {"closed_at": now, "close_reason": reason.value}
    if cause is not None:
        change["cause"] = cause.value
    return _move(session, actor, incident, S.CLOSED, "incident.close", now, change)


def sweep(*, session: Session, actor: Actor, now: datetime) -> list[Incident]:
    """Close every answered incident whose 5 days after the answer have run out (idempotent)."""
    stmt = (
        select(Incident)
        .where(Incident.status == S.ANSWERED.value)
        .order_by(col(Incident.id))
        .with_for_update(skip_locked=True)
    )
    closed: list[Incident] = []
    for incident in session.exec(stmt):
        if not is_due_for_auto_close(S.ANSWERED, incident.answered_at, now):
            continue
        assert incident.answered_at is not None
        _move(
            session,
            actor,
            incident,
            S.CLOSED,
            "incident.auto_close",
            now,
            {
                "closed_at": auto_close_at(incident.answered_at),
                "close_reason": CloseReason.NO_REPLY.value,
            },
        )
        closed.append(incident)
    return closed


def bill_after_hours(
    *,
    session: Session,
    actor: Actor,
    incident_id: int,
    work_started_at: datetime,
    minutes: int,
    cause: Cause,
    calendar: BusinessCalendar,
    now: datetime,
) -> Incident:
    """Record after-hours work on an incident and its charge (free unless the cause is billable)."""
    problems: list[Problem] = []
    if minutes <= 0:
        problems.append(Problem(f"minutes must be positive, got {minutes}", "minutes"))
    if calendar.is_service_time(Service.HELPDESK, work_started_at):
        problems.append(
            Problem(
                f"{show(work_started_at)} is inside the helpdesk's hours (Mon–Sat 8:30–18:00); "
                "only work outside them is after-hours",
                "work_started_at",
            )
        )
    if problems:
        raise ValidationFailed(problems)
    incident = get_incident(session=session, incident_id=incident_id, for_update=True)
    before = snapshot(incident)
    total_minutes = incident.after_hours_minutes + minutes
    charge = after_hours_charge(total_minutes, cause)
    incident.cause = cause.value
    incident.after_hours_minutes = total_minutes
    incident.after_hours_net_yen = charge.net_yen
    incident.after_hours_tax_yen = charge.tax_yen
    incident.after_hours_total_yen = charge.total_yen
    incident.updated_at = now
    session.add(incident)
    audit.record(
        session,
        actor=actor,
        action="incident.after_hours",
        entity_type="incident",
        entity_id=incident.number,
        before=before,
        after=snapshot(incident) | {"work_started_at": work_started_at},
        at=now,
    )
    return incident
