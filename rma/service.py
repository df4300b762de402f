"""RMA use cases shared by the others, the failure report, the NOC's decision and the pickup.

The replacement (reserve, ship, swap) is in `rma.replacement`, the return side (receive, extend,
waive, reminders) in `rma.returns`, the overdue sweep in `rma.sweep`, the views in `rma.views`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, delete, select

from core import audit
from core.audit import Actor
from core.auth import Role
from core.errors import NotFound, PermissionDenied, Problem, ValidationFailed
from core.settings import Settings, business_calendar
from inventory.domain import DeviceStatus
from inventory.service import get_device_for_update, set_hold, set_status
from rma.domain import (
    LateArrivalPolicy,
    ReminderOutcome,
    RmaPolicy,
    RmaStatus,
    advance,
    reminder_dates,
)
from rma.models import DamageChargeRecord, Rma, RmaReminder, RmaSerialMismatch

S = RmaStatus

RMA_AUDIT_FIELDS = (
    "status",
    "waiting_status",
    "failed_serial",
    "replacement_serial",
    "replacement_model",
    "substitution",
    "courier",
    "tracking_number",
    "shipped_at",
    "due_date",
    "swapped_at",
    "swapped_by_kind",
    "swapped_by_name",
    "dashboard_swap",
    "swap_claimed_at",
    "pickup_date",
    "pickup_courier",
    "pickup_tracking",
    "received_serial",
    "mismatch_serial",
    "disposition",
    "late_arrival",
    "closed_at",
)


def policy_from_settings(settings: Settings) -> RmaPolicy:
    """The RMA rules as configured."""
    return RmaPolicy(
        calendar=business_calendar(settings),
        shift_due_date=settings.due_date_shift,
        reminder_offsets=tuple(settings.rma_reminder_days),
        late_arrival=LateArrivalPolicy(settings.rma_late_arrival_policy),
        tax_rate_percent=settings.tax_rate_percent,
    )


def rma_snapshot(rma: Rma) -> dict[str, Any]:
    """The audited view of an RMA."""
    return {name: getattr(rma, name) for name in RMA_AUDIT_FIELDS}


def get_rma(*, session: Session, rma_id: int) -> Rma:
    rma = session.get(Rma, rma_id)
    if rma is None:
        raise NotFound(f"no RMA {rma_id}", rma=rma_id)
    return rma


def get_rma_for_update(*, session: Session, rma_id: int) -> Rma:
    """The RMA row locked until the transaction ends."""
    rma = session.exec(select(Rma).where(Rma.id == rma_id).with_for_update()).first()
    if rma is None:
        raise NotFound(f"no RMA {rma_id}", rma=rma_id)
    return rma


def charge_of(*, session: Session, rma: Rma) -> DamageChargeRecord | None:
    stmt = select(DamageChargeRecord).where(DamageChargeRecord.rma_id == rma.id)
    return session.exec(stmt).first()


def mismatches_of(*, session: Session, rma: Rma) -> list[RmaSerialMismatch]:
    """Every wrong-serial receipt of the RMA, oldest first (kept after the right unit came)."""
    stmt = (
        select(RmaSerialMismatch)
        .where(RmaSerialMismatch.rma_id == rma.id)
        .order_by(col(RmaSerialMismatch.received_at), col(RmaSerialMismatch.id))
    )
    return list(session.exec(stmt))


def reminders_of(*, session: Session, rma: Rma) -> list[RmaReminder]:
    stmt = (
        select(RmaReminder).where(RmaReminder.rma_id == rma.id).order_by(col(RmaReminder.remind_on))
    )
    return list(session.exec(stmt))


def move(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    target: RmaStatus,
    now: datetime,
    before: dict[str, Any] | None = None,
    note: str | None = None,
) -> Rma:
    """Advance the RMA's status by the transition table and audit the move."""
    before = before if before is not None else rma_snapshot(rma)
    rma.status = advance(RmaStatus(rma.status), target).value
    rma.updated_at = now
    session.add(rma)
    after = rma_snapshot(rma)
    if note:
        after["note"] = note
    audit.record(
        session,
        actor=actor,
        action=f"rma.{target.value}",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=after,
        at=now,
    )
    return rma


def require(*checks: tuple[bool, Problem]) -> None:
    """ValidationFailed listing every problem whose condition is true; nothing otherwise."""
    problems = [problem for failed, problem in checks if failed]
    if problems:
        raise ValidationFailed(problems)


