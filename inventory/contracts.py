"""Contract use cases: devices on a contract, the initial fee and ownership, the contract end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from inventory.domain import (
    PLAN_PRODUCT_TYPES,
    PROVIDER_NAME,
    Acquisition,
    ContractOption,
    ContractStatus,
    DeviceStatus,
    Owner,
    OwnerKind,
    OwnershipReason,
    Plan,
    ProductType,
    contract_end_date,
    must_return_at_end,
    owner_after_initial_fee,
)
from inventory.models import CatalogueModel, Contract, Device, OwnershipEvent
from inventory.service import (
    current_owner,
    current_owners,
    device_snapshot,
    get_device_for_update,
    set_status,
    transfer_ownership,
)


def contract_snapshot(contract: Contract) -> dict[str, Any]:
    return contract.model_dump(exclude={"created_at"})


def get_contract(*, session: Session, number: str) -> Contract:
    contract = session.exec(select(Contract).where(Contract.number == number)).first()
    if contract is None:
        raise NotFound(f"no contract {number!r}", contract=number)
    return contract


def list_contracts(
    *, session: Session, customer: str | None = None, status: ContractStatus | None = None
) -> list[Contract]:
    stmt = select(Contract)
    if customer is not None:
        stmt = stmt.where(Contract.customer == customer)
    if status is not None:
        stmt = stmt.where(Contract.status == status.value)
    return list(session.exec(stmt.order_by(col(Contract.number))))


def contract_devices(*, session: Session, contract: Contract) -> list[Device]:
    stmt = select(Device).where(Device.contract_id == contract.id).order_by(col(Device.serial))
    return list(session.exec(stmt))


def create_contract(
    *,
    session: Session,
    actor: Actor,
    number: str,
    customer: str,
    plan: Plan,
    options: Sequence[ContractOption] = (),
    application_date: date | None = None,
    notes: str = "",
) -> Contract:
    problems = []
    if not number.strip():
        problems.append(Problem("contract number is required", "number"))
    if not customer.strip():
        problems.append(Problem("customer is required", "customer"))
    if problems:
        raise ValidationFailed(problems)
    if session.exec(select(Contract).where(Contract.number == number)).first() is not None:
        raise Conflict(f"contract {number!r} already exists", contract=number)
    contract = Contract(
        number=number.strip(),
        customer=customer.strip(),
        plan=plan.value,
        options=sorted({o.value for o in options}),
        status=ContractStatus.APPLIED.value,
        application_date=application_date,
        notes=notes,
    )
    session.add(contract)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contract.create",
        entity_type="contract",
        entity_id=contract.number,
        after=contract_snapshot(contract),
    )
    return contract


def attach_device(
    *,
    session: Session,
    actor: Actor,
    number: str,
    serial: str,
    acquisition: Acquisition,
    now: datetime,
    leasing_company: str | None = None,
) -> Device:
    """Put a device on a contract; a leased one passes to its leasing company (Art. 22)."""
    contract = get_contract(session=session, number=number)
    device = get_device_for_update(session=session, serial=serial)
    problems = []
    if contract.status == ContractStatus.ENDED:
        problems.append(Problem(f"contract {number} has ended", "contract"))
    if device.contract_id is not None and device.contract_id != contract.id:
        problems.append(Problem(f"{device.serial} is already on another contract", "serial"))
    catalogue = session.get(CatalogueModel, device.model)
    if catalogue is not None:
        allowed = PLAN_PRODUCT_TYPES[Plan(contract.plan)]
        if ProductType(catalogue.product_type) not in allowed:
            problems.append(
                Problem(f"{device.model} does not fit the {contract.plan} plan", "serial")
            )
    if acquisition is Acquisition.LEASED and not leasing_company:
        problems.append(Problem("a leased device needs its leasing company", "leasing_company"))
    if problems:
        raise ValidationFailed(problems)
    before = device_snapshot(device)
    device.contract_id = contract.id
    device.customer = contract.customer
    device.acquisition = acquisition.value
    device.leasing_company = leasing_company if acquisition is Acquisition.LEASED else None
    device.updated_at = now
    session.add(device)
    audit.record(
        session,
        actor=actor,
        action="contract.attach_device",
        entity_type="device",
        entity_id=device.serial,
        before=before,
        after=device_snapshot(device),
        at=now,
    )
    if acquisition is Acquisition.LEASED and leasing_company:
        owner = Owner(OwnerKind.LEASING_COMPANY, leasing_company)
        if current_owner(session=session, device=device) != owner:
            transfer_ownership(
                session=session,
                actor=actor,
                device=device,
                owner=owner,
                reason=OwnershipReason.LEASE,
                effective_at=now,
                contract_id=contract.id,
            )
    return device


def accept_contract(
    *, session: Session, actor: Actor, number: str, acceptance_date: date
) -> Contract:
    """Record the acceptance date (検収日); the contract becomes active."""
    contract = get_contract(session=session, number=number)
    if contract.status != ContractStatus.APPLIED:
        raise Conflict(f"contract {number} is {contract.status}, not applied", contract=number)
    before = contract_snapshot(contract)
    contract.acceptance_date = acceptance_date
    contract.status = ContractStatus.ACTIVE.value
    session.add(contract)
    audit.record(
        session,
        actor=actor,
        action="contract.accept",
        entity_type="contract",
        entity_id=number,
        before=before,
        after=contract_snapshot(contract),
    )
    return contract


def mark_initial_fee_paid(
    *, session: Session, actor: Actor, number: str, paid_at: datetime
) -> list[OwnershipEvent]:
    """Art. 18: once the initial fee is fully paid, sold devices become the customer's."""
    contract = get_contract(session=session, number=number)
    if contract.initial_fee_paid_at is not None:
        raise Conflict(
            f"the initial fee of contract {number} is already marked paid", contract=number
        )
    before = contract_snapshot(contract)
    contract.initial_fee_paid_at = paid_at
    session.add(contract)
    audit.record(
        session,
        actor=actor,
        action="contract.initial_fee_paid",
        entity_type="contract",
        entity_id=number,
        before=before,
        after=contract_snapshot(contract),
        at=paid_at,
    )
    events = []
    devices = contract_devices(session=session, contract=contract)
    owners = current_owners(session=session, devices=devices)
    for device in devices:
        target = owner_after_initial_fee(
            Acquisition(device.acquisition or "sold"), contract.customer
        )
        assert device.id is not None
        if target is None or owners.get(device.id) == target:
            continue
        events.append(
            transfer_ownership(
                session=session,
                actor=actor,
                device=device,
                owner=target,
                reason=OwnershipReason.INITIAL_FEE_PAID,
                effective_at=paid_at,
                contract_id=contract.id,
            )
        )
    return events


