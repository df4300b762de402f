"""Tables of the web pages: people's accounts, their sessions, and used form keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow

CUSTOMER_ROLE = "customer"
LOCALES = ("ja", "en")


class WebAccount(SQLModel, table=True):
    """A person who signs in to the pages: staff by role, or a customer's user.

    `name` is stored lower-case; only an argon2 hash of the password is kept. `customer` is the
    customer name as stored on contracts and devices, set iff the role is `customer`.
    """

    __tablename__ = "web_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=20)
    customer: str | None = Field(default=None, max_length=120, index=True)
    locale: str = Field(default="ja", max_length=2)
    disabled_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )


class WebSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its cookie token (never the token), its CSRF secret."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="web_account.id", index=True)
    csrf_secret: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    last_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class FormSubmission(SQLModel, table=True):
    """A form's idempotency key once used: a second post of the same form does nothing."""

    __tablename__ = "form_submission"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    account: str = Field(max_length=64)
    scope: str = Field(max_length=80)
    result_url: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per `key`: `account:<name>` (known or not) or `address:<ip>`.

    `failures` counts the failures since `window_start`; `locked_until` is set when they reach
    the limit, and `lockouts` (the lock-outs in a row, forgotten a day after the last failure)
    makes the next one longer. Kept in the database: every API process shares the count.
    """

    __tablename__ = "sign_in_throttle"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120, unique=True)
    failures: int = 0
    lockouts: int = 0
    window_start: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_failure: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
