"""The journal: a job, its numbered steps and every move of a step, persisted in one place.

A step moves only as `domain.STEP_TRANSITIONS` allows (`advance_step`), a job only as
`domain.JOB_TRANSITIONS` does (`advance_job`); each step move sets its
timestamps, is committed before the next request goes out, and calls the hooks. A job alone
and a rollout's shared batches journal through the same `Journal`, so an interrupted job reads
the same way whichever path ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import DomainError
from inventory import holds
from provisioning import units
from provisioning.domain import (
    JobKind,
    JobStatus,
    StepStatus,
    advance_job,
    advance_step,
    job_outcome,
)
from provisioning.models import JobStep, ProvisioningJob, ResourceSnapshot
from provisioning.plan import SitePlan, change_rows
from provisioning.snapshot import snapshot_values

VERIFY = "verify"
"""The action of a job's last step: read back and compare."""
Clock = Callable[[], datetime]


@dataclass
class ApplyHooks:
    """Test and UI hooks: after a request was sent (not yet journalled), after a step is done."""

    after_submit: Callable[[JobStep], None] | None = None
    after_step: Callable[[JobStep], None] | None = None
    after_create: Callable[[ProvisioningJob], None] | None = None
    """The job and its journal are committed, nothing is sent yet (a page follows it from here)."""


def describe(ops: list[dict[str, Any]], batch: bool) -> str:
    """A step's action as the journal lists it."""
    if batch:
        return f"action batch ({len(ops)} actions)"
    op = ops[0]
    return f"{op['action']} {op['key']}"


def _step_values(job_id: int, plan: SitePlan) -> list[dict[str, Any]]:
    """The job's journal rows (every step pending, then verify) as column values."""
    rows: list[dict[str, Any]] = []
    blank = {"request_id": None, "answer": None, "error": None}
    times = {"started_at": None, "finished_at": None}
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
                **blank,
                **times,
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
                **blank,
                **times,
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
    few statements for all of them (the jobs, their steps, their snapshots): a rollout journals
    hundreds of jobs before its first request. Returns their ids, in the plans' order.
    `estimate` goes into each job's estimate as "rollout" (what GET /rollouts/{id} shows).
    The units are looked up once; only jobs claiming units the inventory knows hold them (one
    conditional update each)."""
    whole = {"rollout": dict(estimate)}
    rows = [
        _job_values(plan, actor, now, JobKind.APPLY, dict(plan.desired), None, None, rollout, whole)
        for plan in plans
    ]
    if not rows:
        return []
    stmt = insert(ProvisioningJob).returning(
        col(ProvisioningJob.id), sort_by_parameter_order=True
    )  # one INSERT … RETURNING for all (SQLAlchemy's insertmanyvalues), ids in the rows' order
    ids = [int(job_id) for job_id in session.execute(stmt, rows).scalars()]
    steps: list[dict[str, Any]] = []
    snapshot: list[dict[str, Any]] = []
    claims: dict[int, list[str]] = {}
    for job_id, row, plan in zip(ids, rows, plans, strict=True):
        mine = _step_values(job_id, plan)
        steps += mine
        snapshot += [{**value, "job_id": job_id} for value in snapshot_values(plan)]
        claims[job_id] = [s for step in mine for s in units.serials_claimed(step["operations"])]
        _audit_created(session, {**row, "id": job_id}, plan, actor)
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
        after={
            "network": plan.network_name,
            "organization": plan.organization_id,
            "changes": len(plan.changes),
            "steps": len(plan.steps),
            "rollback_of": values["rollback_of"],
            "rollout": values["rollout"],
        },
        at=values["created_at"],
    )


def steps_of(*, session: Session, job_id: int) -> list[JobStep]:
    """A job's journal, in order."""
    stmt = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.number))
    return list(session.exec(stmt))


def snapshot_of(*, session: Session, job_id: int) -> list[ResourceSnapshot]:
    stmt = select(ResourceSnapshot).where(ResourceSnapshot.job_id == job_id)
    return list(session.exec(stmt).all())


