"""Monitoring's recurring job: the liveness poll (`jobs/` runs it on either engine)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from core.audit import SYSTEM, Actor
from core.calendar import BusinessCalendar
from core.db import begin_write
from monitoring.delivery import Delivered, attempt, claim, new_sender, prepare, record
from monitoring.domain import Debounce
from monitoring.notices import NoticeMailer, NoticePoster, SecretLookup, due_notices
from monitoring.ports import MonitoringDashboard
from monitoring.service import FULL_LIST, PollReport, last_poll_at, read_liveness, record_poll


def poll_liveness(
    *,
    session: Session,
    dashboard: MonitoringDashboard,
    organization_id: str,
    now: datetime,
    debounce: Debounce,
    prefer_change_history: bool = True,
    calendar: BusinessCalendar | None = None,
    actor: Actor = SYSTEM,
) -> PollReport:
    """One poll of the organization, committed; the same tick run twice records nothing new.

    The dashboard is read with no transaction open (the baseline is read and the read ended
    first); the outcome is written in one short transaction.
    """
    baseline = last_poll_at(session=session, organization_id=organization_id)
    session.commit()  # end the read: nothing is held while the dashboard answers
    if baseline is not None and now <= baseline:
        return PollReport(organization_id, now, FULL_LIST, 0, repeated=True)
    sighting = read_liveness(
        dashboard=dashboard,
        organization_id=organization_id,
        baseline=baseline,
        now=now,
        prefer_change_history=prefer_change_history,
    )
    begin_write(session)  # SQLite: the write takes the lock first, never upgrading a read
    report = record_poll(
        session=session, sighting=sighting, actor=actor, debounce=debounce, calendar=calendar
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
    sender: str | None = None,
) -> Delivered:
    """Send every notice due by `now`, each claimed and committed before it is sent and its
    outcome committed after (a crash loses none; a parallel sender never sends one twice)."""
    done = Delivered()
    me = sender or new_sender()
    begin_write(session)  # each transaction below is short and a writer's (SQLite: IMMEDIATE)
    due = due_notices(session=session, now=now)
    session.commit()
    for notice_id in due:
        outgoing = None
        if claim(session=session, notice_id=notice_id, sender=me, now=now):
            outgoing = prepare(
                session=session, notice_id=notice_id, secrets=secrets, now=now, sender=me
            )
        session.commit()  # the claim is visible to every other sender before anything is sent
        if outgoing is None:
            done.skipped.append(notice_id)
            continue
        error = attempt(outgoing, mailer=mailer, poster=poster)  # no transaction open
        sent = record(
            session=session, notice_id=notice_id, error=error, actor=SYSTEM, now=now, sender=me
        )
        session.commit()
        (done.sent if sent else done.retrying).append(notice_id)
    return done
