"""Apply a plan through the journal: a snapshot first, each step committed as it completes, verify.

An interrupted job resumes at its first unfinished step. A step found `running` was maybe sent:
a batch with a recorded id is looked up by that id, one without is looked for among the
organization's batches by its actions; a network creation looks the network up by name first.
Direct writes are idempotent PUTs, so only those are sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import DashboardError, DomainError, NotFound
from provisioning.domain import (
    NETWORK,
    JobKind,
    JobStatus,
    StepStatus,
    diff,
    kind_of,
)
from provisioning.models import JobStep, ProvisioningJob, ResourceSnapshot
from provisioning.plan import SitePlan, change_rows, fingerprinter, read_current, resolve_secrets
from provisioning.ports import ProvisioningDashboard
from provisioning.ratelimit import BATCH_SLOTS
from provisioning.snapshot import snapshot_rows

VERIFY = "verify"
Clock = Callable[[], datetime]
Progress = Callable[[int, int, str], None]


@dataclass
class ApplyHooks:
    """Test and UI hooks: after a request was sent (not yet journalled), after a step is done."""

    after_submit: Callable[[JobStep], None] | None = None
    after_step: Callable[[JobStep], None] | None = None


def _describe(ops: list[dict[str, Any]], batch: bool) -> str:
    if batch:
        return f"action batch ({len(ops)} actions)"
    op = ops[0]
    return f"{op['action']} {op['key']}"


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
) -> ProvisioningJob:
    """The job, its journal (every step pending, then verify) and the snapshot, committed."""
    desired: dict[str, Any] = dict(plan.desired)
    for key in expect_absent or []:
        desired[key] = None
    job = ProvisioningJob(
        kind=str(kind),
        status=str(JobStatus.PENDING),
        organization_id=plan.organization_id,
        network_id=plan.network_id,
        network_name=plan.network_name,
        site_plan=plan.site_plan,
        sheet_kind=plan.sheet_kind,
        sheet_digest=plan.digest,
        rollback_of=rollback_of,
        prune=plan.prune,
        sections=sorted(plan.sections),
        desired=desired,
        changes=change_rows(plan.changes),
        estimate={**asdict(plan.estimate), "calls": plan.estimate.calls},
        not_restorable=list(not_restorable or []),
        created_by=actor.name,
        created_at=now,
    )
    session.add(job)
    session.flush()
    assert job.id is not None
    for number, step in enumerate(plan.steps, start=1):
        ops = [
            {"key": o.key, "action": o.action, **o.as_action(), "batchable": o.batchable}
            for o in step.operations
        ]
        session.add(
            JobStep(
                job_id=job.id,
                number=number,
                action=_describe(ops, step.batch),
                resources=step.resources,
                batch=step.batch,
                synchronous=step.synchronous,
                operations=ops,
                status=str(StepStatus.PENDING),
            )
        )
    if plan.steps:
        session.add(
            JobStep(
                job_id=job.id,
                number=len(plan.steps) + 1,
                action=VERIFY,
                resources=sorted({c.key for c in plan.changes}),
                status=str(StepStatus.PENDING),
            )
        )
    if kind is JobKind.APPLY:
        for row in snapshot_rows(plan):
            row.job_id = job.id
            session.add(row)
    audit.record(
        session,
        actor=actor,
        action=f"provisioning.{kind}_created",
        entity_type="provisioning_job",
        entity_id=str(job.id),
        after={
            "network": plan.network_name,
            "organization": plan.organization_id,
            "changes": len(plan.changes),
            "steps": len(plan.steps),
            "rollback_of": rollback_of,
        },
        at=now,
    )
    session.commit()
    return job


def get_job(*, session: Session, job_id: int) -> ProvisioningJob:
    job = session.get(ProvisioningJob, job_id)
    if job is None:
        raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
    return job


def list_jobs(*, session: Session, limit: int = 50) -> list[ProvisioningJob]:
    stmt = select(ProvisioningJob).order_by(col(ProvisioningJob.id).desc()).limit(limit)
    return list(session.exec(stmt))


def journal(*, session: Session, job_id: int) -> list[JobStep]:
    stmt = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.number))
    return list(session.exec(stmt))


def snapshot_of(*, session: Session, job_id: int) -> list[ResourceSnapshot]:
    stmt = select(ResourceSnapshot).where(ResourceSnapshot.job_id == job_id)
    return list(session.exec(stmt).all())


def _with_network(value: Any, network_id: str | None) -> Any:
    if isinstance(value, str):
        return value.replace("{networkId}", network_id or "{networkId}")
    if isinstance(value, Mapping):
        return {k: _with_network(v, network_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_network(v, network_id) for v in value]
    return value


def _actions(step: JobStep, network_id: str | None, secrets: Mapping[str, str]) -> list[Any]:
    return [
        {
            "resource": _with_network(op["resource"], network_id),
            "operation": op["operation"],
            "body": resolve_secrets(op["body"], secrets),
        }
        for op in step.operations
    ]


def _same_actions(batch: Mapping[str, Any], actions: list[Any]) -> bool:
    listed = [
        (a.get("resource"), a.get("operation"), a.get("body") or {})
        for a in batch.get("actions") or []
    ]
    return listed == [(a["resource"], a["operation"], a["body"]) for a in actions]


class _Runner:
    """Runs one job's pending steps against the dashboard, committing the journal as it goes."""

    def __init__(
        self,
        session: Session,
        dashboard: ProvisioningDashboard,
        job: ProvisioningJob,
        secrets: Mapping[str, str],
        secret_key: bytes,
        clock: Clock,
        poll_seconds: float,
        hooks: ApplyHooks,
        sleep: Callable[[float], None],
    ) -> None:
        self.session, self.dashboard, self.job = session, dashboard, job
        self.secrets, self.secret_key, self.clock = secrets, secret_key, clock
        self.poll_seconds, self.hooks, self.sleep = poll_seconds, hooks, sleep

    def _commit(self, *rows: Any) -> None:
        for row in rows:
            self.session.add(row)
        self.session.commit()

    def run_step(self, step: JobStep) -> None:
        was_running = step.status == StepStatus.RUNNING
        step.status, step.started_at, step.error = str(StepStatus.RUNNING), self.clock(), None
        self._commit(step)
        if step.action == VERIFY:
            self.verify(step)
        elif step.batch:
            self.run_batch(step, was_running)
        else:
            self.run_direct(step, was_running)
        step.status, step.finished_at = str(StepStatus.DONE), self.clock()
        self._commit(step)
        if self.hooks.after_step:
            self.hooks.after_step(step)

    def run_direct(self, step: JobStep, was_running: bool) -> None:
        op = step.operations[0]
        body = resolve_secrets(op["body"], self.secrets)
        if op["key"] == NETWORK and op["action"] == "create":
            found = self.dashboard.find_network(self.job.network_name) if was_running else None
            network = found or self.dashboard.create_network(body)
            self.job.network_id = str(network["id"])
            step.request_id = self.job.network_id
            self._commit(self.job, step)
        else:
            self.dashboard.send_direct(kind_of(op["key"]), str(self.job.network_id), body)
        if self.hooks.after_submit:
            self.hooks.after_submit(step)

    def run_batch(self, step: JobStep, was_running: bool) -> None:
        actions = _actions(step, self.job.network_id, self.secrets)
        batch: dict[str, Any] | None = None
        if step.request_id:
            batch = self.dashboard.get_batch(step.request_id)
        elif was_running:
            batch = next(
                (b for b in self.dashboard.list_batches() if _same_actions(b, actions)), None
            )
        slot = BATCH_SLOTS.slot(self.job.organization_id)
        with slot:
            if batch is None or (batch.get("status") or {}).get("failed"):
                batch = self.dashboard.submit_batch(actions, synchronous=step.synchronous)
                step.request_id = str(batch["id"])
                self._commit(step)
            if self.hooks.after_submit:
                self.hooks.after_submit(step)
            batch = self._wait(batch)
        status = batch.get("status") or {}
        if status.get("failed"):
            errors = "; ".join(str(e) for e in status.get("errors") or []) or "no detail"
            raise DashboardError(
                f"action batch {batch['id']} failed and changed nothing: {errors}",
                operation="createOrganizationActionBatch",
            )

    def _wait(self, batch: dict[str, Any]) -> dict[str, Any]:
        delay, deadline = self.poll_seconds, time.monotonic() + 600
        while not (batch.get("status") or {}).get("completed") and not (
            batch.get("status") or {}
        ).get("failed"):
            if time.monotonic() > deadline:
                raise DashboardError(f"action batch {batch['id']} did not finish in 10 minutes")
            self.sleep(delay)
            delay = min(delay * 1.5, 5.0)
            batch = self.dashboard.get_batch(str(batch["id"]))
        return batch

    def verify(self, step: JobStep) -> None:
        """Read back what the job touched; any remaining difference is verify_failed."""
        job = self.job
        network = self.dashboard.get_network(str(job.network_id))
        present = {k: v for k, v in job.desired.items() if v is not None}
        absent = [k for k, v in job.desired.items() if v is None]
        sections = frozenset(job.sections)
        current, _ = read_current(
            dashboard=self.dashboard,
            network=network,
            sections=sections,
            desired=present,
            fingerprint=fingerprinter(self.secret_key),
        )
        left = diff(present, current, sections=sections, prune=job.prune, network_exists=True)
        rows = change_rows(left)
        rows += [{"resource": k, "action": "delete", "fields": []} for k in absent if k in current]
        job.verify_diff = rows
        self._commit(job)


