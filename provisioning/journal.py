"""The journal: a job, its numbered steps and every move of a step, persisted in one place.

A step moves only as `domain.STEP_TRANSITIONS` allows (`advance_step`), a job only as
`domain.JOB_TRANSITIONS` does (`advance_job`); each step move sets its
timestamps, is committed before the next request goes out, and calls the hooks. A job alone
and a rollout's shared batches journal through the same `Journal`, so an interrupted job reads
the same way whichever path ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

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
from provisioning.job_records import (
    VERIFY,
    create_job,
    create_jobs,
    describe,
    snapshot_of,
    steps_of,
)
from provisioning.models import JobStep, ProvisioningJob

Clock = Callable[[], datetime]


@dataclass
class ApplyHooks:
    """Test and UI hooks: after a request was sent (not yet journalled), after a step is done."""

    after_submit: Callable[[JobStep], None] | None = None
    after_step: Callable[[JobStep], None] | None = None
    after_create: Callable[[ProvisioningJob], None] | None = None
    """The job and its journal are committed, nothing is sent yet (a page follows it from here)."""


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


__all__ = [
    "VERIFY",
    "ApplyHooks",
    "Clock",
    "Journal",
    "create_job",
    "create_jobs",
    "describe",
    "snapshot_of",
    "steps_of",
]
