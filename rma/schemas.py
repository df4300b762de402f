"""Request and response models of the RMA API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from core.fields import Code, Name, Note, OptionalLine, ShortNote
from rma.domain import Disposition, SwapParty
from rma.models import DamageChargeRecord, Rma, RmaReminder, RmaSerialMismatch


class OpenIn(BaseModel):
    serial: Code
    symptom: Annotated[Note, Field(min_length=1)]
    reporter: Name
    reported_at: datetime | None = None


class DecideIn(BaseModel):
    replace: bool
    note: Note = ""


class ReserveIn(BaseModel):
    serial: Code | None = None


class ShipIn(BaseModel):
    courier: Annotated[Name, Field(max_length=60)]
    tracking_number: Annotated[Name, Field(max_length=60)]
    shipped_at: datetime | None = None


class SwapIn(BaseModel):
    swapped_by: SwapParty | None = None
    swapped_by_name: Name | None = None
    update_dashboard: bool = True


class PickupIn(BaseModel):
    pickup_date: date
    courier: Annotated[Name, Field(max_length=60)]
    tracking_number: Annotated[OptionalLine, Field(max_length=60)] = ""


class ReceiveIn(BaseModel):
    serial: Code
    disposition: Disposition = Disposition.DISPOSE


class ExtendIn(BaseModel):
    due_date: date
    reason: Annotated[ShortNote, Field(min_length=1)]


class ReleaseIn(BaseModel):
    reason: Annotated[ShortNote, Field(min_length=1)]


class WaiveIn(BaseModel):
    reason: Annotated[ShortNote, Field(min_length=1)]


class ChargeOut(BaseModel):
    rma_id: int
    model: str
    net_yen: int
    tax_yen: int
    total_yen: int
    issued_at: datetime
    late_arrival_at: datetime | None
    credited_at: datetime | None
    credit_reason: str | None

    @classmethod
    def of(cls, charge: DamageChargeRecord) -> ChargeOut:
        return cls.model_validate(charge, from_attributes=True)


class ReminderOut(BaseModel):
    remind_on: date
    sent_at: datetime | None
    outcome: str | None = None  # None while planned; sent, sent_late, missed, cancelled
    outcome_at: datetime | None = None

    @classmethod
    def of(cls, reminder: RmaReminder) -> ReminderOut:
        return cls.model_validate(reminder, from_attributes=True)


class MismatchOut(BaseModel):
    """A unit received for the RMA whose serial was not the failed unit's."""

    expected_serial: str
    received_serial: str
    received_by: str
    received_at: datetime

    @classmethod
    def of(cls, mismatch: RmaSerialMismatch) -> MismatchOut:
        return cls.model_validate(mismatch, from_attributes=True)


class RmaOut(BaseModel):
    id: int
    number: str
    status: str
    failed_serial: str
    failed_model: str
    customer: str | None
    symptom: str
    reporter: str
    reported_at: datetime
    decision_note: str
    replacement_serial: str | None
    replacement_model: str | None
    substitution: bool
    courier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    due_date: date | None
    swapped_at: datetime | None
    swapped_by_kind: str | None
    swapped_by_name: str | None
    dashboard_swap: str | None
    pickup_date: date | None
    pickup_courier: str | None
    pickup_tracking: str | None
    received_at: datetime | None
    received_serial: str | None
    mismatch_serial: str | None
    disposition: str | None
    late_arrival: bool
    closed_at: datetime | None
    charge: ChargeOut | None = None
    reminders: list[ReminderOut] = []
    mismatches: list[MismatchOut] = []

    @classmethod
    def of(
        cls,
        rma: Rma,
        charge: DamageChargeRecord | None = None,
        reminders: list[RmaReminder] | None = None,
        mismatches: list[RmaSerialMismatch] | None = None,
    ) -> RmaOut:
        data = rma.model_dump() | {"number": rma.number}
        data["charge"] = ChargeOut.of(charge) if charge else None
        data["reminders"] = [ReminderOut.of(r) for r in reminders or []]
        data["mismatches"] = [MismatchOut.of(m) for m in mismatches or []]
        return cls.model_validate(data)


class RmaPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RmaOut]


class SweepOut(BaseModel):
    overdue: list[str]
    charged: list[str]
    total_yen: int


class ReminderSentOut(BaseModel):
    rma_id: int
    number: str
    remind_on: date
    due_date: date | None
    customer: str | None
    notice_id: int
    late: bool = False


class ChargeRowOut(BaseModel):
    number: str
    customer: str | None
    charge: ChargeOut
