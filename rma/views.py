"""Logistics views of RMAs: open by state, due this week, overdue, charges this month, CSV."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from core.calendar import tokyo_date
from core.csv_export import export_cell
from core.errors import Conflict
from inventory.domain import Plan
from inventory.models import Contract
from rma.domain import (
    ACTIVE,
    AWAITING_RETURN,
    UNRETURNED,
    RmaStatus,
    tokyo_month_bounds,
    tokyo_week,
)
from rma.models import DamageChargeRecord, Rma
from rma.service import charge_of, get_rma


@dataclass(frozen=True, slots=True)
class RmaPage:
    items: list[Rma]
    total: int


def _values(statuses: frozenset[RmaStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


def open_by_state(*, session: Session) -> dict[str, int]:
    """How many RMAs stand in each state that still needs work."""
    stmt = (
        select(Rma.status, func.count())
        .where(col(Rma.status).in_(_values(ACTIVE)))
        .group_by(col(Rma.status))
    )
    return {str(status): int(n) for status, n in session.exec(stmt)}


def list_rmas(
    *,
    session: Session,
    status: RmaStatus | None = None,
    serial: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> RmaPage:
    stmt = select(Rma)
    if status is not None:
        stmt = stmt.where(Rma.status == status.value)
    if serial is not None:
        stmt = stmt.where(
            or_(
                col(Rma.failed_serial) == serial.upper(),
                col(Rma.replacement_serial) == serial.upper(),
            )
        )
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    items = list(session.exec(stmt.order_by(col(Rma.id)).offset(offset).limit(limit)))
    return RmaPage(items=items, total=int(total))


def due_between(*, session: Session, first: date, last: date, limit: int = 1000) -> list[Rma]:
    """Units still out whose return period ends between `first` and `last` (inclusive)."""
    stmt = (
        select(Rma)
        .where(
            col(Rma.status).in_(_values(AWAITING_RETURN)),
            col(Rma.due_date) >= first,
            col(Rma.due_date) <= last,
        )
        .order_by(col(Rma.due_date), col(Rma.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def due_this_week(*, session: Session, now: datetime, limit: int = 1000) -> list[Rma]:
    """Due in the Asia/Tokyo week (Monday to Sunday) containing `now`."""
    monday, sunday = tokyo_week(tokyo_date(now))
    return due_between(session=session, first=monday, last=sunday, limit=limit)


def overdue(*, session: Session, now: datetime, limit: int = 1000) -> list[Rma]:
    """Units past their deadline and not back: swept (overdue, charged) or not yet swept."""
    today = tokyo_date(now)
    stmt = (
        select(Rma)
        .where(
            or_(
                and_(col(Rma.status).in_(_values(AWAITING_RETURN)), col(Rma.due_date) < today),
                col(Rma.status).in_(_values(UNRETURNED)),
            )
        )
        .order_by(col(Rma.due_date), col(Rma.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def charges_in_month(
    *, session: Session, now: datetime, limit: int = 1000
) -> list[tuple[DamageChargeRecord, Rma]]:
    """Damage charges issued in the Asia/Tokyo month containing `now`."""
    start, end = tokyo_month_bounds(now)
    stmt = (
        select(DamageChargeRecord, Rma)
        .join(Rma, col(Rma.id) == col(DamageChargeRecord.rma_id))
        .where(col(DamageChargeRecord.issued_at) >= start, col(DamageChargeRecord.issued_at) < end)
        .order_by(col(DamageChargeRecord.issued_at), col(DamageChargeRecord.id))
        .limit(limit)
    )
    return [(charge, rma) for charge, rma in session.exec(stmt)]


CHARGE_COLUMNS = (
    "charge_net_yen",
    "charge_tax_yen",
    "charge_total_yen",
    "charge_issued_at",
    "charge_credited_at",
    "charge_credit_reason",
)
"""The damage charge of the RMA (integer yen, tax 10% truncated), empty when none was issued."""

EXPORT_COLUMNS = (
    "number",
    "status",
    "customer",
    "failed_serial",
    "failed_model",
    "replacement_serial",
    "replacement_model",
    "substitution",
    "reported_at",
    "shipped_at",
    "due_date",
    "swapped_by_kind",
    "swapped_by_name",
    "pickup_date",
    "received_serial",
    "mismatch_serial",
    "disposition",
    "closed_at",
)


def export_rows(
    *, session: Session, status: RmaStatus | None = None, chunk: int = 1000
) -> Iterator[list[str]]:
    """Every matching RMA as CSV cells, header first, read a chunk at a time.

    Times in Asia/Tokyo with their offset; the damage charge's amounts in integer yen.
    """
    yield [*EXPORT_COLUMNS, *CHARGE_COLUMNS]
    last_id = 0
    while True:
        stmt = select(Rma).where(col(Rma.id) > last_id)
        if status is not None:
            stmt = stmt.where(Rma.status == status.value)
        rows = list(session.exec(stmt.order_by(col(Rma.id)).limit(chunk)))
        ids = [rma.id for rma in rows]
        charges = {
            c.rma_id: c
            for c in session.exec(
                select(DamageChargeRecord).where(col(DamageChargeRecord.rma_id).in_(ids))
            )
        }
        for rma in rows:
            charge = charges.get(rma.id or 0)
            money: list[object] = (
                [
                    charge.net_yen,
                    charge.tax_yen,
                    charge.total_yen,
                    charge.issued_at,
                    charge.credited_at,
                    charge.credit_reason,
                ]
                if charge is not None
                else [None] * len(CHARGE_COLUMNS)
            )
            values: list[Any] = [getattr(rma, name) for name in EXPORT_COLUMNS]
            yield [export_cell(v) for v in (*values, *money)]
        if len(rows) < chunk:
            return
        last_id = rows[-1].id or last_id


CLAUSES = {
    Plan.WIRELESS.value: "サービス約款 別紙1 IV.(4) 先出しセンドバック保守（返却期間）",
}
DEFAULT_CLAUSE = "サービス約款 別紙1 II.(3)4 先出しセンドバック保守（返却期間）"


@dataclass(frozen=True, slots=True)
class DamageNotice:
    """What the damage-charge notice (機器損害金のご請求) shows."""

    number: str
    customer: str
    contract_number: str
    failed_serial: str
    failed_model: str
    shipped_on: date | None
    due_date: date | None
    net_yen: int
    tax_yen: int
    total_yen: int
    issued_on: date
    clause: str
    credited: bool


def damage_notice(*, session: Session, rma_id: int) -> DamageNotice:
    """The data of an RMA's damage-charge notice; Conflict when no charge was issued."""
    rma = get_rma(session=session, rma_id=rma_id)
    charge = charge_of(session=session, rma=rma)
    if charge is None:
        raise Conflict(f"{rma.number} has no damage charge", rma=rma.number)
    contract = session.get(Contract, rma.contract_id) if rma.contract_id else None
    return DamageNotice(
        number=rma.number,
        customer=rma.customer or (contract.customer if contract else ""),
        contract_number=contract.number if contract else "",
        failed_serial=rma.failed_serial,
        failed_model=rma.failed_model,
        shipped_on=tokyo_date(rma.shipped_at) if rma.shipped_at else None,
        due_date=rma.due_date,
        net_yen=charge.net_yen,
        tax_yen=charge.tax_yen,
        total_yen=charge.total_yen,
        issued_on=tokyo_date(charge.issued_at),
        clause=CLAUSES.get(contract.plan if contract else "", DEFAULT_CLAUSE),
        credited=charge.credited_at is not None,
    )
