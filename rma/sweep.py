"""The overdue sweep: unreturned units past their deadline become overdue and are charged once.

The charge itself is `rma.charging`'s, the same code a late receipt runs, so the money does not
depend on whether the sweep ran before the unit came back.

Safe to run concurrently. On SQLite the sweep takes the write lock before it reads, so sweeps
run one after another and each sees what the one before committed. On PostgreSQL candidate
rows are taken with `SELECT ... FOR UPDATE SKIP LOCKED`, so two sweeps never work on the same
RMA, and the status filter is re-checked on the locked row version (PostgreSQL re-evaluates it
under READ COMMITTED), so a row another sweep already charged no longer qualifies. Each charge is
then claimed by a conditional UPDATE, and the UNIQUE constraint on `rma_damage_charge.rma_id` is
the last guard: a second charge for one RMA cannot be stored at all. The sweep only writes rows:
it sends no mail and calls no dashboard, so there is no side effect to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from core.audit import Actor
from core.calendar import tokyo_date
from core.db import begin_write
from inventory.models import CatalogueModel, Device
from rma.charging import charge_overdue, claim_charges
from rma.domain import AWAITING_RETURN, CHARGEABLE, RmaStatus
from rma.models import DamageChargeRecord, Rma


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
    begin_write(session)
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
        claim_charges(
            session=session,
            rmas=[
                r for r in rmas if prices.get(r.failed_model) is not None and r.id not in already
            ],
            now=now,
        )
        for rma in rmas:
            was_waiting = RmaStatus(rma.status) in AWAITING_RETURN
            amounts = charge_overdue(
                session=session,
                actor=actor,
                rma=rma,
                device=devices[rma.failed_device_id],
                price=prices.get(rma.failed_model),
                tax_rate_percent=tax_rate_percent,
                already_charged=rma.id in already,
                now=now,
            )
            if was_waiting:
                report.overdue.append(rma.number)
            if amounts is not None:
                report.charged.append(rma.number)
                report.total_yen += amounts.total_yen
        session.flush()
