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
from core.errors import AuthenticationFailed, Conflict, NotFound, Problem, ValidationFailed
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


class TokenRole(StrEnum):
    """Who a token may be: one of the provider's roles (`Role`, the policy's), or a customer.

    A customer token is bound to one customer (`ApiToken.customer`) and reaches only the portal
    routes (/api/v1/portal/...): no operation of the role policy is open to it, as `Role` (the
    staff roles the policy and the web accounts' staff roles are made of) has no customer.
    """

    ADMIN = "admin"
    NOC = "noc"
    FIELD = "field"
    LOGISTICS = "logistics"
    VIEWER = "viewer"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as handed out: the clear text exists only here."""

    name: str
    role: TokenRole
    token: str
    customer: str | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOKEN_NAME_MAX = 64


def token_name_problem(name: str) -> str | None:
    """Why `name` cannot name a token, or None: 1-64 printable characters, no `/`, no edge spaces,
    and not `customer:…` (the prefix that marks a customer's own acts for the four-eyes rule).

    Printable is Python's notion: no control, format (e.g. U+202E), surrogate or unassigned
    characters, and no separator other than the plain space.
    """
    if not 1 <= len(name) <= TOKEN_NAME_MAX:
        return f"must be 1 to {TOKEN_NAME_MAX} characters (got {len(name)})"
    if not name.isprintable():
        return "must hold printable characters only (no control or direction characters)"
    if "/" in name:
        return "must not contain '/'"
    if name != name.strip():
        return "must not start or end with a space"
    if name.casefold().startswith("customer:"):
        return "must not start with 'customer:' (it marks a customer's own acts)"
    return None


def _by_name(session: Session, name: str) -> ApiToken | None:
    """The token whose name equals `name` ignoring case (Unicode case folding, as names are
    compared; the table is small, so the comparison is made here, alike on both databases)."""
    folded = name.casefold()
    rows = [r for r in session.exec(select(ApiToken)) if r.name.casefold() == folded]
    exact = [r for r in rows if r.name == name]
    return exact[0] if exact else (rows[0] if rows else None)


CUSTOMER_MAX = 120
"""As long as a customer's name may be on a contract, device or RMA."""


def token_customer_problem(role: TokenRole, customer: str | None) -> str | None:
    """Why `customer` cannot go with `role`: a customer token names one, a staff token none."""
    if role is TokenRole.CUSTOMER:
        if customer is None or not customer.strip():
            return "a customer token names the customer it is bound to"
        if len(customer) > CUSTOMER_MAX or customer != customer.strip():
            return f"must be 1 to {CUSTOMER_MAX} characters without edge spaces"
        return None
    if customer is not None:
        return "only a customer token is bound to a customer"
    return None


def create_token(
    *,
    session: Session,
    actor: Actor,
    name: str,
    role: Role | TokenRole,
    customer: str | None = None,
) -> IssuedToken:
    """Issue a token for `role` (a customer token: for `customer`); the clear text is returned
    once and never stored."""
    role = TokenRole(role.value)
    problems = [Problem(p, location="name") for p in [token_name_problem(name)] if p]
    problems += [
        Problem(p, location="customer") for p in [token_customer_problem(role, customer)] if p
    ]
    if problems:
        raise ValidationFailed(problems)
    existing = _by_name(session, name)
    if existing is not None:
        raise Conflict(
            f"token name {name!r} is already used (as {existing.name!r}; names ignore case)",
            name=existing.name,
        )
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        role=role.value,
        prefix=clear[:10],
        token_hash=token_digest(clear),
        created_by=actor.name,
        customer=customer,
    )
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=name,
        after={"name": name, "role": role.value, "prefix": row.prefix}
        | ({"customer": customer} if customer is not None else {}),
    )
    return IssuedToken(name=name, role=role, token=clear, customer=customer)


def revoke_token(
    *,
    session: Session,
    actor: Actor,
    name: str,
    now: datetime,
    allow_own: bool = False,
    allow_last_admin: bool = False,
) -> ApiToken:
    """Revoke a token; one's own and the last live admin token each only when allowed.

    The API may allow the first (`?force=true`), never the second: after it no one could reach
    the API as admin again. Only the local CLI (`--force`), which can issue a new admin token,
    allows both.
    """
    row = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise NotFound(f"no token named {name!r}", name=name)
    if row.revoked_at is not None:
        return row
    if row.name == actor.name and not allow_own:
        raise Conflict(
            f"token {row.name!r} is the one making this request; revoking it needs force",
            name=row.name,
            reason="own_token",
        )
    if row.role == Role.ADMIN.value and not allow_last_admin and _live_admins(session) <= 1:
        raise Conflict(
            f"token {row.name!r} is the last live admin token; only `netkeep token revoke "
            "--force` on the server may revoke it",
            name=row.name,
            reason="last_admin",
        )
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


def _live_admins(session: Session) -> int:
    """Live admin tokens, their rows locked (PostgreSQL) so two revocations cannot race past 1."""
    rows = session.exec(
        select(ApiToken.id)
        .where(ApiToken.role == Role.ADMIN.value, col(ApiToken.revoked_at).is_(None))
        .with_for_update()
    ).all()
    return len(rows)


def list_tokens(*, session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))))


def authenticate_digest(*, session: Session, digest: str) -> ApiToken:
    """The live token row for a presented token's digest, or AuthenticationFailed."""
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("the API token is unknown or revoked")
    return row
