"""Monitoring use cases: poll liveness into outages, list them, open an RMA from one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.audit import Actor
from core.calendar import BusinessCalendar
from monitoring.domain import Debounce, Step, Track, Verdict, observe
from monitoring.models import MonitorPoll, MonitorTrack
from monitoring.outages import (  # re-exported: callers import them from here
    close_outage as close_outage,
)
from monitoring.outages import (
    get_outage as get_outage,
)
from monitoring.outages import (
    list_outages as list_outages,
)
from monitoring.outages import (
    open_outage as open_outage,
)
from monitoring.outages import (
    open_rma_for_outage as open_rma_for_outage,
)
from monitoring.outages import (
    outage_snapshot as outage_snapshot,
)
from monitoring.outages import (
    outages_query as outages_query,
)
from monitoring.ports import (
    Availability,
    AvailabilityChange,
    ChangeHistoryUnavailable,
    MonitoringDashboard,
)

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


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one read of the dashboard saw, before anything is written: the full list, or the
    transitions since the baseline poll (read with no database transaction open)."""

    organization_id: str
    now: datetime
    baseline: datetime | None
    method: str
    availabilities: tuple[Availability, ...] = ()
    changes: tuple[AvailabilityChange, ...] = ()


def last_poll_at(*, session: Session, organization_id: str) -> datetime | None:
    """When the organization was last polled (the change history's baseline), if ever."""
    latest = (
        select(MonitorPoll.polled_at)
        .where(MonitorPoll.organization_id == organization_id)
        .order_by(col(MonitorPoll.polled_at).desc())
        .limit(1)
    )
    return session.exec(latest).first()


def read_liveness(
    *,
    dashboard: MonitoringDashboard,
    organization_id: str,
    baseline: datetime | None,
    now: datetime,
    prefer_change_history: bool = True,
) -> Sighting:
    """Read the organization's liveness (all pages); touches no database.

    The change history is read from a little before the baseline poll; without a baseline (or
    one older than the history keeps) the full list is read.
    """
    if prefer_change_history and baseline is not None and now - baseline < MAX_HISTORY:
        try:
            changes = dashboard.availability_changes(
                organization_id, since=baseline - HISTORY_OVERLAP, until=now
            )
            return Sighting(organization_id, now, baseline, CHANGE_HISTORY, changes=tuple(changes))
        except ChangeHistoryUnavailable:
            pass
    found = dashboard.availabilities(organization_id)
    return Sighting(organization_id, now, baseline, FULL_LIST, availabilities=tuple(found))


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
    the SDK gave up on) records nothing, least of all a false outage. Callers that must not
    hold a transaction across the dashboard calls use `last_poll_at`, `read_liveness` and
    `record_poll` themselves (the API and the job do).
    """
    baseline = last_poll_at(session=session, organization_id=organization_id)
    if baseline is not None and now <= baseline:  # this tick, or an older one, again
        return PollReport(organization_id, now, FULL_LIST, 0, repeated=True)
    sighting = read_liveness(
        dashboard=dashboard,
        organization_id=organization_id,
        baseline=baseline,
        now=now,
        prefer_change_history=prefer_change_history,
    )
    return record_poll(
        session=session, sighting=sighting, actor=actor, debounce=debounce, calendar=calendar
    )


def record_poll(
    *,
    session: Session,
    sighting: Sighting,
    actor: Actor,
    debounce: Debounce,
    calendar: BusinessCalendar | None = None,
) -> PollReport:
    """Write what a read saw: tracks, outages opened and closed, the poll row.

    Checked again here, inside the write: a poll that another one overtook meanwhile (the same
    tick, or a later one) records nothing. The change history is applied to the tracks as they
    are now, so a poll recorded in between is never undone.
    """
    organization_id, now = sighting.organization_id, sighting.now
    latest = last_poll_at(session=session, organization_id=organization_id)
    if latest is not None and now <= latest:
        return PollReport(organization_id, now, sighting.method, 0, repeated=True)
    rows = {
        r.serial: r
        for r in session.exec(
            select(MonitorTrack).where(MonitorTrack.organization_id == organization_id)
        )
    }
    method = sighting.method
    if method == CHANGE_HISTORY:
        seen = _from_history(rows, sighting.changes)
    else:
        seen = {
            a.serial: _Seen(a.status, None, a.network_id, a.product_type)
            for a in sighting.availabilities
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
                session=session,
                outage_id=row.outage_id,
                ended_at=step.at,
                actor=actor,
                now=now,
                calendar=calendar,
            )
            report.closed.append(row.outage_id)
        row.outage_id = None
