"""Replacement use cases: pick and reserve a checked unit (or release it), ship it, swap it in.

The units move through states that say where they are: the replacement is `reserved` in the
warehouse, `in_transit` once shipped, `deployed` once swapped in; the failed unit is `failed` at
the site, `in_rma` on its way back after the swap. The RMA holds both (`device.held_by`) while it
needs them, so no one moves them by hand.

The swap touches two systems and must reach the dashboard once however many identical requests
race. Every check is made first; then the request claims the swap in the database (a conditional
UPDATE of `rma.swap_claimed_at`) and commits the claim, so no write transaction is held across
the outside call; then the dashboard swap runs; then the database changes are written. A loser
finds the claim (or the swap done) and gets a Conflict, never a second call. A dashboard failure
releases the claim, audited, so the swap can be retried; the dashboard side is idempotent (a swap
already done is recognised).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from core import audit
from core.audit import Actor
from core.calendar import tokyo_date
from core.db import begin_write
from core.errors import Conflict, DomainError, Problem, ValidationFailed
from inventory.contracts import swap_on_contract
from inventory.domain import DeviceStatus, Plan
from inventory.models import CatalogueModel, Contract, Device
from inventory.service import get_device_for_update, set_hold, set_status
from rma.domain import (
    RmaPolicy,
    RmaStatus,
    SwapParty,
    advance,
    choose_replacement_model,
    return_due_date,
    status_after_swap,
    successor_chain,
)
from rma.models import Rma
from rma.ports import DashboardSwap, RmaDashboard
from rma.service import (
    get_rma_for_update,
    move,
    plan_reminders,
    require,
    rma_snapshot,
)

S = RmaStatus

# A claim older than this is taken to be from a request that died; another may take it over
# (the dashboard side recognises a swap already done).
SWAP_CLAIM_STALE = timedelta(minutes=10)


def _successors(session: Session) -> dict[str, str | None]:
    return {m.model: m.successor for m in session.exec(select(CatalogueModel))}


def reserve_replacement(
    *, session: Session, actor: Actor, rma_id: int, now: datetime, serial: str | None = None
) -> Rma:
    """Set a replacement aside: a verified in-stock unit of the same model, else a successor.

    An RMA that already holds a reserved unit re-reserves: the old one goes back to stock and the
    new one (or the same, named again) is reserved, in one transaction.
    """
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    if RmaStatus(rma.status) is S.REPLACEMENT_RESERVED:
        _release(session=session, actor=actor, rma=rma, now=now, why="re-reserved")
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
    set_hold(session=session, actor=actor, device=device, holder=rma.number, now=now)
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


def release_replacement(
    *, session: Session, actor: Actor, rma_id: int, reason: str, now: datetime
) -> Rma:
    """Give the reserved (not yet shipped) replacement back to stock; the RMA needs one again."""
    require((not reason.strip(), Problem("a reason is required", "reason")))
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    advance(RmaStatus(rma.status), S.REPLACEMENT_NEEDED)
    return _release(session=session, actor=actor, rma=rma, now=now, why=reason.strip())


def _release(*, session: Session, actor: Actor, rma: Rma, now: datetime, why: str) -> Rma:
    before = rma_snapshot(rma)
    assert rma.replacement_serial is not None
    device = get_device_for_update(session=session, serial=rma.replacement_serial)
    if device.status == DeviceStatus.RESERVED and device.held_by == rma.number:
        set_status(
            session=session,
            actor=actor,
            device=device,
            target=DeviceStatus.IN_STOCK,
            now=now,
            note=f"released by {rma.number}: {why}",
        )
        set_hold(session=session, actor=actor, device=device, holder=None, now=now)
    rma.replacement_device_id = None
    rma.replacement_serial = rma.replacement_model = None
    rma.substitution = False
    return move(
        session=session,
        actor=actor,
        rma=rma,
        target=S.REPLACEMENT_NEEDED,
        now=now,
        before=before,
        note=f"released {device.serial}: {why}",
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
    set_status(
        session=session,
        actor=actor,
        device=device,
        target=DeviceStatus.IN_TRANSIT,
        now=now,
        note=f"shipped for {rma.number} by {courier.strip()} {tracking_number.strip()}",
    )
    rma.courier, rma.tracking_number = courier.strip(), tracking_number.strip()
    rma.shipped_at, rma.due_date = shipped_at, due
    plan_reminders(session=session, rma=rma, due=due, policy=policy, today=tokyo_date(shipped_at))
    return move(session=session, actor=actor, rma=rma, target=S.SHIPPED, now=now, before=before)


@dataclass(frozen=True, slots=True)
class _SwapPlan:
    """What a swap will do, read (and checked) before anything is written or called."""

    failed_serial: str
    replacement_serial: str
    network_id: str | None
    swapped_by: SwapParty
    name: str | None


def _plan_swap(
    *,
    session: Session,
    rma: Rma,
    now: datetime,
    swapped_by: SwapParty | None,
    swapped_by_name: str | None,
) -> _SwapPlan:
    status_after_swap(RmaStatus(rma.status))  # InvalidTransition unless the unit is out
    if rma.swapped_at is not None:
        raise Conflict(f"{rma.number} was already swapped", rma=rma.number, status=rma.status)
    if rma.swap_claimed_at is not None and rma.swap_claimed_at > now - SWAP_CLAIM_STALE:
        raise Conflict(
            f"{rma.number}: another request is swapping it on the dashboard (since "
            f"{rma.swap_claimed_at.isoformat()}); its result will be recorded",
            rma=rma.number,
        )
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
            replacement.status != DeviceStatus.IN_TRANSIT,
            Problem(
                f"{replacement.serial} is {replacement.status}, not shipped (in_transit)",
                "replacement",
            ),
        ),
        (
            failed.status not in (DeviceStatus.FAILED, DeviceStatus.LOST),
            Problem(f"{failed.serial} is {failed.status}, not failed", "failed_serial"),
        ),
    )
    return _SwapPlan(failed.serial, replacement.serial, failed.network_id, swapped_by, name)


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
    """The replacement takes the failed unit's place: claim, dashboard once, then the records.

    Commits the session (the claim before the dashboard call, the outcome after it) when the
    dashboard is called; without a dashboard call it writes in the caller's transaction.
    """
    begin_write(session)
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    plan = _plan_swap(
        session=session,
        rma=rma,
        now=now,
        swapped_by=swapped_by,
        swapped_by_name=swapped_by_name,
    )
    if dashboard is None or not plan.network_id:
        note = "dashboard not updated" if dashboard is None else "not on the dashboard (no network)"
        return _record_swap(session=session, actor=actor, rma=rma, plan=plan, note=note, now=now)
    _claim_swap(session=session, actor=actor, rma=rma, now=now)
    session.commit()  # every other request sees the claim before the call goes out
    try:
        result = dashboard.swap_device(
            organization_id=organization_id,
            network_id=plan.network_id,
            old_serial=plan.failed_serial,
            new_serial=plan.replacement_serial,
        )
    except Exception as exc:
        session.rollback()
        _release_claim(session=session, actor=actor, rma_id=rma_id, error=exc, now=now)
        session.commit()
        raise
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    return _record_swap(
        session=session, actor=actor, rma=rma, plan=plan, note=_swap_note(result), now=now
    )


def _swap_note(result: DashboardSwap) -> str:
    return f"{result.method} {result.reference or ''} status={result.replacement_status}".replace(
        "  ", " "
    )


def _claim_swap(*, session: Session, actor: Actor, rma: Rma, now: datetime) -> None:
    """Mark the swap as this request's in the database, or Conflict if another holds it."""
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Rma)
        .where(
            col(Rma.id) == rma.id,
            col(Rma.swapped_at).is_(None),
            or_(
                col(Rma.swap_claimed_at).is_(None),
                col(Rma.swap_claimed_at) < now - SWAP_CLAIM_STALE,
            ),
        )
        .values(swap_claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Conflict(
            f"{rma.number}: another request is swapping it on the dashboard", rma=rma.number
        )
    before = rma_snapshot(rma)
    rma.swap_claimed_at = now
    audit.record(
        session,
        actor=actor,
        action="rma.swap_claimed",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=rma_snapshot(rma),
        at=now,
    )


def _release_claim(
    *, session: Session, actor: Actor, rma_id: int, error: Exception, now: datetime
) -> None:
    """The dashboard call failed: give the claim back so the swap can be retried; audited."""
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    before = rma_snapshot(rma)
    rma.swap_claimed_at = None
    session.add(rma)
    message = error.message if isinstance(error, DomainError) else type(error).__name__
    audit.record(
        session,
        actor=actor,
        action="rma.swap_failed",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=rma_snapshot(rma) | {"error": message[:500]},
        at=now,
    )


def _record_swap(
    *, session: Session, actor: Actor, rma: Rma, plan: _SwapPlan, note: str, now: datetime
) -> Rma:
    """The database side of the swap, in one transaction: contract, owners, units, the RMA."""
    before = rma_snapshot(rma)
    status = RmaStatus(rma.status)
    target = status_after_swap(status)
    failed = get_device_for_update(session=session, serial=plan.failed_serial)
    replacement = get_device_for_update(session=session, serial=plan.replacement_serial)
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
    set_hold(session=session, actor=actor, device=replacement, holder=None, now=now)
    if failed.status == DeviceStatus.FAILED:  # lost stays lost: it was billed before the swap
        set_status(
            session=session,
            actor=actor,
            device=failed,
            target=DeviceStatus.IN_RMA,
            now=now,
            note=f"swapped out by {rma.number}",
        )
    rma.swapped_at = now
    rma.swapped_by_kind = plan.swapped_by.value
    rma.swapped_by_name = plan.name or actor.name
    rma.dashboard_swap = note[:200]
    rma.swap_claimed_at = None
    if target is not status:
        return move(session=session, actor=actor, rma=rma, target=target, now=now, before=before)
    rma.updated_at = now
    session.add(rma)
    audit.record(
        session,
        actor=actor,
        action="rma.swap",
        entity_type="rma",
        entity_id=rma.number,
        before=before,
        after=rma_snapshot(rma) | {"note": f"swap recorded while {status.value}"},
        at=now,
    )
    return rma
