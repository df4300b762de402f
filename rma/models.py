"""RMA tables: the send-back case, its planned reminders, stored notices and the damage charge."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

import inventory.models  # noqa: F401  (the tables its foreign keys point to: device, contract)
from core.timeutil import UtcDateTime, utcnow
from rma.domain import CHARGEABLE

# The few rows the sweep looks at, out of millions of closed ones (a partial index).
_CHARGEABLE_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(CHARGEABLE)))


class Rma(SQLModel, table=True):
    """One failure report and, if needed, its advance replacement and the failed unit's return."""

    __tablename__ = "rma"
    __table_args__ = (
        # The sweep, "due this week" and "overdue" all filter on status and due date; with the
        # id, the logistics board orders and pages a state's RMAs from the index alone.
        Index("ix_rma_status_due_date_id", "status", "due_date", "id"),
        Index("ix_rma_failed_serial", "failed_serial"),
        # The logistics board's search: by either serial, by customer (prefix), by site (the
        # failed unit's device row).
        Index("ix_rma_replacement_serial", "replacement_serial"),
        Index("ix_rma_customer_id", "customer", "id"),
        Index("ix_rma_failed_device_id", "failed_device_id"),
        Index(
            "ix_rma_awaiting_return",
            "id",
            "due_date",
            postgresql_where=text(_CHARGEABLE_SQL),
            sqlite_where=text(_CHARGEABLE_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(max_length=24)
    # The state an RMA waited in before it went overdue, so an extension can go back to it.
    waiting_status: str | None = Field(default=None, max_length=24)
    failed_device_id: int = Field(foreign_key="device.id")
    failed_serial: str = Field(max_length=14)
    failed_model: str = Field(max_length=20)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    customer: str | None = Field(default=None, max_length=120)
    symptom: str = Field(max_length=2000)
    reporter: str = Field(max_length=120)
    reported_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    decision_note: str = Field(default="", max_length=2000)
    replacement_device_id: int | None = Field(default=None, foreign_key="device.id")
    replacement_serial: str | None = Field(default=None, max_length=14)
    replacement_model: str | None = Field(default=None, max_length=20)
    substitution: bool = False
    courier: str | None = Field(default=None, max_length=60)
    tracking_number: str | None = Field(default=None, max_length=60)
    shipped_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    due_date: date | None = None
    swapped_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    swapped_by_kind: str | None = Field(default=None, max_length=20)
    swapped_by_name: str | None = Field(default=None, max_length=120)
    dashboard_swap: str | None = Field(default=None, max_length=200)
    # Set (and committed) by the one request that does the dashboard swap, before the call.
    swap_claimed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    pickup_date: date | None = None
    pickup_courier: str | None = Field(default=None, max_length=60)
    pickup_tracking: str | None = Field(default=None, max_length=60)
    received_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    received_serial: str | None = Field(default=None, max_length=40)
    mismatch_serial: str | None = Field(default=None, max_length=40)
    disposition: str | None = Field(default=None, max_length=20)
    late_arrival: bool = False
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )

    @property
    def number(self) -> str:
        """The RMA's reference as people quote it."""
        return f"RMA-{self.id:06d}" if self.id is not None else "RMA-new"


class RmaReminder(SQLModel, table=True):
    """A reminder planned for a day before the due date; `sent_at` once the notice is out."""

    __tablename__ = "rma_reminder"
    __table_args__ = (
        UniqueConstraint("rma_id", "remind_on", name="uq_rma_reminder_rma_id_remind_on"),
        Index("ix_rma_reminder_remind_on_sent", "remind_on", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id")
    remind_on: date
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    # None while planned; then sent, sent_late, missed or cancelled (ReminderOutcome), at when.
    outcome: str | None = Field(default=None, max_length=12)
    outcome_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class RmaNotice(SQLModel, table=True):
    """A message to the customer as it would be mailed (reminder, charge notice)."""

    __tablename__ = "rma_notice"
    __table_args__ = (Index("ix_rma_notice_rma_id", "rma_id"),)

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id")
    kind: str = Field(max_length=20)
    recipient: str = Field(max_length=120)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class DamageChargeRecord(SQLModel, table=True):
    """The equipment damage charge (機器損害金) of one RMA: at most one, by a UNIQUE rma_id."""

    __tablename__ = "rma_damage_charge"
    __table_args__ = (
        UniqueConstraint("rma_id", name="uq_rma_damage_charge_rma_id"),
        Index("ix_rma_damage_charge_issued_at", "issued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id")
    model: str = Field(max_length=20)
    net_yen: int
    tax_yen: int
    total_yen: int
    issued_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    late_arrival_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    credited_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    credit_reason: str | None = Field(default=None, max_length=200)


class RmaSerialMismatch(SQLModel, table=True):
    """A unit received for an RMA whose serial was not the failed unit's: kept for good."""

    __tablename__ = "rma_serial_mismatch"
    __table_args__ = (Index("ix_rma_serial_mismatch_rma_id", "rma_id"),)

    id: int | None = Field(default=None, primary_key=True)
    rma_id: int = Field(foreign_key="rma.id")
    expected_serial: str = Field(max_length=14)
    received_serial: str = Field(max_length=40)
    received_by: str = Field(max_length=120)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