class Journal:
    """Moves steps through the transition table and commits each move (one session, one clock)."""

    def __init__(
        self,
        session: Session,
        clock: Clock,
        hooks: ApplyHooks | None = None,
        actor: Actor | None = None,
    ) -> None:
        self.session, self.clock, self.hooks = session, clock, hooks or ApplyHooks()
        self.actor = actor

    def commit(self, *rows: Any) -> None:
        for row in rows:
            self.session.add(row)
        self.session.commit()

    def start_job(self, job: ProvisioningJob, steps: Sequence[JobStep] = ()) -> None:
        """The job runs: committed with its holds of the units its unfinished claims name (a
        resumed job takes its own back; a unit another job holds is a Conflict, nothing sent)."""
        self._start(job, steps)
        self.commit(job)

    def start_jobs(
        self, jobs: Sequence[tuple[ProvisioningJob, Sequence[JobStep]]]
    ) -> dict[int, DomainError]:
        """Many jobs started as `start_job` starts one, in one transaction (a rollout's
        organization: one commit, not one per job). When a unit another job holds refuses one
        of them, nothing of that transaction is kept and each job starts alone, so only the
        refused ones stay unstarted; returns their refusals by position."""
        claimed = {job.id: self._unfinished_claims(job, steps) for job, steps in jobs}
        known = holds.in_inventory(
            session=self.session, serials=(s for serials in claimed.values() for s in serials)
        )
        try:
            for job, steps in jobs:
                self._start(job, steps, [s for s in claimed[job.id] if s in known])
                self.session.add(job)
            self.session.commit()
            return {}
        except DomainError:
            self.session.rollback()
        refused: dict[int, DomainError] = {}
        for index, (job, steps) in enumerate(jobs):
            try:
                self.start_job(job, steps)
            except DomainError as exc:
                refused[index] = exc
        return refused

    @staticmethod
    def _unfinished_claims(job: ProvisioningJob, steps: Sequence[JobStep]) -> list[str]:
        if job.kind != JobKind.APPLY or job.id is None:
            return []
        return [
            s for step in steps if step.status != StepStatus.DONE
            for s in units.claimed_serials(step)
        ]  # fmt: skip

    def _start(
        self, job: ProvisioningJob, steps: Sequence[JobStep], serials: list[str] | None = None
    ) -> None:
        """`serials`: the units to hold when the caller looked them up (None: every unit the
        unfinished steps claim)."""
        if serials is None:
            serials = self._unfinished_claims(job, steps)
        if serials and job.id is not None:
            try:
                holds.hold_units(
                    session=self.session, actor=self._actor(job), serials=serials,
                    job_id=job.id, now=self.clock(),
                )  # fmt: skip
            except DomainError:
                self.session.rollback()
                raise
        job.status, job.error = str(advance_job(job.status, JobStatus.RUNNING)), None

    def _actor(self, job: ProvisioningJob) -> Actor:
        return self.actor or Actor(name=job.created_by, role="provisioning")

    def release(self, job: ProvisioningJob, reason: str, held: Sequence[str] | None = None) -> None:
        """The units the job still holds are free again (in the caller's transaction).
        `held`: the units it holds, when the caller looked them up (`holds.held_by_jobs`)."""
        if job.id is not None:
            holds.release_units(
                session=self.session, actor=self._actor(job), job_id=job.id,
                now=self.clock(), reason=reason, serials=held,
            )  # fmt: skip

    def begin(self, steps: Sequence[JobStep]) -> None:
        """The steps are about to be sent: running, committed before any request goes out."""
        now = self.clock()
        for step in steps:
            step.status = str(advance_step(step.status, StepStatus.RUNNING))
            step.started_at, step.error = now, None
        self.commit(*steps)

    def sent(self, steps: Sequence[JobStep], request_id: str | None = None) -> None:
        """The request went out: its id (when it has one) is committed, then the hooks run."""
        if request_id is not None:
            for step in steps:
                step.request_id = request_id
            self.commit(*steps)
        for step in steps:
            if self.hooks.after_submit:
                self.hooks.after_submit(step)

    def done(self, steps: Sequence[JobStep], *rows: Any, defer: bool = False) -> None:
        """The steps finished (with any other rows their outcome changed), then the hooks run.

        Units a step claimed are deployed, and units a rollback step removed are put back, in
        the same transaction (`provisioning.units`); if the inventory refuses, nothing of it is
        committed and the step stays as it was.

        With `defer` (and no `after_step` hook to tell) the move is left to the session's next
        commit: the next step's `begin`, which must be committed before its request goes out
        anyway, or the caller's. A crash before it finds the step `running`, exactly as a crash
        between its request and this commit would: a resume sends a direct write again, looks
        a batch up by its journalled id, reads a verification again. One commit per step, not
        two, for a job's run of direct writes.
        """
        now = self.clock()
        try:
            self.move_units(steps, now)
        except DomainError:
            self.session.rollback()
            raise
        for step in steps:
            step.status = str(advance_step(step.status, StepStatus.DONE))
            step.finished_at = now
        if defer and not self.hooks.after_step:
            for row in (*steps, *rows):
                self.session.add(row)
            return
        self.commit(*steps, *rows)
        for step in steps:
            if self.hooks.after_step:
                self.hooks.after_step(step)

    def move_units(self, steps: Sequence[JobStep], now: datetime) -> None:
        """The inventory side of finished steps: claims deploy, a rollback's removals undo."""
        by_job: dict[int, list[JobStep]] = {}
        for step in steps:
            by_job.setdefault(step.job_id, []).append(step)
        for job_id, own in by_job.items():
            job = self.session.get(ProvisioningJob, job_id)
            if job is None:
                continue
            actor = self._actor(job)
            if job.kind == JobKind.ROLLBACK:
                units.undeploy_removed(
                    session=self.session, actor=actor, job=job, steps=own, now=now
                )
            else:
                units.deploy_claimed(session=self.session, actor=actor, job=job, steps=own, now=now)

    def again(self, steps: Sequence[JobStep]) -> None:
        """A shared batch failed as a whole: its steps are to be sent again, one site at a time."""
        for step in steps:
            step.status = str(advance_step(step.status, StepStatus.PENDING))
            step.request_id = None
        self.commit(*steps)

    def fail(self, job: ProvisioningJob, steps: Sequence[JobStep], message: str) -> None:
        """The job failed: its running step (if any) with it, both committed."""
        failed = next((s for s in steps if s.status == StepStatus.RUNNING), None)
        if failed is not None:
            failed.status = str(advance_step(failed.status, StepStatus.FAILED))
            failed.error, failed.finished_at = message[:2000], self.clock()
            self.session.add(failed)
        job.status = str(advance_job(job.status, JobStatus.FAILED))
        job.error = message[:2000]
        self.release(job, f"job {job.id} failed")
        self.commit(job)

    def finish_job(
        self,
        job: ProvisioningJob,
        steps: Sequence[JobStep],
        *,
        actor: Actor,
        calls: Mapping[str, int],
        seconds: float,
        shared: Mapping[str, Any] | None = None,
        commit: bool = True,
        held: Sequence[str] | None = None,
    ) -> ProvisioningJob:
        """The job's outcome from its steps and verification, what it cost, audited, committed
        (or left to the caller's commit: a rollout ends an organization's jobs in one, having
        looked up the units they still hold at once: `held`, None to look them up here).

        A resumed job adds this run's calls and seconds to what the earlier runs recorded.
        """
        if job.status != JobStatus.FAILED:
            outcome = job_outcome(
                verify_differs=bool(job.verify_diff),
                all_steps_done=all(s.status == StepStatus.DONE for s in steps),
            )
            job.status = str(advance_job(job.status, outcome))
        previous = dict(job.result or {})
        job.result = {
            **{k: v + int(previous.get(k, 0)) for k, v in calls.items()},
            "plan_reads": int(job.estimate.get("reads", 0)),
            "batches": sum(1 for s in steps if s.batch),
            "direct": sum(1 for s in steps if not s.batch and s.action != VERIFY),
            "duration_s": round(seconds + float(previous.get("duration_s", 0)), 3),
            "failures_surfaced": 1 if job.status == JobStatus.FAILED else 0,
        }
        if shared is not None:
            job.result["shared"] = dict(shared)
        job.finished_at = self.clock()
        self.release(job, f"job {job.id} ended {job.status}", held)
        verb = "rolled_back" if job.kind == JobKind.ROLLBACK else "applied"
        audit.record(
            self.session,
            actor=actor,
            action=f"provisioning.job_{verb}",
            entity_type="provisioning_job",
            entity_id=str(job.id),
            after={"status": job.status, "result": job.result, "error": job.error},
            outcome="ok" if job.status == JobStatus.DONE else str(job.status),
            at=job.finished_at,
        )
        if commit:
            self.commit(job)
        else:
            self.session.add(job)
        return job
