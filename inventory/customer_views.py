"""What a customer sees of its own contracts and devices (the portal): every read takes the
customer and filters on it in SQL, and another customer's record is answered as absent."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import NotFound
from core.paging import Page, page_of_query
from inventory.domain import normalise_serial
from inventory.models import Contract, Device


def customer_contracts(
    *, session: Session, customer: str, limit: int = 100, offset: int = 0
) -> Page[Contract]:
    """The customer's contracts, by number."""
    stmt = select(Contract).where(Contract.customer == customer).order_by(col(Contract.number))
    return page_of_query(session, stmt, limit=limit, offset=offset)


def customer_contract(*, session: Session, customer: str, number: str) -> Contract:
    """One of the customer's contracts; someone else's is NotFound, worded as a missing one."""
    stmt = select(Contract).where(Contract.number == number, Contract.customer == customer)
    found = session.exec(stmt).first()
    if found is None:
        raise NotFound(f"no contract {number!r}", contract=number)
    return found


def customer_devices(
    *,
    session: Session,
    customer: str,
    contract: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[Device]:
    """The customer's devices (those recorded as the customer's), by serial."""
    stmt = select(Device).where(Device.customer == customer)
    if contract is not None:
        ids = select(Contract.id).where(Contract.number == contract, Contract.customer == customer)
        stmt = stmt.where(col(Device.contract_id).in_(ids))
    return page_of_query(session, stmt.order_by(col(Device.serial)), limit=limit, offset=offset)


def customer_device(*, session: Session, customer: str, serial: str) -> Device:
    """One of the customer's devices; someone else's is NotFound, worded as a missing one."""
    try:
        wanted = normalise_serial(serial)
    except ValueError:
        wanted = serial  # no unit has it: answered like any unknown serial
    stmt = select(Device).where(Device.serial == wanted, Device.customer == customer)
    found = session.exec(stmt).first()
    if found is None:
        raise NotFound(f"no device with serial {serial}", serial=serial)
    return found
