"""The RMA's recurring jobs: the overdue sweep and the return reminders (`jobs/` runs them)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.audit import SYSTEM
from rma.returns import SentReminder, send_due_reminders
from rma.sweep import SweepReport, sweep


def sweep_overdue(*, session: Session, now: datetime, tax_rate_percent: int) -> SweepReport:
    """Mark the RMAs past their deadline overdue and charge each once; committed."""
    report = sweep(session=session, actor=SYSTEM, now=now, tax_rate_percent=tax_rate_percent)
    session.commit()
    return report


def send_reminders(*, session: Session, now: datetime) -> list[SentReminder]:
    """Store the return reminders due by today (each once); committed."""
    sent = send_due_reminders(session=session, actor=SYSTEM, now=now)
    session.commit()
    return sent
