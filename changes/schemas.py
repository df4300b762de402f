"""Request and response models of the change-request API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from changes.models import ChangeNotice, ChangeRequest, ChangeRequestEvent, SiteCheckRecord
from netdevices.ports import Platform


class ChangeRequestOut(BaseModel):
    id: int
    number: str
    customer: str
    requester: str
    request_date: date | None
    summary: str
    site_name: str
    site_plan: str
    status: str
    round: int
    target: str
    cli_target: dict[str, Any] | None
    notice_email: str
    sheet_filename: str
    problems: list[dict[str, str]]
    plan_rows: list[dict[str, Any]]
    job_id: int | None
    journal_url: str | None
    push_status: str | None
    push_journal: list[dict[str, Any]]
    apply_error: str | None
    scheduled_for: datetime | None
    emergency_reason: str | None
    emergency_by: str | None
    submitted_by: str
    approved_by: str | None
    approved_at: datetime | None
    applied_at: datetime | None
    notified_at: datetime | None
    notice_error: str | None
    acceptance_due_at: datetime | None
    accepted_at: datetime | None
    accepted_by: str | None
    acceptance_evidence: str | None = None
    defect: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, req: ChangeRequest) -> ChangeRequestOut:
        data = req.model_dump(exclude={"sheet_original", "sheet_yaml"})
        data["journal_url"] = f"/api/v1/jobs/{req.job_id}" if req.job_id else None
        return cls.model_validate(data)


class EventOut(BaseModel):
    id: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    role: str
    at: datetime
    note: str
    data: dict[str, Any]

    @classmethod
    def of(cls, row: ChangeRequestEvent) -> EventOut:
        return cls.model_validate(row.model_dump())


class NoticeOut(BaseModel):
    id: int
    kind: str
    round: int
    to: str
    subject: str
    message_id: str
    sent_at: datetime
    sent_by: str

    @classmethod
    def of(cls, row: ChangeNotice) -> NoticeOut:
        return cls.model_validate(row.model_dump())


class SiteCheckOut(BaseModel):
    id: int
    site: str
    host: str
    port: int
    platform: str
    routing: bool
    evidence: list[dict[str, str]]
    verdict: str
    checked_at: datetime
    checked_by: str

    @classmethod
    def of(cls, row: SiteCheckRecord) -> SiteCheckOut:
        return cls.model_validate(row.model_dump())


class NoteIn(BaseModel):
    note: str = Field(default="", max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ScheduleIn(BaseModel):
    at: datetime | None = Field(default=None, description="default: the next operations window")
    emergency_reason: str | None = Field(default=None, max_length=500)


class AcceptIn(BaseModel):
    accepted_by: str = Field(min_length=1, max_length=200, description="the customer's name")
    evidence: str = Field(
        min_length=1, max_length=500, description="where the signed acceptance is kept"
    )


class DefectIn(BaseModel):
    description: str = Field(min_length=1, max_length=2000)
    reported_by: str = Field(default="", max_length=200)


class SweepIn(BaseModel):
    now: datetime | None = Field(default=None, description="judge as of this instant (default now)")


class SweepOut(BaseModel):
    accepted: list[int]


class SiteCheckIn(BaseModel):
    site: str = Field(min_length=1, max_length=200)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=22, ge=1, le=65535)
    device_type: Platform
    username: str = Field(min_length=1, max_length=80)
    password: SecretStr | None = None
    password_env: str | None = None
    secret: SecretStr | None = Field(default=None, description="enable secret (IOS)")
    secret_env: str | None = None
