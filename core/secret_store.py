"""Named secrets: a customer's PSK or RADIUS secret held by netkeep, encrypted at rest.

A sheet sent over the network cannot read the server's environment; it writes the secret out or
names one of these (`secret:NAME`). They are set by the NOC or an admin (`netkeep secret set`,
`PUT /api/v1/secrets/{customer}/{name}`), scoped to a customer, and never shown again: the
API and the CLI list names only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from core.models import NamedSecret

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_VALUE = 1024
SecretLookup = Callable[[str, str], str | None]
"""(customer, name) → the clear value, or None when netkeep holds no such secret."""


def _printable(text: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" for c in text)


def check_names(customer: str, name: str) -> tuple[str, str]:
    """The customer and secret name, trimmed, or ValidationFailed naming the bad one."""
    customer, name = customer.strip(), name.strip()
    problems = []
    if not customer or len(customer) > 120 or not _printable(customer):
        problems.append(Problem("1-120 printable characters", "customer"))
    if not SECRET_NAME.match(name):
        problems.append(Problem("1-64 of A-Z a-z 0-9 _ . - (starting with a letter/digit)", "name"))
    if problems:
        raise ValidationFailed(problems)
    return customer, name


def _find(session: Session, customer: str, name: str) -> NamedSecret | None:
    stmt = select(NamedSecret).where(NamedSecret.customer == customer, NamedSecret.name == name)
    return session.exec(stmt).first()


def set_secret(
    *,
    session: Session,
    actor: Actor,
    cipher: Fernet,
    customer: str,
    name: str,
    value: str,
    now: datetime,
) -> NamedSecret:
    """Create or replace a customer's named secret (the audit keeps who and when, no value)."""
    customer, name = check_names(customer, name)
    if not value or len(value) > MAX_VALUE or not _printable(value):
        raise ValidationFailed([Problem(f"1-{MAX_VALUE} printable characters", "value")])
    token = cipher.encrypt(value.encode("utf-8")).decode("ascii")
    row = _find(session, customer, name)
    replaced = row is not None
    if row is None:
        row = NamedSecret(
            customer=customer, name=name, ciphertext=token, created_by=actor.name,
            created_at=now, updated_by=actor.name, updated_at=now,
        )  # fmt: skip
    else:
        row.ciphertext, row.updated_by, row.updated_at = token, actor.name, now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="secret.replace" if replaced else "secret.set",
        entity_type="named_secret",
        entity_id=f"{customer}/{name}"[:120],
        after={"customer": customer, "name": name},
        at=now,
    )
    return row


def delete_secret(*, session: Session, actor: Actor, customer: str, name: str) -> None:
    customer, name = check_names(customer, name)
    row = _find(session, customer, name)
    if row is None:
        raise NotFound(f"customer {customer!r} has no secret named {name!r}", name=name)
    session.delete(row)
    audit.record(
        session,
        actor=actor,
        action="secret.delete",
        entity_type="named_secret",
        entity_id=f"{customer}/{name}"[:120],
        before={"customer": customer, "name": name},
    )


def list_secrets(*, session: Session, customer: str | None = None) -> list[NamedSecret]:
    stmt = select(NamedSecret).order_by(col(NamedSecret.customer), col(NamedSecret.name))
    if customer is not None:
        stmt = stmt.where(NamedSecret.customer == customer.strip())
    return list(session.exec(stmt))


def reveal(*, session: Session, cipher: Fernet, customer: str, name: str) -> str | None:
    """The clear value, in memory only, for the sheet that names it."""
    from cryptography.fernet import InvalidToken

    row = _find(session, customer.strip(), name.strip())
    if row is None:
        return None
    try:
        return cipher.decrypt(row.ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise Conflict(
            f"secret {name!r} of {customer!r} was stored under another installation key; "
            "set it again",
            name=name,
        ) from None


def lookup(session: Session, cipher: Fernet) -> SecretLookup:
    """The resolver a sheet's `secret:NAME` references are read through."""

    def find(customer: str, name: str) -> str | None:
        return reveal(session=session, cipher=cipher, customer=customer, name=name)

    return find
