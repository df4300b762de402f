"""Read the facts the invariants need (one pass per table, one dashboard read) and check them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import DashboardError
from core.timeutil import as_utc
from doctor.domain import examine
from doctor.facts import (
    ENDED_RMA,
    Findings,
    HoldingJob,
    Ownership,
    ProvisionedUnit,
    RmaFacts,
    RunFacts,
    UnitFacts,
)
from doctor.ports import DoctorDashboard
from inventory.domain import DeviceStatus, OwnerKind
from inventory.models import Contract, Device, OwnershipEvent
from provisioning.domain import JobKind, JobStatus
from provisioning.models import JobStep, ProvisioningJob
from rma.domain import RmaStatus
from rma.models import Rma

DEFAULT_STUCK_AFTER = timedelta(minutes=60)
_UNFINISHED = (JobStatus.PENDING.value, JobStatus.RUNNING.value)


def unit_facts(*, session: Session, now: datetime) -> list[UnitFacts]:
    """Every unit with its contract and its owner in force now (the ledger read in one pass)."""
    contracts = {c.id: c for c in session.exec(select(Contract))}
    owners: dict[int, Ownership] = {}
    ledger = (
        select(OwnershipEvent)
        .where(col(OwnershipEvent.effective_at) <= now)
        .order_by(
            col(OwnershipEvent.device_id), col(OwnershipEvent.effective_at), col(OwnershipEvent.id)
        )
    )
    for event in session.exec(ledger):
        owners[event.device_id] = Ownership(OwnerKind(event.owner_kind), event.owner_name)
    units = []
    for d in session.exec(select(Device).order_by(col(Device.serial))):
        contract = contracts.get(d.contract_id) if d.contract_id is not None else None
        units.append(
            UnitFacts(
                serial=d.serial,
                status=DeviceStatus(d.status),
                customer=d.customer,
                site=d.site,
                network_id=d.network_id,
                contract=contract.number if contract else None,
                contract_customer=contract.customer if contract else None,
                contract_fee_paid=bool(contract and contract.initial_fee_paid_at is not None),
                acquisition=d.acquisition,
                leasing_company=d.leasing_company,
                owner=owners.get(d.id) if d.id is not None else None,
                held_by=d.held_by,
                held_by_job=d.held_by_job,
            )
        )
    return units


def rma_facts(*, session: Session) -> list[RmaFacts]:
    """The RMAs still under way (closed and remotely resolved ones hold nothing)."""
    ended = [s.value for s in ENDED_RMA]
    stmt = select(Rma).where(col(Rma.status).not_in(ended)).order_by(col(Rma.id))
    return [
        RmaFacts(
            id=r.id or 0,
            number=r.number,
            status=RmaStatus(r.status),
            failed_serial=r.failed_serial,
            customer=r.customer,
            replacement_serial=r.replacement_serial,
            swapped=r.swapped_at is not None,
        )
        for r in session.exec(stmt)
    ]


def ended_rma_facts(*, session: Session, numbers: Iterable[str]) -> dict[str, RmaFacts]:
    """The ended RMAs among `numbers` (the ones units' holds name), by number."""
    ids = {int(n[4:]) for n in numbers if n.startswith("RMA-") and n[4:].isdigit()}
    if not ids:
        return {}
    ended = [s.value for s in ENDED_RMA]
    stmt = select(Rma).where(col(Rma.id).in_(sorted(ids)), col(Rma.status).in_(ended))
    return {
        r.number: RmaFacts(
            id=r.id or 0,
            number=r.number,
            status=RmaStatus(r.status),
            failed_serial=r.failed_serial,
            customer=r.customer,
            replacement_serial=r.replacement_serial,
            swapped=r.swapped_at is not None,
        )
        for r in session.exec(stmt)
    }


def holding_jobs(*, session: Session, job_ids: Iterable[int]) -> dict[int, HoldingJob]:
    """The provisioning jobs among `job_ids` (the ones units' holds name), with whether a
    rollback of each was created."""
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    rolled_back = set(
        session.exec(
            select(ProvisioningJob.rollback_of).where(
                ProvisioningJob.kind == JobKind.ROLLBACK.value,
                col(ProvisioningJob.rollback_of).in_(ids),
            )
        )
    )
    stmt = select(ProvisioningJob.id, ProvisioningJob.status).where(
        col(ProvisioningJob.id).in_(ids)
    )
    return {
        job_id: HoldingJob(job_id, status, job_id in rolled_back)
        for job_id, status in session.exec(stmt)
        if job_id is not None
    }


def run_facts(*, session: Session) -> list[RunFacts]:
    """Pending and running jobs with the last moment anything of theirs moved."""
    jobs = list(
        session.exec(select(ProvisioningJob).where(col(ProvisioningJob.status).in_(_UNFINISHED)))
    )
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    moved: dict[int, datetime] = {}
    stmt = (
        select(
            JobStep.job_id,
            func.max(JobStep.started_at),
            func.max(JobStep.finished_at),
        )
        .where(col(JobStep.job_id).in_(ids))
        .group_by(col(JobStep.job_id))
    )
    for job_id, started, finished in session.exec(stmt):
        stamps = [_utc(t) for t in (started, finished) if t is not None]
        if stamps:
            moved[job_id] = max(stamps)
    facts = []
    for job in jobs:
        assert job.id is not None
        last = max(_utc(job.created_at), moved.get(job.id, _utc(job.created_at)))
        facts.append(
            RunFacts(job_id=job.id, status=job.status, last_activity=last, rollout=job.rollout)
        )
    return facts


def _utc(value: Any) -> datetime:
    """Aggregates come back naive on SQLite; the database stores UTC."""
    return as_utc(value) if isinstance(value, datetime) else as_utc(datetime.fromisoformat(value))


def provisioned_units(*, session: Session) -> list[ProvisionedUnit]:
    """Serials the successful applies left in each network, latest job first, rollbacks undone.

    A settings sheet that lists the devices section is the whole truth for its network: serials
    an earlier job put there and this one leaves out were pruned.
    """
    rolled_back = set(
        session.exec(
            select(ProvisioningJob.rollback_of).where(
                ProvisioningJob.kind == JobKind.ROLLBACK.value,
                ProvisioningJob.status == JobStatus.DONE.value,
            )
        )
    )
    stmt = (
        select(ProvisioningJob)
        .where(
            ProvisioningJob.kind == JobKind.APPLY.value,
            ProvisioningJob.status == JobStatus.DONE.value,
            col(ProvisioningJob.network_id).is_not(None),
        )
        .order_by(col(ProvisioningJob.id))
    )
    placed: dict[str, ProvisionedUnit] = {}
    for job in session.exec(stmt):
        if job.id in rolled_back or job.id is None or job.network_id is None:
            continue
        serials = {k.split("/")[1] for k in job.desired if k.count("/") == 1 and k[:7] == "device/"}
        if job.sheet_kind == "settings" and "device" in (job.sections or []):
            for serial, unit in list(placed.items()):
                if unit.network_id == job.network_id and serial not in serials:
                    del placed[serial]
        for serial in serials:
            placed[serial] = ProvisionedUnit(serial, job.network_id, job.id)
    return [placed[s] for s in sorted(placed)]


def check(
    *,
    session: Session,
    dashboard: DoctorDashboard | None,
    organization_id: str,
    now: datetime,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> Findings:
    """Every invariant; the dashboard is read once (its inventory), or skipped when None."""
    on_dashboard: dict[str, str | None] | None = None
    error = None
    if dashboard is not None:
        try:
            items = dashboard.list_inventory(organization_id)
        except DashboardError as exc:
            error = exc.message
        else:
            on_dashboard = {i.serial.upper(): i.network_id for i in items}
    units = unit_facts(session=session, now=now)
    violations = examine(
        units=units,
        rmas=rma_facts(session=session),
        ended_rmas=ended_rma_facts(
            session=session, numbers={u.held_by for u in units if u.held_by}
        ),
        holding_jobs=holding_jobs(
            session=session, job_ids={u.held_by_job for u in units if u.held_by_job is not None}
        ),
        runs=run_facts(session=session),
        provisioned=provisioned_units(session=session),
        on_dashboard=on_dashboard,
        now=now,
        stuck_after=stuck_after,
    )
    return Findings(
        violations=violations,
        dashboard_checked=on_dashboard is not None,
        dashboard_error=error,
    )
