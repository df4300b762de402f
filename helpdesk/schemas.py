"""Request and response models of the helpdesk API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from core.bounds import ID_MAX
from core.fields import Code, Name, Note
from helpdesk.domain import Cause, Channel, CloseReason, IncidentKind, auto_close_at
from helpdesk.models import Incident

LongNote = Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class QuestionIn(BaseModel):
    text: Annotated[Note, Field(min_length=1)]
    kind: IncidentKind = IncidentKind.QUESTION


class OpenIn(BaseModel):
    """One contact: each question becomes one incident."""

    contract: Code
    questions: Annotated[list[QuestionIn], Field(min_length=1, max_length=50)]
    channel: Channel
    reporter: Name
    received_at: datetime | None = None
    confirm_over_limit: bool = False
    outage_id: int | None = Field(
        default=None, ge=1, le=ID_MAX, description="the monitoring outage the contact is about"
    )


class AnswerIn(BaseModel):
    answer: LongNote
    answered_at: datetime | None = None


class ReplyIn(BaseModel):
    replied_at: datetime | None = None


class CloseIn(BaseModel):
    reason: CloseReason
    cause: Cause | None = None


class AfterHoursIn(BaseModel):
    work_started_at: datetime
    minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    cause: Cause


class IncidentOut(BaseModel):
    id: int
    number: str
    contract: str
    contact_ref: str
    kind: str
    channel: str
    reporter: str
    question: str
    status: str
    received_at: datetime
    answered_at: datetime | None
    answer: str
    replied_at: datetime | None
    auto_close_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    cause: str
    over_limit: bool
    after_hours_minutes: int
    after_hours_net_yen: int
    after_hours_tax_yen: int
    after_hours_total_yen: int
    outage_id: int | None = None
    rma_number: str | None = None

    @classmethod
    def of(cls, incident: Incident, contract: str) -> IncidentOut:
        assert incident.id is not None
        due = (
            auto_close_at(incident.answered_at)
            if incident.status == "answered" and incident.answered_at
            else None
        )
        return cls(
            id=incident.id,
            number=incident.number,
            contract=contract,
            contact_ref=incident.contact_ref,
            kind=incident.kind,
            channel=incident.channel,
            reporter=incident.reporter,
            question=incident.question,
            status=incident.status,
            received_at=incident.received_at,
            answered_at=incident.answered_at,
            answer=incident.answer,
            replied_at=incident.replied_at,
            auto_close_at=due,
            closed_at=incident.closed_at,
            close_reason=incident.close_reason,
            cause=incident.cause,
            over_limit=incident.over_limit,
            after_hours_minutes=incident.after_hours_minutes,
            after_hours_net_yen=incident.after_hours_net_yen,
            after_hours_tax_yen=incident.after_hours_tax_yen,
            after_hours_total_yen=incident.after_hours_total_yen,
            outage_id=incident.outage_id,
            rma_number=incident.rma_number,
        )


class SweepOut(BaseModel):
    closed: list[str]


class MonthlyCountOut(BaseModel):
    contract: str
    month: str
    incidents: int
    fault_responses: int
    over_limit: int
    after_hours_total_yen: int
