"""SLA tables: each contract's credit policy and the outages its credits are computed from.

`sla_outage` holds the intervals the credit maths needs (start, end, when the provider learned
of it, cause). Monitoring's outages plug in by writing here (`source`, `source_ref`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import inventory.models  # noqa: F401  (the contract table its foreign keys point to)
from core.timeutil import UtcDateTime, utcnow


class SlaPolicy(SQLModel, table=True):
    """A contract's SLA terms: the tax-exclusive monthly fee and the credit basis."""

    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("contract_id", name="uq_sla_policy_contract_id"),)

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    monthly_fee_yen: int
    basis: str = Field(max_length=16)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_by: str = Field(max_length=120)


class SlaOutage(SQLModel, table=True):
    """A period in which the contract's service was completely unusable."""

    __tablename__ = "sla_outage"
    __table_args__ = (
        Index("ix_sla_outage_contract_id_started_at", "contract_id", "started_at"),
        UniqueConstraint("source", "source_ref", name="uq_sla_outage_source_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id")
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    learned_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    cause: str = Field(max_length=16)
    source: str = Field(default="manual", max_length=20)
    source_ref: str | None = Field(default=None, max_length=60)
    note: str = Field(default="", max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
