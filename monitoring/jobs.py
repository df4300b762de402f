"""Monitoring's recurring job: the liveness poll (`jobs/` runs it on either engine)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.audit import SYSTEM
from core.calendar import BusinessCalendar
from monitoring.domain import Debounce
from monitoring.notices import (
    Delivered,
    NoticeMailer,
    NoticePoster,
    SecretLookup,
    deliver,
    due_notices,
)
from monitoring.ports import MonitoringDashboard
from monitoring.service import PollReport, poll


def poll_liveness(
    *,
    session: Session,
    dashboard: MonitoringDashboard,
    organization_id: str,
    now: datetime,
    debounce: Debounce,
    prefer_change_history: bool = True,
    calendar: BusinessCalendar | None = None,
) -> PollReport:
    """One poll of the organization, committed; the same tick run twice records nothing new."""
    report = poll(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        actor=SYSTEM,
        now=now,
        debounce=debounce,
        prefer_change_history=prefer_change_history,
        calendar=calendar,
    )
    session.commit()
    return report


def deliver_failure_notices(
    *,
    session: Session,
    mailer: NoticeMailer,
    poster: NoticePoster,
    secrets: SecretLookup,
    now: datetime,
) -> Delivered:
    """Send every notice due by `now`, each committed on its own (a crash loses none)."""
    done = Delivered()
    for notice_id in due_notices(session=session, now=now):
        sent = deliver(
            session=session,
            notice_id=notice_id,
            mailer=mailer,
            poster=poster,
            secrets=secrets,
            actor=SYSTEM,
            now=now,
        )
        session.commit()
        (done.sent if sent else done.retrying).append(notice_id)
    return done
