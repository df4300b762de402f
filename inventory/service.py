"""Inventory use cases: devices, their statuses, the ownership ledger and the catalogue."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Connection, Select, String, any_, bindparam, func, true
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.csv_export import export_cell
from core.db import KeyedQuery, PreparedQuery
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from inventory.domain import (
    Acquisition,
    DeviceStatus,
    Owner,
    OwnerKind,
    OwnershipReason,
    ProductType,
    UnitRecord,
    advance,
    hand_move_refusal,
    normalise_serial,
)
from inventory.models import CatalogueModel, Contract, Device, OwnershipEvent

DEVICE_AUDIT_FIELDS = (
    "serial",
    "model",
    "mac",
    "status",
    "customer",
    "site",
    "contract_id",
    "acquisition",
    "leasing_company",
    "network_id",
    "license_expiry",
    "verified_at",
    "notes",
)


def device_snapshot(device: Device) -> dict[str, Any]:
    """The audited view of a device (with the RMA that holds it, if any)."""
    return {name: getattr(device, name) for name in DEVICE_AUDIT_FIELDS} | {
        "held_by": device.held_by
    }


def refuse_if_held(device: Device) -> None:
    """Conflict naming the RMA and its command when an RMA holds the unit (no hand moves)."""
    refusal = hand_move_refusal(device.serial, device.held_by)
    if refusal is not None:
        raise Conflict(refusal, serial=device.serial, held_by=device.held_by)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    status: DeviceStatus | None = None
    customer: str | None = None
    model: str | None = None
    site: str | None = None
    contract_id: int | None = None
    serial_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class DevicePage:
    items: list[Device]
    total: int
    owners: dict[int, Owner]


def _serial_or_problem(raw: str) -> str:
    try:
        return normalise_serial(raw)
    except ValueError as exc:
        raise ValidationFailed([Problem(str(exc), location="serial")]) from exc


def get_device(*, session: Session, serial: str) -> Device:
    serial = _serial_or_problem(serial)
    device = session.exec(select(Device).where(Device.serial == serial)).first()
    if device is None:
        raise NotFound(f"no device with serial {serial}", serial=serial)
    return device


def _device_with_owner_statement() -> Select[Any]:
    device, event = Device.__table__, OwnershipEvent.__table__  # type: ignore[attr-defined]
    latest = (
        select(event.c.id)
        .where(event.c.device_id == device.c.id)
        .order_by(event.c.effective_at.desc(), event.c.id.desc())
        .limit(1)
        .correlate(device)
        .scalar_subquery()
    )
    return (
        select(device, event.c.owner_kind, event.c.owner_name)
        .outerjoin(event, event.c.id == latest)
        .where(device.c.serial == bindparam("serial"))
    )


DEVICE_WITH_OWNER = PreparedQuery(_device_with_owner_statement())


def _devices_with_owner_statement() -> Select[Any]:
    """DEVICE_WITH_OWNER's columns for the serials `keys` (PostgreSQL: a lateral join, so the
    latest event is looked up per device, never by hashing the whole event table)."""
    device, event = Device.__table__, OwnershipEvent.__table__  # type: ignore[attr-defined]
    latest = (
        select(event.c.owner_kind, event.c.owner_name)
        .where(event.c.device_id == device.c.id)
        .order_by(event.c.effective_at.desc(), event.c.id.desc())
        .limit(1)
        .lateral("latest")
    )
    return (
        select(device, latest.c.owner_kind, latest.c.owner_name)
        .outerjoin(latest, true())
        .where(device.c.serial == any_(bindparam("keys", type_=ARRAY(String))))
    )


DEVICES_WITH_OWNER = KeyedQuery(
    one=DEVICE_WITH_OWNER, many=PreparedQuery(_devices_with_owner_statement()), key="serial"
)
"""DEVICE_WITH_OWNER, and for many serials at once (PostgreSQL: `serial = ANY(keys)`)."""


def checked_serial(serial: str) -> str:
    """The serial normalised, or ValidationFailed located at `serial`."""
    return _serial_or_problem(serial)


def device_with_owner(*, connection: Connection, serial: str) -> tuple[Device, Owner | None]:
    """A device and its present owner in one prepared Core query (the hot read path)."""
    serial = _serial_or_problem(serial)
    return device_of_row(serial=serial, values=DEVICE_WITH_OWNER.first(connection, serial=serial))


def device_fields_of_row(*, serial: str, values: dict[str, Any] | None) -> dict[str, Any]:
    """A DEVICE_WITH_OWNER row as the device's fields with `owner` ({kind, name} or None), for
    the hot read's response without building the model (None: NotFound for `serial`)."""
    if values is None:
        raise NotFound(f"no device with serial {serial}", serial=serial)
    kind, name = values.pop("owner_kind"), values.pop("owner_name")
    values["owner"] = None if kind is None else {"kind": OwnerKind(kind).value, "name": name}
    return values


