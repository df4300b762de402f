"""Monitoring use cases: poll liveness into outages, list them, open an RMA from one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import Conflict, NotFound
from inventory.models import Device
from monitoring.domain import Debounce, Step, Track, Verdict, observe
from monitoring.models import MonitorPoll, MonitorTrack, Outage
from monitoring.notices import queue_notices
from monitoring.ports import AvailabilityChange, ChangeHistoryUnavailable, MonitoringDashboard

FULL_LIST = "availabilities"
CHANGE_HISTORY = "change_history"
MAX_HISTORY = timedelta(days=31)
"""The change history looks back 31 days at most; an older baseline polls the full list."""
HISTORY_OVERLAP = timedelta(minutes=5)
"""Each change-history read starts this long before the last poll, so a transition the
dashboard stamped a little late (clock skew, ingestion delay) is never missed; reading one
twice changes nothing, since only the device's latest status counts."""


@dataclass
class PollReport:
    """What one poll of an organization did."""

    organization_id: str
    polled_at: datetime
    method: str
    devices: int = 0
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class _Seen:
    status: str
    changed_at: datetime | None
    network_id: str | None
    product_type: str | None


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


def _as_track(row: MonitorTrack | None) -> Track | None:
    if row is None:
        return None
    return Track(
        status=row.status,
        down_since=row.down_since,
        down_polls=row.down_polls,
        outage_open=row.outage_id is not None,
        last_polled_at=row.last_polled_at,
    )


def _from_history(
    tracks: dict[str, MonitorTrack], changes: Sequence[AvailabilityChange]
) -> dict[str, _Seen]:
    """Each tracked device's status now: its last transition, else what the last poll saw."""
    seen = {
        serial: _Seen(row.status, None, row.network_id, row.product_type)
        for serial, row in tracks.items()
    }
    for change in changes:  # oldest first: the last one wins
        before = seen.get(change.serial)
        seen[change.serial] = _Seen(
            change.new_status,
            change.at,
            change.network_id or (before.network_id if before else None),
            change.product_type or (before.product_type if before else None),
        )
    return seen


def poll(
    *,
    session: Session,
    dashboard: MonitoringDashboard,
    organization_id: str,
    actor: Actor,
    now: datetime,
    debounce: Debounce,
    prefer_change_history: bool = True,
    calendar: BusinessCalendar | None = None,
) -> PollReport:
    """Read the organization's liveness once and record outages opened and closed.

    Idempotent: a poll at a moment already polled (or before it) changes nothing. The
    dashboard is read in full before anything is written, so a failed read (a 429/5xx storm
    the SDK gave up on) records nothing, least of all a false outage.
    """
    latest = (
        select(MonitorPoll)
        .where(MonitorPoll.organization_id == organization_id)
        .order_by(col(MonitorPoll.polled_at).desc())
        .limit(1)
    )
    earlier = session.exec(latest).first()
    if earlier is not None and now <= earlier.polled_at:  # this tick, or an older one, again
        return PollReport(organization_id, now, earlier.method, 0, repeated=True)
    last = earlier.polled_at if earlier is not None else None
    rows = {
        r.serial: r
        for r in session.exec(
            select(MonitorTrack).where(MonitorTrack.organization_id == organization_id)
        )
    }
    seen: dict[str, _Seen] | None = None
    method = FULL_LIST
    if prefer_change_history and last is not None and now - last < MAX_HISTORY:
        try:
            changes = dashboard.availability_changes(
                organization_id, since=last - HISTORY_OVERLAP, until=now
            )
            seen, method = _from_history(rows, changes), CHANGE_HISTORY
        except ChangeHistoryUnavailable:
            seen = None
    if seen is None:
        seen = {
            a.serial: _Seen(a.status, None, a.network_id, a.product_type)
            for a in dashboard.availabilities(organization_id)
        }
    report = PollReport(organization_id, now, method, devices=len(seen))
    for serial, sight in sorted(seen.items()):
        row = rows.get(serial)
        step = observe(
            _as_track(row),
            status=sight.status,
            changed_at=sight.changed_at,
            now=now,
            debounce=debounce,
        )
        if step.verdict == Verdict.REPEATED:
            continue
        if row is None:
            row = MonitorTrack(serial=serial, organization_id=organization_id, status=sight.status)
            session.add(row)
        if sight.network_id and sight.network_id != row.network_id:
            row.network_id = sight.network_id
        if sight.product_type and sight.product_type != row.product_type:
            row.product_type = sight.product_type
        _apply(
            session=session,
            row=row,
            step=step,
            method=method,
            actor=actor,
            now=now,
            report=report,
            calendar=calendar or BusinessCalendar(),
        )
    session.add(
        MonitorPoll(
            organization_id=organization_id,
            polled_at=now,
            method=method,
            devices=report.devices,
            opened=len(report.opened),
            closed=len(report.closed),
        )
    )
    session.flush()
    return report


def _apply(
    *,
    session: Session,
    row: MonitorTrack,
    step: Step,
    method: str,
    actor: Actor,
    now: datetime,
    report: PollReport,
    calendar: BusinessCalendar,
) -> None:
    changed = (row.status, row.down_since, row.down_polls) != (
        step.track.status,
        step.track.down_since,
        step.track.down_polls,
    )
    if changed or row.id is None:  # an unchanged device costs no write (the poll row dates it)
        row.status = step.track.status
        row.down_since = step.track.down_since
        row.down_polls = step.track.down_polls
        row.last_polled_at = step.track.last_polled_at
    if step.verdict == Verdict.OPEN:
        assert step.at is not None
        outage = open_outage(
            session=session,
            serial=row.serial,
            organization_id=row.organization_id,
            network_id=row.network_id,
            product_type=row.product_type,
            status=row.status,
            started_at=step.at,
            source=method,
            actor=actor,
            now=now,
            calendar=calendar,
        )
        row.outage_id = outage.id
        assert outage.id is not None
        report.opened.append(outage.id)
    elif step.verdict == Verdict.CLOSE:
        assert step.at is not None
        if row.outage_id is not None:
            close_outage(
                session=session, outage_id=row.outage_id, ended_at=step.at, actor=actor, now=now
            )
            report.closed.append(row.outage_id)
        row.outage_id = None


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
