"""Tables of change requests: the request, its history, the notices sent, site checks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

import provisioning.models  # noqa: F401  (the tables its foreign keys point to: provisioning_job)
from core.timeutil import UtcDateTime, utcnow


class ChangeRequest(SQLModel, table=True):
    """One 設定変更依頼: the sheet as given, its plan, job, schedule and acceptance."""

    __tablename__ = "change_request"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=80, index=True)
    customer: str = Field(max_length=120, index=True)
    requester: str = Field(default="", max_length=120)
    request_date: date | None = None
    summary: str = Field(default="", max_length=1000)
    site_name: str = Field(default="", max_length=200)
    site_plan: str = Field(default="", max_length=20)
    status: str = Field(max_length=20, index=True)
    round: int = 1
    target: str = Field(max_length=20)
    cli_target: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notice_email: str = Field(max_length=254)
    sheet_filename: str = Field(max_length=200)
    sheet_original: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sheet_yaml: str = Field(default="", sa_column=Column(Text, nullable=False))
    problems: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    plan_rows: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    job_id: int | None = Field(default=None, foreign_key="provisioning_job.id")
    push_status: str | None = Field(default=None, max_length=20)
    push_journal: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    apply_error: str | None = Field(default=None, max_length=2000)
    scheduled_for: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    emergency_reason: str | None = Field(default=None, max_length=500)
    emergency_by: str | None = Field(default=None, max_length=120)
    submitted_by: str = Field(max_length=120)
    approved_by: str | None = Field(default=None, max_length=120)
    approved_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    applied_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    notified_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    notice_error: str | None = Field(default=None, max_length=500)
    claimed_for: str | None = Field(default=None, max_length=20)
    """What is under way with an outside call (apply, notice): `changes.claims`."""
    claimed_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    acceptance_due_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    accepted_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    accepted_by: str | None = Field(default=None, max_length=200)
    acceptance_evidence: str | None = Field(default=None, max_length=500)
    defect: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )


class ChangeRequestEvent(SQLModel, table=True):
    """Append-only history: every transition (and refusal) with who, when and why."""

    __tablename__ = "change_request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="change_request.id", index=True)
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor: str = Field(max_length=120)
    role: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    note: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class ChangeNotice(SQLModel, table=True):
    """A mail sent to the customer about a request (the completion notice)."""

    __tablename__ = "change_notice"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="change_request.id", index=True)
    kind: str = Field(max_length=20)
    round: int = 1
    to: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    message_id: str = Field(max_length=300)
    sent_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    sent_by: str = Field(max_length=120)


class SiteCheckRecord(SQLModel, table=True):
    """A pre-install check of a site's edge device: does it route (then no UTM/router there)."""

    __tablename__ = "site_check"

    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(max_length=200, index=True)
    host: str = Field(max_length=255)
    port: int = 22
    platform: str = Field(max_length=20)
    routing: bool
    evidence: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    verdict: str = Field(max_length=200)
    checked_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    checked_by: str = Field(max_length=120)
