"""Outages: open and close them (audited, notices queued), list them, open an RMA from one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import Conflict, NotFound
from inventory.models import Device
from monitoring.models import Outage
from monitoring.notices import queue_notices


def outage_snapshot(outage: Outage) -> dict[str, Any]:
    return {
        "serial": outage.serial,
        "site": outage.site,
        "contract_id": outage.contract_id,
        "started_at": outage.started_at.isoformat(),
        "detected_at": outage.detected_at.isoformat(),
        "ended_at": outage.ended_at.isoformat() if outage.ended_at else None,
        "source": outage.source,
        "rma": outage.rma_number,
    }


def open_outage(
    *,
    session: Session,
    serial: str,
    organization_id: str,
    network_id: str | None,
    product_type: str | None,
    status: str,
    started_at: datetime,
    source: str,
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> Outage:
    """Record an outage with the device's site, customer and contract from the inventory, and
    queue the customer's failure notices for the service's window."""
    device = session.exec(select(Device).where(Device.serial == serial)).first()
    outage = Outage(
        serial=serial,
        device_id=device.id if device else None,
        organization_id=organization_id,
        network_id=network_id,
        product_type=product_type,
        site=device.site if device else None,
        customer=device.customer if device else None,
        contract_id=device.contract_id if device else None,
        status_seen=status,
        source=source,
        started_at=started_at,
        detected_at=now,
    )
    session.add(outage)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="outage.open",
        entity_type="outage",
        entity_id=str(outage.id),
        after=outage_snapshot(outage),
        at=now,
    )
    queue_notices(
        session=session,
        outage=outage,
        calendar=calendar or BusinessCalendar(),
        actor=actor,
        now=now,
    )
    return outage


def close_outage(
    *, session: Session, outage_id: int, ended_at: datetime, actor: Actor, now: datetime
) -> Outage:
    """The device is back: the outage ends when it came back (never before it started)."""
    outage = get_outage(session=session, outage_id=outage_id)
    if outage.ended_at is not None:
        return outage
    before = outage_snapshot(outage)
    outage.ended_at = max(ended_at, outage.started_at)
    audit.record(
        session,
        actor=actor,
        action="outage.close",
        entity_type="outage",
        entity_id=str(outage.id),
        before=before,
        after=outage_snapshot(outage),
        at=now,
    )
    return outage


def get_outage(*, session: Session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise NotFound(f"outage {outage_id} not found", outage=outage_id)
    return outage


def outages_query(*, open_only: bool = False, serial: str | None = None) -> Any:
    """Outages, newest first (`open_only`: the devices still down)."""
    query = select(Outage)
    if open_only:
        query = query.where(col(Outage.ended_at).is_(None))
    if serial:
        query = query.where(Outage.serial == serial.strip().upper())
    return query.order_by(col(Outage.started_at).desc(), col(Outage.id).desc())


def list_outages(
    *,
    session: Session,
    open_only: bool = False,
    serial: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Outage]:
    """Outages, newest first."""
    query = outages_query(open_only=open_only, serial=serial)
    return list(session.exec(query.offset(offset).limit(limit)))


def open_rma_for_outage(
    *, session: Session, outage_id: int, actor: Actor, reporter: str, now: datetime
) -> Outage:
    """One step from an outage to the RMA that fixes it; the two are linked both ways."""
    from rma.service import open_rma

    outage = get_outage(session=session, outage_id=outage_id)
    if outage.rma_number is not None:
        raise Conflict(
            f"outage {outage_id} already has {outage.rma_number}",
            outage=outage_id,
            rma=outage.rma_number,
        )
    before = outage_snapshot(outage)
    rma = open_rma(
        session=session,
        actor=actor,
        serial=outage.serial,
        symptom=f"monitoring: {outage.status_seen} since {outage.started_at.isoformat()} "
        f"(outage {outage_id})",
        reporter=reporter,
        reported_at=outage.detected_at,
        now=now,
    )
    outage.rma_number = rma.number
    audit.record(
        session,
        actor=actor,
        action="outage.rma",
        entity_type="outage",
        entity_id=str(outage.id),
        before=before,
        after=outage_snapshot(outage),
        at=now,
    )
    return outage
