"""Tables of core: the audit log, API tokens and named secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """One change of state (or refused attempt): who, when, before, after. Never deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False, index=True)
    )
    actor: str = Field(max_length=120)
    role: str = Field(max_length=20)
    action: str = Field(max_length=80, index=True)
    entity_type: str = Field(max_length=40)
    entity_id: str = Field(max_length=120)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="ok", max_length=20)


class ApiToken(SQLModel, table=True):
    """An API token: only its SHA-256 is kept; the token itself is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    role: str = Field(max_length=20)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    created_by: str = Field(max_length=120)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    customer: str | None = Field(default=None, max_length=120)
    """The one customer a customer-role token may read and approve for (None for staff)."""


# Names are unique ignoring case (core/auth.py compares them case-folded); the database holds the
# rule too, so two processes racing to issue "Ops" and "ops" cannot both succeed on PostgreSQL.
Index("uq_api_token_name_lower", func.lower(ApiToken.__table__.c.name), unique=True)  # type: ignore[attr-defined]


class NamedSecret(SQLModel, table=True):
    """A customer's secret held by netkeep (``secret:NAME`` in a sheet), encrypted at rest.

    Only the Fernet token is stored; its key derives from the installation key, which is never
    in the database.
    """

    __tablename__ = "named_secret"
    __table_args__ = (UniqueConstraint("customer", "name", name="uq_named_secret_customer"),)

    id: int | None = Field(default=None, primary_key=True)
    customer: str = Field(max_length=120)
    name: str = Field(max_length=64)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    created_by: str = Field(max_length=120)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_by: str = Field(max_length=120)


class ReadCounter(SQLModel, table=True):
    """One row (id 1) whose `value` PostgreSQL's triggers move at every commit that changes a
    table the hot device read depends on (revision 0021_read_counter; `api.read_path`)."""

    __tablename__ = "read_counter"

    id: int = Field(primary_key=True)
    value: int = Field(sa_column=Column(BigInteger(), nullable=False))


READ_COUNTER_ID = 1
