"""Helpdesk tables: one row per incident (one question that cannot be split further)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

import inventory.models  # noqa: F401  (the contract table its foreign key points to)
import monitoring.models  # noqa: F401  (the outage table its foreign key points to)
from core.timeutil import UtcDateTime, utcnow


class Incident(SQLModel, table=True):
    """One incident: consumed when the desk accepts it, closed by consent, solution or silence."""

    __tablename__ = "incident"
    __table_args__ = (
        # The sweep looks at answered incidents by their answer time.
        Index("ix_incident_status_answered_at", "status", "answered_at"),
        # Monthly counts and the fault-response limit filter on contract and reception time.
        Index("ix_incident_contract_id_received_at", "contract_id", "received_at"),
        Index("ix_incident_contact_ref", "contact_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    # The incidents split out of one contact (a call, a mail) share this reference.
    contact_ref: str = Field(max_length=40)
    kind: str = Field(max_length=12)
    channel: str = Field(max_length=8)
    reporter: str = Field(max_length=120)
    question: str = Field(max_length=2000)
    status: str = Field(max_length=12)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    answer: str = Field(default="", max_length=4000)
    answered_by: str | None = Field(default=None, max_length=120)
    replied_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    close_reason: str | None = Field(default=None, max_length=12)
    cause: str = Field(default="unknown", max_length=16)
    # A 4th+ fault response in a month accepted after the desk confirmed it (a located warning).
    over_limit: bool = False
    after_hours_minutes: int = 0
    after_hours_net_yen: int = 0
    after_hours_tax_yen: int = 0
    after_hours_total_yen: int = 0
    # The monitoring outage the incident is about, and the RMA opened from it (if any).
    outage_id: int | None = Field(default=None, foreign_key="outage.id", index=True)
    rma_number: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )

    @property
    def number(self) -> str:
        """The incident's reference as people quote it."""
        return f"INC-{self.id:06d}" if self.id is not None else "INC-new"
