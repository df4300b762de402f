"""The overdue sweep: unreturned units past their deadline become overdue and are charged once.

Safe to run concurrently: candidate rows are taken with `SELECT ... FOR UPDATE SKIP LOCKED`, so
two sweeps never work on the same RMA, and the status filter is re-checked on the locked row
version (PostgreSQL re-evaluates it under READ COMMITTED), so a row another sweep already charged
no longer qualifies. The UNIQUE constraint on `rma_damage_charge.rma_id` is the last guard: a
second charge for one RMA cannot be stored at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from core.audit import Actor
from core.calendar import tokyo_date
from inventory.domain import DeviceStatus
from inventory.models import CatalogueModel, Device
from inventory.service import set_status
from rma.domain import AWAITING_RETURN, CHARGEABLE, RmaStatus, damage_charge
from rma.models import DamageChargeRecord, Rma
from rma.service import move, rma_snapshot

S = RmaStatus


@dataclass(slots=True)
class SweepReport:
    """What one sweep did: RMA numbers marked overdue and charged, and the yen billed."""

    overdue: list[str] = field(default_factory=list)
    charged: list[str] = field(default_factory=list)
    total_yen: int = 0


def sweep(
    *,
    session: Session,
    actor: Actor,
    now: datetime,
    tax_rate_percent: int = 10,
    batch_size: int = 500,
) -> SweepReport:
    """Mark every waiting RMA past its deadline overdue and issue its one damage charge."""
    today = tokyo_date(now)  # overdue once 24:00 JST of the due date has passed: due < today
    prices = {m.model: m.list_price_yen for m in session.exec(select(CatalogueModel))}
    report = SweepReport()
    last_id = 0
    while True:
        stmt = (
            select(Rma)
            .where(
                col(Rma.status).in_([s.value for s in CHARGEABLE]),
                col(Rma.due_date) < today,
                col(Rma.id) > last_id,
            )
            .order_by(col(Rma.id))
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        rmas = list(session.exec(stmt))
        if not rmas:
            return report
        last_id = rmas[-1].id or last_id
        device_ids = [r.failed_device_id for r in rmas]
        devices = {
            d.id: d
            for d in session.exec(
                select(Device)
                .where(col(Device.id).in_(device_ids))
                .order_by(col(Device.id))
                .with_for_update()
            )
        }
        already = set(
            session.exec(
                select(DamageChargeRecord.rma_id).where(
                    col(DamageChargeRecord.rma_id).in_([r.id for r in rmas])
                )
            )
        )
        for rma in rmas:
            _charge_one(
                session=session,
                actor=actor,
                rma=rma,
                device=devices[rma.failed_device_id],
                price=prices.get(rma.failed_model),
                tax_rate_percent=tax_rate_percent,
                already_charged=rma.id in already,
                now=now,
                report=report,
            )
        session.flush()


def _charge_one(
    *,
    session: Session,
    actor: Actor,
    rma: Rma,
    device: Device,
    price: int | None,
    tax_rate_percent: int,
    already_charged: bool,
    now: datetime,
    report: SweepReport,
) -> None:
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
        report.overdue.append(rma.number)
    if already_charged or price is None:
        return  # no list price: stays overdue for a person to look at
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
    report.charged.append(rma.number)
    report.total_yen += amounts.total_yen
