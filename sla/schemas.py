"""Request and response models of the SLA API."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from core.fields import Code, Note
from sla.domain import CAUSE_ALIASES, CreditBasis, OutageCause, parse_cause
from sla.service import CreditReport


class PolicyIn(BaseModel):
    monthly_fee_yen: Annotated[int, Field(ge=0, le=1_000_000_000)]
    basis: CreditBasis = CreditBasis.CALENDAR_DAYS


class PolicyOut(BaseModel):
    contract: str
    monthly_fee_yen: int
    basis: str


class OutageIn(BaseModel):
    contract: Code
    started_at: datetime
    learned_at: datetime | None = None
    ended_at: datetime | None = None
    cause: OutageCause = OutageCause.PROVIDER
    note: Note = ""


class CauseIn(BaseModel):
    cause: OutageCause
    note: Note = ""

    @field_validator("cause", mode="before")
    @classmethod
    def _alias(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in CAUSE_ALIASES:
            return parse_cause(value)
        return value


class CauseOut(BaseModel):
    id: int
    contract: str
    cause: str
    cause_before: str
    credit_before_yen: int | None
    credit_yen: int | None


class OutageEndIn(BaseModel):
    ended_at: datetime


class OutageOut(BaseModel):
    id: int
    contract: str
    started_at: datetime
    learned_at: datetime
    ended_at: datetime | None
    cause: str


class CreditRowOut(BaseModel):
    contract: str
    customer: str
    outage_id: int
    started_at: datetime
    learned_at: datetime
    ended_at: datetime
    cause: str
    basis: str
    monthly_fee_yen: int
    full_days: int
    seconds: int
    credit_yen: int
    tax_yen: int


class ContractTotalOut(BaseModel):
    contract: str
    customer: str
    credit_yen: int
    tax_yen: int


class OngoingOut(BaseModel):
    contract: str
    outage_id: int
    started_at: datetime


class CreditReportOut(BaseModel):
    month: str
    credit_yen: int
    totals: list[ContractTotalOut]
    rows: list[CreditRowOut]
    ongoing: list[OngoingOut]
    without_policy: list[str]

    @classmethod
    def of(cls, report: CreditReport) -> CreditReportOut:
        return cls(
            month=report.month,
            credit_yen=report.credit_yen,
            totals=[ContractTotalOut(**asdict(t)) for t in report.totals],
            rows=[CreditRowOut(**asdict(r)) for r in report.rows],
            ongoing=[
                OngoingOut(contract=c, outage_id=i, started_at=s) for c, i, s in report.ongoing
            ],
            without_policy=report.without_policy,
        )