def require_admin(actor: Actor, what: str) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDenied(f"only an admin may {what}", role=actor.role)


def open_rma(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    symptom: str,
    reporter: str,
    reported_at: datetime,
    now: datetime,
) -> Rma:
    """A failure report: the deployed device becomes failed and an RMA opens."""
    require(
        (not symptom.strip(), Problem("symptom is required", "symptom")),
        (not reporter.strip(), Problem("reporter is required", "reporter")),
    )
    device = get_device_for_update(session=session, serial=serial)
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=DeviceStatus.FAILED,
        now=now,
        note="failure reported",
    )
    assert device.id is not None
    rma = Rma(
        status=S.OPEN.value,
        failed_device_id=device.id,
        failed_serial=device.serial,
        failed_model=device.model,
        contract_id=device.contract_id,
        customer=device.customer,
        symptom=symptom.strip(),
        reporter=reporter.strip(),
        reported_at=reported_at,
        created_at=now,
        updated_at=now,
    )
    session.add(rma)
    session.flush()
    set_hold(session=session, actor=actor, device=device, holder=rma.number, now=now)
    audit.record(
        session,
        actor=actor,
        action="rma.open",
        entity_type="rma",
        entity_id=rma.number,
        after=rma_snapshot(rma) | {"symptom": rma.symptom, "reporter": rma.reporter},
        at=now,
    )
    return rma


def decide(
    *, session: Session, actor: Actor, rma_id: int, replace: bool, note: str, now: datetime
) -> Rma:
    """The NOC's judgement: resolved remotely (device back in service) or replacement needed."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    target = S.REPLACEMENT_NEEDED if replace else S.RESOLVED_REMOTELY
    before = rma_snapshot(rma)
    advance(RmaStatus(rma.status), target)
    rma.decided_at = now
    rma.decision_note = note
    if not replace:
        device = get_device_for_update(session=session, serial=rma.failed_serial)
        set_status(
            session=session,
            actor=actor,
            device=device,
            target=DeviceStatus.DEPLOYED,
            now=now,
            note=f"{rma.number} resolved remotely",
        )
        set_hold(session=session, actor=actor, device=device, holder=None, now=now)
        rma.closed_at = now
    return move(
        session=session, actor=actor, rma=rma, target=target, now=now, before=before, note=note
    )


def plan_reminders(
    *, session: Session, rma: Rma, due: date, policy: RmaPolicy, today: date
) -> list[RmaReminder]:
    """Replace the still planned reminders with ones for `due`."""
    assert rma.id is not None
    rma_id = rma.id
    session.exec(
        delete(RmaReminder).where(
            col(RmaReminder.rma_id) == rma.id, col(RmaReminder.outcome).is_(None)
        )
    )
    sent = {r.remind_on for r in reminders_of(session=session, rma=rma)}
    rows = [
        RmaReminder(rma_id=rma_id, remind_on=d)
        for d in reminder_dates(due, policy.reminder_offsets, today=today)
        if d not in sent
    ]
    session.add_all(rows)
    return rows


def cancel_reminders(*, session: Session, actor: Actor, rma: Rma, now: datetime) -> int:
    """The RMA no longer waits for the unit: its planned reminders become cancelled; audited."""
    planned = [r for r in reminders_of(session=session, rma=rma) if r.outcome is None]
    for reminder in planned:
        reminder.outcome, reminder.outcome_at = ReminderOutcome.CANCELLED.value, now
        session.add(reminder)
    if planned:
        audit.record(
            session,
            actor=actor,
            action="rma.reminders_cancelled",
            entity_type="rma",
            entity_id=rma.number,
            after={"remind_on": [r.remind_on for r in planned], "status": rma.status},
            at=now,
        )
    return len(planned)


def request_pickup(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    pickup_date: date,
    courier: str,
    tracking_number: str,
    now: datetime,
) -> Rma:
    """Ask the provider's courier to collect the failed unit at the site."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    before = rma_snapshot(rma)
    advance(RmaStatus(rma.status), S.PICKUP_REQUESTED)
    require((not courier.strip(), Problem("courier is required", "courier")))
    rma.pickup_date = pickup_date
    rma.pickup_courier = courier.strip()
    rma.pickup_tracking = tracking_number.strip() or None
    return move(
        session=session, actor=actor, rma=rma, target=S.PICKUP_REQUESTED, now=now, before=before
    )
