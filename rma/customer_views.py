"""What a customer sees of its own RMAs (the portal): the state, the return due date and any
damage charge. Every read takes the customer and filters on it in SQL; another customer's RMA is
answered as absent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from core.errors import NotFound
from rma.models import DamageChargeRecord, Rma


@dataclass(frozen=True, slots=True)
class CustomerRma:
    """An RMA with its damage charge, if one was issued."""

    rma: Rma
    charge: DamageChargeRecord | None


@dataclass(frozen=True, slots=True)
class CustomerRmaPage:
    items: list[CustomerRma]
    total: int


def _with_charges(customer: str) -> Select[Rma, DamageChargeRecord]:
    return (
        select(Rma, DamageChargeRecord)
        .outerjoin(DamageChargeRecord, col(DamageChargeRecord.rma_id) == col(Rma.id))
        .where(Rma.customer == customer)
    )


def customer_rmas(
    *, session: Session, customer: str, limit: int = 100, offset: int = 0
) -> CustomerRmaPage:
    """The customer's RMAs, newest first, each with its charge."""
    total = session.exec(
        select(func.count()).select_from(Rma).where(Rma.customer == customer)
    ).one()
    stmt = _with_charges(customer).order_by(col(Rma.id).desc()).offset(offset).limit(limit)
    items = [CustomerRma(rma, charge) for rma, charge in session.exec(stmt)]
    return CustomerRmaPage(items=items, total=int(total))


def customer_rma(*, session: Session, customer: str, rma_id: int) -> CustomerRma:
    """One of the customer's RMAs; someone else's is NotFound, worded as a missing one."""
    found = session.exec(_with_charges(customer).where(Rma.id == rma_id)).first()
    if found is None:
        raise NotFound(f"no RMA {rma_id}", rma=rma_id)
    rma, charge = found
    return CustomerRma(rma, charge)
