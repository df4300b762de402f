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


def deliver(
    *,
    session: Session,
    notice_id: int,
    mailer: NoticeMailer,
    poster: NoticePoster,
    secrets: SecretLookup,
    actor: Actor,
    now: datetime,
    sender: str | None = None,
) -> bool:
    """Try one notice once; a failure is recorded and the next attempt backed off.

    With `sender`, the notice must be held by that sender's claim (else nothing is sent);
    the outcome releases the claim.
    """
    notice = session.get(FailureNotice, notice_id, populate_existing=True)
    if notice is None:
        raise NotFound(f"failure notice {notice_id} not found")
    if notice.sent_at is not None or notice.next_attempt_at > now:
        return notice.sent_at is not None
    if sender is not None and notice.claimed_by != sender:
        return False
    outage = session.get(Outage, notice.outage_id)
    contact = session.get(NoticeContact, notice.contact_id)
    assert outage is not None and contact is not None and outage.id is not None
    facts = NoticeFacts(
        customer=outage.customer,
        serial=outage.serial,
        site=outage.site,
        since_tokyo=show(outage.started_at),
        outage_id=outage.id,
        vpn_peer=outage.vpn_peer or None,
        until_tokyo=show(outage.ended_at) if outage.ended_at else None,
    )
    try:
        if contact.channel == MAIL:
            words = recovery_mail if notice.kind == RECOVERY else failure_mail
            subject, body = words(facts)
            mailer.send(OutgoingMail(to=contact.address, subject=subject, body=body))
        else:
            _post(contact, outage, notice, poster, secrets, now)
    except (DomainError, OSError) as exc:
        notice.attempts += 1
        notice.last_error = str(exc)[:500]
        notice.next_attempt_at = now + retry_delay(notice.attempts)
        notice.claimed_by, notice.claim_expires_at = None, None
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
    notice.claimed_by, notice.claim_expires_at = None, None
    audit.record(
        session,
        actor=actor,
        action="notice.send",
        entity_type="failure_notice",
        entity_id=str(notice.id),
        after={
            "kind": notice.kind,
            "channel": notice.channel,
            "outage": outage.id,
            "attempts": notice.attempts,
            "due_at": notice.due_at.isoformat(),
            "sent_at": now.isoformat(),
        },
        at=now,
    )
    return True


def _post(
    contact: NoticeContact,
    outage: Outage,
    notice: FailureNotice,
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
    status = poster.post(contact.address, raw, headers)
    if not 200 <= status < 300:
        raise WebhookRefused(f"{contact.address} answered {status}")
