"""Apply a plan through the journal: a snapshot first, each step committed as it completes, verify.

An interrupted job resumes at its first unfinished step. A step found `running` was maybe sent:
a batch with a recorded id is looked up by that id, one without is looked for among the
organization's batches by its actions (alone or packed with other sites' by a rollout); a
network creation looks the network up by name first. Direct writes are idempotent PUTs, so only
those are sent again.

The verification reads back every collection the sheet names, except what the dashboard already
returned: a direct write's answer is the resource as the dashboard stored it, so it is kept on
the journal row (secrets fingerprinted) and compared instead of a second GET. `full_verify` reads
everything again. A rollout hands in the organization's networks and devices, read once for all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import DashboardError, DomainError, NotFound
from provisioning.batching import created_refs, resolve_created
from provisioning.domain import (
    NETWORK,
    JobKind,
    JobStatus,
    StepStatus,
    diff,
    fingerprint_secrets,
    ident_of,
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
class SharedReads:
    """What a rollout read once for all its jobs in one organization, for their verification."""

    networks: dict[str, dict[str, Any]]
    devices: dict[str, list[dict[str, Any]]]
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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
    rollout: str | None = None,
    commit: bool = True,
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
        rollout=rollout,
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
            "rollout": rollout,
        },
        at=now,
    )
    if commit:
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


def _actions(
    step: JobStep,
    network_id: str | None,
    secrets: Mapping[str, str],
    created: Mapping[str, str] | None = None,
) -> list[Any]:
    return [
        {
            "resource": _with_network(op["resource"], network_id),
            "operation": op["operation"],
            "body": resolve_created(resolve_secrets(op["body"], secrets), created or {}),
        }
        for op in step.operations
    ]


def created_here(
    resources: list[Any], network_id: str | None, ops: list[dict[str, Any]]
) -> dict[str, str]:
    """Ids of what a completed batch created, by resource key: each create action in order
    takes the next created resource under its collection (``createdResources`` uris)."""
    left = [str(c.get("uri", "")).split("/api/v1", 1)[-1] for c in resources]
    ids = [str(c.get("id")) for c in resources]
    found: dict[str, str] = {}
    for op in ops:
        if op["operation"] != "create":
            continue
        base = _with_network(op["resource"], network_id).rstrip("/") + "/"
        for i, uri in enumerate(left):
            if uri.startswith(base) and "/" not in uri[len(base) :]:
                found[op["key"]] = ids[i]
                left[i] = ""
                break
    return found


def own_created(status: Mapping[str, Any], network_id: str | None) -> dict[str, Any]:
    """A completed batch's created resources under one network, kept as the step's answer."""
    mark = f"/networks/{network_id}/"
    made = [c for c in status.get("createdResources") or [] if mark in str(c.get("uri", ""))]
    return {"createdResources": made}


def _contains_actions(batch: Mapping[str, Any], actions: list[Any]) -> bool:
    """Whether the batch carries these actions, in order, alone or among other sites' actions."""
    listed = [
        (a.get("resource"), a.get("operation"), a.get("body") or {})
        for a in batch.get("actions") or []
    ]
    wanted = [(a["resource"], a["operation"], a["body"]) for a in actions]
    n = len(wanted)
    return any(listed[i : i + n] == wanted for i in range(len(listed) - n + 1))


