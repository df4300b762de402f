"""Where a customer's failure notices go: mail addresses and signed webhook URLs.

A webhook's HMAC secret is kept encrypted in the customer's named secrets (core.secret_store);
it is never shown again, logged or audited — only its name and a mask.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from cryptography.fernet import Fernet
from sqlmodel import Session, col, select

from core import audit, secret_store
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from monitoring.models import NoticeContact

MAIL, WEBHOOK = "mail", "webhook"
MASK = "********"
MIN_SECRET = 16
"""A webhook signing secret is at least this long (a guessable key signs nothing)."""


def contact_snapshot(contact: NoticeContact) -> dict[str, Any]:
    """The audited view (the secret's name, never its value)."""
    return {
        "customer": contact.customer,
        "channel": contact.channel,
        "address": contact.address,
        "secret_name": contact.secret_name,
        "active": contact.active,
    }


def add_contact(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    channel: str,
    address: str,
    secret_name: str | None = None,
    secret: str | None = None,
    cipher: Fernet | None = None,
    now: datetime,
) -> NoticeContact:
    """A place the customer's failure notices go; a webhook needs the secret that signs it:
    the name of one already set, or its value (`secret`, stored encrypted under a name)."""
    problems = []
    customer, address = customer.strip(), address.strip()
    if channel not in (MAIL, WEBHOOK):
        problems.append(Problem("must be mail or webhook", "channel"))
    if channel == MAIL and ("@" not in address or len(address) > 254):
        problems.append(Problem("must be an e-mail address", "address"))
    if channel == MAIL and (secret or secret_name):
        problems.append(Problem("a mail contact has no signing secret", "secret"))
    if channel == WEBHOOK:
        if not address.startswith(("https://", "http://")) or len(address) > 500:
            problems.append(Problem("must be an http(s) URL of at most 500 characters", "address"))
        if not secret_name and not secret:
            problems.append(Problem("a webhook needs its signing secret", "secret"))
        if secret is not None and len(secret) < MIN_SECRET:
            problems.append(Problem(f"at least {MIN_SECRET} characters", "secret"))
        if secret is not None and cipher is None:
            problems.append(Problem("no key to store the secret with", "secret"))
    if not customer:
        problems.append(Problem("is required", "customer"))
    if problems:
        raise ValidationFailed(problems, "contact refused; nothing was changed")
    contact = session.exec(
        select(NoticeContact).where(
            NoticeContact.customer == customer,
            NoticeContact.channel == channel,
            NoticeContact.address == address,
        )
    ).first()
    before = None
    if contact is not None:
        if contact.active:
            raise Conflict(
                f"{customer} already has the {channel} contact {address}", contact=contact.id
            )
        before = contact_snapshot(contact)
        contact.active, contact.secret_name = True, secret_name
    else:
        contact = NoticeContact(
            customer=customer, channel=channel, address=address, secret_name=secret_name
        )
    session.add(contact)
    session.flush()
    if secret is not None and cipher is not None:
        contact.secret_name = contact.secret_name or f"notice-webhook-{contact.id}"
        secret_store.set_secret(
            session=session,
            actor=actor,
            cipher=cipher,
            customer=customer,
            name=contact.secret_name,
            value=secret,
            now=now,
        )
        session.add(contact)
    audit.record(
        session,
        actor=actor,
        action="notice_contact.add",
        entity_type="notice_contact",
        entity_id=str(contact.id),
        before=before,
        after=contact_snapshot(contact),
        at=now,
    )
    return contact


def get_contact(*, session: Session, contact_id: int) -> NoticeContact:
    contact = session.get(NoticeContact, contact_id)
    if contact is None or not contact.active:
        raise NotFound(f"notice contact {contact_id} not found", contact=contact_id)
    return contact


def contacts_query(*, customer: str | None = None) -> Any:
    """Active contacts, by customer then id."""
    query = select(NoticeContact).where(col(NoticeContact.active).is_(True))
    if customer:
        query = query.where(NoticeContact.customer == customer.strip())
    return query.order_by(col(NoticeContact.customer), col(NoticeContact.id))


def remove_contact(
    *, session: Session, actor: Actor, contact_id: int, now: datetime
) -> NoticeContact:
    """Stop sending there (the row stays: notices already sent name it); a secret netkeep made
    for it is deleted with it."""
    contact = get_contact(session=session, contact_id=contact_id)
    before = contact_snapshot(contact)
    contact.active = False
    session.add(contact)
    if contact.secret_name == f"notice-webhook-{contact.id}":
        with contextlib.suppress(NotFound):  # removed by hand already
            secret_store.delete_secret(
                session=session, actor=actor, customer=contact.customer, name=contact.secret_name
            )
    audit.record(
        session,
        actor=actor,
        action="notice_contact.remove",
        entity_type="notice_contact",
        entity_id=str(contact.id),
        before=before,
        after=contact_snapshot(contact),
        at=now,
    )
    return contact
