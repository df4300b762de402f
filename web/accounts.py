"""People's accounts for the web pages: create, verify, change the password, disable.

Passwords are hashed with argon2 (argon2-cffi); neither a password nor its hash ever reaches the
audit trail, a log or an answer. Names are stored lower-case and compared so.
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, delete, select

from core import audit
from core.audit import Actor
from core.auth import Role
from core.errors import AuthenticationFailed, Conflict, NotFound, Problem, ValidationFailed
from core.timeutil import utcnow
from web.models import CUSTOMER_ROLE, LOCALES, WebAccount, WebSession

ROLES: tuple[str, ...] = (*(r.value for r in Role), CUSTOMER_ROLE)
NAME_MAX = 64
PASSWORD_MIN = 10
PASSWORD_MAX = 256
_hasher = PasswordHasher()  # argon2id, RFC 9106's low-memory profile (tests swap a cheaper one)
_dummies: dict[int, str] = {}


def _dummy_hash() -> str:
    """Verified against when the name is unknown: a wrong name costs what a wrong password does."""
    key = id(_hasher)
    if key not in _dummies:
        _dummies[key] = _hasher.hash("netkeep-no-such-account")
    return _dummies[key]


def normal_name(name: str) -> str:
    return name.strip().lower()


def _name_problem(name: str) -> str | None:
    if not 1 <= len(name) <= NAME_MAX:
        return f"must be 1 to {NAME_MAX} characters"
    if not all(c.isalnum() or c in "._-@" for c in name) or not name.isascii():
        return "may hold only letters, digits and . _ - @"
    return None


def _password_problems(password: str) -> list[Problem]:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return [
            Problem(
                f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters (got {len(password)})",
                location="password",
            )
        ]
    return []


def find_account(*, session: Session, name: str) -> WebAccount | None:
    return session.exec(select(WebAccount).where(WebAccount.name == normal_name(name))).first()


def get_account(*, session: Session, name: str) -> WebAccount:
    row = find_account(session=session, name=name)
    if row is None:
        raise NotFound(f"no web account named {normal_name(name)!r}", name=normal_name(name))
    return row


def create_account(
    *,
    session: Session,
    actor: Actor,
    name: str,
    password: str,
    role: str,
    customer: str | None = None,
    locale: str = "ja",
) -> WebAccount:
    """A new account; a customer account names its customer, a staff account none."""
    name = normal_name(name)
    customer = customer.strip() if customer and customer.strip() else None
    problems: list[Problem] = []
    if (problem := _name_problem(name)) is not None:
        problems.append(Problem(problem, location="name"))
    problems.extend(_password_problems(password))
    if role not in ROLES:
        problems.append(Problem(f"must be one of {', '.join(ROLES)}", location="role"))
    elif role == CUSTOMER_ROLE and customer is None:
        problems.append(Problem("a customer account needs its customer", location="customer"))
    elif role != CUSTOMER_ROLE and customer is not None:
        problems.append(Problem("only a customer account names a customer", location="customer"))
    if locale not in LOCALES:
        problems.append(Problem(f"must be one of {', '.join(LOCALES)}", location="locale"))
    if problems:
        raise ValidationFailed(problems)
    if find_account(session=session, name=name) is not None:
        raise Conflict(f"web account {name!r} already exists", name=name)
    row = WebAccount(
        name=name,
        password_hash=_hasher.hash(password),
        role=role,
        customer=customer,
        locale=locale,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="web_account.create",
        entity_type="web_account",
        entity_id=name,
        after={"name": name, "role": role, "customer": customer, "locale": locale},
    )
    return row


def verify_password(*, session: Session, name: str, password: str) -> WebAccount:
    """The live account these credentials name, or AuthenticationFailed (one message for all)."""
    row = find_account(session=session, name=name)
    try:
        _hasher.verify(row.password_hash if row is not None else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        row = None
    else:
        if row is not None and row.disabled_at is not None:
            row = None
    if row is None:
        raise AuthenticationFailed("the name or the password is wrong, or the account is disabled")
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
        session.add(row)
    return row


def _end_sessions(session: Session, account: WebAccount) -> None:
    session.exec(delete(WebSession).where(col(WebSession.account_id) == account.id))


def set_password(
    *, session: Session, actor: Actor, name: str, password: str, now: datetime | None = None
) -> WebAccount:
    """A new password; the account's open sessions end (it signs in again)."""
    row = get_account(session=session, name=name)
    if problems := _password_problems(password):
        raise ValidationFailed(problems)
    row.password_hash = _hasher.hash(password)
    row.updated_at = now or utcnow()
    session.add(row)
    _end_sessions(session, row)
    audit.record(
        session,
        actor=actor,
        action="web_account.password",
        entity_type="web_account",
        entity_id=row.name,
        after={"password_changed": True},
    )
    return row


def disable_account(
    *, session: Session, actor: Actor, name: str, now: datetime | None = None
) -> WebAccount:
    """The account can no longer sign in; its open sessions end at once."""
    row = get_account(session=session, name=name)
    if row.disabled_at is not None:
        return row
    row.disabled_at = now or utcnow()
    row.updated_at = row.disabled_at
    session.add(row)
    _end_sessions(session, row)
    audit.record(
        session,
        actor=actor,
        action="web_account.disable",
        entity_type="web_account",
        entity_id=row.name,
        before={"disabled": False},
        after={"disabled": True},
    )
    return row


def set_locale(*, session: Session, name: str, locale: str) -> None:
    """The account's language (a preference, not audited)."""
    if locale not in LOCALES:
        raise ValidationFailed([Problem(f"must be one of {', '.join(LOCALES)}", "locale")])
    row = get_account(session=session, name=name)
    if row.locale != locale:
        row.locale = locale
        session.add(row)


def list_accounts(*, session: Session) -> list[WebAccount]:
    return list(session.exec(select(WebAccount).order_by(col(WebAccount.name))))
