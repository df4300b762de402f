"""An outage's life: opened (notices queued, the SLA's record started), closed (recovery
notices queued, the SLA's record ended), and the RMA opened from it (its incidents follow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import Conflict, NotFound
from helpdesk.models import Incident
from inventory.models import Device
from monitoring.models import Outage
from monitoring.notices import RECOVERY, queue_notices
from sla.domain import OutageCause
from sla.models import SlaOutage

DEVICE, VPN = "device", "vpn"
SLA_SOURCE = "monitoring"
"""`sla_outage.source` of the records monitoring writes; `source_ref` is the outage's id."""


def outage_snapshot(outage: Outage) -> dict[str, Any]:
    return {
        "serial": outage.serial,
        "kind": outage.kind,
        "vpn_peer": outage.vpn_peer or None,
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
    kind: str = DEVICE,
    vpn_peer: str = "",
) -> Outage:
    """Record an outage with the device's site, customer and contract from the inventory,
    queue the customer's failure notices for the service's window, and (a device outage under
    a contract) start the SLA record its credit is computed from."""
    device = session.exec(select(Device).where(Device.serial == serial)).first()
    outage = Outage(
        serial=serial,
        kind=kind,
        vpn_peer=vpn_peer,
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
    sla_record(session=session, outage=outage, actor=actor, now=now)
    return outage


def close_outage(
    *,
    session: Session,
    outage_id: int,
    ended_at: datetime,
    actor: Actor,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> Outage:
    """The device (or the VPN peer) is back: the outage ends when it came back (never before
    it started); the contacts told of the failure are told of the recovery, in the window."""
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
    queue_notices(
        session=session,
        outage=outage,
        calendar=calendar or BusinessCalendar(),
        actor=actor,
        now=now,
        kind=RECOVERY,
    )
    sla_record(session=session, outage=outage, actor=actor, now=now)
    return outage


def sla_record(
    *, session: Session, outage: Outage, actor: Actor, now: datetime
) -> SlaOutage | None:
    """The SLA outage of a device outage under a contract, created or ended to match it.

    It counts from when the provider learned of it (`detected_at`) and ends when the device
    returned; the cause is the provider's until someone says otherwise (`netkeep sla`). Written
    once per outage (`source`, `source_ref` are unique), so repeated polls never add a second.
    """
    if outage.kind != DEVICE or outage.contract_id is None or outage.id is None:
        return None
    ref = str(outage.id)
    row = session.exec(
        select(SlaOutage).where(SlaOutage.source == SLA_SOURCE, SlaOutage.source_ref == ref)
    ).first()
    if row is None:
        row = SlaOutage(
            contract_id=outage.contract_id,
            started_at=outage.started_at,
            learned_at=outage.detected_at,
            ended_at=outage.ended_at,
            cause=OutageCause.PROVIDER.value,
            source=SLA_SOURCE,
            source_ref=ref,
            note=f"monitoring outage {outage.id}: {outage.serial} {outage.site or ''}".strip(),
            created_at=now,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="sla.outage",
            entity_type="sla_outage",
            entity_id=str(row.id),
            after={
                "contract_id": outage.contract_id,
                "outage": outage.id,
                "started_at": row.started_at,
                "learned_at": row.learned_at,
                "ended_at": row.ended_at,
                "cause": row.cause,
            },
            at=now,
        )
        return row
    if outage.ended_at is not None and row.ended_at is None:
        row.ended_at = outage.ended_at
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="sla.outage_end",
            entity_type="sla_outage",
            entity_id=str(row.id),
            before={"ended_at": None},
            after={"ended_at": row.ended_at, "outage": outage.id},
            at=now,
        )
    return row


def get_outage(*, session: Session, outage_id: int) -> Outage:
    outage = session.get(Outage, outage_id)
    if outage is None:
        raise NotFound(f"outage {outage_id} not found", outage=outage_id)
    return outage


def open_outage_of(
    *, session: Session, serial: str, kind: str = DEVICE, vpn_peer: str = ""
) -> Outage | None:
    """The device's open outage of this kind (a VPN outage: with this peer), if any."""
    return session.exec(
        select(Outage).where(
            Outage.serial == serial,
            Outage.kind == kind,
            Outage.vpn_peer == vpn_peer,
            col(Outage.ended_at).is_(None),
        )
    ).first()


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
    """One step from an outage to the RMA that fixes it; the two are linked both ways, and the
    helpdesk incidents about the outage name the RMA too."""
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
    incidents = session.exec(
        select(Incident).where(Incident.outage_id == outage.id, col(Incident.rma_number).is_(None))
    ).all()
    for incident in incidents:
        incident.rma_number, incident.updated_at = rma.number, now
        session.add(incident)
        audit.record(
            session,
            actor=actor,
            action="incident.rma",
            entity_type="incident",
            entity_id=incident.number,
            before={"rma_number": None},
            after={"rma_number": rma.number, "outage": outage.id},
            at=now,
        )
    session.flush()
    return outage
