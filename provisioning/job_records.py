"""A job's records as they are first written: the job row, its journal (every step pending,
then verify), the snapshot of what it changes, the creation audited and its units held — one job
at a time (`create_job`) or a rollout's jobs in a few statements (`create_jobs`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.models import AuditEntry
from inventory import holds
from provisioning import units
from provisioning.domain import JobKind, JobStatus, StepStatus
from provisioning.models import JobStep, ProvisioningJob, ResourceSnapshot
from provisioning.plan import SitePlan, change_rows
from provisioning.snapshot import snapshot_values

VERIFY = "verify"
"""The action of a job's last step: read back and compare."""


def describe(ops: list[dict[str, Any]], batch: bool) -> str:
    """A step's action as the journal lists it."""
    if batch:
        return f"action batch ({len(ops)} actions)"
    op = ops[0]
    return f"{op['action']} {op['key']}"


def _step_values(job_id: int, plan: SitePlan) -> list[dict[str, Any]]:
    """The job's journal rows (every step pending, then verify) as column values: those a
    pending step has (its request id, answer, error and times are NULL until it moves, left
    out: a rollout inserts thousands of steps, each column a parameter to bind)."""
    rows: list[dict[str, Any]] = []
    for number, step in enumerate(plan.steps, start=1):
        ops = [
            {"key": o.key, "action": o.action, **o.as_action(), "batchable": o.batchable}
            for o in step.operations
        ]
        rows.append(
            {
                "job_id": job_id,
                "number": number,
                "action": describe(ops, step.batch),
                "resources": step.resources,
                "batch": step.batch,
                "synchronous": step.synchronous,
                "operations": ops,
                "status": str(StepStatus.PENDING),
            }
        )
    if plan.steps:
        rows.append(
            {
                "job_id": job_id,
                "number": len(plan.steps) + 1,
                "action": VERIFY,
                "resources": sorted({c.key for c in plan.changes}),
                "batch": False,
                "synchronous": True,
                "operations": [],
                "status": str(StepStatus.PENDING),
            }
        )
    return rows


def create_job(
    *,
    session: Session,
    plan: SitePlan,
    actor: Actor,
    now: datetime,
    kind: JobKind = JobKind.APPLY,
    rollback_of: int | None = None,
    not_restorable: list[str] | None = None,
    expect_absent: list[str] | None = None,
    rollout: str | None = None,
    commit: bool = True,
) -> ProvisioningJob:
    """The job, its journal (every step pending, then verify) and the snapshot, committed."""
    desired: dict[str, Any] = dict(plan.desired)
    for key in expect_absent or []:
        desired[key] = None
    values = _job_values(plan, actor, now, kind, desired, rollback_of, not_restorable, rollout, {})
    job = ProvisioningJob(**values)
    session.add(job)
    session.flush()
    assert job.id is not None
    # The journal and the snapshot as plain rows (one INSERT each, no ORM objects)
    steps = _step_values(job.id, plan)
    if steps:  # an empty list would insert one row of defaults
        session.execute(insert(JobStep), steps)
    if kind is JobKind.APPLY:
        snapshot = [{**row, "job_id": job.id} for row in snapshot_values(plan)]
        if snapshot:
            session.execute(insert(ResourceSnapshot), snapshot)
    _audit_created(session, {**values, "id": job.id}, plan, actor)
    if kind is JobKind.APPLY:  # the units it claims are held before anything is sent
        serials = [s for step in steps for s in units.serials_claimed(step["operations"])]
        holds.hold_units(session=session, actor=actor, serials=serials, job_id=job.id, now=now)
    elif rollback_of is not None:  # the apply's claims end here, whatever it left
        holds.release_units(
            session=session, actor=actor, job_id=rollback_of, now=now,
            reason=f"rollback job {job.id} created",
        )  # fmt: skip
    if commit:
        session.commit()
    return job


JOURNAL_CHUNK = 500
"""Jobs whose rows `create_jobs` builds and inserts at a time (all in the caller's transaction):
the rows of a rollout of thousands of sites are never all in memory at once."""


def create_jobs(
    *,
    session: Session,
    plans: Sequence[SitePlan],
    actor: Actor,
    now: datetime,
    rollout: str,
    estimate: Mapping[str, Any],
) -> list[int]:
    """A rollout's apply jobs as `create_job` makes one, in the caller's transaction, but in a
    few statements for all of them (the jobs, their steps, their snapshots; `JOURNAL_CHUNK`
    jobs a statement): a rollout journals hundreds of jobs before its first request. Returns
    their ids, in the plans' order. `estimate` goes into each job's estimate as "rollout"
    (what GET /rollouts/{id} shows). The units are looked up once a chunk; only jobs claiming
    units the inventory knows hold them (one conditional update each)."""
    ids: list[int] = []
    for start in range(0, len(plans), JOURNAL_CHUNK):
        chunk = plans[start : start + JOURNAL_CHUNK]
        ids += _create_chunk(session, chunk, actor, now, rollout, {"rollout": dict(estimate)})
    return ids