@dataclass(frozen=True, slots=True)
class ContractEnd:
    contract: Contract
    end_date: date
    must_return: list[Device]


def end_contract(*, session: Session, actor: Actor, number: str, notice_date: date) -> ContractEnd:
    """Notice given: the contract ends on the last day of that month; list what must come back."""
    contract = get_contract(session=session, number=number)
    if contract.status == ContractStatus.ENDED:
        raise Conflict(f"contract {number} has already ended", contract=number)
    before = contract_snapshot(contract)
    contract.notice_date = notice_date
    contract.end_date = contract_end_date(notice_date)
    contract.status = ContractStatus.ENDED.value
    session.add(contract)
    devices = contract_devices(session=session, contract=contract)
    owners = current_owners(session=session, devices=devices)
    must_return = [d for d in devices if d.id in owners and must_return_at_end(owners[d.id])]
    after = contract_snapshot(contract) | {"must_return": [d.serial for d in must_return]}
    audit.record(
        session,
        actor=actor,
        action="contract.end",
        entity_type="contract",
        entity_id=number,
        before=before,
        after=after,
    )
    return ContractEnd(contract=contract, end_date=contract.end_date, must_return=must_return)


def receive_contract_return(
    *, session: Session, actor: Actor, number: str, serial: str, now: datetime
) -> Device:
    """A provider-owned unit is back from an ended contract (Art. 23)."""
    contract = get_contract(session=session, number=number)
    device = get_device_for_update(session=session, serial=serial)
    if device.contract_id != contract.id:
        raise Conflict(f"{device.serial} is not on contract {number}", serial=device.serial)
    if contract.status != ContractStatus.ENDED:
        raise Conflict(f"contract {number} has not ended", contract=number)
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=DeviceStatus.RETURNED,
        now=now,
        note=f"returned at the end of contract {number}",
    )
    device.contract_id = None
    device.customer = None
    session.add(device)
    owner = current_owner(session=session, device=device)
    if owner is None or owner.kind is not OwnerKind.PROVIDER:
        transfer_ownership(
            session=session,
            actor=actor,
            device=device,
            owner=Owner(OwnerKind.PROVIDER, PROVIDER_NAME),
            reason=OwnershipReason.CONTRACT_END_RETURN,
            effective_at=now,
            contract_id=contract.id,
        )
    return device


def swap_on_contract(
    *,
    session: Session,
    actor: Actor,
    failed_serial: str,
    replacement_serial: str,
    now: datetime,
    reference: str | None = None,
) -> tuple[Device, Device]:
    """The replacement takes the failed unit's place and owner; the failed one becomes ours."""
    failed = get_device_for_update(session=session, serial=failed_serial)
    replacement = get_device_for_update(session=session, serial=replacement_serial)
    if failed.contract_id is None:
        raise Conflict(f"{failed.serial} is not on any contract", serial=failed.serial)
    if replacement.contract_id is not None:
        raise Conflict(f"{replacement.serial} is already on a contract", serial=replacement.serial)
    failed_owner = current_owner(session=session, device=failed) or Owner(
        OwnerKind.PROVIDER, PROVIDER_NAME
    )
    before_failed, before_repl = device_snapshot(failed), device_snapshot(replacement)
    for name in ("contract_id", "customer", "site", "acquisition", "leasing_company", "network_id"):
        setattr(replacement, name, getattr(failed, name))
        if name != "site":
            setattr(failed, name, None)
    failed.updated_at = replacement.updated_at = now
    session.add_all([failed, replacement])
    for device, before in ((failed, before_failed), (replacement, before_repl)):
        audit.record(
            session,
            actor=actor,
            action="contract.swap",
            entity_type="device",
            entity_id=device.serial,
            before=before,
            after=device_snapshot(device),
            at=now,
        )
    transfer_ownership(
        session=session,
        actor=actor,
        device=replacement,
        owner=failed_owner,
        reason=OwnershipReason.RMA_SWAP,
        effective_at=now,
        contract_id=replacement.contract_id,
        reference=reference,
    )
    if failed_owner.kind is not OwnerKind.PROVIDER:
        transfer_ownership(
            session=session,
            actor=actor,
            device=failed,
            owner=Owner(OwnerKind.PROVIDER, PROVIDER_NAME),
            reason=OwnershipReason.RMA_SWAP,
            effective_at=now,
            contract_id=replacement.contract_id,
            reference=reference,
        )
    return failed, replacement
