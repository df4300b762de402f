"""The equipment damage charge (機器損害金) of one RMA whose return period has run out.

One piece of code decides it for the sweep and for whatever else happens after the due date (a
receipt, a wrong unit): the money then follows the dates, not the moment a sweep happened to
run. The charge is claimed in the database before it is stored: the RMA row moves to `charged`
only if it still stands where this transaction saw it (a conditional UPDATE), and the UNIQUE
`rma_damage_charge.rma_id` refuses a second record, so no ordering of sweeps and receipts can
bill a unit twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import Conflict
from inventory.domain import DeviceStatus
from inventory.models import CatalogueModel, Device
from inventory.service import set_status
from rma.domain import AWAITING_RETURN, CHARGEABLE, DamageCharge, RmaStatus, damage_charge
from rma.models import DamageChargeRecord, Rma
from rma.service import charge_of, move, rma_snapshot

S = RmaStatus


def settle_overdue(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    now: datetime,
    tax_rate_percent: int,
    charge: bool = True,
) -> DamageCharge | None:
    """What the sweep would have done to this RMA by `now` (it is past its due date).

    The caller has locked the RMA row. With `charge=False` (the right unit arrived and the
    policy credits late arrivals) the RMA only becomes overdue: a charge that would be credited
    in the same instant is never issued.
    """
    if RmaStatus(rma.status) not in CHARGEABLE:
        return None
    device = session.exec(
        select(Device).where(Device.id == rma.failed_device_id).with_for_update()
    ).one()
    price = session.exec(
        select(CatalogueModel.list_price_yen).where(CatalogueModel.model == rma.failed_model)
    ).first()
    already = charge_of(session=session, rma=rma) is not None
    if charge and price is not None and not already:
        claim_charges(session=session, rmas=[rma], now=now)
    return charge_overdue(
        session=session,
        actor=actor,
        rma=rma,
        device=device,
        price=price if charge else None,
        tax_rate_percent=tax_rate_percent,
        already_charged=already,
        now=now,
    )


def charge_overdue(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    device: Device,
    price: int | None,
    tax_rate_percent: int,
    already_charged: bool,
    now: datetime,
) -> DamageCharge | None:
    """Mark a waiting RMA overdue and issue its one damage charge; None if nothing was billed.

    The caller has claimed the charge (`claim_charges`) unless `already_charged` or no `price`.
    """
    status = RmaStatus(rma.status)
    if status in AWAITING_RETURN:
        before = rma_snapshot(rma)
        rma.waiting_status = status.value
        move(
            session=session,
            actor=actor,
            rma=rma,
            target=S.OVERDUE,
            now=now,
            before=before,
            note=f"return period ended {rma.due_date}",
        )
    if already_charged or price is None:
        return None  # no list price: stays overdue for a person to look at
    amounts = damage_charge(price, tax_rate_percent)
    session.add(
        DamageChargeRecord(
            rma_id=rma.id or 0,
            model=rma.failed_model,
            net_yen=amounts.net_yen,
            tax_yen=amounts.tax_yen,
            total_yen=amounts.total_yen,
            issued_at=now,
        )
    )
    move(
        session=session,
        actor=actor,
        rma=rma,
        target=S.CHARGED,
        now=now,
        note=f"damage charge {amounts.total_yen} yen "
        f"(net {amounts.net_yen}, tax {amounts.tax_yen})",
    )
    _device_lost(session=session, actor=actor, rma=rma, device=device, now=now)
    return amounts


def claim_charges(*, session: Session, rmas: list[Rma], now: datetime) -> None:
    """Take these RMAs to `charged` in the database, or refuse if another transaction did first.

    One conditional UPDATE: a row moves only from a state the sweep may charge in, so of two
    transactions that both saw it waiting, the second finds nothing to move and fails instead of
    billing again. The ORM objects still hold their old state: the audited moves that follow
    (waiting → overdue → charged) write the same final value.
    """
    if not rmas:
        return
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Rma)
        .where(
            col(Rma.id).in_([r.id for r in rmas]),
            col(Rma.status).in_([s.value for s in CHARGEABLE]),
        )
        .values(status=S.CHARGED.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != len(rmas):
        numbers = ", ".join(r.number for r in rmas)
        raise Conflict(f"another transaction charged one of {numbers} first", rmas=numbers)


def _device_lost(
    *, session: Session, actor: Actor, rma: Rma, device: Device, now: datetime
) -> None:
    if device.status == DeviceStatus.FAILED:
        set_status(
            session=session,
            actor=actor,
            device=device,
            target=DeviceStatus.IN_RMA,
            now=now,
            note=f"{rma.number} never swapped",
        )
    if device.status == DeviceStatus.IN_RMA:
        set_status(
            session=session,
            actor=actor,
            device=device,
            target=DeviceStatus.LOST,
            now=now,
            note=f"{rma.number} not returned; damage charge issued",
        )
