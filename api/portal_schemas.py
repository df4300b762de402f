"""What the portal API shows a customer: its own records, without staff-only fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from changes.models import ChangeRequest
from inventory.models import Contract, Device
from rma.customer_views import CustomerRma
from survey.models import Survey, SurveyVersion
from vpn.customer_reports import CustomerReport
from vpn.models import VpnReport


class PortalContract(BaseModel):
    number: str
    plan: str
    options: list[str]
    status: str
    application_date: date | None
    acceptance_date: date | None
    end_date: date | None

    @classmethod
    def of(cls, c: Contract) -> PortalContract:
        return cls.model_validate(c, from_attributes=True)


class PortalDevice(BaseModel):
    serial: str
    model: str
    status: str
    site: str | None
    license_expiry: date | None

    @classmethod
    def of(cls, d: Device) -> PortalDevice:
        return cls.model_validate(d, from_attributes=True)


class PortalRma(BaseModel):
    number: str
    status: str
    failed_serial: str
    failed_model: str
    replacement_serial: str | None
    reported_at: datetime
    shipped_at: datetime | None
    due_date: date | None = Field(description="the failed unit is to be back by this day")
    received_at: datetime | None
    charge_total_yen: int | None = Field(description="the equipment damage charge, tax included")
    charge_issued_at: datetime | None

    @classmethod
    def of(cls, seen: CustomerRma) -> PortalRma:
        r, charge = seen.rma, seen.charge
        return cls(
            number=r.number,
            status=r.status,
            failed_serial=r.failed_serial,
            failed_model=r.failed_model,
            replacement_serial=r.replacement_serial,
            reported_at=r.reported_at,
            shipped_at=r.shipped_at,
            due_date=r.due_date,
            received_at=r.received_at,
            charge_total_yen=charge.total_yen if charge else None,
            charge_issued_at=charge.issued_at if charge else None,
        )


class PortalVersion(BaseModel):
    number: int
    status: str
    issued_at: datetime | None
    approver_name: str | None
    approved_on: date | None
    approval_recorded_by: str | None
    approval_recorded_at: datetime | None

    @classmethod
    def of(cls, v: SurveyVersion) -> PortalVersion:
        return cls.model_validate(v, from_attributes=True)


class PortalSurvey(BaseModel):
    number: str
    site: str
    survey_date: date
    versions: list[PortalVersion] = []

    @classmethod
    def of(cls, s: Survey, versions: list[SurveyVersion] | None = None) -> PortalSurvey:
        return cls(
            number=s.number,
            site=s.site,
            survey_date=s.survey_date,
            versions=[PortalVersion.of(v) for v in versions or []],
        )


class PortalChange(BaseModel):
    id: int
    number: str
    summary: str
    site_name: str
    status: str
    applied_at: datetime | None
    notified_at: datetime | None
    acceptance_due_at: datetime | None = Field(description="answer (accept or defect) before this")
    accepted_at: datetime | None
    accepted_by: str | None
    answerable: bool = Field(description="whether the customer may still accept or report")

    @classmethod
    def of(cls, c: ChangeRequest, answerable: bool) -> PortalChange:
        return cls(
            id=c.id or 0,
            number=c.number,
            summary=c.summary,
            site_name=c.site_name,
            status=c.status,
            applied_at=c.applied_at,
            notified_at=c.notified_at,
            acceptance_due_at=c.acceptance_due_at,
            accepted_at=c.accepted_at,
            accepted_by=c.accepted_by,
            answerable=answerable,
        )


class DefectIn(BaseModel):
    description: str = Field(min_length=1, max_length=1800)


class PortalReportSummary(BaseModel):
    id: int
    taken_at: datetime

    @classmethod
    def of(cls, r: VpnReport) -> PortalReportSummary:
        return cls(id=r.id or 0, taken_at=r.taken_at)


class PortalReport(PortalReportSummary):
    sites: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @classmethod
    def seen(cls, seen: CustomerReport) -> PortalReport:
        return cls(
            id=seen.report.id or 0,
            taken_at=seen.report.taken_at,
            sites=[s.to_dict() for s in seen.sites],
            events=[
                {
                    "kind": e.kind,
                    "network_id": e.network_id,
                    "peer_name": e.peer_name,
                    "at": e.at.isoformat(),
                    "detail": e.detail,
                }
                for e in seen.events
            ],
        )
