"""Replacement use cases: pick and reserve a checked unit, ship it, swap it in.

The swap touches two systems. Order: every check is made on locked rows first, then the
dashboard swap runs, then the database changes are written in the caller's one transaction. A
dashboard failure raises DashboardError before anything is written, so the caller's rollback
leaves the database as it was; the dashboard side is idempotent (a swap already done is
recognised), so the same call can simply be retried.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core.audit import Actor
from core.calendar import tokyo_date
from core.errors import Conflict, Problem, ValidationFailed
from inventory.contracts import swap_on_contract
from inventory.domain import DeviceStatus, Plan
from inventory.models import CatalogueModel, Contract, Device
from inventory.service import get_device_for_update, set_status
from rma.domain import (
    RmaPolicy,
    RmaStatus,
    SwapParty,
    advance,
    choose_replacement_model,
    return_due_date,
    successor_chain,
)
from rma.models import Rma
from rma.ports import RmaDashboard
from rma.service import (
    get_rma_for_update,
    move,
    plan_reminders,
    require,
    rma_snapshot,
)

S = RmaStatus


def _successors(session: Session) -> dict[str, str | None]:
    return {m.model: m.successor for m in session.exec(select(CatalogueModel))}


def reserve_replacement(
    *, session: Session, actor: Actor, rma_id: int, now: datetime, serial: str | None = None
) -> Rma:
    """Set a replacement aside: a verified in-stock unit of the same model, else a successor."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    before = rma_snapshot(rma)
    advance(RmaStatus(rma.status), S.REPLACEMENT_RESERVED)
    successors = _successors(session)
    chain = successor_chain(rma.failed_model, successors)
    if serial is not None:
        device = get_device_for_update(session=session, serial=serial)
        if device.status != DeviceStatus.IN_STOCK:
            raise Conflict(f"{device.serial} is {device.status}, not in stock", serial=serial)
        if device.model not in chain:
            raise ValidationFailed(
                [
                    Problem(
                        f"{device.model} is neither {rma.failed_model} nor its successor", "serial"
                    )
                ]
            )
    else:
        device = _pick_verified_unit(session=session, rma=rma, chain=chain, successors=successors)
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=DeviceStatus.RESERVED,
        now=now,
        note=f"replacement for {rma.number}",
    )
    rma.replacement_device_id = device.id
    rma.replacement_serial = device.serial
    rma.replacement_model = device.model
    rma.substitution = device.model != rma.failed_model
    return move(
        session=session,
        actor=actor,
        rma=rma,
        target=S.REPLACEMENT_RESERVED,
        now=now,
        before=before,
        note=f"substitution {rma.failed_model} → {device.model}" if rma.substitution else None,
    )


def _verified_stock(*models: str) -> SelectOfScalar[Device]:
    return select(Device).where(
        Device.status == DeviceStatus.IN_STOCK.value,
        col(Device.verified_at).is_not(None),
        col(Device.model).in_(models),
    )


