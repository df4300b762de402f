"""Failure and recovery notices: queued per contact when an outage opens or closes, due inside
the service's window (monitoring.delivery sends them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, or_, select

from changes.ports import OutgoingMail
from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from monitoring.contacts import MAIL as MAIL
from monitoring.contacts import WEBHOOK as WEBHOOK
from monitoring.contacts import add_contact as add_contact
from monitoring.domain import monitoring_service, notice_due
from monitoring.models import FailureNotice, NoticeContact, Outage

FAILURE, RECOVERY = "failure", "recovery"


class NoticeMailer(Protocol):
    def send(self, mail: OutgoingMail) -> str: ...


class NoticePoster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the status; raise on a transport failure."""
        ...


SecretLookup = Callable[[str, str], str | None]
"""(customer, secret name) -> the secret's value, or None."""


def queue_notices(
    *,
    session: Session,
    outage: Outage,
    calendar: BusinessCalendar,
    actor: Actor,
    now: datetime,
    kind: str = FAILURE,
) -> list[FailureNotice]:
    """One notice per contact, due at the service window's start (at once inside it).

    A failure notice goes to each active contact of the outage's customer, dated from when the
    outage was detected; a recovery notice to each contact queued that failure notice (and not
    removed since), dated `now`.
    """
    if not outage.customer or outage.id is None:
        return []
    if kind == FAILURE:
        contacts = session.exec(
            select(NoticeContact).where(
                NoticeContact.customer == outage.customer, col(NoticeContact.active).is_(True)
            )
        ).all()
        detected = outage.detected_at
    else:
        contacts = session.exec(
            select(NoticeContact).where(
                NoticeContact.id == FailureNotice.contact_id,
                FailureNotice.outage_id == outage.id,
                FailureNotice.kind == FAILURE,
                col(NoticeContact.active).is_(True),
            )
        ).all()
        detected = now
    service = monitoring_service(outage.product_type)
    due = notice_due(service, detected, calendar)
    queued = []
    for contact in contacts:
        assert contact.id is not None
        notice = FailureNotice(
            outage_id=outage.id,
            contact_id=contact.id,
            kind=kind,
            channel=contact.channel,
            service=service.value,
            detected_at=detected,
            due_at=due,
            next_attempt_at=due,
        )
        session.add(notice)
        queued.append(notice)
    session.flush()
    for notice in queued:
        audit.record(
            session,
            actor=actor,
            action="notice.queue",
            entity_type="failure_notice",
            entity_id=str(notice.id),
            after={
                "outage": outage.id,
                "kind": kind,
                "channel": notice.channel,
                "service": notice.service,
                "detected_at": notice.detected_at.isoformat(),
                "due_at": notice.due_at.isoformat(),
            },
            at=now,
        )
    return queued


def due_notices(*, session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of the unsent notices whose next attempt has come and no sender holds, oldest first."""
    query = (
        select(FailureNotice.id)
        .where(
            col(FailureNotice.sent_at).is_(None),
            FailureNotice.next_attempt_at <= now,
            or_(
                col(FailureNotice.claim_expires_at).is_(None),
                col(FailureNotice.claim_expires_at) <= now,
            ),
        )
        .order_by(col(FailureNotice.next_attempt_at), col(FailureNotice.id))
        .limit(limit)
    )
    return [i for i in session.exec(query) if i is not None]


def notices_query(*, unsent_only: bool = False) -> Any:
    """Notices, the latest due first."""
    query = select(FailureNotice)
    if unsent_only:
        query = query.where(col(FailureNotice.sent_at).is_(None))
    return query.order_by(col(FailureNotice.due_at).desc(), col(FailureNotice.id).desc())


def contact_of(*, session: Session, notice: FailureNotice) -> NoticeContact:
    contact = session.get(NoticeContact, notice.contact_id)
    assert contact is not None  # a foreign key
    return contact


def list_notices(
    *, session: Session, unsent_only: bool = False, limit: int = 100, offset: int = 0
) -> list[tuple[FailureNotice, NoticeContact]]:
    """Notices with their contact, the latest due first."""
    query = select(FailureNotice, NoticeContact).where(FailureNotice.contact_id == NoticeContact.id)
    if unsent_only:
        query = query.where(col(FailureNotice.sent_at).is_(None))
    query = query.order_by(col(FailureNotice.due_at).desc(), col(FailureNotice.id).desc())
    return [(n, c) for n, c in session.exec(query.offset(offset).limit(limit))]
