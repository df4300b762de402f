"""Request and response models of the inventory API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from core.bounds import ID_MAX
from core.errors import Problem
from core.fields import Code, Name, Note, Number, ShortNote
from inventory.domain import Acquisition, ContractOption, DeviceStatus, Owner, Plan, ProductType
from inventory.models import CatalogueModel, Contract, Device, OwnershipEvent


class OwnerOut(BaseModel):
    kind: str
    name: str

    @classmethod
    def of(cls, owner: Owner | None) -> OwnerOut | None:
        return None if owner is None else cls(kind=owner.kind.value, name=owner.name)


class DeviceOut(BaseModel):
    serial: str
    model: str
    mac: str | None
    status: str
    customer: str | None
    site: str | None
    contract_id: int | None
    acquisition: str | None
    leasing_company: str | None
    network_id: str | None
    license_expiry: date | None
    verified_at: datetime | None
    notes: str
    held_by: str | None = None  # the RMA that holds the unit: moved only through it
    held_by_job: int | None = None  # the provisioning job whose claim of it is under way
    owner: OwnerOut | None = None
    updated_at: datetime

    @classmethod
    def of(cls, device: Device, owner: Owner | None) -> DeviceOut:
        data = device.model_dump()
        data["owner"] = OwnerOut.of(owner)
        return cls.model_validate(data)


class DevicePageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DeviceOut]


class DeviceUpdate(BaseModel):
    mac: Annotated[Code, Field(max_length=17)] | None = None
    customer: Name | None = None
    site: Name | None = None
    network_id: Code | None = None
    license_expiry: date | None = None
    notes: Note = Field(default="", description='free text; "" clears it (null is refused)')


class ReleaseHoldIn(BaseModel):
    reason: Annotated[ShortNote, Field(min_length=1)]


class StatusChange(BaseModel):
    status: DeviceStatus
    note: Note | None = None


class OwnershipEventOut(BaseModel):
    serial: str
    owner_kind: str
    owner_name: str
    reason: str
    effective_at: datetime
    recorded_at: datetime
    actor: str
    contract_id: int | None
    reference: str | None

    @classmethod
    def of(cls, event: OwnershipEvent) -> OwnershipEventOut:
        return cls.model_validate(event, from_attributes=True)


class OwnershipOut(BaseModel):
    """The owner at `at` (the request's instant when not asked) and the device's whole ledger."""

    serial: str
    at: datetime
    owner: OwnershipEventOut | None
    history: list[OwnershipEventOut]


class AuditOut(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    outcome: str


class CatalogueIn(BaseModel):
    product_type: ProductType
    list_price_yen: int = Field(ge=0, le=ID_MAX)
    successor: Annotated[Code, Field(max_length=20)] | None = None
    end_of_sale: bool = False
    description: Annotated[Note, Field(max_length=200)] = ""


class CatalogueOut(BaseModel):
    model: str
    product_type: str
    successor: str | None
    list_price_yen: int
    end_of_sale: bool
    description: str

    @classmethod
    def of(cls, row: CatalogueModel) -> CatalogueOut:
        return cls.model_validate(row, from_attributes=True)


class ProblemOut(BaseModel):
    message: str
    location: str

    @classmethod
    def of(cls, problem: Problem) -> ProblemOut:
        return cls(message=problem.message, location=problem.location)


class ImportOut(BaseModel):
    source: str
    rows: int
    committed: bool
    created: list[str]
    updated: dict[str, dict[str, Any]]
    unchanged: int
    problems: list[ProblemOut]


class ReconcileOut(BaseModel):
    organization_id: str
    in_sync: bool
    dashboard_count: int
    netkeep_count: int
    only_in_dashboard: list[dict[str, Any]]
    only_in_netkeep: list[dict[str, Any]]
    network_mismatch: list[dict[str, Any]]
    model_mismatch: list[dict[str, Any]]
    unknown_models: list[str]
    imported: list[str]


class ContractIn(BaseModel):
    number: Number
    customer: Name
    plan: Plan
    options: list[ContractOption] = Field(default_factory=list, max_length=20)
    application_date: date | None = None
    notes: Note = ""


class ContractOut(BaseModel):
    number: str
    customer: str
    plan: str
    options: list[str]
    status: str
    application_date: date | None
    acceptance_date: date | None
    notice_date: date | None
    end_date: date | None
    initial_fee_paid_at: datetime | None
    notes: str
    devices: list[DeviceOut] = Field(default_factory=list)

    @classmethod
    def of(cls, contract: Contract, devices: list[DeviceOut] | None = None) -> ContractOut:
        data = contract.model_dump()
        data["devices"] = devices or []
        return cls.model_validate(data)


class AttachDevice(BaseModel):
    serial: Code
    acquisition: Acquisition = Acquisition.SOLD
    leasing_company: Name | None = None


class Acceptance(BaseModel):
    acceptance_date: date


class InitialFeePaid(BaseModel):
    paid_at: datetime | None = None


class EndNotice(BaseModel):
    notice_date: date


class ContractEndOut(BaseModel):
    number: str
    end_date: date
    must_return: list[str]


class ReturnIn(BaseModel):
    serial: Code
