"""Failure notices: queued per contact when an outage opens, delivered inside the service's
window by mail and signed webhook, retried with backoff until sent (never dropped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from changes.ports import OutgoingMail
from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import DomainError, NotFound, Problem, ValidationFailed
from core.timeutil import show
from monitoring.domain import (
    SIGNATURE_HEADER,
    NoticeFacts,
    failure_mail,
    monitoring_service,
    notice_due,
    notice_signature,
    retry_delay,
)
from monitoring.models import FailureNotice, NoticeContact, Outage

MAIL, WEBHOOK = "mail", "webhook"


class NoticeMailer(Protocol):
    def send(self, mail: OutgoingMail) -> str: ...


class NoticePoster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and return the status; raise on a transport failure."""
        ...


SecretLookup = Callable[[str, str], str | None]
"""(customer, secret name) -> the secret's value, or None."""


def add_contact(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    channel: str,
    address: str,
    secret_name: str | None = None,
    now: datetime,
) -> NoticeContact:
    """A place the customer's failure notices go; a webhook needs the secret that signs it."""
    problems = []
    if channel not in (MAIL, WEBHOOK):
        problems.append(Problem("must be mail or webhook", "channel"))
    if channel == MAIL and ("@" not in address or len(address) > 254):
        problems.append(Problem("must be an e-mail address", "address"))
    if channel == WEBHOOK:
        if not address.startswith(("https://", "http://")):
            problems.append(Problem("must be an http(s) URL", "address"))
        if not secret_name:
            problems.append(Problem("a webhook needs the name of its signing secret", "secret"))
    if not customer.strip():
        problems.append(Problem("is required", "customer"))
    if problems:
        raise ValidationFailed(problems, "contact refused; nothing was changed")
    contact = NoticeContact(
        customer=customer.strip(),
        channel=channel,
        address=address.strip(),
        secret_name=secret_name,
    )
    session.add(contact)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice_contact.add",
        entity_type="notice_contact",
        entity_id=str(contact.id),
        after={
            "customer": contact.customer,
            "channel": channel,
            "address": contact.address,
            "secret_name": secret_name,
        },
        at=now,
    )
    return contact


def queue_notices(
    *, session: Session, outage: Outage, calendar: BusinessCalendar, actor: Actor, now: datetime
) -> list[FailureNotice]:
    """One notice per active contact of the outage's customer, due at the window's start."""
    if not outage.customer or outage.id is None:
        return []
    contacts = session.exec(
        select(NoticeContact).where(
            NoticeContact.customer == outage.customer, col(NoticeContact.active).is_(True)
        )
    ).all()
    service = monitoring_service(outage.product_type)
    due = notice_due(service, outage.detected_at, calendar)
    queued = []
    for contact in contacts:
        assert contact.id is not None
        notice = FailureNotice(
            outage_id=outage.id,
            contact_id=contact.id,
            channel=contact.channel,
            service=service.value,
            detected_at=outage.detected_at,
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
                "channel": notice.channel,
                "service": notice.service,
                "detected_at": notice.detected_at.isoformat(),
                "due_at": notice.due_at.isoformat(),
            },
            at=now,
        )
    return queued


def due_notices(*, session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Ids of the unsent notices whose next attempt has come, oldest first."""
    query = (
        select(FailureNotice.id)
        .where(col(FailureNotice.sent_at).is_(None), FailureNotice.next_attempt_at <= now)
        .order_by(col(FailureNotice.next_attempt_at), col(FailureNotice.id))
        .limit(limit)
    )
    return [i for i in session.exec(query) if i is not None]


@dataclass
class Delivered:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)


def deliver(
    *,
    session: Session,
    notice_id: int,
    mailer: NoticeMailer,
    poster: NoticePoster,
    secrets: SecretLookup,
    actor: Actor,
    now: datetime,
) -> bool:
    """Try one notice once; a failure is recorded and the next attempt backed off."""
    notice = session.get(FailureNotice, notice_id)
    if notice is None:
        raise NotFound(f"failure notice {notice_id} not found")
    if notice.sent_at is not None or notice.next_attempt_at > now:
        return notice.sent_at is not None
    outage = session.get(Outage, notice.outage_id)
    contact = session.get(NoticeContact, notice.contact_id)
    assert outage is not None and contact is not None and outage.id is not None
    facts = NoticeFacts(
        customer=outage.customer,
        serial=outage.serial,
        site=outage.site,
        since_tokyo=show(outage.started_at),
        outage_id=outage.id,
    )
    try:
        if contact.channel == MAIL:
            subject, body = failure_mail(facts)
            mailer.send(OutgoingMail(to=contact.address, subject=subject, body=body))
        else:
            _post(contact, outage, poster, secrets, now)
    except (DomainError, OSError) as exc:
        notice.attempts += 1
        notice.last_error = str(exc)[:500]
        notice.next_attempt_at = now + retry_delay(notice.attempts)
        audit.record(
            session,
            actor=actor,
            action="notice.retry",
            entity_type="failure_notice",
            entity_id=str(notice.id),
            outcome="failed",
            after={
                "attempts": notice.attempts,
                "error": notice.last_error,
                "next_attempt_at": notice.next_attempt_at.isoformat(),
            },
            at=now,
        )
        return False
    notice.attempts += 1
    notice.sent_at, notice.last_error = now, None
    audit.record(
        session,
        actor=actor,
        action="notice.send",
        entity_type="failure_notice",
        entity_id=str(notice.id),
        after={
            "channel": notice.channel,
            "outage": outage.id,
            "attempts": notice.attempts,
            "due_at": notice.due_at.isoformat(),
            "sent_at": now.isoformat(),
        },
        at=now,
    )
    return True


class WebhookRefused(DomainError):
    http_status = 502
    code = "webhook_refused"


def _post(
    contact: NoticeContact,
    outage: Outage,
    poster: NoticePoster,
    secrets: SecretLookup,
    now: datetime,
) -> None:
    secret = secrets(contact.customer, contact.secret_name or "")
    if not secret:
        raise WebhookRefused(
            f"no secret {contact.secret_name!r} for {contact.customer}: the notice is not signed"
        )
    raw = json.dumps(
        {
            "event": "outage.opened",
            "outage_id": outage.id,
            "serial": outage.serial,
            "site": outage.site,
            "customer": outage.customer,
            "started_at": outage.started_at.isoformat(),
            "detected_at": outage.detected_at.isoformat(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: notice_signature(secret, timestamp, raw),
    }
    status = poster.post(contact.address, raw, headers)
    if not 200 <= status < 300:
        raise WebhookRefused(f"{contact.address} answered {status}")


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