def _pick_verified_unit(
    *, session: Session, rma: Rma, chain: list[str], successors: dict[str, str | None]
) -> Device:
    counts: dict[str, int] = {}
    for unit in session.exec(_verified_stock(*chain)):
        counts[unit.model] = counts.get(unit.model, 0) + 1
    choice = choose_replacement_model(rma.failed_model, counts, successors)
    if choice is not None:
        stmt = (
            _verified_stock(choice[0])
            .order_by(col(Device.verified_at), col(Device.id))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        device: Device | None = session.exec(stmt).first()
        if device is not None:
            return device
    raise Conflict(
        f"no verified in-stock unit of {rma.failed_model} or its successors "
        f"({', '.join(chain[1:]) or 'none'})",
        model=rma.failed_model,
    )


def ship_replacement(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    courier: str,
    tracking_number: str,
    shipped_at: datetime,
    policy: RmaPolicy,
    now: datetime,
) -> Rma:
    """Send the checked replacement; the return period runs from the Tokyo ship date."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    before = rma_snapshot(rma)
    advance(RmaStatus(rma.status), S.SHIPPED)
    require(
        (not courier.strip(), Problem("courier is required", "courier")),
        (not tracking_number.strip(), Problem("tracking number is required", "tracking_number")),
    )
    assert rma.replacement_serial is not None
    device = get_device_for_update(session=session, serial=rma.replacement_serial)
    if device.verified_at is None:
        raise ValidationFailed(
            [
                Problem(
                    f"replacement {device.serial} has not been checked to work; verify it "
                    "before it ships",
                    "replacement_serial",
                )
            ]
        )
    if device.status != DeviceStatus.RESERVED:
        raise Conflict(
            f"replacement {device.serial} is {device.status}, not reserved", serial=device.serial
        )
    due = return_due_date(shipped_at, policy.calendar, shift_to_business_day=policy.shift_due_date)
    rma.courier, rma.tracking_number = courier.strip(), tracking_number.strip()
    rma.shipped_at, rma.due_date = shipped_at, due
    plan_reminders(session=session, rma=rma, due=due, policy=policy, today=tokyo_date(shipped_at))
    return move(session=session, actor=actor, rma=rma, target=S.SHIPPED, now=now, before=before)


def swap_replacement(
    *,
    session: Session,
    actor: Actor,
    rma_id: int,
    now: datetime,
    dashboard: RmaDashboard | None,
    organization_id: str,
    swapped_by: SwapParty | None = None,
    swapped_by_name: str | None = None,
) -> Rma:
    """The replacement takes the failed unit's place: dashboard first, then one DB transaction."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    before = rma_snapshot(rma)
    advance(RmaStatus(rma.status), S.SWAPPED)
    assert rma.replacement_serial is not None
    failed = get_device_for_update(session=session, serial=rma.failed_serial)
    replacement = get_device_for_update(session=session, serial=rma.replacement_serial)
    contract = session.get(Contract, failed.contract_id) if failed.contract_id else None
    if contract is None:
        raise Conflict(f"{failed.serial} is not on any contract", serial=failed.serial)
    if swapped_by is None:
        swapped_by = SwapParty.CUSTOMER if contract.plan == Plan.WIRELESS else SwapParty.PROVIDER
    name = (swapped_by_name or "").strip() or None
    require(
        (
            swapped_by is SwapParty.CUSTOMER and name is None,
            Problem("say who at the customer did the swap", "swapped_by_name"),
        ),
        (
            replacement.status != DeviceStatus.RESERVED,
            Problem(f"{replacement.serial} is {replacement.status}, not reserved", "replacement"),
        ),
        (
            failed.status != DeviceStatus.FAILED,
            Problem(f"{failed.serial} is {failed.status}, not failed", "failed_serial"),
        ),
    )
    dashboard_note = "not on the dashboard (no network)"
    if dashboard is None:
        dashboard_note = "dashboard not updated"
    elif failed.network_id:
        result = dashboard.swap_device(
            organization_id=organization_id,
            network_id=failed.network_id,
            old_serial=failed.serial,
            new_serial=replacement.serial,
        )
        dashboard_note = (
            f"{result.method} {result.reference or ''} status={result.replacement_status}"
        ).replace("  ", " ")
    # Nothing was written above; from here on the changes commit or roll back together.
    swap_on_contract(
        session=session,
        actor=actor,
        failed_serial=failed.serial,
        replacement_serial=replacement.serial,
        now=now,
        reference=rma.number,
    )
    set_status(
        session=session,
        actor=actor,
        device=replacement,
        target=DeviceStatus.DEPLOYED,
        now=now,
        note=f"swapped in by {rma.number}",
    )
    set_status(
        session=session,
        actor=actor,
        device=failed,
        target=DeviceStatus.IN_RMA,
        now=now,
        note=f"swapped out by {rma.number}",
    )
    rma.swapped_at = now
    rma.swapped_by_kind = swapped_by.value
    rma.swapped_by_name = name or actor.name
    rma.dashboard_swap = dashboard_note[:200]
    return move(session=session, actor=actor, rma=rma, target=S.SWAPPED, now=now, before=before)