def _create_chunk(
    session: Session,
    plans: Sequence[SitePlan],
    actor: Actor,
    now: datetime,
    rollout: str,
    whole: Mapping[str, Any],
) -> list[int]:
    rows = [
        _job_values(plan, actor, now, JobKind.APPLY, dict(plan.desired), None, None, rollout, whole)
        for plan in plans
    ]
    if not rows:
        return []
    ids = _insert_jobs(session, rows, rollout)
    steps: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    snapshot: list[dict[str, Any]] = []
    claims: dict[int, list[str]] = {}
    for job_id, row, plan in zip(ids, rows, plans, strict=True):
        mine = _step_values(job_id, plan)
        steps += mine
        snapshot += [{**value, "job_id": job_id} for value in snapshot_values(plan)]
        claims[job_id] = [s for step in mine for s in units.serials_claimed(step["operations"])]
        audits.append(_created_entry({**row, "id": job_id}, plan, actor))
    session.execute(insert(AuditEntry), audits)  # one statement, not one per job
    if steps:
        session.execute(insert(JobStep), steps)
    if snapshot:
        session.execute(insert(ResourceSnapshot), snapshot)
    known = holds.in_inventory(session=session, serials=(s for c in claims.values() for s in c))
    for job_id, serials in claims.items():
        held = [s for s in serials if s in known]
        if held:
            holds.hold_units(session=session, actor=actor, serials=held, job_id=job_id, now=now)
    return ids


def _insert_jobs(session: Session, rows: list[dict[str, Any]], rollout: str) -> list[int]:
    """The jobs inserted, their ids in the rows' order. SQLite cannot return ids in parameter
    order from one statement (SQLAlchemy then sends one INSERT per row), so the rows go in one
    statement and their ids are read back by network, which a rollout names once per
    organization (`plan_rollout`); were a network named twice, one INSERT … RETURNING per row."""
    keys = [(str(r["organization_id"]), str(r["network_name"])) for r in rows]
    if len(set(keys)) != len(keys):
        stmt = insert(ProvisioningJob).returning(
            col(ProvisioningJob.id), sort_by_parameter_order=True
        )
        return [int(job_id) for job_id in session.execute(stmt, rows).scalars()]
    session.execute(insert(ProvisioningJob), rows)
    names = sorted({name for _, name in keys})
    found = session.exec(
        select(ProvisioningJob.id, ProvisioningJob.organization_id, ProvisioningJob.network_name)
        .where(ProvisioningJob.rollout == rollout)
        .where(col(ProvisioningJob.network_name).in_(names))
    )
    by_key = {(org, name): job_id for job_id, org, name in found if job_id is not None}
    return [by_key[key] for key in keys]


def _job_values(
    plan: SitePlan,
    actor: Actor,
    now: datetime,
    kind: JobKind,
    desired: dict[str, Any],
    rollback_of: int | None,
    not_restorable: list[str] | None,
    rollout: str | None,
    estimate: Mapping[str, Any],
) -> dict[str, Any]:
    """A new job's column values (a rollout inserts many at once)."""
    return dict(
        kind=str(kind),
        status=str(JobStatus.PENDING),
        organization_id=plan.organization_id,
        network_id=plan.network_id,
        network_name=plan.network_name,
        site_plan=plan.site_plan,
        sheet_kind=plan.sheet_kind,
        sheet_digest=plan.digest,
        rollback_of=rollback_of,
        rollout=rollout,
        prune=plan.prune,
        sections=sorted(plan.sections),
        desired=desired,
        changes=change_rows(plan.changes),
        estimate={**asdict(plan.estimate), "calls": plan.estimate.calls, **estimate},
        not_restorable=list(not_restorable or []),
        created_by=actor.name,
        created_at=now,
        result={},  # given, not defaulted: pydantic inspects a default factory on every call
        verify_diff=[],
        error=None,
        finished_at=None,
    )


def _created_after(values: Mapping[str, Any], plan: SitePlan) -> dict[str, Any]:
    return {
        "network": plan.network_name,
        "organization": plan.organization_id,
        "changes": len(plan.changes),
        "steps": len(plan.steps),
        "rollback_of": values["rollback_of"],
        "rollout": values["rollout"],
    }


def _audit_created(
    session: Session, values: Mapping[str, Any], plan: SitePlan, actor: Actor
) -> None:
    """The job's creation audited from its column values (and its id)."""
    audit.record(
        session,
        actor=actor,
        action=f"provisioning.{values['kind']}_created",
        entity_type="provisioning_job",
        entity_id=str(values["id"]),
        after=_created_after(values, plan),
        at=values["created_at"],
    )


def _created_entry(values: Mapping[str, Any], plan: SitePlan, actor: Actor) -> dict[str, Any]:
    """The audit entry `_audit_created` adds, as column values (a rollout inserts them at once)."""
    return audit.entry_values(
        actor=actor,
        action=f"provisioning.{values['kind']}_created",
        entity_type="provisioning_job",
        entity_id=str(values["id"]),
        after=_created_after(values, plan),
        at=values["created_at"],
    )


def steps_of(*, session: Session, job_id: int) -> list[JobStep]:
    """A job's journal, in order."""
    stmt = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.number))
    return list(session.exec(stmt))


def snapshot_of(*, session: Session, job_id: int) -> list[ResourceSnapshot]:
    stmt = select(ResourceSnapshot).where(ResourceSnapshot.job_id == job_id)
    return list(session.exec(stmt).all())
