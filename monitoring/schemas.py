"""Response models of the monitoring API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from core.fields import Name
from monitoring.contacts import MASK
from monitoring.models import FailureNotice, MonitorAlert, NoticeContact, Outage
from monitoring.polling import OrganizationsPolled
from monitoring.service import PollReport


class OutageOut(BaseModel):
    id: int
    serial: str
    site: str | None
    customer: str | None
    contract_id: int | None
    organization_id: str
    network_id: str | None
    product_type: str | None
    status_seen: str
    source: str
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    rma_number: str | None
    kind: str
    vpn_peer: str

    @classmethod
    def of(cls, outage: Outage) -> OutageOut:
        return cls.model_validate(outage, from_attributes=True)


class AlertOut(BaseModel):
    id: int
    alert_id: str
    alert_type: str
    kind: str
    organization_id: str | None
    network_id: str | None
    serial: str | None
    occurred_at: datetime | None
    sent_at: datetime
    received_at: datetime
    outage_id: int | None

    @classmethod
    def of(cls, alert: MonitorAlert) -> AlertOut:
        return cls.model_validate(alert, from_attributes=True)


class ReceivedOut(BaseModel):
    received: str
    kind: str
    outage_id: int | None


class PollOut(BaseModel):
    organization_id: str
    polled_at: datetime
    method: str
    devices: int
    opened: list[int]
    closed: list[int]
    repeated: bool

    @classmethod
    def of(cls, report: PollReport) -> PollOut:
        return cls(
            organization_id=report.organization_id,
            polled_at=report.polled_at,
            method=report.method,
            devices=report.devices,
            opened=report.opened,
            closed=report.closed,
            repeated=report.repeated,
        )


class PollFailedOut(BaseModel):
    organization_id: str
    error: str


class PollsOut(BaseModel):
    """A poll of every organization: totals over those read, each one's report, each failure."""

    devices: int
    opened: list[int]
    closed: list[int]
    organizations: list[PollOut]
    failed: list[PollFailedOut]

    @classmethod
    def of(cls, done: OrganizationsPolled) -> PollsOut:
        return cls(
            devices=done.devices,
            opened=done.opened,
            closed=done.closed,
            organizations=[PollOut.of(r) for r in done.reports],
            failed=[PollFailedOut(organization_id=o, error=e) for o, e in done.failed.items()],
        )


class RmaFromOutageIn(BaseModel):
    reporter: Name = "monitoring"


class NoticeOut(BaseModel):
    id: int
    outage_id: int
    kind: str
    channel: str
    recipient: str
    service: str
    detected_at: datetime
    due_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, notice: FailureNotice, contact: NoticeContact) -> NoticeOut:
        assert notice.id is not None
        return cls(
            id=notice.id,
            outage_id=notice.outage_id,
            kind=notice.kind,
            channel=notice.channel,
            recipient=contact.address,
            service=notice.service,
            detected_at=notice.detected_at,
            due_at=notice.due_at,
            next_attempt_at=notice.next_attempt_at,
            sent_at=notice.sent_at,
            attempts=notice.attempts,
            last_error=notice.last_error,
        )


class ContactIn(BaseModel):
    customer: Name
    channel: Literal["mail", "webhook"]
    address: str = Field(min_length=3, max_length=500)
    secret: SecretStr | None = Field(
        default=None,
        description="a webhook's HMAC-SHA256 signing secret (16+ characters); stored encrypted, "
        "never shown again",
    )
    secret_name: str | None = Field(
        default=None,
        max_length=64,
        description="instead of `secret`: the name of a secret already set for the customer",
    )


class ContactOut(BaseModel):
    id: int
    customer: str
    channel: str
    address: str
    secret_name: str | None
    secret: str | None = Field(description="masked: a webhook's secret is never shown")
    active: bool

    @classmethod
    def of(cls, contact: NoticeContact) -> ContactOut:
        assert contact.id is not None
        return cls(
            id=contact.id,
            customer=contact.customer,
            channel=contact.channel,
            address=contact.address,
            secret_name=contact.secret_name,
            secret=MASK if contact.secret_name else None,
            active=contact.active,
        )
