"""Signed-in browsers: a random cookie token whose SHA-256 is kept in the database.

Sessions live in the database, so any API process serves them, and signing out or disabling an
account takes effect at once. A session ends after `web_session_idle_minutes` unused, and
`web_session_absolute_hours` after it began, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlmodel import Session, col, delete, select

from api.deps import SessionDep
from core.audit import Actor
from core.errors import PermissionDenied
from core.policy import Operation, may
from core.settings import Settings
from core.timeutil import as_utc, utcnow
from web.models import CUSTOMER_ROLE, WebAccount, WebSession

COOKIE = "netkeep_session"
LAST_SEEN_STEP = timedelta(seconds=60)  # last_seen written at most once a minute


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in person as pages see them."""

    account: str
    role: str
    customer: str | None
    locale: str
    csrf_token: str

    @property
    def is_customer(self) -> bool:
        return self.role == CUSTOMER_ROLE


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    *, session: Session, account: WebAccount, settings: Settings, now: datetime
) -> str:
    """A new session for `account`; returns the cookie token (shown only here). Sessions past
    either limit are deleted on the way."""
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    session.exec(
        delete(WebSession).where(
            (col(WebSession.expires_at) <= now) | (col(WebSession.last_seen) <= now - idle)
        )
    )
    token = secrets.token_urlsafe(32)
    assert account.id is not None
    session.add(
        WebSession(
            token_hash=_digest(token),
            account_id=account.id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            expires_at=now + timedelta(hours=settings.web_session_absolute_hours),
        )
    )
    return token


def end_session(*, session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(WebSession).where(col(WebSession.token_hash) == _digest(token)))


def live_session(
    *, session: Session, token: str | None, settings: Settings, now: datetime
) -> tuple[WebSession, WebAccount] | None:
    """The session and account a cookie token names, if both are live; touches last_seen."""
    if not token:
        return None
    found = session.exec(
        select(WebSession, WebAccount)
        .join(WebAccount, col(WebAccount.id) == col(WebSession.account_id))
        .where(WebSession.token_hash == _digest(token))
    ).first()
    if found is None:
        return None
    row, account = found
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    expired = now >= as_utc(row.expires_at) or now >= as_utc(row.last_seen) + idle
    if expired or account.disabled_at is not None:
        return None
    if now - as_utc(row.last_seen) >= LAST_SEEN_STEP:
        row.last_seen = now
        session.add(row)
    return row, account


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def web_user(request: Request, session: SessionDep) -> WebUser:
    """The signed-in user, or LoginRequired (a redirect to /ui/login?next=…)."""
    settings: Settings = request.app.state.settings
    found = live_session(
        session=session, token=request.cookies.get(COOKIE), settings=settings, now=utcnow()
    )
    if found is None:
        raise LoginRequired(_next_path(request) if request.method == "GET" else "/ui/")
    row, account = found
    user = WebUser(
        account=account.name,
        role=account.role,
        customer=account.customer,
        locale=account.locale,
        csrf_token=row.csrf_secret,
    )
    request.state.web_user = user
    return user


CurrentWebUser = Annotated[WebUser, Depends(web_user)]


def staff_user(operation: Operation) -> Any:
    """A dependency: the signed-in staff member allowed `operation`, else a 403 page."""

    def dependency(user: CurrentWebUser) -> WebUser:
        if user.is_customer or not may(user.role, operation):
            raise PermissionDenied(
                f"the role {user.role!r} may not {operation.value}", operation=operation.value
            )
        return user

    return Depends(dependency)


def _customer_user(user: CurrentWebUser) -> WebUser:
    if not user.is_customer:
        raise PermissionDenied("these pages are the customer's; staff use their own pages")
    return user


CustomerWebUser = Annotated[WebUser, Depends(_customer_user)]


def actor_of(user: WebUser, request: Request | None = None) -> Actor:
    """The audit actor for a page's action: the account, or `customer:<account>`."""
    request_id = getattr(request.state, "request_id", None) if request is not None else None
    if user.is_customer:
        return Actor(name=f"customer:{user.account}", role=CUSTOMER_ROLE, request_id=request_id)
    return Actor(name=user.account, role=user.role, request_id=request_id)


def login_redirect_url(next_path: str) -> str:
    return "/ui/login?next=" + quote(next_path, safe="/")


def safe_next(next_path: str | None) -> str | None:
    """Only a local /ui path may follow sign-in (never another site)."""
    if not next_path or not next_path.startswith("/ui/"):
        return None
    return None if "\\" in next_path or "://" in next_path else next_path


HOMES: dict[str, str] = {
    "logistics": "/ui/logistics/",
    "noc": "/ui/noc/",
    "admin": "/ui/noc/",
    "viewer": "/ui/noc/",
    "field": "/ui/field/",
    CUSTOMER_ROLE: "/ui/portal/",
}


def home_of(role: str) -> str:
    return HOMES.get(role, "/ui/noc/")
