"""Sending failure and recovery notices: each claimed before it is sent, so two senders running
at once never send one twice; a crashed sender's claim lapses and the notice is tried again.

A claim is a short committed write (`claimed_by`, `claim_expires_at`); the sending happens
outside any write transaction; the outcome is recorded only by the claim's holder.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlmodel import Session, col

from changes.ports import OutgoingMail
from core import audit
from core.audit import Actor
from core.errors import DomainError, NotFound
from core.timeutil import show
from monitoring.contacts import MAIL
from monitoring.domain import (
    SIGNATURE_HEADER,
    NoticeFacts,
    failure_mail,
    notice_signature,
    recovery_mail,
    retry_delay,
)
from monitoring.models import FailureNotice, NoticeContact, Outage
from monitoring.notices import RECOVERY, NoticeMailer, NoticePoster, SecretLookup

CLAIM_LEASE = timedelta(minutes=5)
"""How long a sender holds a notice it claimed; past it, a crashed sender's notice is retried."""


@dataclass
class Delivered:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    """Due, but another sender holds (or has just sent) it."""


def new_sender() -> str:
    """A sender's name for its claims: unique per run."""
    return uuid.uuid4().hex


def claim(
    *, session: Session, notice_id: int, sender: str, now: datetime, lease: timedelta = CLAIM_LEASE
) -> bool:
    """Take the notice for `sender` if it is due, unsent and unclaimed (or its claim lapsed).

    One conditional UPDATE: of two senders racing, exactly one changes the row. The caller
    commits before sending.
    """
    taken: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(FailureNotice)
        .where(
            col(FailureNotice.id) == notice_id,
            col(FailureNotice.sent_at).is_(None),
            col(FailureNotice.next_attempt_at) <= now,
            or_(
                col(FailureNotice.claim_expires_at).is_(None),
                col(FailureNotice.claim_expires_at) <= now,
            ),
        )
        .values(claimed_by=sender, claim_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


class WebhookRefused(DomainError):
    http_status = 502
    code = "webhook_refused"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notice ready to go: a mail or a signed POST (or why it cannot be sent)."""

    notice_id: int
    channel: str
    to: str
    subject: str = ""
    body: str = ""
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    problem: str | None = None


def prepare(
    *,
    session: Session,
    notice_id: int,
    secrets: SecretLookup,
    now: datetime,
    sender: str | None = None,
) -> Outgoing | None:
    """The notice's words (and signature), if it is due, unsent and (with `sender`) held by
    that sender's claim; None otherwise. Reads only."""
    notice = session.get(FailureNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound(f"failure notice {notice_id} not found")
    if notice.sent_at is not None or notice.next_attempt_at > now:
        return None
    if sender is not None and notice.claimed_by != sender:
        return None
    outage = session.get(Outage, notice.outage_id)
    contact = session.get(NoticeContact, notice.contact_id)
    assert outage is not None and contact is not None and outage.id is not None
    if contact.channel == MAIL:
        facts = NoticeFacts(
            customer=outage.customer,
            serial=outage.serial,
            site=outage.site,
            since_tokyo=show(outage.started_at),
            outage_id=outage.id,
            vpn_peer=outage.vpn_peer or None,
            until_tokyo=show(outage.ended_at) if outage.ended_at else None,
        )
        words = recovery_mail if notice.kind == RECOVERY else failure_mail
        subject, body = words(facts)
        return Outgoing(notice_id, MAIL, contact.address, subject=subject, body=body)
    secret = secrets(contact.customer, contact.secret_name or "")
    if not secret:
        return Outgoing(
            notice_id,
            contact.channel,
            contact.address,
            problem=f"no secret {contact.secret_name!r} for {contact.customer}: "
            "the notice is not signed",
        )
    raw = json.dumps(
        {
            "event": "outage.closed" if notice.kind == RECOVERY else "outage.opened",
            "outage_id": outage.id,
            "kind": outage.kind,
            "vpn_peer": outage.vpn_peer or None,
            "serial": outage.serial,
            "site": outage.site,
            "customer": outage.customer,
            "started_at": outage.started_at.isoformat(),
            "detected_at": outage.detected_at.isoformat(),
            "ended_at": outage.ended_at.isoformat() if outage.ended_at else None,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: notice_signature(secret, timestamp, raw),
    }
    return Outgoing(notice_id, contact.channel, contact.address, raw=raw, headers=headers)


def send(outgoing: Outgoing, *, mailer: NoticeMailer, poster: NoticePoster) -> None:
    """Hand the notice to the mail server or POST it; raises when it did not go. No database."""
    if outgoing.problem is not None:
        raise WebhookRefused(outgoing.problem)
    if outgoing.channel == MAIL:
        mailer.send(OutgoingMail(to=outgoing.to, subject=outgoing.subject, body=outgoing.body))
        return
    status = poster.post(outgoing.to, outgoing.raw, outgoing.headers)
    if not 200 <= status < 300:
        raise WebhookRefused(f"{outgoing.to} answered {status}")


def record(
    *,
    session: Session,
    notice_id: int,
    error: str | None,
    actor: Actor,
    now: datetime,
    sender: str | None = None,
) -> bool:
    """Record one attempt: sent, or failed and backed off; the sender's claim is released.

    With `sender`, only while that sender still holds the notice (a lapsed claim another
    sender took is that sender's to record). True if it was sent.
    """
    notice = session.get(FailureNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound(f"failure notice {notice_id} not found")
    if notice.sent_at is not None:
        return True
    if sender is not None and notice.claimed_by != sender:
        return False
    notice.attempts += 1
    notice.claimed_by, notice.claim_expires_at = None, None
    if error is not None:
        notice.last_error = error[:500]
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
        session.add(notice)
        return False
    notice.sent_at, notice.last_error = now, None
    audit.record(
        session,
        actor=actor,
        action="notice.send",
        entity_type="failure_notice",
        entity_id=str(notice.id),
        after={
            "kind": notice.kind,
            "channel": notice.channel,
            "outage": notice.outage_id,
            "attempts": notice.attempts,
            "due_at": notice.due_at.isoformat(),
            "sent_at": now.isoformat(),
        },
        at=now,
    )
    session.add(notice)
    return True


def attempt(outgoing: Outgoing, *, mailer: NoticeMailer, poster: NoticePoster) -> str | None:
    """Send; the error's text if it did not go (what `record` keeps), else None."""
    try:
        send(outgoing, mailer=mailer, poster=poster)
    except (DomainError, OSError) as exc:
        return str(exc) or type(exc).__name__
    return None


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
    """Try one notice once in the caller's transaction (no claim: one sender only)."""
    outgoing = prepare(session=session, notice_id=notice_id, secrets=secrets, now=now)
    if outgoing is None:
        notice = session.get(FailureNotice, notice_id)
        return notice is not None and notice.sent_at is not None
    error = attempt(outgoing, mailer=mailer, poster=poster)
    return record(session=session, notice_id=notice_id, error=error, actor=actor, now=now)