def device_of_row(*, serial: str, values: dict[str, Any] | None) -> tuple[Device, Owner | None]:
    """The device and owner of a DEVICE_WITH_OWNER row (None: NotFound for `serial`)."""
    if values is None:
        raise NotFound(f"no device with serial {serial}", serial=serial)
    kind, name = values.pop("owner_kind"), values.pop("owner_name")
    owner = None if kind is None else Owner(OwnerKind(kind), name)
    return Device.model_construct(**values), owner


def get_device_for_update(*, session: Session, serial: str) -> Device:
    """The device row locked until the transaction ends (PostgreSQL; SQLite locks the file)."""
    serial = _serial_or_problem(serial)
    device = session.exec(select(Device).where(Device.serial == serial).with_for_update()).first()
    if device is None:
        raise NotFound(f"no device with serial {serial}", serial=serial)
    return device


def list_devices(
    *,
    session: Session,
    filters: DeviceFilter,
    limit: int = 100,
    offset: int = 0,
    count: bool = True,
) -> DevicePage:
    stmt = select(Device)
    if filters.status is not None:
        stmt = stmt.where(Device.status == filters.status.value)
    if filters.customer is not None:
        stmt = stmt.where(Device.customer == filters.customer)
    if filters.model is not None:
        stmt = stmt.where(Device.model == filters.model.upper())
    if filters.site is not None:
        stmt = stmt.where(Device.site == filters.site)
    if filters.contract_id is not None:
        stmt = stmt.where(Device.contract_id == filters.contract_id)
    if filters.serial_prefix:
        stmt = stmt.where(col(Device.serial).startswith(filters.serial_prefix.upper()))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one() if count else -1
    items = list(session.exec(stmt.order_by(col(Device.serial)).offset(offset).limit(limit)))
    return DevicePage(
        items=items, total=int(total), owners=current_owners(session=session, devices=items)
    )


def current_owners(*, session: Session, devices: Sequence[Device]) -> dict[int, Owner]:
    """The present owner of each device, in one query."""
    ids = [d.id for d in devices if d.id is not None]
    if not ids:
        return {}
    stmt = (
        select(OwnershipEvent)
        .where(col(OwnershipEvent.device_id).in_(ids))
        .order_by(
            col(OwnershipEvent.device_id), col(OwnershipEvent.effective_at), col(OwnershipEvent.id)
        )
    )
    owners: dict[int, Owner] = {}
    for event in session.exec(stmt):
        owners[event.device_id] = Owner(OwnerKind(event.owner_kind), event.owner_name)
    return owners


