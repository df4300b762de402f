"""Inventory tables: model catalogue, devices, the ownership ledger, contracts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.timeutil import UtcDateTime, utcnow


class CatalogueModel(SQLModel, table=True):
    """A device model the provider sells, with its successor and list price (yen)."""

    __tablename__ = "catalogue_model"

    model: str = Field(primary_key=True, max_length=20)
    product_type: str = Field(max_length=20)
    successor: str | None = Field(default=None, max_length=20)
    list_price_yen: int = Field(ge=0)
    end_of_sale: bool = False
    description: str = Field(default="", max_length=200)


class Device(SQLModel, table=True):
    """One physical unit, known by its serial."""

    __tablename__ = "device"
    __table_args__ = (
        Index("ix_device_customer_status", "customer", "status"),
        Index("ix_device_contract", "contract_id"),
        Index("ix_device_held_by_job", "held_by_job"),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=14, unique=True)
    model: str = Field(foreign_key="catalogue_model.model", max_length=20, index=True)
    mac: str | None = Field(default=None, max_length=17)
    status: str = Field(max_length=20, index=True)
    customer: str | None = Field(default=None, max_length=120)
    site: str | None = Field(default=None, max_length=120, index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    acquisition: str | None = Field(default=None, max_length=10)
    leasing_company: str | None = Field(default=None, max_length=120)
    network_id: str | None = Field(default=None, max_length=40)
    held_by_job: int | None = None
    """The provisioning job whose claim of this unit is under way (`inventory.holds`)."""
    license_expiry: date | None = None
    verified_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    notes: str = Field(default="", max_length=2000)
    # The RMA (e.g. RMA-000004) that holds this unit: no hand move while it is set.
    held_by: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )


class OwnershipEvent(SQLModel, table=True):
    """Append-only: from `effective_at` on, the device belongs to this owner."""

    __tablename__ = "ownership_event"
    __table_args__ = (Index("ix_ownership_event_device_at", "device_id", "effective_at"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    serial: str = Field(max_length=14)
    owner_kind: str = Field(max_length=20)
    owner_name: str = Field(max_length=120)
    reason: str = Field(max_length=30)
    effective_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    actor: str = Field(max_length=120)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    reference: str | None = Field(default=None, max_length=80)


class Contract(SQLModel, table=True):
    """A customer's service contract: plan, options, dates and its devices."""

    __tablename__ = "contract"
    __table_args__ = (UniqueConstraint("number", name="uq_contract_number"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40)
    customer: str = Field(max_length=120, index=True)
    plan: str = Field(max_length=20)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=20)
    application_date: date | None = None
    acceptance_date: date | None = None
    notice_date: date | None = None
    end_date: date | None = None
    initial_fee_paid_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