class _Runner:
    """Runs one job's pending steps against the dashboard, committing the journal as it goes."""

    def __init__(
        self,
        session: Session,
        dashboard: ProvisioningDashboard,
        job: ProvisioningJob,
        steps: list[JobStep],
        secrets: Mapping[str, str],
        secret_key: bytes,
        clock: Clock,
        poll_seconds: float,
        hooks: ApplyHooks,
        sleep: Callable[[float], None],
        full_verify: bool = False,
    ) -> None:
        self.session, self.dashboard, self.job, self.steps = session, dashboard, job, steps
        self.secrets, self.secret_key, self.clock = secrets, secret_key, clock
        self.poll_seconds, self.hooks, self.sleep = poll_seconds, hooks, sleep
        self.full_verify = full_verify
        self.shared: SharedReads | None = None
        self.calls: dict[str, int] = dict.fromkeys(dashboard.stats.snapshot(), 0)
        self.started = time.monotonic()

    def _commit(self, *rows: Any) -> None:
        for row in rows:
            self.session.add(row)
        self.session.commit()

    def count(self, before: Mapping[str, int]) -> None:
        """Add the calls made since `before` to this job's own tally."""
        for key, value in self.dashboard.stats.snapshot().items():
            self.calls[key] = self.calls.get(key, 0) + value - before.get(key, 0)

    def start(self) -> None:
        self.job.status, self.job.error = str(JobStatus.RUNNING), None
        self._commit(self.job)

    def run_step(self, step: JobStep) -> None:
        before = self.dashboard.stats.snapshot()
        try:
            self._run_step(step)
        finally:
            self.count(before)

    def _run_step(self, step: JobStep) -> None:
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

    def run_pending(
        self, progress: Progress | None = None, *, stop_at_verify: bool = False
    ) -> bool:
        """Run the unfinished steps in order; False (job failed) on a dashboard or input error."""
        total = len(self.steps)
        try:
            for step in self.steps:
                if step.status == StepStatus.DONE:
                    continue
                if stop_at_verify and step.action == VERIFY:
                    return True
                if progress:
                    progress(step.number - 1, total, step.action)
                self.run_step(step)
        except DomainError as exc:
            self.fail(exc)
            return False
        return True

    def fail(self, exc: DomainError) -> None:
        failed = next((s for s in self.steps if s.status == StepStatus.RUNNING), None)
        if failed is not None:
            failed.status, failed.error = str(StepStatus.FAILED), exc.message[:2000]
            failed.finished_at = self.clock()
            self.session.add(failed)
        self.job.status, self.job.error = str(JobStatus.FAILED), exc.message[:2000]
        self._commit(self.job)

    @property
    def failed(self) -> bool:
        return self.job.status == JobStatus.FAILED

    def finish(self, actor: Actor, shared: Mapping[str, Any] | None = None) -> ProvisioningJob:
        """The outcome, what it cost and the audit entry, committed."""
        job, steps = self.job, self.steps
        if job.status != JobStatus.FAILED:
            if job.verify_diff:
                job.status = str(JobStatus.VERIFY_FAILED)
            elif any(s.status != StepStatus.DONE for s in steps):
                job.status = str(JobStatus.FAILED)
            else:
                job.status = str(JobStatus.DONE)
        previous = dict(job.result or {})
        own = {k: v + int(previous.get(k, 0)) for k, v in self.calls.items()}
        job.result = {
            **own,
            "plan_reads": int(job.estimate.get("reads", 0)),
            "batches": sum(1 for s in steps if s.batch),
            "direct": sum(1 for s in steps if not s.batch and s.action != VERIFY),
            "duration_s": round(
                time.monotonic() - self.started + float(previous.get("duration_s", 0)), 3
            ),
            "failures_surfaced": 1 if job.status == JobStatus.FAILED else 0,
        }
        if shared is not None:
            job.result["shared"] = dict(shared)
        job.finished_at = self.clock()
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
        self._commit(job)
        return job

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
            answer = self.dashboard.send_direct(kind_of(op["key"]), str(self.job.network_id), body)
            step.answer = (
                fingerprint_secrets(dict(answer), fingerprinter(self.secret_key))
                if isinstance(answer, Mapping)
                else None
            )
        if self.hooks.after_submit:
            self.hooks.after_submit(step)

    def created_ids(self, step: JobStep) -> dict[str, str]:
        """Ids of resources this job created that the step's bodies refer to.

        Taken from the finished batch steps' answers (their created resources); what is not
        there (an older journal, an unexpected answer) is looked up by one read of its
        collection.
        """
        wanted = {ref for op in step.operations for ref in created_refs(op["body"])}
        if not wanted:
            return {}
        found: dict[str, str] = {}
        for done in self.steps:
            if done.batch and done.status == StepStatus.DONE and done.answer:
                made = list(done.answer.get("createdResources") or [])
                found.update(created_here(made, self.job.network_id, done.operations))
        for kind in sorted({kind_of(k) for k in wanted - set(found)}):
            if kind != "rfProfile":
                raise DashboardError(f"cannot look up the id of a created {kind}")
            rows = self.dashboard.read_collection(str(self.job.network_id), kind) or []
            by_name = {str(r.get("name")): str(r.get("id")) for r in rows}
            for key in wanted - set(found):
                if kind_of(key) == kind and ident_of(key) in by_name:
                    found[key] = by_name[ident_of(key)]
        missing = sorted(wanted - set(found))
        if missing:
            raise DashboardError(
                f"{', '.join(missing)} should have been created by an earlier step but is not "
                "on the dashboard"
            )
        return found

    def run_batch(self, step: JobStep, was_running: bool) -> None:
        actions = _actions(step, self.job.network_id, self.secrets, self.created_ids(step))
        batch: dict[str, Any] | None = None
        if step.request_id:
            batch = self.dashboard.get_batch(step.request_id)
        elif was_running:
            batch = next(
                (b for b in self.dashboard.list_batches() if _contains_actions(b, actions)),
                None,
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
        step.answer = own_created(status, self.job.network_id)

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
        net_id = str(job.network_id)
        if NETWORK in job.desired and job.desired[NETWORK] is None:  # a rollback deleted it
            there = any(str(n.get("id")) == net_id for n in self.dashboard.list_networks())
            job.verify_diff = [{"resource": NETWORK, "action": "delete", "fields": []}] * there
            self._commit(job)
            return
        answers: dict[str, dict[str, Any]] = {}
        devices: list[Mapping[str, Any]] | None = None
        assignments: list[Mapping[str, Any]] | None = None
        if self.shared is not None and net_id in self.shared.networks and not self.full_verify:
            network: dict[str, Any] = self.shared.networks[net_id]
            devices = list(self.shared.devices.get(net_id, []))
            assignments = list(self.shared.assignments.get(net_id, []))
        else:
            network = self.dashboard.get_network(net_id)
        if not self.full_verify:
            answers = {
                s.operations[0]["key"]: s.answer
                for s in self.steps
                if s.answer is not None and not s.batch and s.status == StepStatus.DONE
            }
        present = {k: v for k, v in job.desired.items() if v is not None}
        absent = [k for k, v in job.desired.items() if v is None]
        sections = frozenset(job.sections)
        current, _ = read_current(
            dashboard=self.dashboard,
            network=network,
            sections=sections,
            desired=present,
            fingerprint=fingerprinter(self.secret_key),
            answers=answers,
            devices=devices,
            assignments=assignments,
            resolve_profiles=False,
        )
        left = diff(present, current, sections=sections, prune=job.prune, network_exists=True)
        rows = change_rows(left)
        rows += [{"resource": k, "action": "delete", "fields": []} for k in absent if k in current]
        job.verify_diff = rows
        self._commit(job)


def runner_for(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    job_id: int,
    secrets: Mapping[str, str],
    secret_key: bytes,
    clock: Clock,
    poll_seconds: float = 0.5,
    hooks: ApplyHooks | None = None,
    sleep: Callable[[float], None] = time.sleep,
    full_verify: bool = False,
) -> _Runner:
    """The runner of one journalled job (used alone by `run_job`, together by a rollout)."""
    return _Runner(
        session,
        dashboard,
        get_job(session=session, job_id=job_id),
        journal(session=session, job_id=job_id),
        secrets,
        secret_key,
        clock,
        poll_seconds,
        hooks or ApplyHooks(),
        sleep,
        full_verify,
    )


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
    full_verify: bool = False,
) -> ProvisioningJob:
    """Run (or resume) a job's unfinished steps; finished steps are never sent again."""
    runner = runner_for(
        session=session,
        dashboard=dashboard,
        job_id=job_id,
        secrets=secrets,
        secret_key=secret_key,
        clock=clock,
        poll_seconds=poll_seconds,
        hooks=hooks,
        sleep=sleep,
        full_verify=full_verify,
    )
    runner.start()
    runner.run_pending(progress)
    if progress:
        progress(len(runner.steps), len(runner.steps), "done")
    return runner.finish(actor)