def run_job(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    secrets: Mapping[str, str],
    secret_key: bytes,
    actor: Actor,
    clock: Clock,
    poll_seconds: float = 0.5,
    hooks: ApplyHooks | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ProvisioningJob:
    """Run (or resume) a job's unfinished steps; finished steps are never sent again."""
    job = get_job(session=session, job_id=job_id)
    steps = journal(session=session, job_id=job_id)
    runner = _Runner(
        session,
        dashboard,
        job,
        secrets,
        secret_key,
        clock,
        poll_seconds,
        hooks or ApplyHooks(),
        sleep,
    )
    before = dashboard.stats.snapshot()
    started = time.monotonic()
    job.status, job.error = str(JobStatus.RUNNING), None
    runner._commit(job)
    total = len(steps)
    try:
        for step in steps:
            if step.status == StepStatus.DONE:
                continue
            if progress:
                progress(step.number - 1, total, step.action)
            runner.run_step(step)
        job.status = str(JobStatus.VERIFY_FAILED if job.verify_diff else JobStatus.DONE)
    except DomainError as exc:
        failed = next((s for s in steps if s.status == StepStatus.RUNNING), None)
        if failed is not None:
            failed.status, failed.error = str(StepStatus.FAILED), exc.message[:2000]
            failed.finished_at = clock()
            session.add(failed)
        job.status, job.error = str(JobStatus.FAILED), exc.message[:2000]
    if progress:
        progress(total, total, "done")
    after = dashboard.stats.snapshot()
    previous = dict(job.result or {})
    delta = {k: after[k] - before[k] + int(previous.get(k, 0)) for k in after}
    job.result = {
        **delta,
        "plan_reads": int(job.estimate.get("reads", 0)),
        "batches": sum(1 for s in steps if s.batch),
        "direct": sum(1 for s in steps if not s.batch and s.action != VERIFY),
        "duration_s": round(time.monotonic() - started + float(previous.get("duration_s", 0)), 3),
        "failures_surfaced": 1 if job.status == JobStatus.FAILED else 0,
    }
    job.finished_at = clock()
    verb = "rolled_back" if job.kind == JobKind.ROLLBACK else "applied"
    audit.record(
        session,
        actor=actor,
        action=f"provisioning.job_{verb}",
        entity_type="provisioning_job",
        entity_id=str(job.id),
        after={"status": job.status, "result": job.result, "error": job.error},
        outcome="ok" if job.status == JobStatus.DONE else str(job.status),
        at=job.finished_at,
    )
    runner._commit(job)
    return job