def owner_event_at(*, session: Session, device: Device, at: datetime) -> OwnershipEvent | None:
    """The ledger entry in force at `at` (the latest one effective at or before it)."""
    stmt = (
        select(OwnershipEvent)
        .where(OwnershipEvent.device_id == device.id, OwnershipEvent.effective_at <= at)
        .order_by(col(OwnershipEvent.effective_at).desc(), col(OwnershipEvent.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def current_owner(*, session: Session, device: Device) -> Owner | None:
    stmt = (
        select(OwnershipEvent)
        .where(OwnershipEvent.device_id == device.id)
        .order_by(col(OwnershipEvent.effective_at).desc(), col(OwnershipEvent.id).desc())
        .limit(1)
    )
    event = session.exec(stmt).first()
    return None if event is None else Owner(OwnerKind(event.owner_kind), event.owner_name)


def ownership_history(*, session: Session, device: Device) -> list[OwnershipEvent]:
    stmt = (
        select(OwnershipEvent)
        .where(OwnershipEvent.device_id == device.id)
        .order_by(col(OwnershipEvent.effective_at), col(OwnershipEvent.id))
    )
    return list(session.exec(stmt))


def transfer_ownership(
    *,
    session: Session,
    actor: Actor,
    device: Device,
    owner: Owner,
    reason: OwnershipReason,
    effective_at: datetime,
    contract_id: int | None = None,
    reference: str | None = None,
) -> OwnershipEvent:
    """Append a ledger entry (never edits one) and audit it in the same transaction."""
    assert device.id is not None
    before = current_owner(session=session, device=device)
    event = OwnershipEvent(
        device_id=device.id,
        serial=device.serial,
        owner_kind=owner.kind.value,
        owner_name=owner.name,
        reason=reason.value,
        effective_at=effective_at,
        actor=actor.name,
        contract_id=contract_id,
        reference=reference,
    )
    session.add(event)
    audit.record(
        session,
        actor=actor,
        action="device.ownership",
        entity_type="device",
        entity_id=device.serial,
        before=None if before is None else {"owner": str(before)},
        after={"owner": str(owner), "reason": reason.value, "effective_at": effective_at},
    )
    return event


def correct_owner(
    *, session: Session, actor: Actor, serial: str, owner: Owner, now: datetime
) -> OwnershipEvent:
    """Append the owner the contract says where the ledger disagrees (`netkeep doctor` finds it)."""
    device = get_device_for_update(session=session, serial=serial)
    if current_owner(session=session, device=device) == owner:
        raise Conflict(f"{device.serial} already belongs to {owner}", serial=device.serial)
    return transfer_ownership(
        session=session,
        actor=actor,
        device=device,
        owner=owner,
        reason=OwnershipReason.CORRECTION,
        effective_at=now,
        contract_id=device.contract_id,
    )


def change_status(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    target: DeviceStatus,
    now: datetime,
    note: str | None = None,
) -> Device:
    """Move a device by hand to `target` if the transition table allows it and no RMA holds it."""
    device = get_device_for_update(session=session, serial=serial)
    refuse_if_held(device)
    return set_status(
        session=session, actor=actor, device=device, target=target, now=now, note=note
    )


def set_status(
    *,
    session: Session,
    actor: Actor,
    device: Device,
    target: DeviceStatus,
    now: datetime,
    note: str | None = None,
) -> Device:
    before = device_snapshot(device)
    device.status = advance(device.serial, DeviceStatus(device.status), target).value
    return _audited(session, actor=actor, device=device, action="device.status", before=before,
                    now=now, extra={"note": note})  # fmt: skip


def set_hold(
    *,
    session: Session,
    actor: Actor,
    device: Device,
    holder: str | None,
    now: datetime,
    note: str | None = None,
) -> Device:
    """Record that an RMA (`holder`, e.g. RMA-000004) holds the unit, or none does; audited."""
    if device.held_by == holder:
        return device
    before = device_snapshot(device)
    device.held_by = holder
    return _audited(session, actor=actor, device=device, action="device.hold", before=before,
                    now=now, extra={"note": note})  # fmt: skip


def _audited(
    session: Session,
    *,
    actor: Actor,
    device: Device,
    action: str,
    before: Mapping[str, Any],
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> Device:
    """The change made to `device` stored and audited at `now`: before, after (with `extra`,
    e.g. the note or the job's reference, where given)."""
    device.updated_at = now
    session.add(device)
    after = device_snapshot(device) | {k: v for k, v in (extra or {}).items() if v}
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="device",
        entity_id=device.serial,
        before=before,
        after=after,
        at=now,
    )
    return device


def unit_records(*, session: Session, serials: Sequence[str]) -> dict[str, UnitRecord]:
    """What the inventory holds of each known serial, with its contract (one query each)."""
    if not serials:
        return {}
    devices = list(session.exec(select(Device).where(col(Device.serial).in_(list(serials)))))
    ids = {d.contract_id for d in devices if d.contract_id is not None}
    contracts = (
        {c.id: c for c in session.exec(select(Contract).where(col(Contract.id).in_(ids)))}
        if ids
        else {}
    )
    found = {}
    for d in devices:
        contract = contracts.get(d.contract_id) if d.contract_id is not None else None
        found[d.serial] = UnitRecord(
            serial=d.serial,
            model=d.model,
            status=DeviceStatus(d.status),
            customer=d.customer,
            site=d.site,
            network_id=d.network_id,
            contract=None if contract is None else contract.number,
            contract_customer=None if contract is None else contract.customer,
        )
    return found


PLACEMENT_FIELDS = (
    "status",
    "customer",
    "site",
    "network_id",
    "contract_id",
    "acquisition",
    "leasing_company",
)
"""What a deployment changes on a unit, and so what undoing it puts back."""


def placement_of(device: Device) -> dict[str, Any]:
    return {name: getattr(device, name) for name in PLACEMENT_FIELDS}


def deploy_unit(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    network_id: str,
    site: str,
    customer: str | None,
    contract_id: int | None,
    now: datetime,
    reference: str | None = None,
) -> Device:
    """A unit claimed into a network is deployed there: network, site, customer and contract.

    In stock → deployed (the transition table); already deployed (a re-claim of a unit
    deployed at this site) → linked to the network; deployed in this network already →
    unchanged (a resumed job moves nothing twice). A unit put on a contract here
    is sold on it (Art. 18): it becomes the customer's if the contract's initial fee is paid.
    Audited (device.deploy, before and after) in the caller's transaction.
    """
    device = get_device_for_update(session=session, serial=serial)
    status = DeviceStatus(device.status)
    if status is DeviceStatus.DEPLOYED and device.network_id == network_id:
        return device
    if status not in (DeviceStatus.IN_STOCK, DeviceStatus.DEPLOYED):
        raise Conflict(
            f"{device.serial} is {status}, not in stock: it cannot be deployed in {network_id} "
            f"(netkeep inventory show {device.serial})",
            serial=device.serial,
        )
    if status is DeviceStatus.DEPLOYED and device.network_id not in (None, network_id):
        raise Conflict(
            f"{device.serial} is deployed in network {device.network_id}, not {network_id}",
            serial=device.serial,
        )
    contract = session.get(Contract, contract_id) if contract_id is not None else None
    if contract_id is not None and contract is None:
        raise NotFound(f"no contract with id {contract_id}", contract_id=contract_id)
    before = device_snapshot(device)
    if status is not DeviceStatus.DEPLOYED:
        device.status = advance(device.serial, status, DeviceStatus.DEPLOYED).value
    device.network_id, device.site = network_id, site
    if customer is not None:
        device.customer = customer
    attached = contract is not None and device.contract_id is None
    if contract is not None and attached:
        device.contract_id = contract.id
        device.customer = contract.customer
        device.acquisition = Acquisition.SOLD.value
    _audited(session, actor=actor, device=device, action="device.deploy", before=before, now=now,
             extra={"reference": reference})  # fmt: skip
    if contract is not None and attached and contract.initial_fee_paid_at is not None:
        owner = Owner(OwnerKind.CUSTOMER, contract.customer)
        if current_owner(session=session, device=device) != owner:
            transfer_ownership(
                session=session,
                actor=actor,
                device=device,
                owner=owner,
                reason=OwnershipReason.INITIAL_FEE_PAID,
                effective_at=now,
                contract_id=contract.id,
                reference=reference,
            )
    return device


def undeploy_unit(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    network_id: str,
    before: Mapping[str, Any],
    owner_before: Owner | None,
    now: datetime,
    reference: str | None = None,
) -> Device | None:
    """Undo `deploy_unit`: the unit goes back to the place `before` recorded (a rollback).

    Only a unit still deployed in `network_id` moves (one that left the network since, by an
    RMA or a return, is not touched: None). This is the undo of one recorded move, not a
    business transition, so it bypasses the transition table; audited as device.undeploy.
    """
    device = get_device_for_update(session=session, serial=serial)
    if device.status != DeviceStatus.DEPLOYED.value or device.network_id != network_id:
        return None
    snapshot = device_snapshot(device)
    for name in PLACEMENT_FIELDS:
        if name in before:
            setattr(device, name, before[name])
    DeviceStatus(device.status)  # a recorded status, or ValueError
    _audited(session, actor=actor, device=device, action="device.undeploy", before=snapshot,
             now=now, extra={"reference": reference})  # fmt: skip
    if owner_before is not None and current_owner(session=session, device=device) != owner_before:
        transfer_ownership(
            session=session,
            actor=actor,
            device=device,
            owner=owner_before,
            reason=OwnershipReason.CORRECTION,
            effective_at=now,
            contract_id=before.get("contract_id"),
            reference=reference,
        )
    return device


EDITABLE_FIELDS = frozenset({"mac", "customer", "site", "network_id", "license_expiry", "notes"})


def update_device(
    *, session: Session, actor: Actor, serial: str, changes: dict[str, Any], now: datetime
) -> Device:
    """Edit a device's descriptive fields (status and ownership have their own paths)."""
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            [Problem(f"field {name!r} cannot be edited here", location=name) for name in unknown]
        )
    device = get_device_for_update(session=session, serial=serial)
    if set(changes) & {"customer", "site", "network_id"}:
        refuse_if_held(device)  # where a held unit is, only its RMA says
    before = device_snapshot(device)
    for name, value in changes.items():
        setattr(device, name, value)
    device.updated_at = now
    session.add(device)
    audit.record(
        session,
        actor=actor,
        action="device.update",
        entity_type="device",
        entity_id=device.serial,
        before=before,
        after=device_snapshot(device),
        at=now,
    )
    return device


def mark_verified(*, session: Session, actor: Actor, serial: str, now: datetime) -> Device:
    """Record that a stock unit was checked to work (a replacement must be, before it ships)."""
    device = get_device_for_update(session=session, serial=serial)
    before = device_snapshot(device)
    device.verified_at = now
    session.add(device)
    audit.record(
        session,
        actor=actor,
        action="device.verify",
        entity_type="device",
        entity_id=device.serial,
        before=before,
        after=device_snapshot(device),
        at=now,
    )
    return device


# --- catalogue -------------------------------------------------------------------------


def list_catalogue(*, session: Session) -> list[CatalogueModel]:
    return list(session.exec(select(CatalogueModel).order_by(col(CatalogueModel.model))))


def get_catalogue_model(*, session: Session, model: str) -> CatalogueModel:
    row = session.get(CatalogueModel, model.upper())
    if row is None:
        raise NotFound(f"model {model!r} is not in the catalogue", model=model)
    return row


def upsert_catalogue_model(
    *,
    session: Session,
    actor: Actor,
    model: str,
    product_type: ProductType,
    list_price_yen: int,
    successor: str | None = None,
    end_of_sale: bool = False,
    description: str = "",
) -> CatalogueModel:
    """Create or edit a catalogue entry; a successor must itself be in the catalogue."""
    model = model.strip().upper()
    problems: list[Problem] = []
    if list_price_yen < 0:
        problems.append(
            Problem("list price must be a non-negative integer (yen)", "list_price_yen")
        )
    if successor is not None:
        successor = successor.strip().upper()
        if successor == model:
            problems.append(Problem("a model cannot succeed itself", "successor"))
        elif session.get(CatalogueModel, successor) is None:
            problems.append(
                Problem(f"successor {successor!r} is not in the catalogue", "successor")
            )
    if problems:
        raise ValidationFailed(problems)
    row = session.get(CatalogueModel, model)
    before = None if row is None else row.model_dump()
    if row is None:
        row = CatalogueModel(
            model=model, product_type=product_type.value, list_price_yen=list_price_yen
        )
    row.product_type = product_type.value
    row.list_price_yen = list_price_yen
    row.successor = successor
    row.end_of_sale = end_of_sale
    row.description = description
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="catalogue.upsert",
        entity_type="catalogue_model",
        entity_id=model,
        before=before,
        after=row.model_dump(),
    )
    return row


EXPORT_COLUMNS = (*DEVICE_AUDIT_FIELDS[:-1], "owner_kind", "owner_name", "notes")


def export_rows(
    *, session: Session, filters: DeviceFilter, chunk: int = 1000
) -> Iterator[list[str]]:
    """Every matching device as CSV cells (header first), read a chunk at a time."""
    yield list(EXPORT_COLUMNS)
    offset = 0
    while True:
        page = list_devices(
            session=session, filters=filters, limit=chunk, offset=offset, count=False
        )
        for device in page.items:
            assert device.id is not None
            owner = page.owners.get(device.id)
            values = device_snapshot(device) | {
                "owner_kind": owner.kind.value if owner else "",
                "owner_name": owner.name if owner else "",
            }
            yield [export_cell(values[c]) for c in EXPORT_COLUMNS]
        if len(page.items) < chunk:
            return
        offset += chunk
