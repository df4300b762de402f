"""API tokens and roles: tokens are shown once and kept only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import AuthenticationFailed, Conflict, NotFound
from core.models import ApiToken

TOKEN_PREFIX = "nk_"


class Role(StrEnum):
    ADMIN = "admin"
    NOC = "noc"
    FIELD = "field"
    LOGISTICS = "logistics"
    VIEWER = "viewer"


ALL_ROLES: frozenset[Role] = frozenset(Role)
READ_ROLES: frozenset[Role] = ALL_ROLES


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as handed out: the clear text exists only here."""

    name: str
    role: Role
    token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, session: Session, actor: Actor, name: str, role: Role) -> IssuedToken:
    """Issue a token for `role`; the clear text is returned once and never stored."""
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise Conflict(f"token name {name!r} is already used", name=name)
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        role=role.value,
        prefix=clear[:10],
        token_hash=token_digest(clear),
        created_by=actor.name,
    )
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=name,
        after={"name": name, "role": role.value, "prefix": row.prefix},
    )
    return IssuedToken(name=name, role=role, token=clear)


def revoke_token(*, session: Session, actor: Actor, name: str, now: datetime) -> ApiToken:
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise NotFound(f"no token named {name!r}", name=name)
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=name,
            before={"revoked": False},
            after={"revoked": True},
        )
    return row


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))))


def authenticate_digest(*, session: Session, digest: str) -> ApiToken:
    """The live token row for a presented token's digest, or AuthenticationFailed."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("the API token is unknown or revoked")
    return row
