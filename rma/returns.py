"""The return side: receipt with the serial check, late arrival, extension, waiver, reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.calendar import tokyo_date
from core.db import begin_write
from core.errors import Conflict, Problem
from inventory.domain import DeviceStatus, normalise_serial
from inventory.service import get_device_for_update, set_hold, set_status
from rma.charging import settle_overdue
from rma.domain import (
    AWAITING_RETURN,
    CONSUMPTION_TAX_PERCENT,
    NO_REMINDERS,
    Disposition,
    LateArrivalPolicy,
    ReminderOutcome,
    RmaPolicy,
    RmaStatus,
    advance,
    is_overdue,
    reminder_outcome,
)
from rma.models import DamageChargeRecord, Rma, RmaNotice, RmaReminder, RmaSerialMismatch
from rma.service import (
    cancel_reminders,
    charge_of,
    get_rma_for_update,
    move,
    plan_reminders,
    require,
    require_admin,
    rma_snapshot,
)

S = RmaStatus


def receive_unit(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    serial: str,
    disposition: Disposition,
    policy: RmaPolicy,
    now: datetime,
) -> Rma:
    """A unit arrives: the right serial closes the RMA, any other is an exception, never a close.

    Past the due date it is late whether or not a sweep has run: the sweep's charge is settled
    first (`rma.charging`), then the late-arrival policy applies to it.
    """
    begin_write(session)  # it may charge, as the sweep does: on SQLite take the lock first
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    received = serial.strip().upper()
    late = _settle_if_late(
        session=session,
        actor=actor,
        rma=rma,
        now=now,
        tax_rate_percent=policy.tax_rate_percent,
        charge=received != rma.failed_serial or policy.late_arrival is LateArrivalPolicy.KEEP,
    )
    before = rma_snapshot(rma)
    with_charge = charge_of(session=session, rma=rma)
    if received != rma.failed_serial:
        advance(RmaStatus(rma.status), S.EXCEPTION)
        rma.received_serial = rma.mismatch_serial = received
        rma.received_at = now
        session.add(
            RmaSerialMismatch(
                rma_id=rma.id or 0,
                expected_serial=rma.failed_serial,
                received_serial=received[:40],
                received_by=actor.name,
                received_at=now,
            )
        )
        return move(
            session=session,
            actor=actor,
            rma=rma,
            target=S.EXCEPTION,
            now=now,
            before=before,
            note=f"expected {rma.failed_serial}, received {received}",
        )
    advance(RmaStatus(rma.status), S.RECEIVED)
    if rma.swapped_at is None:
        raise Conflict(
            f"{rma.number}: {received} is back but no swap is recorded, so the contract and the "
            f"dashboard still have it in service and the replacement {rma.replacement_serial} "
            f"on the road. Record the swap first: netkeep rma swap {rma.id} (--no-dashboard if "
            "the dashboard already runs the replacement), then receive again",
            rma=rma.number,
            command=f"netkeep rma swap {rma.id}",
        )
    rma.received_serial, rma.received_at = received, now
    rma.late_arrival = rma.late_arrival or late
    device = get_device_for_update(session=session, serial=normalise_serial(received))
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=DeviceStatus.RETURNED,
        now=now,
        note=f"received for {rma.number}",
    )
    if with_charge is not None:
        _late_arrival(
            session=session, actor=actor, rma=rma, charge=with_charge, policy=policy, now=now
        )
    move(session=session, actor=actor, rma=rma, target=S.RECEIVED, now=now, before=before)
    target = (
        DeviceStatus.REFURBISHED if disposition is Disposition.REFURBISH else DeviceStatus.DISPOSED
    )
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=target,
        now=now,
        note=f"{rma.number}: {disposition.value}",
    )
    set_hold(session=session, actor=actor, device=device, holder=None, now=now)
    rma.disposition = disposition.value
    rma.closed_at = now
    cancel_reminders(session=session, actor=actor, rma=rma, now=now)
    return move(session=session, actor=actor, rma=rma, target=S.CLOSED, now=now)


def _settle_if_late(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    now: datetime,
    tax_rate_percent: int,
    charge: bool = True,
) -> bool:
    """Past the due date, first do what a sweep at `now` would have done; True if it is past.

    Every use case on an RMA that may be past its due date calls this, so what it decides never
    depends on whether the sweep happened to run before it.
    """
    if rma.due_date is None or not is_overdue(rma.due_date, now):
        return False
    settle_overdue(
        session=session,
        actor=actor,
        rma=rma,
        now=now,
        tax_rate_percent=tax_rate_percent,
        charge=charge,
    )
    return True


def _late_arrival(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    charge: DamageChargeRecord,
    policy: RmaPolicy,
    now: datetime,
) -> None:
    """The unit came back after the charge: record it; credit the charge if the policy says so."""
    before = charge.model_dump()
    rma.late_arrival = True
    charge.late_arrival_at = now
    if policy.late_arrival is LateArrivalPolicy.CREDIT and charge.credited_at is None:
        charge.credited_at = now
        charge.credit_reason = "late arrival: credited by policy"
    session.add(charge)
    audit.record(
        session,
        actor=actor,
        action="rma.charge_late_arrival",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=charge.model_dump(),
        at=now,
    )


def extend_due_date(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    due_date: date,
    reason: str,
    policy: RmaPolicy,
    now: datetime,
) -> Rma:
    """An admin gives more time to return the unit; an overdue RMA goes back to waiting."""
    require_admin(actor, "extend a return period")
    begin_write(session)
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    _settle_if_late(
        session=session, actor=actor, rma=rma, now=now, tax_rate_percent=policy.tax_rate_percent
    )  # once charged, only a waiver takes the charge back, whenever the sweep ran
    before = rma_snapshot(rma)
    status = RmaStatus(rma.status)
    if status is S.CHARGED:
        raise Conflict(
            f"{rma.number}: the return period ended on {rma.due_date} and the damage charge is "
            "owed; waive it rather than extend",
            rma=rma.number,
            status=status.value,
        )
    if status not in AWAITING_RETURN | {S.OVERDUE}:
        raise Conflict(
            f"{rma.number} is {status}; only a waiting or overdue RMA can be extended",
            rma=rma.number,
            status=status.value,
        )
    require(
        (not reason.strip(), Problem("a reason is required", "reason")),
        (
            rma.due_date is not None and due_date <= rma.due_date,
            Problem(f"the new due date must be after {rma.due_date}", "due_date"),
        ),
    )
    rma.due_date = due_date
    plan_reminders(session=session, rma=rma, due=due_date, policy=policy, today=tokyo_date(now))
    note = f"extended to {due_date.isoformat()}: {reason.strip()}"
    if status is S.OVERDUE:
        back = RmaStatus(rma.waiting_status or S.SHIPPED.value)
        return move(
            session=session, actor=actor, rma=rma, target=back, now=now, before=before, note=note
        )
    rma.updated_at = now
    session.add(rma)
    audit.record(
        session,
        actor=actor,
        action="rma.extend",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=rma_snapshot(rma) | {"note": note},
        at=now,
    )
    return rma


def waive_charge(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    reason: str,
    now: datetime,
    tax_rate_percent: int = CONSUMPTION_TAX_PERCENT,
) -> Rma:
    """An admin lets the damage charge go; an issued charge is credited."""
    require_admin(actor, "waive a damage charge")
    begin_write(session)
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    _settle_if_late(
        session=session, actor=actor, rma=rma, now=now, tax_rate_percent=tax_rate_percent
    )
    before = rma_snapshot(rma)
    require((not reason.strip(), Problem("a reason is required", "reason")))
    charge = charge_of(session=session, rma=rma)
    if RmaStatus(rma.status) in (S.RECEIVED, S.CLOSED):
        return _credit_after_receipt(
            session=session, actor=actor, rma=rma, charge=charge, reason=reason.strip(), now=now
        )
    advance(RmaStatus(rma.status), S.WAIVED)
    if charge is not None and charge.credited_at is None:
        charge.credited_at = now
        charge.credit_reason = f"waived: {reason.strip()}"[:200]
        session.add(charge)
    cancel_reminders(session=session, actor=actor, rma=rma, now=now)
    return move(
        session=session,
        actor=actor,
        rma=rma,
        target=S.WAIVED,
        now=now,
        before=before,
        note=f"waived: {reason.strip()}",
    )


def _credit_after_receipt(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    charge: DamageChargeRecord | None,
    reason: str,
    now: datetime,
) -> Rma:
    """The unit is back and the RMA done, but its charge stands: credit it, status unchanged."""
    if charge is None or charge.credited_at is not None:
        state = "no damage charge" if charge is None else "its charge already credited"
        raise Conflict(
            f"{rma.number} is {rma.status} with {state}; nothing to waive",
            rma=rma.number,
            status=rma.status,
        )
    before = charge.model_dump()
    charge.credited_at = now
    charge.credit_reason = f"waived after receipt: {reason}"[:200]
    session.add(charge)
    audit.record(
        session,
        actor=actor,
        action="rma.charge_waived",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=charge.model_dump() | {"status": rma.status},
        at=now,
    )
    return rma


@dataclass(frozen=True, slots=True)
class SentReminder:
    rma_id: int
    number: str
    remind_on: date
    due_date: date | None
    customer: str | None
    notice_id: int
    late: bool = False


def send_due_reminders(*, session: Session, actor: Actor, now: datetime) -> list[SentReminder]:
    """Settle every reminder whose day has come: sent (late at most once), missed or cancelled.

    `reminder_outcome` decides each. Concurrent runs settle each reminder once: rows are taken
    with SKIP LOCKED on PostgreSQL, and on SQLite the write lock is taken before they are read.
    """
    begin_write(session)
    today = tokyo_date(now)
    stmt = (
        select(RmaReminder, Rma)
        .join(Rma, col(Rma.id) == col(RmaReminder.rma_id))
        .where(
            col(RmaReminder.outcome).is_(None),
            or_(
                col(RmaReminder.remind_on) <= today,
                col(Rma.due_date) < today,
                col(Rma.status).in_([s.value for s in NO_REMINDERS]),
            ),
        )
        .order_by(col(RmaReminder.rma_id), col(RmaReminder.remind_on), col(RmaReminder.id))
        .with_for_update(of=RmaReminder, skip_locked=True)
    )
    rows = session.exec(stmt).all()
    newest_passed: dict[int, date] = {}
    for reminder, _ in rows:
        if reminder.remind_on <= today:
            newest_passed[reminder.rma_id] = reminder.remind_on  # rows come oldest first
    sent: list[SentReminder] = []
    for reminder, rma in rows:
        outcome = reminder_outcome(
            remind_on=reminder.remind_on,
            due=rma.due_date,
            today=today,
            status=RmaStatus(rma.status),
            superseded=reminder.remind_on < newest_passed.get(rma.id or 0, reminder.remind_on),
        )
        if outcome is None:
            continue
        reminder.outcome, reminder.outcome_at = outcome.value, now
        session.add(reminder)
        if outcome not in (ReminderOutcome.SENT, ReminderOutcome.SENT_LATE):
            audit.record(
                session,
                actor=actor,
                action=f"rma.reminder_{outcome.value}",
                entity_type="rma",
                entity_id=rma.number,
                after={"remind_on": reminder.remind_on, "status": rma.status},
                at=now,
            )
            continue
        sent.append(
            _send_reminder(session=session, actor=actor, reminder=reminder, rma=rma, now=now)
        )
    return sent


def _send_reminder(
    *, session: Session, actor: Actor, reminder: RmaReminder, rma: Rma, now: datetime
) -> SentReminder:
    late = reminder.outcome == ReminderOutcome.SENT_LATE
    notice = RmaNotice(
        rma_id=rma.id or 0,
        kind="reminder",
        recipient=rma.customer or "",
        subject=f"【ご返却のお願い】故障機 {rma.failed_serial} の返却期限 {rma.due_date}",
        body=(
            f"{rma.customer or ''} 御中\n"
            f"先出しセンドバック保守（{rma.number}）で交換した故障機 "
            f"{rma.failed_serial}（{rma.failed_model}）の返却期限は {rma.due_date} です。\n"
            "期限までにご返却いただけない場合、機器損害金をご請求させていただきます。"
        ),
        created_at=now,
    )
    session.add(notice)
    reminder.sent_at = now
    session.add(reminder)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="rma.reminder_sent",
        entity_type="rma",
        entity_id=rma.number,
        after={"remind_on": reminder.remind_on, "notice_id": notice.id, "late": late},
        at=now,
    )
    return SentReminder(
        rma.id or 0,
        rma.number,
        reminder.remind_on,
        rma.due_date,
        rma.customer,
        notice.id or 0,
        late,
    )
