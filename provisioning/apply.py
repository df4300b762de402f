"""Apply a plan through the journal: a snapshot first, each step committed as it completes, verify.

The use cases over the engine's pieces: `journal` (the job, its steps and their moves),
`runner` (one job's steps against the dashboard), `batch_wait` (polling action batches) and
`verification` (read back and compare). A rollout (`provisioning.rollout`) runs many jobs
together through the same runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import NotFound
from core.paging import Page, page_of_query
from provisioning.actions import created_here, own_created
from provisioning.batch_wait import BatchTimings, Waiter
from provisioning.journal import (
    VERIFY,
    ApplyHooks,
    Clock,
    Journal,
    create_job,
    snapshot_of,
    steps_of,
)
from provisioning.models import JobStep, ProvisioningJob
from provisioning.ports import ProvisioningDashboard
from provisioning.runner import Progress, StepRunner
from provisioning.verification import SharedReads


def get_job(*, session: Session, job_id: int) -> ProvisioningJob:
    job = session.get(ProvisioningJob, job_id)
    if job is None:
        raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
    return job


def list_jobs(*, session: Session, limit: int = 50) -> list[ProvisioningJob]:
    stmt = select(ProvisioningJob).order_by(col(ProvisioningJob.id).desc()).limit(limit)
    return list(session.exec(stmt))


def page_jobs(*, session: Session, limit: int, offset: int) -> Page[ProvisioningJob]:
    """Jobs newest first, a page at a time."""
    stmt = select(ProvisioningJob).order_by(col(ProvisioningJob.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)


def journal(*, session: Session, job_id: int) -> list[JobStep]:
    """A job's steps in order."""
    return steps_of(session=session, job_id=job_id)


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
    timings: BatchTimings | None = None,
    actor: Actor | None = None,
) -> StepRunner:
    """The runner of one journalled job (used alone by `run_job`, together by a rollout)."""
    return StepRunner(
        journal=Journal(session, clock, hooks, actor),
        dashboard=dashboard,
        job=get_job(session=session, job_id=job_id),
        steps=steps_of(session=session, job_id=job_id),
        secrets=secrets,
        secret_key=secret_key,
        waiter=Waiter(timings or BatchTimings(poll_seconds=poll_seconds), sleep),
        full_verify=full_verify,
    )


def runners_for(
    *,
    session: Session,
    dashboard: ProvisioningDashboard,
    jobs: Sequence[tuple[int, Mapping[str, str]]],
    secret_key: bytes,
    clock: Clock,
    hooks: ApplyHooks | None = None,
    sleep: Callable[[float], None] = time.sleep,
    full_verify: bool = False,
    timings: BatchTimings | None = None,
    actor: Actor | None = None,
) -> list[StepRunner]:
    """The runners of many journalled jobs (a rollout's organization), read in two queries.

    The read transaction ends before the runners are returned: on SQLite a rollout's session
    is a writer's, so a transaction left open would keep every other organization's journal
    waiting while this one starts.
    """
    ids = [job_id for job_id, _ in jobs]
    found = {
        j.id: j
        for j in session.exec(select(ProvisioningJob).where(col(ProvisioningJob.id).in_(ids)))
    }
    steps: dict[int, list[JobStep]] = {job_id: [] for job_id in ids}
    stmt = select(JobStep).where(col(JobStep.job_id).in_(ids))
    for step in session.exec(stmt.order_by(col(JobStep.job_id), col(JobStep.number))):
        steps[step.job_id].append(step)
    session.commit()
    journal = Journal(session, clock, hooks, actor)
    waiter = Waiter(timings or BatchTimings(), sleep)
    runners = []
    for job_id, secrets in jobs:
        job = found.get(job_id)
        if job is None:
            raise NotFound(f"provisioning job {job_id} does not exist", job_id=job_id)
        runners.append(
            StepRunner(
                journal=journal,
                dashboard=dashboard,
                job=job,
                steps=steps[job_id],
                secrets=secrets,
                secret_key=secret_key,
                waiter=waiter,
                full_verify=full_verify,
            )
        )
    return runners


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
    timings: BatchTimings | None = None,
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
        timings=timings,
        actor=actor,
    )
    runner.start()
    runner.run_pending(progress)
    if progress:
        progress(len(runner.steps), len(runner.steps), "done")
    return runner.finish(actor)


__all__ = [
    "VERIFY",
    "ApplyHooks",
    "BatchTimings",
    "Clock",
    "Progress",
    "SharedReads",
    "StepRunner",
    "create_job",
    "created_here",
    "get_job",
    "journal",
    "list_jobs",
    "own_created",
    "run_job",
    "runner_for",
    "runners_for",
    "snapshot_of",
]
